// Package dashbench is the dashboard benchmark: a month of 10 million
// touchpoints in 1.5 million journeys generated inside ClickHouse, and
// every panel and variable query of every dashboard run over it with the
// time range, interval and variables Grafana would send. It drives any
// ClickHouse through DB: the Debian 18.16 server the tests start
// (dashboards.BenchmarkDashboardQueries) and chDB's embedded 26.5
// (internal/modernch.BenchmarkDashboardQueriesModern), from the same
// statements and queries.
package dashbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/journeys/journeys/dashboards"
)

// The benchmark's data: a month of touchpoints in journeys, as the pipeline
// writes them.
const (
	Touchpoints = 10_000_000
	Journeys    = 1_500_000
	Customers   = 250_000
	// Chunk rows go in one INSERT, so that tables have several parts as
	// live ones do.
	Chunk = 1_000_000
	// Runs is how often each panel query runs.
	Runs = 20
	// Budget is the p95 each panel must stay below.
	Budget = 500 * time.Millisecond
)

// Month is the month the data covers.
var Month = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// DB is a ClickHouse the benchmark loads and queries.
type DB interface {
	Exec(ctx context.Context, sql string) error
	// Rows runs a query and returns how many rows it gave.
	Rows(ctx context.Context, sql string) (int, error)
	// Count runs a query of one row and one unsigned number.
	Count(ctx context.Context, sql string) (uint64, error)
}

// Benchmark is the benchmark on db: it loads the data unless db holds it
// already, runs the panels $JOURNEYS_BENCH_PANELS matches (a regular
// expression on the names the table prints; all when unset) b.N times,
// prints the last run's table, reports each panel's p95 and fails a panel
// over Budget.
func Benchmark(b *testing.B, db DB) {
	ctx := context.Background()
	only, err := regexp.Compile(os.Getenv("JOURNEYS_BENCH_PANELS"))
	if err != nil {
		b.Fatalf("JOURNEYS_BENCH_PANELS: %v", err)
	}
	start := time.Now()
	have, err := isLoaded(ctx, db)
	switch {
	case err != nil:
		b.Fatal(err)
	case have:
		b.Logf("benchmark data already loaded")
	default:
		if err := load(ctx, db, b.Logf); err != nil {
			b.Fatal(err)
		}
		b.Logf("loaded %d touchpoints, %d journeys in %s", Touchpoints, Journeys, time.Since(start).Round(time.Second))
	}
	var results []result
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if results, err = run(ctx, db, only); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	printResults(os.Stdout, results)
	for _, res := range results {
		b.ReportMetric(float64(res.P95.Microseconds())/1000, res.metric())
		if res.P95 > Budget {
			b.Errorf("%s: p95 %s is above %s", res.Name, res.P95.Round(time.Millisecond), Budget)
		}
	}
}

// statement is one step of the load.
type statement struct {
	What, SQL string
}

// load runs every statement of the load, telling logf how long each took.
func load(ctx context.Context, db DB, logf func(format string, args ...any)) error {
	for _, s := range loadStatements() {
		t0 := time.Now()
		if err := db.Exec(ctx, s.SQL); err != nil {
			return fmt.Errorf("load %s: %w\n%s", s.What, err, s.SQL)
		}
		logf("%s: %s", s.What, time.Since(t0).Round(time.Millisecond))
	}
	return nil
}

// isLoaded tells whether the data is there already: the sessions go in
// last. A load cut short is an error, not something to add to.
func isLoaded(ctx context.Context, db DB) (bool, error) {
	touchpoints, err := db.Count(ctx, "SELECT count() FROM touchpoints")
	if err != nil {
		return false, fmt.Errorf("count loaded touchpoints: %w", err)
	}
	sessions, err := db.Count(ctx, "SELECT count() FROM sessions")
	if err != nil {
		return false, fmt.Errorf("count loaded sessions: %w", err)
	}
	switch {
	case touchpoints == 0:
		return false, nil
	case sessions < 2*Journeys:
		return false, fmt.Errorf("the benchmark database holds %d touchpoints and %d sessions: a load was cut short; drop it", touchpoints, sessions)
	}
	return true, nil
}

// result is one panel query's timing.
type result struct {
	Name     string
	P50, P95 time.Duration
	Rows     int
}

