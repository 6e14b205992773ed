package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// t0 is recent: journeys idle for 30 days are closed by the wall clock, and
// the scenarios must stay open where they say so.
var t0 = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -20).Add(9 * time.Hour)

func day(d float64) time.Time { return t0.Add(time.Duration(d * float64(24*time.Hour))) }

// scenario is the traffic of the walking skeleton's acceptance test.
func scenario() []map[string]any {
	return []map[string]any{
		// alice calls three times within 14 days, then buys: one flag.
		page("a0", "alice", day(0)),
		call("a1", "alice", day(1)), call("a2", "alice", day(3)), call("a3", "alice", day(5)),
		purchase("a4", "alice", day(6)),
		// bob calls twice, then buys: no flag.
		call("b1", "bob", day(1)), call("b2", "bob", day(2)), purchase("b3", "bob", day(3)),
		// carol calls three times, but the first call is 15 days before the purchase: no flag.
		call("c1", "carol", day(0)), call("c2", "carol", day(10)), call("c3", "carol", day(12)),
		purchase("c4", "carol", day(15)),
		// dave buys, then calls three times: no flag for that purchase.
		purchase("d1", "dave", day(1)), call("d2", "dave", day(2)), call("d3", "dave", day(3)), call("d4", "dave", day(4)),
		// erin qualifies twice; calls before her first purchase do not count for the second.
		call("e1", "erin", day(0)), call("e2", "erin", day(1)), call("e3", "erin", day(2)), call("e4", "erin", day(2.5)),
		call("e5", "erin", day(2.6)), purchase("e6", "erin", day(3)),
		call("e7", "erin", day(4)), call("e8", "erin", day(5)), call("e9", "erin", day(6)), purchase("e10", "erin", day(7)),
		// frank calls twice after a purchase that followed two calls: no flag for the later one either.
		call("f1", "frank", day(0)), call("f2", "frank", day(1)), purchase("f3", "frank", day(2)),
		call("f4", "frank", day(3)), call("f5", "frank", day(4)), purchase("f6", "frank", day(5)),
	}
}

type flagRow struct {
	customer, journey, severity string
	evidence                    []string
}

