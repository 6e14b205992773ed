package dashboards

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/journeys/journeys/internal/chtest"
)

// base is the fixture's day; the range queried covers it.
var base = time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC)

// TestDashboardQueriesOnClickHouse runs every panel query of every embedded
// dashboard against a real ClickHouse (internal/chtest) holding a hand-built fixture:
//
//	c1/j1 converted: page, call, call, call, purchase (flagged repeated_calls_before_purchase)
//	c2/j2 open:      page
//	c3/j3 abandoned: page, call
//	c4/j4 converted: page, purchase
//
// c1's journey carries a repeated-calls flag; c2's open journey a help page
// flag and a critical promise not kept, and a retracted flag.
//
// j1 is also written once more as an older open version, and touchpoint m5
// once more as a newer version; FINAL must show each once.
func TestDashboardQueriesOnClickHouse(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn := chtest.Open(t).Conn()
	insertFixture(ctx, t, conn)

	r := TimeRange{From: base.Add(-24 * time.Hour), To: base.Add(48 * time.Hour), Interval: time.Hour}
	ds, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	results := map[string][][]any{}
	for _, d := range ds {
		if d.UID == "journeys-engagement" {
			// The fixture holds no engagement; its panels are checked
			// against the simulator's ground truth in internal/pipeline.
			continue
		}
		for _, q := range append(d.VariableQueries(), d.Queries()...) {
			if d.DefinesVariable("customer_id") {
				q = q.With("customer_id", "c1")
			}
			sql, err := q.Expand(r)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := runQuery(ctx, conn, sql)
			if err != nil {
				t.Errorf("%s panel %d %q: %v\n%s", d.File, q.PanelID, q.PanelTitle, err, sql)
				continue
			}
			if len(rows) == 0 {
				t.Errorf("%s panel %d %q returned no rows\n%s", d.File, q.PanelID, q.PanelTitle, sql)
			}
			results[d.File+"/"+q.PanelTitle+q.RefID] = rows
		}
	}

	checkIn := func(file, panel string, want [][]any) {
		t.Helper()
		if got := results[file+"/"+panel+"A"]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s:\n got %v\nwant %v", file, panel, got, want)
		}
	}
	check := func(panel string, want [][]any) {
		t.Helper()
		checkIn("cx-overview.json", panel, want)
	}
	check("Calls before purchase", [][]any{
		{"0", uint64(1)}, {"1", uint64(0)}, {"2", uint64(0)}, {"3", uint64(1)}, {"4", uint64(0)}, {"5+", uint64(0)},
	})
	check("Journeys by status", [][]any{
		{"open", uint64(1)}, {"converted", uint64(2)}, {"abandoned", uint64(1)},
	})
	check("Conversion rate", [][]any{{uint64(2), uint64(3), 2.0 / 3.0}})
	hour := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	check("Friction flags by rule", [][]any{
		{hour(0), "help_page_then_call", uint64(1)},
		{hour(1), "promise_not_kept", uint64(1)},
		{hour(3), "repeated_calls_before_purchase", uint64(1)},
	})
	check("Median time to purchase", [][]any{{uint64(2), 6000.0}}) // j1 190 min, j4 10 min
	check("Journeys with friction", [][]any{{uint64(2), uint64(4), 0.5}})
	check("Smooth journeys vs journeys with friction", [][]any{
		{"smooth", uint64(2), uint64(1), 0.5, 600.0, 25.0, 25.0},
		{"with friction", uint64(1), uint64(1), 1.0, 11400.0, 99.0, 99.0},
	})
	check("Top friction rules", [][]any{
		{"help_page_then_call", uint64(1), uint64(1), uint64(0)},
		{"promise_not_kept", uint64(1), uint64(1), uint64(1)},
		{"repeated_calls_before_purchase", uint64(1), uint64(1), uint64(0)},
	})
	checkIn("friction.json", "Customers with open friction, worst first", [][]any{
		{"c2", uint64(1), uint64(2), uint64(0), uint64(1), "help_page_then_call, promise_not_kept", at(60), "j2"},
	})
	checkIn("friction.json", "Promises not kept, latest first", [][]any{
		{at(60), "c2", "p-1", "j2", at(61)},
	})
	checkIn("friction.json", "Repeat contact rate", [][]any{{uint64(0), uint64(4), 0.0, 1.0}})
	// Started by started_at, converted and abandoned by ended_at; j1's
	// older open version counts nowhere.
	checkIn("cx-overview.json", "Journeys started, converted and abandoned", [][]any{
		{hour(0), "converted", uint64(1)},
		{hour(0), "started", uint64(4)},
		{hour(1), "abandoned", uint64(1)},
		{hour(3), "converted", uint64(1)},
	})
	checkIn("journeys.json", "Channel switches within journeys", [][]any{
		{"web", "phone", uint64(2), uint64(2)},
		{"phone", "web", uint64(1), uint64(1)},
	})
	// Event paths collapse repeated events (migration 0008's event_path).
	checkIn("journeys.json", "Event paths to purchase", [][]any{
		{"page → call → purchase", uint64(1), 5.0, 11400.0, 99.0},
		{"page → purchase", uint64(1), 2.0, 600.0, 25.0},
	})
	// Every customer's web session has a /help page: four sessions, m1 and
	// m5 are c1's one.
	checkIn("friction.json", "Help page, then a call", [][]any{{uint64(1), uint64(4), 0.25}})
	checkIn("journeys.json", "Channel paths to abandonment", [][]any{
		{"web → phone", uint64(1), 2.0, 3600.0, 0.0},
	})
	// With a channel chosen, $__conditionalAll keeps the journeys' channel
	// filter: only c1's journey went through the phone, none through an app.
	for _, c := range []struct {
		channel string
		want    [][]any
	}{
		{"phone", [][]any{{"web → phone", uint64(1), 5.0, 11400.0, 99.0}}},
		{"app", nil},
	} {
		got := panelRows(ctx, t, conn, ds, "journeys.json", "Channel paths to purchase", r, "channel", c.channel)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Channel paths to purchase through %s:\n got %v\nwant %v", c.channel, got, c.want)
		}
	}
	var timeline []string
	for _, row := range results["customer.json/Timeline across channelsA"] {
		timeline = append(timeline, fmt.Sprint(row[1], " ", row[2], " ", row[3], row[4], row[7], " ", row[len(row)-1]))
	}
	if want := []string{"web page /help m1", "phone call billing m2", "phone call billing m3", "phone call billing m4", "web purchase o-m5 m5"}; !reflect.DeepEqual(timeline, want) {
		t.Errorf("customer c1's timeline:\n got %q\nwant %q", timeline, want)
	}
	check("Touchpoints per channel", [][]any{
		{hour(0), "phone", uint64(1)}, {hour(0), "web", uint64(5)},
		{hour(1), "phone", uint64(2)},
		{hour(2), "phone", uint64(1)},
		{hour(3), "web", uint64(1)},
	})
}