// run runs every panel and variable query whose name only matches over the
// whole month (interval 1h, the interval Grafana picks for a month on a
// ~1000 px panel), variables at their defaults and the customer dashboard
// on one real customer, Runs times each; a panel far over Budget stops
// after three runs, so that measuring a slow schema does not take an hour.
func run(ctx context.Context, db DB, only *regexp.Regexp) ([]result, error) {
	ds, err := dashboards.Load()
	if err != nil {
		return nil, err
	}
	r := dashboards.TimeRange{From: Month, To: Month.AddDate(0, 1, 0).Add(-time.Second), Interval: time.Hour}
	var results []result
	for _, d := range ds {
		for _, q := range append(d.VariableQueries(), d.Queries()...) {
			if d.DefinesVariable("customer_id") {
				q = q.With("customer_id", "c-123")
			}
			name := fmt.Sprintf("%s/%d %s %s", strings.TrimSuffix(d.File, ".json"), q.PanelID, q.PanelTitle, q.RefID)
			if !only.MatchString(name) {
				continue
			}
			sql, err := q.Expand(r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			var took []time.Duration
			rows := 0
			for run := 0; run < Runs && (run < 3 || took[0] < 4*Budget); run++ {
				t0 := time.Now()
				n, err := db.Rows(ctx, sql)
				if err != nil {
					return nil, fmt.Errorf("%s: %w\n%s", name, err, sql)
				}
				took = append(took, time.Since(t0))
				rows = n
			}
			sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
			results = append(results, result{Name: name, P50: percentile(took, 50), P95: percentile(took, 95), Rows: rows})
		}
	}
	return results, nil
}

// printResults writes the results as a table.
func printResults(w io.Writer, results []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "panel\tp50 ms\tp95 ms\trows\t")
	for _, res := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", res.Name, res.P50.Milliseconds(), res.P95.Milliseconds(), res.Rows)
	}
	tw.Flush()
}

// metric is a result's name as a benchmark metric unit.
func (r result) metric() string {
	return strings.NewReplacer(" ", "_", "/", "_").Replace(r.Name) + "_p95_ms"
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (p*len(sorted)+99)/100 - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}

