package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/journeys/journeys/dashboards"
	"github.com/journeys/journeys/simulate"
	"github.com/journeys/journeys/store"
)

// tp is one touchpoint as the dashboards' truth sees it.
type tp struct {
	id, customer, channel, event string
	at                           time.Time
	props                        map[string]any
}

// journey is one journey the events sent must make: a customer's
// touchpoints from after their previous purchase up to a purchase
// (converted), or the rest (open, or abandoned for the lapsed customers).
type journey struct {
	status string
	tps    []tp
}

// duration is ended_at − started_at as ClickHouse stores them: whole
// seconds, truncated.
func (j journey) duration() float64 {
	return float64(j.tps[len(j.tps)-1].at.Unix() - j.tps[0].at.Unix())
}

// channelPath is the journey's channels in order of first use.
func (j journey) channelPath() string {
	var chs []string
	seen := map[string]bool{}
	for _, p := range j.tps {
		if !seen[p.channel] {
			seen[p.channel] = true
			chs = append(chs, p.channel)
		}
	}
	return strings.Join(chs, " → ")
}

// handBuilt are the customers the simulator does not make: three who lapsed
// 50 days before now (abandoned by now), and two who were promised
// something a day into the month, one of whom never got it.
func handBuilt(ds *simulate.Dataset) (lapsed, promised [][]tp) {
	old := ds.Config.Start.AddDate(0, 0, -20).Add(10 * time.Hour)
	day1 := ds.Config.Start.AddDate(0, 0, 1).Add(10 * time.Hour)
	call := map[string]any{"wait_seconds": 30, "duration_seconds": 240, "topic": "billing"}
	page := func(path string) map[string]any { return map[string]any{"path": path} }
	lapsed = [][]tp{
		{{"lapsed-1-a", "lapsed-1", "web", "page", old, page("/")}, {"lapsed-1-b", "lapsed-1", "web", "page", old.Add(5 * time.Minute), page("/products")}},
		{{"lapsed-2-a", "lapsed-2", "web", "page", old, page("/pricing")}, {"lapsed-2-b", "lapsed-2", "phone", "call", old.Add(3 * time.Hour), call}},
		{{"lapsed-3-a", "lapsed-3", "phone", "call", old, call}, {"lapsed-3-b", "lapsed-3", "web", "page", old.Add(3 * time.Hour), page("/")}},
	}
	promised = [][]tp{
		{
			{"promise-1-a", "promise-1", "phone", "call", day1, call},
			{"promise-1-b", "promise-1", "phone", "promise_made", day1.Add(10 * time.Minute), map[string]any{"promise_id": "p-1", "due_at": promiseDue(ds).Format(time.RFC3339)}},
		},
		{
			{"promise-2-a", "promise-2", "phone", "call", day1, call},
			{"promise-2-b", "promise-2", "phone", "promise_made", day1.Add(10 * time.Minute), map[string]any{"promise_id": "p-2", "due_at": promiseDue(ds).Format(time.RFC3339)}},
			{"promise-2-c", "promise-2", "email", "promise_kept", day1.Add(24 * time.Hour), map[string]any{"promise_id": "p-2"}},
		},
	}
	return lapsed, promised
}

// promiseDue is when promise-1's p-1 (never kept) was due.
func promiseDue(ds *simulate.Dataset) time.Time {
	return ds.Config.Start.AddDate(0, 0, 3).Add(12 * time.Hour)
}

// sendHandBuilt sends the hand-built customers, each in one batch, and
// waits until the lapsed journeys are abandoned and p-1 is flagged.
func sendHandBuilt(t *testing.T, url string, s *store.Store, ds *simulate.Dataset) (lapsed, promised [][]tp) {
	t.Helper()
	lapsed, promised = handBuilt(ds)
	for _, c := range append(append([][]tp{}, lapsed...), promised...) {
		var evs []map[string]any
		for _, p := range c {
			typ, event := "track", p.event
			if p.event == "page" {
				typ, event = "page", ""
			}
			e := ev(p.id, p.customer, typ, event, p.at, p.props)
			e["channel"] = p.channel
			evs = append(evs, e)
		}
		send(t, url, evs...)
	}
	eventually(t, 60*time.Second, "lapsed journeys abandoned and the promise not kept flagged", func() (bool, string) {
		a := count(t, s, "SELECT count() FROM journeys FINAL WHERE retracted = 0 AND status = 'abandoned' AND customer_id LIKE 'lapsed-%'")
		p := count(t, s, "SELECT count() FROM friction_flags FINAL WHERE retracted = 0 AND rule = 'promise_not_kept'")
		return a == 3 && p == 1, fmt.Sprintf("%d abandoned, %d promises not kept", a, p)
	})
	return lapsed, promised
}

