package pipeline_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

// timeline is a few customers' touchpoints that the default rules flag, in
// event-time order. Times are offsets from t0.
func timeline(t0 time.Time) []map[string]any {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	track := func(id, user, event string, d time.Duration, props map[string]any) map[string]any {
		return ev(id, user, "track", event, at(d), props)
	}
	help := func(id, user string, d time.Duration) map[string]any {
		return ev(id, user, "page", "", at(d), map[string]any{"path": "/help/billing"})
	}
	topic := map[string]any{"topic": "billing"}
	return []map[string]any{
		// alice reads help, calls, starts a checkout, calls again, buys.
		help("a1", "alice", 0),
		track("a2", "alice", "call", 30*time.Minute, topic),
		track("a3", "alice", "checkout_started", time.Hour, nil),
		track("a4", "alice", "call", 80*time.Minute, map[string]any{"topic": "delivery"}),
		purchase("a5", "alice", at(2*time.Hour)),
		// bob calls twice about billing, then buys.
		track("b1", "bob", "call", 0, topic),
		track("b2", "bob", "call", 3*time.Hour, topic),
		purchase("b3", "bob", at(4*time.Hour)),
		// carol starts a checkout, buys ten minutes later, then calls.
		track("c1", "carol", "checkout_started", 0, nil),
		purchase("c2", "carol", at(10*time.Minute)),
		track("c3", "carol", "call", 30*time.Minute, map[string]any{"topic": "delivery"}),
	}
}

// sendOneByOne sends each event alone and waits until it is stored, so that
// every event is a batch of its own and its customer's earlier ones are
// already written: an older event then really arrives out of order.
func sendOneByOne(t *testing.T, s *store.Store, url string, events []map[string]any) {
	t.Helper()
	for i, e := range events {
		send(t, url, e)
		waitTouchpoints(t, s, uint64(i+1))
	}
}

// current renders the rows that stand (FINAL, not retracted), sessions
// aside: a reordered web touchpoint joins the session it arrives in.
func current(t *testing.T, s *store.Store) string {
	t.Helper()
	return render(t, s,
		`SELECT concat('tp ', message_id, ' ', customer_id, ' ', event, ' ', toString(timestamp_ms), ' ', journey_id, ' late=', toString(late)) FROM touchpoints FINAL`,
		`SELECT concat('j ', journey_id, ' ', customer_id, ' ', status, ' ', toString(touchpoints), ' ', arrayStringConcat(path, '>'), ' ', arrayStringConcat(channels, ','), ' ', toString(friction_count), ' ', toString(revenue), ' ', toString(started_at), ' ', toString(ended_at)) FROM journeys FINAL WHERE retracted = 0`,
		`SELECT concat('f ', flag_id, ' ', rule, ' ', customer_id, ' ', journey_id, ' ', severity, ' ', arrayStringConcat(evidence, ','), ' ', toString(occurred_at)) FROM friction_flags FINAL WHERE retracted = 0`)
}

// settledCurrent is current once the last batch is written through: every
// touchpoint's journey has a row, and the rows stay the same for a while (a
// batch writes journeys, then flags, then profiles).
func settledCurrent(t *testing.T, s *store.Store) string {
	t.Helper()
	eventually(t, 30*time.Second, "a journey row for every touchpoint", func() (bool, string) {
		n := count(t, s, `SELECT count() FROM touchpoints FINAL
WHERE late = 0 AND journey_id NOT IN (SELECT journey_id FROM journeys FINAL)`)
		return n == 0, current(t, s)
	})
	last := current(t, s)
	for stable := 0; stable < 2; {
		time.Sleep(300 * time.Millisecond)
		now := current(t, s)
		if now == last {
			stable++
		} else {
			stable, last = 0, now
		}
	}
	return last
}

