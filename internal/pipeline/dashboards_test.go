package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/journeys/journeys/dashboards"
)

// Every query of every dashboard runs against the real ClickHouse over data
// that came through the whole pipeline, and the friction panels show the
// numbers the simulator says they must.
func TestDashboardQueriesOnSimulatedData(t *testing.T) {
	ds, s := simulated(t, 300)
	ctx := context.Background()
	r := dashboards.TimeRange{From: ds.Config.Start, To: ds.Config.Start.AddDate(0, 0, ds.Config.Days+1), Interval: time.Hour}

	all, err := dashboards.Load()
	if err != nil {
		t.Fatal(err)
	}
	queries := 0
	for _, d := range all {
		for _, q := range d.Queries() {
			queries++
			name := fmt.Sprintf("%s/%d %s", d.UID, q.PanelID, q.PanelTitle)
			sql, err := q.Expand(r)
			if err != nil {
				t.Errorf("%s: expand: %v", name, err)
				continue
			}
			var n uint64
			if err := s.Conn().QueryRow(ctx, "SELECT count() FROM ("+sql+")").Scan(&n); err != nil {
				t.Errorf("%s: %v\n%s", name, err, sql)
				continue
			}
			if n == 0 {
				t.Errorf("%s returned no rows over the simulated month", name)
			}
			if q.PanelTitle == "Calls before purchase" {
				checkCallsBeforePurchase(t, s.Conn(), sql, ds.CallsBeforePurchase)
			}
		}
	}
	if queries == 0 {
		t.Fatal("no dashboard queries found")
	}
}

func checkCallsBeforePurchase(t *testing.T, conn driver.Conn, sql string, want [6]int) {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	labels := []string{"0", "1", "2", "3", "4", "5+"}
	var got [6]int
	i := 0
	for rows.Next() {
		var bucket string
		var n uint64
		if err := rows.Scan(&bucket, &n); err != nil {
			t.Fatal(err)
		}
		if i >= len(labels) || bucket != labels[i] {
			t.Fatalf("calls-before-purchase bucket %d is %q, want the buckets %v in order", i, bucket, labels)
		}
		got[i] = int(n)
		i++
	}
	if got != want {
		t.Errorf("calls-before-purchase panel = %v, simulator generated %v", got, want)
	}
}
