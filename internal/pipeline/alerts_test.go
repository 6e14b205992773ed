package pipeline_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/journeys/journeys/dashboards"
)

// Every Grafana alert query runs on a simulated month that came through the
// whole pipeline, and the ones whose answer the simulator knows give it.
func TestAlertQueriesOnSimulatedData(t *testing.T) {
	ds, s := simulated(t, 300)
	ctx := context.Background()
	groups, err := dashboards.AlertRuleGroups()
	if err != nil {
		t.Fatal(err)
	}
	value := func(sql string) float64 {
		t.Helper()
		var v float64
		if err := s.Conn().QueryRow(ctx, "SELECT toFloat64(any(*)) FROM ("+sql+")").Scan(&v); err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
		return v
	}
	ran := 0
	for _, g := range groups {
		for _, r := range g.Rules {
			for _, q := range r.Data {
				sql := q.SQL()
				if sql == "" {
					continue
				}
				ran++
				var n uint64
				if err := s.Conn().QueryRow(ctx, "SELECT count() FROM ("+sql+")").Scan(&n); err != nil {
					t.Errorf("%s/%s: %v\n%s", r.UID, q.RefID, err, sql)
					continue
				}
				switch r.UID {
				case "journeys-data-freshness":
					// The simulated events were just sent.
					if v := value(sql); v > 5 {
						t.Errorf("%s: %v minutes since the last touchpoint, want under 5", r.UID, v)
					}
				case "journeys-promises-overdue":
					// The simulator makes no promises.
					if v := value(sql); v != 0 {
						t.Errorf("%s: %v overdue promises, want 0", r.UID, v)
					}
				case "journeys-calls-before-purchase":
					now := time.Now()
					var sum, count, near int
					for _, o := range ds.Orders {
						at := o.At.Truncate(time.Second)
						if d := now.Add(-24 * time.Hour).Sub(at); d > -2*time.Minute && d < 2*time.Minute {
							near++
						}
						if !at.Before(now.Add(-24*time.Hour)) && !at.After(now) {
							sum += o.CallsInJourney
							count++
						}
					}
					want := 0.0
					if count >= 10 {
						want = float64(sum) / float64(count)
					}
					got := value(sql)
					if near > 0 {
						t.Logf("%s: %d purchases within 2 minutes of the 24-hour edge; value %v, about %v", r.UID, near, got, want)
					} else if math.Abs(got-want) > 1e-9 {
						t.Errorf("%s: average calls before purchase %v, the simulator says %v (%d purchases in the last 24 hours)", r.UID, got, want, count)
					}
				}
			}
		}
	}
	if ran < 4 {
		t.Errorf("ran %d alert queries, want every one of the 4 rules'", ran)
	}
}
