package chaos

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/processor"
	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/simulate"
)

// Senders whose clocks are hours off (timestamps and sentAt both skewed)
// produce the journeys and flags of senders with right clocks: ingest
// corrects event times by receivedAt − sentAt.
func TestClockSkewedSendersGiveTheRowsOfRightClocks(t *testing.T) {
	customers := traffic(1)
	want := reference(t, "seed 1", customers, nil)
	r := newRig(t)
	r.process(nil, nil)
	d := driver(r.url)
	skews := []time.Duration{-3 * time.Hour, 0, 45 * time.Minute, 26 * time.Hour}
	d.ClockSkew = func(sender int) time.Duration { return skews[sender%len(skews)] }
	l := r.send(d, customers)
	res, got := r.settle(l)
	verify(t, "clock-skewed senders", len(skews)-1, res, got, want)
	// A skew moves all of a customer's events alike, which leaves the
	// structure as it is: the times themselves must be right too, to
	// within the time a request takes.
	sentAt := map[string]time.Time{}
	for _, c := range customers {
		for _, e := range c.Events {
			sentAt[e.MessageID] = e.Timestamp
		}
	}
	rows, err := r.store.Conn().Query(context.Background(), "SELECT message_id, timestamp_ms FROM touchpoints FINAL")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	wrong := 0
	for rows.Next() {
		var id string
		var ms int64
		if err := rows.Scan(&id, &ms); err != nil {
			t.Fatal(err)
		}
		if off := time.UnixMilli(ms).Sub(sentAt[id]); off < -time.Second || off > 30*time.Second {
			if wrong++; wrong <= 5 {
				t.Errorf("touchpoint %s stored %s off its true time", id, off)
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d touchpoints stored with their sender's clock skew", wrong)
	}
}

// heldBack splits customers' traffic into what comes on time and what a
// late sender holds back: of every third customer, the track and page
// events whose time is between lo and hi before the customer's last one.
func heldBack(customers []simulate.Customer, lo, hi time.Duration) (onTime []simulate.Customer, late []simulate.Customer, ids map[string]bool) {
	ids = map[string]bool{}
	for i, c := range customers {
		if i%3 != 0 || len(c.Events) == 0 {
			onTime = append(onTime, c)
			continue
		}
		last := c.Events[len(c.Events)-1].Timestamp
		now, later := c, c
		now.Events, later.Events = nil, nil
		for _, e := range c.Events {
			age := last.Sub(e.Timestamp)
			if age > lo && age < hi && (e.Type == schemas.TypeTrack || e.Type == schemas.TypePage) {
				later.Events = append(later.Events, e)
				ids[e.MessageID] = true
			} else {
				now.Events = append(now.Events, e)
			}
		}
		onTime = append(onTime, now)
		if len(later.Events) > 0 {
			late = append(late, later)
		}
	}
	return onTime, late, ids
}

// withoutSessions keeps of a structure the touchpoints' journeys, the
// journeys and flags that hold, and the customers: a late web touchpoint
// joins the session it arrives in (sessions do not reorder, see README),
// and a journey retracted on the way is no journey.
func withoutSessions(structure string) string {
	var out []string
	for _, line := range strings.Split(structure, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || f[0] == "s" || strings.HasSuffix(line, " retracted=1"):
		case f[0] == "tp" && len(f) > 5:
			out = append(out, strings.Join(f[:6], " "))
		default:
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// sendLate sends the on-time traffic, waits until it is processed, then
// sends the late traffic, and settles.
func sendLate(t *testing.T, onTime, late []simulate.Customer) (*rig, Result, string) {
	t.Helper()
	r := newRig(t)
	r.process(nil, nil)
	l := r.send(driver(r.url), onTime)
	r.settle(l)
	l = merge(l, r.send(driver(r.url), late))
	res, got := r.settle(l)
	return r, res, got
}

// merge is the union of two ledgers.
func merge(a, b *Ledger) *Ledger {
	for _, m := range []struct{ to, from map[string]bool }{{a.Sent, b.Sent}, {a.Acked, b.Acked}, {a.Rejected, b.Rejected}} {
		for id := range m.from {
			m.to[id] = true
		}
	}
	a.Attempts += b.Attempts
	a.Failures += b.Failures
	return a
}

// Late senders: events held back and sent once the rest of their
// customer's traffic is processed. Within the lateness (6 h) they give the
// rows of on-time delivery; beyond it they are stored marked late, in no
// journey, and every other row is that of a run without them.
func TestLateSenders(t *testing.T) {
	customers := traffic(1)
	lateness := processor.DefaultLateness
	t.Run("within the lateness", func(t *testing.T) {
		want := reference(t, "seed 1", customers, nil)
		onTime, late, ids := heldBack(customers, time.Minute, lateness-time.Hour)
		if len(ids) == 0 {
			t.Fatal("the traffic has no event to hold back")
		}
		_, res, got := sendLate(t, onTime, late)
		verify(t, "late senders within the lateness", len(ids), res, withoutSessions(got), withoutSessions(want))
	})
	t.Run("beyond the lateness", func(t *testing.T) {
		onTime, late, ids := heldBack(customers, lateness+time.Hour, 30*24*time.Hour)
		if len(ids) == 0 {
			t.Fatal("the traffic has no event to hold back")
		}
		want := reference(t, "seed 1 without events held back beyond the lateness", onTime, nil)
		r, res, got := sendLate(t, onTime, late)
		// The customers rows count late touchpoints too; every other row
		// must be that of a run without the late events.
		var kept []string
		for _, line := range strings.Split(got, "\n") {
			f := strings.Fields(line)
			if len(f) > 1 && (f[0] == "c" || f[0] == "tp" && ids[f[1]]) {
				continue
			}
			kept = append(kept, line)
		}
		var wantKept []string
		for _, line := range strings.Split(want, "\n") {
			if !strings.HasPrefix(line, "c ") {
				wantKept = append(wantKept, line)
			}
		}
		verify(t, "late senders beyond the lateness", len(ids), res, strings.Join(kept, "\n"), strings.Join(wantKept, "\n"))
		var n uint64
		if err := r.store.Conn().QueryRow(context.Background(),
			"SELECT count() FROM touchpoints FINAL WHERE late = 1 AND journey_id = '' AND has(?, message_id)", keys(ids)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if int(n) != len(ids) {
			t.Errorf("%d of the %d events sent beyond the lateness are stored marked late in no journey:\n%s", n, len(ids),
				chtest.Render(t, r.store, "SELECT concat(message_id, ' late=', toString(late), ' journey=', journey_id) FROM touchpoints FINAL WHERE late = 0 AND message_id IN ('"+strings.Join(keys(ids), "','")+"')"))
		}
	})
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
