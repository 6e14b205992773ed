package pipeline_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/journeys/journeys/dashboards"
	"github.com/journeys/journeys/simulate"
	"github.com/journeys/journeys/store"
)

// Every panel and variable query of every dashboard runs against the real
// ClickHouse over data that came through the whole pipeline: the simulated
// month, plus a few hand-built customers the simulator does not make (three
// who lapsed 50 days ago and were abandoned, two who were promised
// something). Every query must return rows, and the panels whose numbers
// the test can derive from the events sent must show exactly those.
func TestDashboardQueriesOnSimulatedData(t *testing.T) {
	ds, s, url := simulatedPipeline(t, 300)
	lapsed, promised := sendHandBuilt(t, url, s, ds)
	truth := journeyTruth(ds, lapsed, promised)
	customer := pickCustomer(t, ds)

	r := dashboards.TimeRange{From: ds.Config.Start.AddDate(0, 0, -30), To: time.Now().Add(time.Hour), Interval: time.Hour}
	all, err := dashboards.Load()
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]table{} // file/panel title → rows of its first target
	queries := 0
	for _, d := range all {
		for _, q := range append(d.VariableQueries(), d.Queries()...) {
			queries++
			if hasVariable(d, "customer_id") {
				q = q.With("customer_id", customer.Key())
			}
			name := fmt.Sprintf("%s/%d %s", d.UID, q.PanelID, q.PanelTitle)
			sql, err := q.Expand(r)
			if err != nil {
				t.Errorf("%s: expand: %v", name, err)
				continue
			}
			tb, err := fetch(s.Conn(), sql)
			if err != nil {
				t.Errorf("%s: %v\n%s", name, err, sql)
				continue
			}
			if len(tb.Rows) == 0 {
				t.Errorf("%s returned no rows over the simulated month", name)
			}
			if q.PanelTitle == "Calls before purchase" {
				checkCallsBeforePurchase(t, s.Conn(), sql, ds.CallsBeforePurchase)
			}
			if _, seen := results[d.File+"/"+q.PanelTitle]; !seen {
				results[d.File+"/"+q.PanelTitle] = tb
			}
		}
	}
	if queries == 0 {
		t.Fatal("no dashboard queries found")
	}
	panel := func(file, title string) table {
		t.Helper()
		tb, ok := results[file+"/"+title]
		if !ok {
			t.Fatalf("%s has no panel %q", file, title)
		}
		return tb
	}
	t.Run("cx overview", func(t *testing.T) { checkCXOverview(t, s, panel, ds, truth) })
	t.Run("friction", func(t *testing.T) { checkFriction(t, s, panel, ds, truth) })
	t.Run("journeys", func(t *testing.T) { checkJourneys(t, panel, truth) })
	t.Run("customer", func(t *testing.T) { checkCustomer(t, panel, ds, customer) })
	t.Run("engagement", func(t *testing.T) { checkEngagement(t, panel, ds) })
}