func flags(t *testing.T, s *store.Store) map[string]flagRow {
	t.Helper()
	rows, err := s.Conn().Query(context.Background(),
		`SELECT customer_id, journey_id, severity, evidence, arrayStringConcat(evidence, ',') FROM friction_flags FINAL WHERE rule = 'repeated_calls_before_purchase' ORDER BY occurred_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]flagRow{}
	for rows.Next() {
		var f flagRow
		var key string
		if err := rows.Scan(&f.customer, &f.journey, &f.severity, &f.evidence, &key); err != nil {
			t.Fatal(err)
		}
		out[f.customer+":"+key] = f
	}
	return out
}

func TestHTTPToClickHouseFlagsRepeatedCallsBeforePurchase(t *testing.T) {
	s, url := startPipeline(t)

	events := scenario()
	send(t, url, events...)
	waitTouchpoints(t, s, uint64(len(events)))
	eventually(t, 30*time.Second, "journeys written", func() (bool, string) {
		n := count(t, s, "SELECT count() FROM journeys FINAL")
		return n == 9, "journeys: " + snapshot(t, s)
	})

	want := map[string]string{ // customer:evidence → severity
		"alice:a1,a2,a3":      schemas.SeverityWarning,
		"erin:e1,e2,e3,e4,e5": schemas.SeverityCritical,
		"erin:e7,e8,e9":       schemas.SeverityWarning,
	}
	// A batch's flags are inserted after its journeys: wait for them too.
	var got map[string]flagRow
	eventually(t, 30*time.Second, "flags written", func() (bool, string) {
		got = flags(t, s)
		return len(got) >= len(want), fmt.Sprintf("flags: %v", got)
	})
	if len(got) != len(want) {
		t.Errorf("got %d flags %v, want %d", len(got), got, len(want))
	}
	for key, sev := range want {
		f, ok := got[key]
		if !ok {
			t.Errorf("missing flag %s; got %v", key, got)
			continue
		}
		if f.severity != sev {
			t.Errorf("flag %s severity = %s, want %s", key, f.severity, sev)
		}
		purchaseJourney := count(t, s, "SELECT count() FROM touchpoints FINAL WHERE journey_id = ? AND event = 'purchase'", f.journey)
		if purchaseJourney != 1 {
			t.Errorf("flag %s is attached to journey %s, which holds %d purchases, want the purchase's journey", key, f.journey, purchaseJourney)
		}
	}

	// Every touchpoint has its journey, and the journeys read as expected.
	if n := count(t, s, "SELECT count() FROM touchpoints FINAL WHERE journey_id = ''"); n != 0 {
		t.Errorf("%d touchpoints without a journey", n)
	}
	type journeyWant struct {
		status      string
		touchpoints uint32
		path        string
	}
	wantJourneys := map[string][]journeyWant{
		"alice": {{"converted", 5, "page>call>call>call>purchase"}},
		"bob":   {{"converted", 3, "call>call>purchase"}},
		"carol": {{"converted", 4, "call>call>call>purchase"}},
		"dave":  {{"converted", 1, "purchase"}, {"open", 3, "call>call>call"}},
		"erin":  {{"converted", 6, "call>call>call>call>call>purchase"}, {"converted", 4, "call>call>call>purchase"}},
		"frank": {{"converted", 3, "call>call>purchase"}, {"converted", 3, "call>call>purchase"}},
	}
	for customer, want := range wantJourneys {
		rows, err := s.Conn().Query(context.Background(),
			`SELECT status, touchpoints, arrayStringConcat(path, '>'), channels FROM journeys FINAL WHERE customer_id = ? ORDER BY started_at`, customer)
		if err != nil {
			t.Fatal(err)
		}
		var got []journeyWant
		for rows.Next() {
			var j journeyWant
			var channels []string
			if err := rows.Scan(&j.status, &j.touchpoints, &j.path, &channels); err != nil {
				t.Fatal(err)
			}
			got = append(got, j)
		}
		rows.Close()
		if len(got) != len(want) {
			t.Errorf("%s: journeys %v, want %v", customer, got, want)
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s journey %d = %+v, want %+v", customer, i, got[i], want[i])
			}
		}
	}
	if n := count(t, s, "SELECT count() FROM journeys FINAL WHERE customer_id = 'alice' AND has(channels, 'web') AND has(channels, 'phone')"); n != 1 {
		t.Errorf("alice's journey should span web and phone")
	}
}

func TestReplayedBatchShowsNothingTwice(t *testing.T) {
	s, url := startPipeline(t)

	events := scenario()
	send(t, url, events...)
	waitTouchpoints(t, s, uint64(len(events)))
	eventually(t, 30*time.Second, "flags and customers written", func() (bool, string) {
		return len(flags(t, s)) == 3 && count(t, s, "SELECT count() FROM customers FINAL") == 6, snapshot(t, s)
	})
	before := snapshot(t, s)

	// The sender retries the whole batch with the same messageIds, and a
	// marker event after it tells when the replay has been processed.
	send(t, url, events...)
	send(t, url, page("marker", "zed", day(1)))
	waitTouchpoints(t, s, uint64(len(events)+1))
	var after []string
	for _, l := range splitLines(snapshot(t, s)) {
		if !containsWord(l, "zed") {
			after = append(after, l)
		}
	}
	if got := joinLines(after); got != before {
		t.Errorf("replay changed what FINAL shows:\nbefore:\n%s\nafter:\n%s", before, got)
	}
}

// crashingSink is ClickHouse with a processor that dies after writing the
// touchpoints of a batch and before writing its journeys, flags and offsets.
type crashingSink struct {
	*store.Store
	crashed atomic.Bool
}

var errCrashed = errors.New("processor crashed")

func (c *crashingSink) InsertJourneys(ctx context.Context, rows []schemas.Journey) error {
	c.crashed.Store(true)
	<-ctx.Done()
	return errCrashed
}

func TestRestartBeforeCommitGivesTheRowsOfAnUninterruptedRun(t *testing.T) {
	events := scenario()

	// The reference: one uninterrupted run.
	ref := chtest.Open(t)
	{
		b := startBroker(t)
		url := startIngest(t, b)
		stop := runProcessor(t, b, ref)
		send(t, url, events...)
		waitTouchpoints(t, ref, uint64(len(events)))
		eventually(t, 30*time.Second, "reference flags", func() (bool, string) {
			return len(flags(t, ref)) == 3 && count(t, ref, "SELECT count() FROM customers FINAL") == 6, ""
		})
		stop()
	}

	b := startBroker(t)
	s := chtest.Open(t)
	url := startIngest(t, b)
	sink := &crashingSink{Store: s}
	stop := runProcessor(t, b, sink)
	send(t, url, events...)
	waitTouchpoints(t, s, uint64(len(events)))
	eventually(t, 30*time.Second, "the crash", func() (bool, string) { return sink.crashed.Load(), "" })
	stop() // the processor dies before journeys, flags and the offset commit
	if n := count(t, s, "SELECT count() FROM journeys"); n != 0 {
		t.Fatalf("crashed processor wrote %d journeys; the test needs it to die before", n)
	}

	runProcessor(t, b, s) // reads the uncommitted batch again
	eventually(t, 60*time.Second, "recovered rows equal the uninterrupted run's", func() (bool, string) {
		got, want := snapshot(t, s), snapshot(t, ref)
		return got == want, "got:\n" + got + "\nwant:\n" + want
	})
	if n := count(t, s, "SELECT count() FROM touchpoints FINAL"); n != uint64(len(events)) {
		t.Errorf("touchpoints FINAL = %d, want %d", n, len(events))
	}
}

func TestRestartMidJourneyCarriesOnFromClickHouse(t *testing.T) {
	b := startBroker(t)
	s := chtest.Open(t)
	url := startIngest(t, b)

	stop := runProcessor(t, b, s)
	send(t, url, page("m0", "mia", day(0)), call("m1", "mia", day(1)), call("m2", "mia", day(2)))
	waitTouchpoints(t, s, 3)
	eventually(t, 30*time.Second, "mia's open journey", func() (bool, string) {
		return count(t, s, "SELECT count() FROM journeys FINAL WHERE customer_id = 'mia' AND touchpoints = 3") == 1, snapshot(t, s)
	})
	stop()

	// A new processor, which has never seen mia, gets the rest of her journey.
	runProcessor(t, b, s)
	send(t, url, call("m3", "mia", day(3)), purchase("m4", "mia", day(4)))
	waitTouchpoints(t, s, 5)
	eventually(t, 30*time.Second, "mia's converted journey and flag", func() (bool, string) {
		return len(flags(t, s)) == 1, snapshot(t, s)
	})
	f := flags(t, s)["mia:m1,m2,m3"]
	if f.customer != "mia" {
		t.Fatalf("flag evidence should be mia's three calls; got %v", flags(t, s))
	}
	if n := count(t, s, "SELECT count() FROM journeys FINAL WHERE customer_id = 'mia'"); n != 1 {
		t.Errorf("mia has %d journeys, want 1 spanning the restart:\n%s", n, snapshot(t, s))
	}
	if n := count(t, s, "SELECT count() FROM journeys FINAL WHERE customer_id = 'mia' AND status = 'converted' AND touchpoints = 5 AND journey_id = ?", f.journey); n != 1 {
		t.Errorf("mia's journey should be converted with 5 touchpoints and carry the flag:\n%s", snapshot(t, s))
	}
}

func TestIdleJourneyIsAbandonedByTheWallClock(t *testing.T) {
	s, url := startPipeline(t)

	long := t0.AddDate(0, 0, -25) // 45 days ago: idle past the 30-day timeout
	send(t, url, page("o1", "olga", long), call("o2", "olga", long.Add(time.Hour)),
		page("p1", "piet", day(0)))
	waitTouchpoints(t, s, 3)
	eventually(t, 30*time.Second, "olga's journey abandoned", func() (bool, string) {
		return count(t, s, "SELECT count() FROM journeys FINAL WHERE customer_id = 'olga' AND status = 'abandoned' AND touchpoints = 2") == 1, snapshot(t, s)
	})
	if n := count(t, s, "SELECT count() FROM journeys FINAL WHERE customer_id = 'piet' AND status = 'open'"); n != 1 {
		t.Errorf("piet's journey is 20 days old and must stay open:\n%s", snapshot(t, s))
	}
}

func TestWebSessionsEndAfterThirtyMinutesAndAtMidnight(t *testing.T) {
	s, url := startPipeline(t)

	d := day(2).Truncate(24 * time.Hour) // midnight UTC
	at := func(h, m int) time.Time { return d.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	send(t, url,
		page("s1", "sam", at(10, 0)), page("s2", "sam", at(10, 10)), call("s3", "sam", at(10, 20)),
		page("s4", "sam", at(10, 50)), // 40 minutes after the last page view
		page("s5", "sam", at(23, 50)), page("s6", "sam", at(24, 5)))
	waitTouchpoints(t, s, 6)
	eventually(t, 30*time.Second, "sam's four web sessions", func() (bool, string) {
		return count(t, s, "SELECT count() FROM sessions FINAL WHERE customer_id = 'sam'") == 4, snapshot(t, s)
	})
	rows, err := s.Conn().Query(context.Background(),
		"SELECT touchpoints, toString(started_at) FROM sessions FINAL WHERE customer_id = 'sam' ORDER BY started_at")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []uint32
	for rows.Next() {
		var n uint32
		var start string
		if err := rows.Scan(&n, &start); err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if len(got) != 4 || got[0] != 2 || got[1] != 1 || got[2] != 1 || got[3] != 1 {
		t.Errorf("session sizes %v, want [2 1 1 1]", got)
	}
	if n := count(t, s, "SELECT count() FROM touchpoints FINAL WHERE customer_id = 'sam' AND event = 'call' AND session_id = ''"); n != 1 {
		t.Errorf("the call must have no web session")
	}
	if n := count(t, s, "SELECT count() FROM touchpoints FINAL WHERE customer_id = 'sam' AND event = 'page' AND session_id IN (SELECT session_id FROM sessions FINAL)"); n != 5 {
		t.Errorf("%d of 5 page views carry a stored session id", n)
	}
}
