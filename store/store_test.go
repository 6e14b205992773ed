package store_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

func TestMain(m *testing.M) { chtest.Main(m) }

func TestMigrateIsIdempotent(t *testing.T) {
	cfg := chtest.NewDatabase(t)
	ctx := context.Background()
	again, err := store.Migrate(ctx, cfg)
	if err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if len(again) != 0 {
		t.Fatalf("second migrate applied %d migrations, want 0", len(again))
	}
	s, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ms, _ := schemas.Migrations()
	var n uint64
	if err := s.Conn().QueryRow(ctx, "SELECT count() FROM schema_migrations FINAL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if int(n) != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
	}

	// A migration that stopped after its ALTER … ADD COLUMN ran but before
	// it was recorded runs again without failing on the existing column.
	if err := s.Conn().Exec(ctx, "DROP TABLE schema_migrations"); err != nil {
		t.Fatal(err)
	}
	redone, err := store.Migrate(ctx, cfg)
	if err != nil {
		t.Fatalf("migrate again after losing the record: %v", err)
	}
	if len(redone) != len(ms) {
		t.Fatalf("re-ran %d migrations, want %d", len(redone), len(ms))
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     store.Config
		wantErr bool
	}{
		{"address and database", store.Config{Addr: "127.0.0.1:9000", Database: "journeys"}, false},
		{"empty address", store.Config{Database: "journeys"}, true},
		{"database with a dash is not an identifier", store.Config{Addr: "x:1", Database: "a-b"}, true},
		{"database with a quote", store.Config{Addr: "x:1", Database: "a`;DROP"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func tp(id, customer, journey, event string, ts time.Time) schemas.Touchpoint {
	return schemas.Touchpoint{MessageID: id, CustomerID: customer, UserID: customer, Type: "track", Event: event,
		Channel: "phone", Timestamp: ts, ReceivedAt: ts, JourneyID: journey, Properties: "{}", Context: "{}", Version: 1}
}

func TestRowsRoundTripAndReplaysCollapse(t *testing.T) {
	s := chtest.Open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 10, 1, 12, 0, 0, 250e6, time.UTC)
	tps := []schemas.Touchpoint{
		tp("m1", "alice", "j1", "call", t0),
		tp("m2", "alice", "j1", "purchase", t0.Add(time.Hour)),
		tp("m3", "alice", "j2", "page", t0.Add(48*time.Hour)),
		tp("m4", "alice", "j2", "call", t0.Add(49*time.Hour)),
		tp("m5", "bob", "j3", "page", t0),
		{MessageID: "m6", CustomerID: "bob", UserID: "bob", Type: "track", Event: "call", Channel: "phone",
			Timestamp: t0.Add(-time.Hour), ReceivedAt: t0, Late: true, Properties: "{}", Context: "{}", Version: 1},
	}
	tps[3].KafkaPartition, tps[3].KafkaOffset = 2, 41
	journeys := []schemas.Journey{{JourneyID: "j1", CustomerID: "alice", StartedAt: t0, EndedAt: t0.Add(time.Hour),
		Status: schemas.JourneyConverted, Touchpoints: 2, Channels: []string{"phone"}, Path: []string{"call", "purchase"}, Revenue: 10, Version: 9}}
	flags := []schemas.FrictionFlag{{FlagID: "f1", Rule: "r", CustomerID: "alice", JourneyID: "j1", OccurredAt: t0,
		DetectedAt: t0, Severity: schemas.SeverityWarning, Evidence: []string{"m1"}, Details: "{}", Version: 1}}
	for i := 0; i < 2; i++ { // the second round is a replay
		if err := s.InsertTouchpoints(ctx, tps); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertJourneys(ctx, journeys); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertFlags(ctx, flags); err != nil {
			t.Fatal(err)
		}
	}
	for table, want := range map[string]uint64{"touchpoints": 6, "journeys": 1, "friction_flags": 1} {
		var n uint64
		if err := s.Conn().QueryRow(ctx, "SELECT count() FROM "+table+" FINAL").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s FINAL has %d rows after a replay, want %d", table, n, want)
		}
	}

	stored, err := s.StoredMessageIDs(ctx, []string{"m1", "m4", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	m4 := store.StoredMessage{CustomerID: "alice", JourneyID: "j2", KafkaPartition: 2, KafkaOffset: 41}
	if stored["m1"].JourneyID != "j1" || stored["m4"] != m4 || len(stored) != 2 {
		t.Errorf("StoredMessageIDs = %v, want m1 in j1 and m4 as %v", stored, m4)
	}

	spans, err := s.JourneySpans(ctx, []string{"alice", "bob", "carol"})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.JourneySpan{
		{CustomerID: "alice", JourneyID: "j1", Start: t0.Truncate(time.Millisecond), End: t0.Add(time.Hour)},
		{CustomerID: "alice", JourneyID: "j2", Start: t0.Add(48 * time.Hour), End: t0.Add(49 * time.Hour)},
		{CustomerID: "bob", JourneyID: "j3", Start: t0, End: t0},
	}
	if !slices.Equal(spans, want) {
		t.Errorf("JourneySpans = %+v, want %+v (oldest first, millisecond precision)", spans, want)
	}

	recent, err := s.PartitionJourneySpans(ctx, []int32{0}, t0.Add(47*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := spanIDs(recent); got != "j1,j2" {
		t.Errorf("journeys of customers active since 47h = %s, want alice's j1,j2", got)
	}
	if none, err := s.PartitionJourneySpans(ctx, []int32{1}, t0); err != nil || len(none) != 0 {
		t.Errorf("partition 1 has no touchpoints, got %v, %v", none, err)
	}
	open := []schemas.Journey{{JourneyID: "j3", CustomerID: "bob", StartedAt: t0, EndedAt: t0, Status: schemas.JourneyOpen,
		Touchpoints: 1, Channels: []string{"phone"}, Path: []string{"page"}, Version: 4}}
	if err := s.InsertJourneys(ctx, open); err != nil {
		t.Fatal(err)
	}
	recent, err = s.PartitionJourneySpans(ctx, []int32{0}, t0.Add(47*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := spanIDs(recent); got != "j1,j2,j3" || !recent[2].Open || recent[0].Open {
		t.Errorf("with bob's open journey = %s %+v, want j1,j2,j3 with only j3 open", got, recent)
	}

	history, err := s.JourneyTouchpoints(ctx, []string{"alice", "bob"}, []string{"j1", "j3"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(history["alice"]); got != "m1,m2" {
		t.Errorf("alice's touchpoints of j1 = %s, want m1,m2", got)
	}
	if got := ids(history["bob"]); got != "m5" {
		t.Errorf("bob's touchpoints of j3 = %s, want m5", got)
	}
	late, err := s.DayHistory(ctx, []store.CustomerDay{{CustomerID: "bob", Day: 20261001}}, "UTC")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(late["bob"]); got != "m5" {
		t.Errorf("bob's day = %s, want m5 without the late m6", got)
	}
	var lateFlag uint8
	if err := s.Conn().QueryRow(ctx, "SELECT late FROM touchpoints FINAL WHERE message_id = 'm6'").Scan(&lateFlag); err != nil || lateFlag != 1 {
		t.Errorf("m6 stored with late = %d, %v; want 1", lateFlag, err)
	}
	if got := history["alice"][0].Timestamp; !got.Equal(t0.Truncate(time.Millisecond)) {
		t.Errorf("timestamp round trip = %v, want %v (millisecond precision)", got, t0)
	}
}

func spanIDs(spans []store.JourneySpan) string {
	s := ""
	for i, sp := range spans {
		if i > 0 {
			s += ","
		}
		s += sp.JourneyID
	}
	return s
}

func ids(tps []schemas.Touchpoint) string {
	s := ""
	for i, tp := range tps {
		if i > 0 {
			s += ","
		}
		s += tp.MessageID
	}
	return s
}

func TestStoredMessageIDsTakesABatchOfTwentyThousandUUIDs(t *testing.T) {
	s := chtest.Open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	ids := make([]string, 20000)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08d-9faf-458f-8924-1c3d5c326da2", i)
	}
	if err := s.InsertTouchpoints(ctx, []schemas.Touchpoint{tp(ids[7], "alice", "j1", "call", t0), tp(ids[19999], "bob", "j2", "call", t0)}); err != nil {
		t.Fatal(err)
	}
	stored, err := s.StoredMessageIDs(ctx, ids)
	if err != nil {
		t.Fatalf("look up 20,000 ids: %v", err)
	}
	if len(stored) != 2 || stored[ids[7]].JourneyID != "j1" || stored[ids[19999]].JourneyID != "j2" {
		t.Fatalf("StoredMessageIDs = %v, want the two stored ids", stored)
	}
}

// A take-over after a busy stretch asks for tens of thousands of customer
// days at once; ClickHouse refuses a query of that many literals, so they
// go in chunks, each customer's days together.
func TestDayHistoryTakesFifteenThousandCustomerDays(t *testing.T) {
	s := chtest.Open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	var days []store.CustomerDay
	for c := range 5000 {
		for d := range 3 {
			days = append(days, store.CustomerDay{CustomerID: fmt.Sprintf("c%05d", c), Day: uint32(20261001 + d)})
		}
	}
	// Two customers with touchpoints, one of them on both sides of a chunk
	// boundary and listed out of order.
	days = append(days, store.CustomerDay{CustomerID: "c01999", Day: 20261005})
	if err := s.InsertTouchpoints(ctx, []schemas.Touchpoint{
		tp("m1", "c00007", "j1", "call", t0),
		tp("m2", "c01999", "j2", "call", t0),
		tp("m3", "c01999", "j2", "call", t0.Add(96*time.Hour)),
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.DayHistory(ctx, days, "UTC")
	if err != nil {
		t.Fatalf("load %d customer days: %v", len(days), err)
	}
	if ids(got["c00007"]) != "m1" || ids(got["c01999"]) != "m2,m3" || len(got) != 2 {
		t.Fatalf("DayHistory = %v, want c00007: m1 and c01999: m2,m3 once each", got)
	}
}

// Reads by customer go through touchpoints_by_customer: a touchpoint
// rewritten into another journey, or under another customer, is read where
// its latest row puts it.
func TestReadsByCustomerFollowRewrites(t *testing.T) {
	s := chtest.Open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	first := []schemas.Touchpoint{tp("m1", "anon", "ja", "page", t0), tp("m2", "bob", "j1", "call", t0), tp("m3", "bob", "j1", "call", t0.Add(time.Hour))}
	if err := s.InsertTouchpoints(ctx, first); err != nil {
		t.Fatal(err)
	}
	moved := tp("m1", "bob", "j1", "page", t0.Add(-time.Hour)) // stitched to bob
	moved.Version = 2
	split := tp("m3", "bob", "j2", "call", t0.Add(time.Hour)) // refolded into a new journey
	split.Version = 2
	if err := s.InsertTouchpoints(ctx, []schemas.Touchpoint{moved, split}); err != nil {
		t.Fatal(err)
	}
	spans, err := s.JourneySpans(ctx, []string{"bob"})
	if err != nil {
		t.Fatal(err)
	}
	if got := spanIDs(spans); got != "j1,j2" || !spans[0].Start.Equal(t0.Add(-time.Hour)) {
		t.Errorf("bob's spans %s %+v, want j1 (from the stitched page) then j2", got, spans)
	}
	history, err := s.JourneyTouchpoints(ctx, []string{"bob", "anon"}, []string{"j1", "ja"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(history["bob"]); got != "m1,m2" {
		t.Errorf("bob's j1 = %s, want m1,m2 (m3 moved to j2)", got)
	}
	if got := ids(history["anon"]); got != "" {
		t.Errorf("anon still has %s, though m1 moved to bob", got)
	}
}

// Every field of a touchpoint lands in its own column: the batch is filled
// column by column, and two string columns swapped would still insert.
func TestTouchpointKeepsEveryFieldInItsColumn(t *testing.T) {
	s := chtest.Open(t)
	ctx := context.Background()
	at := time.Date(2026, 10, 1, 12, 0, 7, 250e6, time.UTC)
	want := []schemas.Touchpoint{
		{MessageID: "m-1", CustomerID: "c-1", AnonymousID: "a-1", UserID: "u-1", Type: "track", Event: "call", Channel: "phone",
			Timestamp: at, ReceivedAt: at.Truncate(time.Second).Add(3 * time.Second), JourneyID: "j-1", SessionID: "s-1", Late: true,
			Properties: `{"p":1}`, Context: `{"c":2}`, Source: "callcenter", KafkaPartition: 2, KafkaOffset: 41, Version: 42},
		{MessageID: "m-2", CustomerID: "c-2", AnonymousID: "a-2", UserID: "u-2", Type: "page", Event: "page", Channel: "web",
			Timestamp: at.Add(time.Minute), ReceivedAt: at.Truncate(time.Second).Add(2 * time.Minute), JourneyID: "j-2", SessionID: "s-2",
			Properties: `{"p":3}`, Context: `{"c":4}`, Source: "website", KafkaPartition: 1, KafkaOffset: 7, Version: 8},
	}
	if err := s.InsertTouchpoints(ctx, want); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Conn().Query(ctx, `SELECT message_id, customer_id, anonymous_id, user_id, type, event, channel, timestamp, timestamp_ms,
		received_at, journey_id, session_id, late, properties, context, source, kafka_partition, kafka_offset, version
		FROM touchpoints ORDER BY message_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []schemas.Touchpoint
	for rows.Next() {
		var r schemas.Touchpoint
		var ms int64
		var late uint8
		if err := rows.Scan(&r.MessageID, &r.CustomerID, &r.AnonymousID, &r.UserID, &r.Type, &r.Event, &r.Channel, &r.Timestamp, &ms,
			&r.ReceivedAt, &r.JourneyID, &r.SessionID, &late, &r.Properties, &r.Context, &r.Source, &r.KafkaPartition, &r.KafkaOffset, &r.Version); err != nil {
			t.Fatal(err)
		}
		// DateTime keeps seconds (received_at is whole seconds here);
		// timestamp_ms keeps the milliseconds of timestamp.
		r.Timestamp, r.ReceivedAt, r.Late = time.UnixMilli(ms).UTC(), r.ReceivedAt.UTC(), late == 1
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows read back, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("row %d read back as\n%+v\nwant\n%+v", i, got[i], want[i])
		}
	}
}