func checkCXOverview(t *testing.T, s *store.Store, panel func(string, string) table, ds *simulate.Dataset, truth []journey) {
	const f = "cx-overview.json"
	series := panel(f, "Journeys started, converted and abandoned").sumBy("series", "journeys")
	want := map[string]float64{"started": float64(len(truth))}
	for _, j := range truth {
		if j.status != "open" {
			want[j.status]++
		}
	}
	if !reflect.DeepEqual(series, want) {
		t.Errorf("journeys over time sum to %v, want %v (converted = the %d purchases)", series, want, ds.Purchases)
	}

	var toPurchase []float64
	for _, j := range truth {
		if j.status == "converted" {
			toPurchase = append(toPurchase, j.duration())
		}
	}
	med := panel(f, "Median time to purchase")
	if got, want := med.float(0, "median_time_to_purchase"), median(toPurchase); math.Abs(got-want) > 0.5 {
		t.Errorf("median time to purchase = %v s, want %v s (over %d purchases)", got, want, len(toPurchase))
	}

	flagged := map[string]bool{}
	for _, id := range column[string](t, s, "SELECT DISTINCT journey_id FROM friction_flags FINAL WHERE retracted = 0") {
		flagged[id] = true
	}
	withFriction := 0
	for _, id := range column[string](t, s, "SELECT journey_id FROM journeys FINAL WHERE retracted = 0") {
		if flagged[id] {
			withFriction++
		}
	}
	share := panel(f, "Journeys with friction")
	if got := [2]float64{share.float(0, "with_friction"), share.float(0, "journeys")}; got != [2]float64{float64(withFriction), float64(len(truth))} {
		t.Errorf("journeys with friction = %v of %v, want %d of %d", got[0], got[1], withFriction, len(truth))
	}

	cmp := panel(f, "Smooth journeys vs journeys with friction")
	if k := cmp.strings("journeys_kind"); !reflect.DeepEqual(k, []string{"smooth", "with friction"}) {
		t.Errorf("smooth vs friction rows %v, want smooth (the benchmark) first", k)
	}
	if got := cmp.sum("converted"); got != float64(ds.Purchases) {
		t.Errorf("smooth + friction converted = %v, want the %d purchases", got, ds.Purchases)
	}
	if got := cmp.sum("purchase_revenue"); math.Abs(got-ds.Revenue) > 0.01 {
		t.Errorf("smooth + friction revenue = %.2f, want %.2f", got, ds.Revenue)
	}

	top := panel(f, "Top friction rules")
	want = map[string]float64{}
	for rule, n := range flagsBy(t, s, "rule") {
		want[rule] = n
	}
	if got := top.sumBy("rule", "flags"); !reflect.DeepEqual(got, want) {
		t.Errorf("top friction rules %v, want what friction_flags FINAL holds: %v", got, want)
	}
}

func checkFriction(t *testing.T, s *store.Store, panel func(string, string) table, ds *simulate.Dataset, truth []journey) {
	const f = "friction.json"
	want := flagsBy(t, s, "concat(rule, ' (', severity, ')')")
	if got := panel(f, "Flags by rule and severity over time").sumBy("rule_severity", "flags"); !reflect.DeepEqual(got, want) {
		t.Errorf("flags over time sum to %v, want %v", got, want)
	}
	totals := panel(f, "Flags by rule and severity")
	got := map[string]float64{}
	for i := range totals.Rows {
		got[totals.str(i, "rule")+" ("+totals.str(i, "severity")+")"] += totals.float(i, "flags")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flags by rule and severity %v, want %v", got, want)
	}
	if n := totals.sumWhere("flags", "rule", "repeated_calls_before_purchase"); n != float64(ds.ExpectedFlags) {
		t.Errorf("repeated_calls_before_purchase flags = %v, the simulator expects %d", n, ds.ExpectedFlags)
	}

	labels := []string{"0", "1", "2", "3", "4", "5+"}
	trend := panel(f, "Calls before purchase over time").sumBy("calls_before_purchase", "purchases")
	for i, l := range labels {
		if trend[l] != float64(ds.CallsBeforePurchase[i]) {
			t.Errorf("calls before purchase over time sum to %v, the simulator generated %v (0..5+)", trend, ds.CallsBeforePurchase)
			break
		}
	}

	help := panel(f, "Help page, then a call")
	if got, want := help.float(0, "help_page_then_call_flags"), flagsBy(t, s, "rule")["help_page_then_call"]; got != want {
		t.Errorf("help page then call flags = %v, want %v", got, want)
	}
	if got, want := help.float(0, "help_sessions"), float64(helpSessions(truth)); got != want {
		t.Errorf("web sessions with a help page = %v, want %v (sessions cut at 30 min idle and at UTC midnight)", got, want)
	}

	rep := panel(f, "Repeat contact rate")
	if got, want := rep.float(0, "inbound_contacts"), float64(inboundContacts(truth)); got != want {
		t.Errorf("inbound contacts = %v, want %v", got, want)
	}
	if got, want := rep.float(0, "repeat_contacts"), flagsBy(t, s, "rule")["repeat_contact_same_topic"]; got != want {
		t.Errorf("repeat contacts = %v, want %v", got, want)
	}
	if fcr := rep.float(0, "first_contact_resolution"); math.Abs(fcr-(1-rep.float(0, "repeat_contacts")/rep.float(0, "inbound_contacts"))) > 1e-9 {
		t.Errorf("first-contact resolution %v is not 1 − repeat contacts / inbound contacts", fcr)
	}

	if n := panel(f, "Promises not kept").float(0, "promises_not_kept"); n != 1 {
		t.Errorf("promises not kept = %v, want 1 (promise-1's p-1)", n)
	}
	pk := panel(f, "Promises not kept, latest first")
	if len(pk.Rows) != 1 || pk.str(0, "customer_id") != "promise-1" || pk.str(0, "promise_id") != "p-1" ||
		!pk.time(0, "due").Equal(promiseDue(ds)) {
		t.Errorf("promises not kept rows %v, want promise-1's p-1 due %s", pk.Rows, promiseDue(ds))
	}

	// The open-friction list: exactly the customers whose open journey has
	// flags, worst first.
	open := map[string]bool{}
	for _, id := range column[string](t, s, "SELECT journey_id FROM journeys FINAL WHERE retracted = 0 AND status = 'open'") {
		open[id] = true
	}
	type worst struct{ critical, flags float64 }
	wantOpen := map[string]worst{}
	rows, err := fetch(s.Conn(), "SELECT customer_id, journey_id, severity FROM friction_flags FINAL WHERE retracted = 0")
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows.Rows {
		if !open[rows.str(i, "journey_id")] {
			continue
		}
		w := wantOpen[rows.str(i, "customer_id")]
		w.flags++
		if rows.str(i, "severity") == "critical" {
			w.critical++
		}
		wantOpen[rows.str(i, "customer_id")] = w
	}
	list := panel(f, "Customers with open friction, worst first")
	gotOpen := map[string]worst{}
	for i := range list.Rows {
		gotOpen[list.str(i, "customer_id")] = worst{list.float(i, "critical"), list.float(i, "flags")}
		if i > 0 {
			prev, cur := gotOpen[list.str(i-1, "customer_id")], gotOpen[list.str(i, "customer_id")]
			if cur.critical > prev.critical || cur.critical == prev.critical && cur.flags > prev.flags {
				t.Errorf("open friction row %d (%s %+v) is worse than the row before it (%+v)", i, list.str(i, "customer_id"), cur, prev)
			}
		}
	}
	if !reflect.DeepEqual(gotOpen, wantOpen) {
		t.Errorf("customers with open friction %v, want %v", gotOpen, wantOpen)
	}
	if gotOpen["promise-1"].critical == 0 {
		t.Error("promise-1, whose promise was not kept, is not on the open-friction list as critical")
	}
}

