package modernch

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/journeys/journeys/store"
)

// base is the dataset's first hour; now stands for now() in every query, so
// that both versions compute the same "last hour" and "last day".
var (
	base = time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC)
	now  = base.Add(4 * time.Hour)
)

func at(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }

// insertDataset writes the same small dataset into both versions, one row an
// INSERT … SELECT through the store's own INSERT heads (explicit column
// lists), so that both versions hold the same parts:
//
//	c1/j1 converted: page /help, call, call, call, purchase; an older open
//	      version of j1; m5 written twice (the second version wins)
//	c2/j2 open: page; flags help_page_then_call, promise_not_kept (critical)
//	      and a retracted many_transfers
//	c3/j3 abandoned: page, call
//	c4/j4 converted: page, purchase
//	c5…c14: converted in the last day before now (page, call, purchase),
//	      each with a checkout_then_call flag in the last hour: the alerts'
//	      thresholds are crossed
//	engagement: NPS answers, an idea and its status change, a review, a
//	      referral, a community answer; customers in every tier
func insertDataset(t *testing.T, p pair) {
	t.Helper()
	ins := store.InsertStatements()
	row := func(table string, values ...any) {
		t.Helper()
		head, ok := ins[table]
		if !ok {
			t.Fatalf("the store writes no table %s", table)
		}
		if got, want := len(values), strings.Count(head, ",")+1; got != want {
			t.Fatalf("%s: %d values for %d columns", table, got, want)
		}
		lits := make([]string, len(values))
		for i, v := range values {
			lits[i] = literal(t, v)
		}
		p.exec(t, head+" SELECT "+strings.Join(lits, ", "))
	}
	offset := int64(0)
	touchpoint := func(id, customer, event, channel string, ts time.Time, journey, props string, version uint64) {
		typ := "track"
		if event == "page" {
			typ = "page"
		}
		session := ""
		if channel == "web" {
			session = "s-" + customer
		}
		offset++
		row("touchpoints", id, customer, "anon-"+customer, customer, typ, event, channel, ts, ts.UnixMilli(), ts.Add(time.Second),
			journey, session, uint8(0), props, `{"ip":"10.0.0.1"}`, "test", int32(len(customer)%2), offset, version)
	}
	help := `{"path":"/help"}`
	call := `{"topic":"billing","direction":"inbound","wait_seconds":40}`
	purchase := func(id string) string { return `{"order_id":"o-` + id + `","revenue":12.5}` }

	touchpoint("m1", "c1", "page", "web", at(0), "j1", help, 1)
	touchpoint("m2", "c1", "call", "phone", at(10), "j1", call, 1)
	touchpoint("m3", "c1", "call", "phone", at(70), "j1", call, 1)
	touchpoint("m4", "c1", "call", "phone", at(130), "j1", call, 1)
	touchpoint("m5", "c1", "purchase", "web", at(190), "j0", purchase("m5"), 1)
	touchpoint("m5", "c1", "purchase", "web", at(190), "j1", purchase("m5"), 2)
	touchpoint("m6", "c2", "page", "web", at(5), "j2", help, 1)
	touchpoint("m7", "c3", "page", "web", at(20), "j3", `{"path":"/pricing"}`, 1)
	touchpoint("m8", "c3", "call", "phone", at(80), "j3", call, 1)
	touchpoint("m9", "c4", "page", "web", at(30), "j4", `{"path":"/contact"}`, 1)
	touchpoint("m10", "c4", "purchase", "web", at(40), "j4", purchase("m10"), 1)
	touchpoint("e1", "c1", "survey_response", "email", at(200), "j1", `{"kind":"nps","score":9}`, 1)
	touchpoint("e2", "c3", "survey_response", "email", at(100), "j3", `{"kind":"nps","score":4}`, 1)
	touchpoint("e3", "c4", "survey_response", "email", at(50), "j4", `{"kind":"nps","score":7}`, 1)
	touchpoint("e4", "c1", "idea_submitted", "community", at(210), "j1", `{"idea_id":"i1"}`, 1)
	touchpoint("e5", "c1", "idea_status_changed", "community", at(220), "j1", `{"idea_id":"i1","status":"reviewed"}`, 1)
	touchpoint("e6", "c4", "idea_submitted", "community", at(60), "j4", `{"idea_id":"i2"}`, 1)
	touchpoint("e7", "c4", "review", "web", at(70), "j4", `{"rating":5}`, 1)
	touchpoint("e8", "c1", "referral", "web", at(215), "j1", `{}`, 1)
	touchpoint("e9", "c4", "community_answer", "community", at(75), "j4", `{}`, 1)

	journey := func(id, customer, status string, started, ended time.Time, channels, path []string, friction uint32, revenue float64, retracted uint8, version uint64) {
		// The channels given are each journey's channels in path order,
		// repeats collapsed: its channel_sequence.
		row("journeys", id, customer, started, ended, status, uint32(len(path)), channels, path, channels, friction, revenue, retracted, version)
	}
	journey("j1", "c1", "open", at(0), at(130), []string{"web", "phone"}, []string{"page", "call", "call", "call"}, 1, 0, 0, 4)
	journey("j1", "c1", "converted", at(0), at(190), []string{"web", "phone", "web"}, []string{"page", "call", "call", "call", "purchase"}, 1, 99, 0, 5)
	journey("j2", "c2", "open", at(5), at(5), []string{"web"}, []string{"page"}, 2, 0, 0, 1)
	journey("j3", "c3", "abandoned", at(20), at(80), []string{"web", "phone"}, []string{"page", "call"}, 0, 0, 0, 2)
	journey("j4", "c4", "converted", at(30), at(40), []string{"web"}, []string{"page", "purchase"}, 0, 25, 0, 2)
	journey("j0", "c1", "open", at(190), at(190), []string{"web"}, []string{"purchase"}, 0, 12.5, 1, 3)
	for i := 5; i <= 14; i++ {
		c, j := fmt.Sprintf("c%d", i), fmt.Sprintf("j%d", i)
		start := at(100 + 5*i)
		touchpoint(c+"-p", c, "page", "web", start, j, `{"path":"/checkout"}`, 1)
		touchpoint(c+"-c", c, "call", "phone", start.Add(10*time.Minute), j, call, 1)
		touchpoint(c+"-b", c, "purchase", "web", start.Add(30*time.Minute), j, purchase(c), 1)
		journey(j, c, "converted", start, start.Add(30*time.Minute), []string{"web", "phone", "web"}, []string{"page", "call", "purchase"}, 1, 12.5*float64(i), 0, 1)
		flagAt := now.Add(-time.Duration(5*i) * time.Minute / 2)
		row("friction_flags", "f-"+c, "checkout_then_call", c, j, flagAt, flagAt.Add(time.Minute), "warning",
			[]string{c + "-p", c + "-c"}, `{"window_hours":24}`, uint8(0), uint64(1))
		row("sessions", "s-"+c, c, "web", start, start.Add(30*time.Minute), uint32(2), uint32(1), "/checkout", "/checkout", uint64(1))
	}

	flags := []struct {
		id, rule, customer, journey string
		at, detected                time.Time
		severity                    string
		evidence                    []string
		details                     string
		retracted                   uint8
	}{
		{"f1", "repeated_calls_before_purchase", "c1", "j1", at(190), at(191), "warning", []string{"m2", "m3", "m4", "m5"}, `{"calls":3}`, 0},
		{"f2", "help_page_then_call", "c2", "j2", at(6), at(7), "info", []string{"m6"}, `{"window_hours":2}`, 0},
		{"f3", "promise_not_kept", "c2", "j2", at(60), now.Add(-10 * time.Minute), "critical", []string{"m6"}, `{"due":"2024-03-10T10:00:00Z","promise_id":"p-1"}`, 0},
		{"f4", "many_transfers", "c2", "j2", at(61), at(62), "critical", []string{"m6"}, `{}`, 1},
	}
	for _, f := range flags {
		row("friction_flags", f.id, f.rule, f.customer, f.journey, f.at, f.detected, f.severity, f.evidence, f.details, f.retracted, uint64(1))
	}
	for _, c := range []string{"c1", "c2", "c3", "c4"} {
		row("sessions", "s-"+c, c, "web", at(0), at(190), uint32(2), uint32(1), "/help", "/help", uint64(1))
	}
	row("sessions", "s-c1", "c1", "web", at(0), at(200), uint32(3), uint32(1), "/help", "/checkout", uint64(2))

	tiers := []string{"engaged", "loyal", "satisfied", "buyer", "prospect"}
	for i := 1; i <= 14; i++ {
		c := fmt.Sprintf("c%d", i)
		contributions := uint32(0)
		if i == 1 || i == 4 {
			contributions = uint32(i)
		}
		row("customers", c, at(0), at(200), uint32(3), uint32(i%3), 12.5*float64(i), uint32(1), uint32(i%2), int16(i%11), uint8(i%2),
			contributions, uint32(i%2), contributions/2, uint32(0), tiers[i%len(tiers)], at(10*i), uint8(0), uint64(1))
	}
	row("customers", "anon-c9", at(0), at(10), uint32(1), uint32(0), 0.0, uint32(0), uint32(0), int16(-1), uint8(0),
		uint32(0), uint32(0), uint32(0), uint32(0), "prospect", at(0), uint8(1), uint64(1))

	row("identities", "anon-c9", "c9", "anonymous_id", at(100), "c9-p", int32(1), uint8(0), uint64(1))
	row("identities", "c9-old", "c9", "user_id", at(120), "c9-c", int32(1), uint8(1), uint64(1))
}

// literal writes a Go value as a ClickHouse literal both versions read alike.
func literal(t *testing.T, v any) string {
	t.Helper()
	switch v := v.(type) {
	case string:
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	case time.Time:
		return fmt.Sprintf("toDateTime(%d)", v.Unix())
	case []string:
		if len(v) == 0 {
			return "emptyArrayString()"
		}
		parts := make([]string, len(v))
		for i, s := range v {
			parts[i] = literal(t, s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case float64:
		return "toFloat64(" + strconv.FormatFloat(v, 'g', -1, 64) + ")"
	case int16, int32, int64:
		return fmt.Sprintf("%d", v)
	case uint8, uint32, uint64:
		return fmt.Sprintf("%d", v)
	}
	t.Fatalf("no literal for %T %v", v, v)
	return ""
}