func TestOutOfOrderWithinTheLatenessGivesTheRowsOfInOrderDelivery(t *testing.T) {
	t0 := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)
	events := timeline(t0)

	inOrder, url := startPipeline(t)
	sendOneByOne(t, inOrder, url, events)
	want := settledCurrent(t, inOrder)
	for _, rule := range []string{"help_page_then_call", "checkout_then_call", "repeat_contact_same_topic"} {
		if !strings.Contains(want, " "+rule+" ") {
			t.Errorf("the in-order run flags no %s; the timeline does not test it:\n%s", rule, want)
		}
	}

	// Each customer's events arrive shuffled, every one within 6 hours of
	// the latest its customer sent before.
	idx := map[string]map[string]any{}
	for _, e := range events {
		idx[e["messageId"].(string)] = e
	}
	var shuffled []map[string]any
	for _, id := range []string{"a2", "a5", "b2", "c1", "c3", "a1", "b3", "a4", "c2", "a3", "b1"} {
		shuffled = append(shuffled, idx[id])
	}
	b := startBroker(t)
	s := chtest.Open(t)
	reg := prometheus.NewRegistry()
	runProcessorWith(t, b, s, reg)
	sendOneByOne(t, s, startIngest(t, b), shuffled)

	eventually(t, 30*time.Second, "rows equal to in-order delivery", func() (bool, string) {
		got := current(t, s)
		return got == want, chtest.LineDiff(got, want)
	})
	// carol's call came before her purchase arrived: the checkout-then-call
	// flag it raised no longer holds, and the journey it opened is gone.
	if n := count(t, s, "SELECT count() FROM friction_flags FINAL WHERE customer_id = 'carol' AND rule = 'checkout_then_call' AND retracted = 1"); n != 1 {
		t.Errorf("carol's checkout_then_call flag: %d retracted rows, want 1", n)
	}
	if n := count(t, s, "SELECT count() FROM journeys FINAL WHERE retracted = 1"); n == 0 {
		t.Error("no journey was retracted, yet reordering moved touchpoints to other journeys")
	}
	if got := counterValue(t, reg, "journeys_processor_events_total", "result", "reordered"); got == 0 {
		t.Error("no touchpoint counted as reordered")
	}
}

func TestTouchpointLaterThanTheLatenessIsStoredMarkedLate(t *testing.T) {
	t0 := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)
	b := startBroker(t)
	s := chtest.Open(t)
	reg := prometheus.NewRegistry()
	runProcessorWith(t, b, s, reg)
	url := startIngest(t, b)
	sendOneByOne(t, s, url, []map[string]any{
		page("d1", "dave", t0.Add(10*time.Hour)),
		call("d2", "dave", t0.Add(3*time.Hour)), // 7 h older than d1: beyond 6 h
		call("d3", "dave", t0.Add(5*time.Hour)), // 5 h older: within
	})
	eventually(t, 30*time.Second, "d3 placed before d1", func() (bool, string) {
		got := render(t, s, `SELECT concat(message_id, ' late=', toString(late), ' journey=', if(journey_id = '', 'none', 'set')) FROM touchpoints FINAL`,
			`SELECT concat('path ', arrayStringConcat(path, '>')) FROM journeys FINAL WHERE retracted = 0`)
		want := "d1 late=0 journey=set\nd2 late=1 journey=none\nd3 late=0 journey=set\npath call>page"
		return got == want, got
	})
	if got := counterValue(t, reg, "journeys_processor_late_events_total"); got != 1 {
		t.Errorf("late events counted %v, want 1", got)
	}
	// A re-sent late event is a duplicate, not a second late row.
	send(t, url, call("d2", "dave", t0.Add(3*time.Hour)))
	send(t, url, page("d4", "dave", t0.Add(11*time.Hour)))
	waitTouchpoints(t, s, 4)
	if got := counterValue(t, reg, "journeys_processor_late_events_total"); got != 1 {
		t.Errorf("late events counted %v after a re-send, want 1", got)
	}
}

// metricSum sums the counter or gauge series of a registry named name
// whose labels include those given (name, value pairs); found is false when
// no series matched.
func metricSum(t *testing.T, reg *prometheus.Registry, name string, labels ...string) (sum float64, found bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				has := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						has = true
					}
				}
				if !has {
					continue series
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			found = true
		}
	}
	return sum, found
}

// counterValue is metricSum's sum.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	sum, _ := metricSum(t, reg, name, labels...)
	return sum
}