func checkJourneys(t *testing.T, panel func(string, string) table, truth []journey) {
	const f = "journeys.json"
	for _, c := range []struct{ title, status string }{
		{"Channel paths to purchase", "converted"},
		{"Channel paths to abandonment", "abandoned"},
	} {
		want := map[string]float64{}
		for _, j := range truth {
			if j.status == c.status {
				want[j.channelPath()]++
			}
		}
		checkTop(t, c.title, panel(f, c.title).sumBy("path", "journeys"), want, 20)
	}
	if got := panel(f, "Channel paths to abandonment").sumBy("path", "journeys"); !reflect.DeepEqual(got, map[string]float64{"web": 1, "web → phone": 1, "phone → web": 1}) {
		t.Errorf("paths to abandonment %v, want the three lapsed customers' web, web → phone and phone → web", got)
	}

	want := map[string]float64{}
	for _, j := range truth {
		for i := 1; i < len(j.tps); i++ {
			if a, b := j.tps[i-1].channel, j.tps[i].channel; a != b {
				want[a+" → "+b]++
			}
		}
	}
	sw := panel(f, "Channel switches within journeys")
	got := map[string]float64{}
	for i := range sw.Rows {
		got[sw.str(i, "from_channel")+" → "+sw.str(i, "to_channel")] += sw.float(i, "transitions")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("channel switches %v, want %v", got, want)
	}

	length := panel(f, "Journey length")
	lengthBuckets := []string{"1", "2", "3–4", "5–9", "10–19", "20–49", "50+"}
	lows := []int{1, 2, 3, 5, 10, 20, 50}
	durations := panel(f, "Journey duration")
	durBuckets := []string{"< 1 h", "1 h – 1 d", "1–3 d", "3–7 d", "7–14 d", "14–30 d", "≥ 30 d"}
	durLows := []float64{0, 3600, 86400, 3 * 86400, 7 * 86400, 14 * 86400, 30 * 86400}
	for _, status := range []string{"converted", "abandoned", "open"} {
		wantLen := make([]float64, len(lows))
		wantDur := make([]float64, len(durLows))
		for _, j := range truth {
			if j.status != status {
				continue
			}
			wantLen[sort.Search(len(lows), func(i int) bool { return lows[i] > len(j.tps) })-1]++
			wantDur[sort.Search(len(durLows), func(i int) bool { return durLows[i] > j.duration() })-1]++
		}
		if got := length.floats(status); !reflect.DeepEqual(got, wantLen) || !reflect.DeepEqual(length.strings("touchpoints_in_journey"), lengthBuckets) {
			t.Errorf("journey length of %s journeys %v (buckets %v), want %v", status, got, length.strings("touchpoints_in_journey"), wantLen)
		}
		if got := durations.floats(status); !reflect.DeepEqual(got, wantDur) || !reflect.DeepEqual(durations.strings("journey_duration"), durBuckets) {
			t.Errorf("journey duration of %s journeys %v, want %v", status, got, wantDur)
		}
	}
}

