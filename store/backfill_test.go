package store_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/schemas"
)

// Migration 0011 backfills journeys.channel_sequence of rows written before
// it from their touchpoints: not late ones, in event-time order, a repeat
// of the previous channel left out, "" kept for a touchpoint without one.
// The re-inserted row has the version of the row it copies and replaces
// it under FINAL; a journey without touchpoints keeps an empty sequence.
func TestChannelSequenceBackfillReadsTheJourneysTouchpoints(t *testing.T) {
	ctx := t.Context()
	s := chtest.Open(t)
	at := time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC)
	var tps []schemas.Touchpoint
	for i, tp := range []struct {
		id, channel string
		minute      int
		late        bool
	}{
		// Ids sort against time, as the table stores them: the backfill
		// sorts by time.
		{"m-z", "web", 0, false},
		{"m-y", "web", 10, false},
		{"m-x", "phone", 30, false},
		{"m-w", "", 40, false},
		{"m-v", "phone", 50, false},
		{"m-u", "email", 20, true}, // late: in no journey's sequence
	} {
		ts := at.Add(time.Duration(tp.minute) * time.Minute)
		journey := "j1"
		if tp.late {
			journey = ""
		}
		tps = append(tps, schemas.Touchpoint{MessageID: tp.id, CustomerID: "c1", UserID: "c1", Type: schemas.TypeTrack,
			Event: "visit", Channel: tp.channel, Timestamp: ts, ReceivedAt: ts, JourneyID: journey, Late: tp.late,
			Properties: "{}", Context: "{}", Source: "test", KafkaOffset: int64(i), Version: 1})
	}
	if err := s.InsertTouchpoints(ctx, tps); err != nil {
		t.Fatal(err)
	}
	// Rows as a processor before 0011 wrote them: no sequence.
	rows := []schemas.Journey{
		{JourneyID: "j1", CustomerID: "c1", StartedAt: at, EndedAt: at.Add(50 * time.Minute), Status: schemas.JourneyOpen,
			Touchpoints: 5, Channels: []string{"web", "phone"}, Path: []string{"visit", "visit", "visit", "visit", "visit"}, Version: 7},
		{JourneyID: "j2", CustomerID: "c1", StartedAt: at, EndedAt: at, Status: schemas.JourneyOpen, Retracted: true, Version: 3},
	}
	if err := s.InsertJourneys(ctx, rows); err != nil {
		t.Fatal(err)
	}
	migrations, err := schemas.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, m := range migrations {
		if m.Name != "channel_sequence" {
			continue
		}
		for _, stmt := range m.Statements {
			if strings.HasPrefix(strings.TrimSpace(stmt), "INSERT") {
				if err := s.Conn().Exec(ctx, stmt); err != nil {
					t.Fatalf("%v\n%s", err, stmt)
				}
				ran++
			}
		}
	}
	if ran != 1 {
		t.Fatalf("ran %d backfill statements of migration channel_sequence, want 1", ran)
	}
	got := map[string][]string{}
	var versions []uint64
	r, err := s.Conn().Query(ctx, "SELECT journey_id, channel_sequence, version FROM journeys FINAL ORDER BY journey_id")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for r.Next() {
		var id string
		var seq []string
		var v uint64
		if err := r.Scan(&id, &seq, &v); err != nil {
			t.Fatal(err)
		}
		got[id] = append([]string{}, seq...)
		versions = append(versions, v)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if want := map[string][]string{"j1": {"web", "phone", "", "phone"}, "j2": {}}; !reflect.DeepEqual(got, want) {
		t.Errorf("sequences after the backfill %q, want %q", got, want)
	}
	if !reflect.DeepEqual(versions, []uint64{7, 3}) {
		t.Errorf("versions %v, want the copied rows' 7 and 3", versions)
	}
}
