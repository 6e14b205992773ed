package dashboards

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/chtest"
)

// indexLookup is how a customer panel narrows its table through
// touchpoints_by_customer (migration 0007) or journey_customers (0006): a
// PREWHERE on the table's key, so that only the granules of the
// customer's ids are read whole (a key's versions pass or fail together,
// so FINAL still sees every version of the ids it keeps).
var indexLookup = regexp.MustCompile(`PREWHERE (message_id|journey_id) IN \(SELECT (message_id|journey_id) FROM (touchpoints_by_customer|journey_customers) WHERE customer_id = '[^']*'\)\s+`)

// The customer panels read the customer indexes kept by materialized views;
// they must show what the plain FINAL query over the whole table shows, also
// after a touchpoint and a journey are rewritten to another customer with a
// newer version (identity stitching), which leaves the old pair in the index.
func TestCustomerPanelsThroughTheIndexShowThePlainQuerysRows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := chtest.Open(t).Conn()
	day := time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC)
	tp := func(id, customer, journey, event, channel string, at time.Time, version int) {
		t.Helper()
		if err := conn.Exec(ctx, fmt.Sprintf(`INSERT INTO touchpoints (message_id, customer_id, anonymous_id, user_id, type, event, channel,
    timestamp, timestamp_ms, received_at, journey_id, session_id, properties, context, source, version)
SELECT '%s', '%s', '', '%s', 'track', '%s', '%s', toDateTime(%d), %d, toDateTime(%d), '%s', '', '{}', '{}', 'test', toUInt64(%d)`,
			id, customer, customer, event, channel, at.Unix(), at.UnixMilli(), at.Unix(), journey, version)); err != nil {
			t.Fatal(err)
		}
	}
	journey := func(id, customer, status string, at time.Time, version int) {
		t.Helper()
		if err := conn.Exec(ctx, fmt.Sprintf(`INSERT INTO journeys (journey_id, customer_id, started_at, ended_at, status, touchpoints,
    channels, path, friction_count, revenue, version)
SELECT '%s', '%s', toDateTime(%d), toDateTime(%d), '%s', 1, ['web'], ['page'], 0, 0, toUInt64(%d)`,
			id, customer, at.Unix(), at.Add(time.Hour).Unix(), status, version)); err != nil {
			t.Fatal(err)
		}
	}
	tp("m1", "anon-1", "j1", "page", "web", day, 1)
	tp("m2", "anon-1", "j1", "call", "phone", day.Add(time.Hour), 1)
	tp("m3", "c1", "j2", "page", "web", day.Add(2*time.Hour), 1)
	journey("j1", "anon-1", "open", day, 1)
	journey("j2", "c1", "open", day.Add(2*time.Hour), 1)
	// anon-1 identifies as c1: m2 moves to c1 in j2, j1 is retracted and j3 made.
	tp("m2", "c1", "j2", "call", "phone", day.Add(time.Hour), 2)
	journey("j1", "anon-1", "open", day, 2)
	journey("j3", "c1", "converted", day, 1)

	ds, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	r := TimeRange{From: day.Add(-24 * time.Hour), To: day.Add(24 * time.Hour), Interval: time.Hour}
	checked := 0
	for _, d := range ds {
		if !d.DefinesVariable("customer_id") {
			continue
		}
		for _, q := range d.Queries() {
			for _, customer := range []string{"anon-1", "c1", "c-none"} {
				sql, err := q.With("customer_id", customer).Expand(r)
				if err != nil {
					t.Fatal(err)
				}
				if !indexLookup.MatchString(sql) {
					continue
				}
				checked++
				got, err := runQuery(ctx, conn, sql)
				if err != nil {
					t.Fatalf("%s for %s: %v\n%s", q.PanelTitle, customer, err, sql)
				}
				plain := indexLookup.ReplaceAllString(sql, "")
				want, err := runQuery(ctx, conn, plain)
				if err != nil {
					t.Fatalf("%s for %s, plain: %v\n%s", q.PanelTitle, customer, err, plain)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s for %s: through the index %v, plain FINAL query %v", q.PanelTitle, customer, got, want)
				}
			}
		}
	}
	if checked < 4*3 {
		t.Errorf("checked %d customer panel queries through the index, want 4 panels × 3 customers", checked)
	}
}