// journeyTruth splits every customer's events into the journeys the
// processor must have made (see the simulate package doc: journeys end at a
// purchase, and no simulated customer is idle for 30 days).
func journeyTruth(ds *simulate.Dataset, lapsed, promised [][]tp) []journey {
	var out []journey
	for _, c := range ds.Customers {
		var cur []tp
		for _, e := range c.Events {
			name := e.Event
			if name == "" {
				name = e.Type
			}
			cur = append(cur, tp{e.MessageID, c.Key(), e.Channel, name, e.Timestamp, e.Properties})
			if e.IsPurchase() {
				out = append(out, journey{"converted", cur})
				cur = nil
			}
		}
		if len(cur) > 0 {
			out = append(out, journey{"open", cur})
		}
	}
	for _, c := range lapsed {
		out = append(out, journey{"abandoned", c})
	}
	for _, c := range promised {
		out = append(out, journey{"open", c})
	}
	return out
}

// inboundContacts counts what the repeat-contact rule counts as contacts:
// calls, chats, emails and tickets not marked outbound.
func inboundContacts(truth []journey) int {
	n := 0
	for _, j := range truth {
		for _, p := range j.tps {
			switch p.event {
			case "call", "chat", "email", "ticket":
				if p.props["direction"] != "outbound" {
					n++
				}
			}
		}
	}
	return n
}

// helpSessions counts the web sessions (a customer's web touchpoints, cut
// after 30 minutes without one and at UTC midnight) with a page under the
// help_page_then_call rule's prefixes.
func helpSessions(truth []journey) int {
	byCustomer := map[string][]tp{}
	for _, j := range truth {
		for _, p := range j.tps {
			if p.channel == "web" {
				byCustomer[p.customer] = append(byCustomer[p.customer], p)
			}
		}
	}
	n := 0
	for _, tps := range byCustomer {
		help := false
		for i, p := range tps {
			if i > 0 {
				prev := tps[i-1].at
				if p.at.Sub(prev) > 30*time.Minute || p.at.UTC().YearDay() != prev.UTC().YearDay() || p.at.UTC().Year() != prev.UTC().Year() {
					if help {
						n++
					}
					help = false
				}
			}
			path, _ := p.props["path"].(string)
			if p.event == "page" && (strings.HasPrefix(path, "/help") || strings.HasPrefix(path, "/contact") || strings.HasPrefix(path, "/support") || strings.HasPrefix(path, "/faq")) {
				help = true
			}
		}
		if help {
			n++
		}
	}
	return n
}

// table is a panel query's result (dashboards.Result); a column the test
// names must exist.
type table struct{ dashboards.Result }

func fetch(conn driver.Conn, sql string) (table, error) {
	r, err := dashboards.Run(context.Background(), conn, sql)
	return table{r}, err
}

func (tb table) col(name string) int {
	i := tb.Column(name)
	if i < 0 {
		panic(fmt.Sprintf("no column %q in %v", name, tb.Columns))
	}
	return i
}

func (tb table) value(row int, name string) any {
	tb.col(name)
	return tb.Value(row, name)
}

func (tb table) str(row int, name string) string     { tb.col(name); return tb.String(row, name) }
func (tb table) time(row int, name string) time.Time { tb.col(name); return tb.Time(row, name) }
func (tb table) float(row int, name string) float64  { tb.col(name); return tb.Float(row, name) }

func (tb table) strings(name string) []string {
	var out []string
	for i := range tb.Rows {
		out = append(out, tb.str(i, name))
	}
	return out
}

func (tb table) floats(name string) []float64 {
	var out []float64
	for i := range tb.Rows {
		out = append(out, tb.float(i, name))
	}
	return out
}

func (tb table) sum(name string) float64 {
	s := 0.0
	for i := range tb.Rows {
		s += tb.float(i, name)
	}
	return s
}

func (tb table) sumBy(key, value string) map[string]float64 {
	out := map[string]float64{}
	for i := range tb.Rows {
		out[tb.str(i, key)] += tb.float(i, value)
	}
	return out
}

func (tb table) sumWhere(value, key, equals string) float64 {
	return tb.sumBy(key, value)[equals]
}

func (tb table) countWhere(key, equals string) int {
	n := 0
	for i := range tb.Rows {
		if tb.str(i, key) == equals {
			n++
		}
	}
	return n
}