func checkCustomer(t *testing.T, panel func(string, string) table, ds *simulate.Dataset, c simulate.Customer) {
	const f = "customer.json"
	tl := panel(f, "Timeline across channels")
	var want []string
	for _, e := range c.Events {
		want = append(want, e.MessageID)
	}
	if got := tl.strings("message_id"); !reflect.DeepEqual(got, want) {
		t.Errorf("customer %s's timeline shows %d touchpoints %v, want their %d events in time order %v", c.Key(), len(got), got, len(want), want)
	}
	for i, e := range c.Events {
		if i < len(tl.Rows) && e.IsCall() && tl.str(i, "topic") != e.Properties["topic"] {
			t.Errorf("timeline row %d: topic %q, want %q", i, tl.str(i, "topic"), e.Properties["topic"])
		}
	}
	exp := ds.PerCustomer[c.Key()]
	if n := len(panel(f, "Journeys").Rows); n != exp.Journeys {
		t.Errorf("customer %s has %d journeys on the dashboard, want %d", c.Key(), n, exp.Journeys)
	}
	if n := panel(f, "Friction flags").countWhere("rule", "repeated_calls_before_purchase"); n != exp.Flags {
		t.Errorf("customer %s shows %d repeated-calls flags, want %d", c.Key(), n, exp.Flags)
	}
	if n := panel(f, "Touchpoints").float(0, "touchpoints"); n != float64(exp.Events) {
		t.Errorf("customer %s: %v touchpoints, want %d", c.Key(), n, exp.Events)
	}
}

// checkTop checks a top-n table: each path shown with its true count, and
// no path left out that is more common than one shown.
func checkTop(t *testing.T, title string, got, want map[string]float64, n int) {
	t.Helper()
	if len(got) != min(n, len(want)) {
		t.Errorf("%s: %d rows, want %d", title, len(got), min(n, len(want)))
	}
	least := math.Inf(1)
	for p, c := range got {
		if want[p] != c {
			t.Errorf("%s: %q has %v journeys, want %v", title, p, c, want[p])
		}
		least = math.Min(least, c)
	}
	for p, c := range want {
		if _, shown := got[p]; !shown && c > least {
			t.Errorf("%s: %q (%v journeys) left out while one with %v is shown", title, p, c, least)
		}
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

func hasVariable(d dashboards.Dashboard, name string) bool {
	for _, v := range d.Variables {
		if v.Name == name {
			return true
		}
	}
	return false
}

// pickCustomer is a simulated customer with calls, a purchase and a
// repeated-calls flag: a timeline across channels worth showing.
func pickCustomer(t *testing.T, ds *simulate.Dataset) simulate.Customer {
	t.Helper()
	for _, c := range ds.Customers {
		if e := ds.PerCustomer[c.Key()]; c.Profile == simulate.ProfileFrustratedCaller && e.Flags > 0 {
			return c
		}
	}
	t.Fatal("the simulation has no frustrated caller with a flag")
	return simulate.Customer{}
}

func flagsBy(t *testing.T, s *store.Store, expr string) map[string]float64 {
	t.Helper()
	tb, err := fetch(s.Conn(), "SELECT "+expr+" AS k, count() AS n FROM friction_flags FINAL WHERE retracted = 0 GROUP BY k")
	if err != nil {
		t.Fatal(err)
	}
	return tb.sumBy("k", "n")
}

func column[T any](t *testing.T, s *store.Store, sql string) []T {
	t.Helper()
	rows, err := s.Conn().Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