// loadStatements generate the month with INSERT … SELECT from numbers().
// Journey j belongs to customer j mod Customers and holds the
// touchpoints n with n mod Journeys = j, the k-th of them (k = n div
// Journeys) at started_at + k·step; its path is those touchpoints'
// events, so journeys and touchpoints agree. Two in five journeys convert
// (their last touchpoint is a purchase), two in five are abandoned, one is
// open. A journey's channels are its touchpoints' channels with a repeat
// of the previous one left out: its channel_sequence, used as its channels
// too (which are in order of first use in the pipeline's rows). One touchpoint in twenty and one journey in four are written twice
// (an older version, then the current one), and one journey and flag in a
// hundred is retracted, so that FINAL has work to do.
func loadStatements() []statement {
	monthStart := Month.Unix()
	J := Journeys
	// Expressions of a journey number j and a touchpoint index k.
	started := fmt.Sprintf("toUInt32(%d + cityHash64(j, 1) %% (27 * 86400))", monthStart)
	step := "toUInt32(60 + cityHash64(j, 2) % 7200)"
	count := fmt.Sprintf("toUInt32(intDiv(%d - 1 - j, %d) + 1)", Touchpoints, J)
	status := "multiIf(cityHash64(j, 3) % 5 < 2, 'converted', cityHash64(j, 3) % 5 < 4, 'abandoned', 'open')"
	// kindTable maps cityHash64(j, k) % 100 to a touchpoint kind (an index
	// into events and channels): 40% product pages, 8% help pages, 12% app
	// screens, 8% emails, 8% calls, 7% chats, 5% store visits, 5% social
	// posts, 4% tickets, 3% community reviews.
	var kinds []string
	for h := 0; h < 100; h++ {
		kd := 10
		for i, upto := range []int{40, 48, 60, 68, 76, 83, 88, 93, 97} {
			if h < upto {
				kd = i + 1
				break
			}
		}
		kinds = append(kinds, fmt.Sprint(kd))
	}
	kindTable := "[" + strings.Join(kinds, ", ") + "]"
	events := "['page', 'page', 'screen', 'email', 'call', 'chat', 'visit', 'post', 'ticket', 'review']"
	channels := "['web', 'web', 'app', 'email', 'phone', 'chat', 'store', 'social', 'email', 'community']"
	// kindOf(k) is the kind of the k-th touchpoint of journey j, 0 for a purchase.
	kindOf := func(k string) string {
		return fmt.Sprintf("if(%s = 'converted' AND %s = %s - 1, 0, %s[cityHash64(j, %s) %% 100 + 1])", status, k, count, kindTable, k)
	}
	var statements []statement
	exec := func(what, sql string) { statements = append(statements, statement{What: what, SQL: sql}) }

	for from := 0; from < Touchpoints; from += Chunk {
		exec(fmt.Sprintf("touchpoints %d–%d", from, from+Chunk), fmt.Sprintf(`
INSERT INTO touchpoints (message_id, customer_id, anonymous_id, user_id, type, event, channel,
    timestamp, timestamp_ms, received_at, journey_id, session_id, late, properties, context, source,
    kafka_partition, kafka_offset, version)
SELECT
    concat('m-', toString(n)) AS message_id,
    concat('c-', toString(j %% %[3]d)) AS customer_id,
    concat('a-', toString(j %% %[3]d)) AS anonymous_id,
    customer_id AS user_id,
    if(kd = 1 OR kd = 2, 'page', if(kd = 3, 'screen', 'track')) AS type,
    if(kd = 0, 'purchase', %[4]s[kd]) AS event,
    if(kd = 0, 'web', %[5]s[kd]) AS channel,
    toDateTime(%[6]s + k * %[7]s) AS timestamp,
    toInt64(toUInt32(timestamp)) * 1000 + n %% 1000 AS timestamp_ms,
    timestamp AS received_at,
    concat('j-', toString(j)) AS journey_id,
    if(channel IN ('web', 'app'), concat('s-', toString(j), '-', toString(intDiv(k, 3))), '') AS session_id,
    0 AS late,
    multiIf(
        kd = 0, concat('{"order_id":"o-', toString(j), '","revenue":', toString(20 + cityHash64(j, 4) %% 200), ',"currency":"EUR"}'),
        kd = 1, concat('{"path":"/products/p', toString(h2 %% 500), '","title":"Product"}'),
        kd = 2, concat('{"path":"', ['/help/returns', '/contact', '/support/order', '/faq'][h2 %% 4 + 1], '","title":"Help"}'),
        kd = 5, concat('{"wait_seconds":', toString(h2 %% 900), ',"duration_seconds":300,"topic":"', ['billing', 'delivery', 'returns'][h2 %% 3 + 1], '","direction":"inbound"}'),
        kd IN (4, 6, 9), concat('{"topic":"', ['billing', 'delivery', 'returns'][h2 %% 3 + 1], '","direction":"', if(kd = 4 AND h2 %% 4 != 0, 'outbound', 'inbound'), '"}'),
        '{}') AS properties,
    '{"ip":"203.0.113.7"}' AS context,
    'bench' AS source,
    toInt32(j %% 12) AS kafka_partition,
    toInt64(n) AS kafka_offset,
    toUInt64(1) AS version
FROM
(
    SELECT
        n, j, k,
        cityHash64(n, 9) %% 1000 AS h2,
        %[8]s AS kd
    FROM
    (
        SELECT number + %[1]d AS n, n %% %[2]d AS j, intDiv(n, %[2]d) AS k
        FROM system.numbers LIMIT %[9]d
    )
)`, from, J, Customers, events, channels, started, step, kindOf("k"), Chunk))
	}
	// Every twentieth touchpoint again, as the processor rewrites one (a
	// newer version, here with the same values).
	exec("touchpoint rewrites", `
INSERT INTO touchpoints (message_id, customer_id, anonymous_id, user_id, type, event, channel,
    timestamp, timestamp_ms, received_at, journey_id, session_id, late, properties, context, source,
    kafka_partition, kafka_offset, version)
SELECT message_id, customer_id, anonymous_id, user_id, type, event, channel,
    timestamp, timestamp_ms, received_at, journey_id, session_id, late, properties, context, source,
    kafka_partition, kafka_offset + 1, version + 1
FROM touchpoints
WHERE cityHash64(message_id) % 20 = 0`)

	journeySQL := func(what, where, version, statusExpr string) {
		exec(what, fmt.Sprintf(`
INSERT INTO journeys (journey_id, customer_id, started_at, ended_at, status, touchpoints, channels, path,
    channel_sequence, friction_count, revenue, retracted, version)
SELECT
    concat('j-', toString(j)) AS journey_id,
    concat('c-', toString(j %% %[2]d)) AS customer_id,
    toDateTime(%[3]s) AS started_at,
    toDateTime(%[3]s + (cnt - 1) * %[4]s) AS ended_at,
    %[5]s AS status,
    cnt AS touchpoints,
    arrayFilter((c, i) -> i = 1 OR c != chans[i - 1], chans, arrayEnumerate(chans)) AS channels,
    arrayMap(kd -> if(kd = 0, 'purchase', %[6]s[kd]), kinds) AS path,
    channels AS channel_sequence,
    toUInt32(j %% 5 = 0) AS friction_count,
    if(status = 'converted', toFloat64(20 + cityHash64(j, 4) %% 200), 0) AS revenue,
    toUInt8(cityHash64(j, 5) %% 100 = 0) AS retracted,
    toUInt64(%[8]s) AS version
FROM
(
    SELECT j, %[9]s AS cnt,
        arrayMap(k -> %[10]s, range(cnt)) AS kinds,
        arrayMap(kd -> if(kd = 0, 'web', %[7]s[kd]), kinds) AS chans
    FROM (SELECT number AS j FROM system.numbers LIMIT %[1]d)
    WHERE %[11]s
)`, J, Customers, started, step, statusExpr, events, channels, version, count, kindOf("k"), where))
	}
	// A quarter of the journeys first as an older open version, then all
	// of them as they stand.
	journeySQL("journeys, older open versions", "j % 4 = 0", "1", "'open'")
	journeySQL("journeys", "1", "2", status)

	exec("friction flags", fmt.Sprintf(`
INSERT INTO friction_flags (flag_id, rule, customer_id, journey_id, occurred_at, detected_at, severity,
    evidence, details, retracted, version)
SELECT
    concat('f-', toString(j)) AS flag_id,
    ['help_page_then_call', 'repeat_contact_same_topic', 'promise_not_kept', 'repeated_calls_before_purchase', 'long_wait'][cityHash64(j, 6) %% 5 + 1] AS rule,
    concat('c-', toString(j %% %[2]d)) AS customer_id,
    concat('j-', toString(j)) AS journey_id,
    toDateTime(%[3]s + %[4]s) AS occurred_at,
    occurred_at + 60 AS detected_at,
    ['info', 'warning', 'critical'][cityHash64(j, 7) %% 3 + 1] AS severity,
    [concat('m-', toString(j)), concat('m-', toString(j + %[1]d))] AS evidence,
    if(rule = 'promise_not_kept', concat('{"promise_id":"p-', toString(j), '"}'), '{}') AS details,
    toUInt8(cityHash64(j, 8) %% 50 = 0) AS retracted,
    toUInt64(1) AS version
FROM (SELECT number * 5 AS j FROM system.numbers LIMIT %[5]d)`, J, Customers, started, step, J/5))

	exec("sessions", fmt.Sprintf(`
INSERT INTO sessions (session_id, customer_id, channel, started_at, ended_at, touchpoints, page_views,
    entry_page, exit_page, version)
SELECT
    concat('s-', toString(j), '-', toString(s)) AS session_id,
    concat('c-', toString(j %% %[2]d)) AS customer_id,
    'web' AS channel,
    toDateTime(%[3]s + s * 3 * %[4]s) AS started_at,
    started_at + 2 * %[4]s AS ended_at,
    toUInt32(3) AS touchpoints,
    toUInt32(2) AS page_views,
    '/products/p1' AS entry_page,
    '/help/returns' AS exit_page,
    toUInt64(1) AS version
FROM (SELECT number %% %[1]d AS j, intDiv(number, %[1]d) AS s FROM system.numbers LIMIT %[5]d)`, J, Customers, started, step, 2*J))
	return statements
}
