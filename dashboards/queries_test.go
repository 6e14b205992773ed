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
		for _, q := range d.Queries() {
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
			results[d.File+"/"+q.PanelTitle] = rows
		}
	}

	check := func(panel string, want [][]any) {
		t.Helper()
		if got := results["cx-overview.json/"+panel]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", panel, got, want)
		}
	}
	check("Calls before purchase", [][]any{
		{"0", uint64(1)}, {"1", uint64(0)}, {"2", uint64(0)}, {"3", uint64(1)}, {"4", uint64(0)}, {"5+", uint64(0)},
	})
	check("Journeys by status", [][]any{
		{"open", uint64(1)}, {"converted", uint64(2)}, {"abandoned", uint64(1)},
	})
	check("Conversion rate", [][]any{{uint64(2), uint64(3), 2.0 / 3.0}})
	hour := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }
	check("Friction flags by rule", [][]any{
		{hour(3), "repeated_calls_before_purchase", uint64(1)},
	})
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
		b, err := conn.PrepareBatch(ctx, "INSERT INTO touchpoints (message_id, customer_id, anonymous_id, user_id, type, event, channel, timestamp, timestamp_ms, received_at, journey_id, properties, context, source, version)")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range batch {
			typ := "track"
			if p.event == "page" {
				typ = "page"
			}
			if err := b.Append(p.id, p.customer, "", p.customer, typ, p.event, p.channel, p.ts, p.ts.UnixMilli(), p.ts, p.journey, "{}", "{}", "test", uint64(1+i)); err != nil {
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
		{"j2", "c2", "open", at(5), at(5), []string{"web"}, []string{"page"}, 0, 0, 1},
		{"j3", "c3", "abandoned", at(20), at(80), []string{"web", "phone"}, []string{"page", "call"}, 0, 0, 2},
		{"j4", "c4", "converted", at(30), at(40), []string{"web"}, []string{"page", "purchase"}, 0, 25, 2},
	}
	// An older version of j1, inserted separately so that only FINAL hides it.
	older := []journey{{"j1", "c1", "open", at(0), at(130), []string{"web", "phone"}, []string{"page", "call", "call", "call"}, 1, 0, 4}}
	for _, batch := range [][]journey{journeys, older} {
		b, err := conn.PrepareBatch(ctx, "INSERT INTO journeys (journey_id, customer_id, started_at, ended_at, status, touchpoints, channels, path, friction_count, revenue, version)")
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range batch {
			if err := b.Append(j.id, j.customer, j.started, j.ended, j.status, uint32(len(j.path)), j.channels, j.path, j.friction, j.revenue, j.version); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Send(); err != nil {
			t.Fatalf("insert journeys: %v", err)
		}
	}

	b, err := conn.PrepareBatch(ctx, "INSERT INTO friction_flags (flag_id, rule, customer_id, journey_id, occurred_at, detected_at, severity, evidence, details, version)")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Append("f1", "repeated_calls_before_purchase", "c1", "j1", at(190), at(191), "warning", []string{"m2", "m3", "m4", "m5"}, `{"calls":3}`, uint64(1)); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatalf("insert friction flags: %v", err)
	}
}

// runQuery returns every row, each value scanned into its column's Go type.
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