func insertFixture(ctx context.Context, t *testing.T, conn driver.Conn) {
	t.Helper()
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	type tp struct {
		id, customer, journey, event, channel string
		ts                                    time.Time
	}
	touchpoints := []tp{
		{"m1", "c1", "j1", "page", "web", at(0)},
		{"m2", "c1", "j1", "call", "phone", at(10)},
		{"m3", "c1", "j1", "call", "phone", at(70)},
		{"m4", "c1", "j1", "call", "phone", at(130)},
		{"m5", "c1", "j1", "purchase", "web", at(190)},
		{"m6", "c2", "j2", "page", "web", at(5)},
		{"m7", "c3", "j3", "page", "web", at(20)},
		{"m8", "c3", "j3", "call", "phone", at(80)},
		{"m9", "c4", "j4", "page", "web", at(30)},
		{"m10", "c4", "j4", "purchase", "web", at(40)},
	}
	// m5 is written again with a later version (a journey reassignment), in
	// its own insert, so that only FINAL counts it once.
	for i, batch := range [][]tp{touchpoints, touchpoints[4:5]} {
		b, err := conn.PrepareBatch(ctx, "INSERT INTO touchpoints (message_id, customer_id, anonymous_id, user_id, type, event, channel, timestamp, timestamp_ms, received_at, journey_id, session_id, properties, context, source, version)")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range batch {
			typ := "track"
			if p.event == "page" {
				typ = "page"
			}
			props := "{}"
			switch p.event {
			case "page":
				props = `{"path":"/help"}`
			case "call":
				props = `{"topic":"billing","direction":"inbound","wait_seconds":40}`
			case "purchase":
				props = `{"order_id":"o-` + p.id + `","revenue":12.5}`
			}
			session := ""
			if p.channel == "web" {
				session = "s-" + p.customer // one web session per customer
			}
			if err := b.Append(p.id, p.customer, "", p.customer, typ, p.event, p.channel, p.ts, p.ts.UnixMilli(), p.ts, p.journey, session, props, "{}", "test", uint64(1+i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Send(); err != nil {
			t.Fatalf("insert touchpoints: %v", err)
		}
	}

	type journey struct {
		id, customer, status string
		started, ended       time.Time
		channels, path       []string
		friction             uint32
		revenue              float64
		version              uint64
	}
	journeys := []journey{
		{"j1", "c1", "converted", at(0), at(190), []string{"web", "phone"}, []string{"page", "call", "call", "call", "purchase"}, 1, 99, 5},
		{"j2", "c2", "open", at(5), at(5), []string{"web"}, []string{"page"}, 2, 0, 1},
		{"j3", "c3", "abandoned", at(20), at(80), []string{"web", "phone"}, []string{"page", "call"}, 0, 0, 2},
		{"j4", "c4", "converted", at(30), at(40), []string{"web"}, []string{"page", "purchase"}, 0, 25, 2},
	}
	// An older version of j1, inserted separately so that only FINAL hides it.
	older := []journey{{"j1", "c1", "open", at(0), at(130), []string{"web", "phone"}, []string{"page", "call", "call", "call"}, 1, 0, 4}}
	// sequence is the channel sequence the processor writes: the channels
	// of the journey's first n touchpoints, repeats of the previous left out.
	sequence := func(journey string, n int) []string {
		var seq []string
		for _, p := range touchpoints {
			if p.journey == journey && n > 0 {
				n--
				if len(seq) == 0 || seq[len(seq)-1] != p.channel {
					seq = append(seq, p.channel)
				}
			}
		}
		return seq
	}
	for _, batch := range [][]journey{journeys, older} {
		b, err := conn.PrepareBatch(ctx, "INSERT INTO journeys (journey_id, customer_id, started_at, ended_at, status, touchpoints, channels, path, channel_sequence, friction_count, revenue, version)")
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range batch {
			if err := b.Append(j.id, j.customer, j.started, j.ended, j.status, uint32(len(j.path)), j.channels, j.path, sequence(j.id, len(j.path)), j.friction, j.revenue, j.version); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Send(); err != nil {
			t.Fatalf("insert journeys: %v", err)
		}
	}

	b, err := conn.PrepareBatch(ctx, "INSERT INTO friction_flags (flag_id, rule, customer_id, journey_id, occurred_at, detected_at, severity, evidence, details, retracted, version)")
	if err != nil {
		t.Fatal(err)
	}
	flags := []struct {
		id, rule, customer, journey string
		at                          time.Time
		severity                    string
		evidence                    []string
		details                     string
		retracted                   uint8
	}{
		{"f1", "repeated_calls_before_purchase", "c1", "j1", at(190), "warning", []string{"m2", "m3", "m4", "m5"}, `{"calls":3}`, 0},
		// c2's open journey: a help page then a call, and a promise not
		// kept; a third flag was retracted and must count nowhere.
		{"f2", "help_page_then_call", "c2", "j2", at(6), "info", []string{"m6"}, `{"window_hours":2}`, 0},
		{"f3", "promise_not_kept", "c2", "j2", at(60), "critical", []string{"m6"}, `{"due":"2024-03-10T10:00:00Z","promise_id":"p-1"}`, 0},
		{"f4", "many_transfers", "c2", "j2", at(61), "critical", []string{"m6"}, `{}`, 1},
	}
	for _, f := range flags {
		if err := b.Append(f.id, f.rule, f.customer, f.journey, f.at, f.at.Add(time.Minute), f.severity, f.evidence, f.details, f.retracted, uint64(1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatalf("insert friction flags: %v", err)
	}
}

// runQuery returns every row, each value scanned into its column's Go type.
// panelRows runs a panel's query with a variable set to values.
func panelRows(ctx context.Context, t *testing.T, conn driver.Conn, ds []Dashboard, file, title string, r TimeRange, variable string, values ...string) [][]any {
	t.Helper()
	for _, d := range ds {
		for _, q := range d.Queries() {
			if d.File != file || q.PanelTitle != title {
				continue
			}
			sql, err := q.With(variable, values...).Expand(r)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := runQuery(ctx, conn, sql)
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", file, title, err, sql)
			}
			return rows
		}
	}
	t.Fatalf("no panel %q in %s", title, file)
	return nil
}

func runQuery(ctx context.Context, conn driver.Conn, sql string) ([][]any, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	var out [][]any
	for rows.Next() {
		dest := make([]any, len(types))
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		row := make([]any, len(dest))
		for i, d := range dest {
			v := reflect.ValueOf(d).Elem().Interface()
			if tm, ok := v.(time.Time); ok {
				v = tm.UTC()
			}
			row[i] = v
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func TestMain(m *testing.M) { chtest.Main(m) }