// armedCrashSink dies at its next journey insert once armed: after the
// batch's touchpoints are written, before its journeys, flags and commit.
type armedCrashSink struct {
	*store.Store
	armed, crashed atomic.Bool
}

func (c *armedCrashSink) InsertJourneys(ctx context.Context, rows []schemas.Journey) error {
	if !c.armed.Load() {
		return c.Store.InsertJourneys(ctx, rows)
	}
	c.crashed.Store(true)
	<-ctx.Done()
	return errCrashed
}

// A processor that dies in the middle of rewriting what a reordered
// touchpoint changed leaves the touchpoints rewritten and the journeys and
// flags not; the next one, replaying the batch, finishes the rewrite.
func TestCrashInTheMiddleOfARefoldIsRepairedByTheReplay(t *testing.T) {
	t0 := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)
	checkout := ev("c1", "carol", "track", "checkout_started", t0, nil)
	bought := purchase("c2", "carol", t0.Add(10*time.Minute))
	called := ev("c3", "carol", "track", "call", t0.Add(30*time.Minute), map[string]any{"topic": "delivery"})

	ref, refURL := startPipeline(t)
	sendOneByOne(t, ref, refURL, []map[string]any{checkout, bought, called})
	want := settledCurrent(t, ref)

	b := startBroker(t)
	s := chtest.Open(t)
	url := startIngest(t, b)
	sink := &armedCrashSink{Store: s}
	stop := runProcessor(t, b, sink)
	sendOneByOne(t, s, url, []map[string]any{checkout, called})
	eventually(t, 30*time.Second, "the checkout-then-call flag", func() (bool, string) {
		return count(t, s, "SELECT count() FROM friction_flags FINAL WHERE rule = 'checkout_then_call'") == 1, ""
	})
	sink.armed.Store(true)
	send(t, url, bought) // arrives after the call it precedes
	eventually(t, 30*time.Second, "the crash", func() (bool, string) { return sink.crashed.Load(), "" })
	stop()
	if n := count(t, s, "SELECT count() FROM friction_flags FINAL WHERE retracted = 1"); n != 0 {
		t.Fatalf("the crashed processor retracted %d flags; the test needs it to die before", n)
	}

	runProcessor(t, b, s)
	eventually(t, 30*time.Second, "rows equal to in-order delivery", func() (bool, string) {
		got := current(t, s)
		return got == want, chtest.LineDiff(got, want)
	})
}

// A re-sent message is a duplicate whether its journey is the customer's
// current one (the engine knows) or an earlier one (looked up in ClickHouse).
func TestResentMessagesOfThisAndAnEarlierJourneyAreDuplicates(t *testing.T) {
	t0 := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)
	b := startBroker(t)
	s := chtest.Open(t)
	reg := prometheus.NewRegistry()
	runProcessorWith(t, b, s, reg)
	url := startIngest(t, b)
	events := []map[string]any{
		call("r1", "rita", t0),
		purchase("r2", "rita", t0.Add(time.Hour)), // ends the first journey
		page("r3", "rita", t0.Add(24*time.Hour)),  // begins the second
	}
	sendOneByOne(t, s, url, events)
	before := settledCurrent(t, s)
	send(t, url, events[1]) // of the earlier journey
	send(t, url, events[2]) // of the current one
	send(t, url, page("r4", "rita", t0.Add(25*time.Hour)))
	waitTouchpoints(t, s, 4)
	eventually(t, 30*time.Second, "both re-sends counted as duplicates", func() (bool, string) {
		n := counterValue(t, reg, "journeys_processor_events_total", "result", "duplicate")
		return n == 2, ""
	})
	after := settledCurrent(t, s)
	for _, l := range splitLines(before) {
		if strings.HasPrefix(l, "tp ") && !strings.Contains(after, l) {
			t.Errorf("a re-send changed %s:\n%s", l, chtest.LineDiff(after, before))
		}
	}
	if n := count(t, s, "SELECT count() FROM journeys FINAL WHERE customer_id = 'rita' AND retracted = 0"); n != 2 {
		t.Errorf("rita has %d journeys, want 2", n)
	}
}
