package pipeline_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

// abandonedInsert is a touchpoints insert the processor gave up on when its
// generation ended (the client cancelled it) but that ClickHouse still
// committed, later: the rows land whenever land is called.
type abandonedInsert struct {
	mu     sync.Mutex
	rows   []schemas.Touchpoint
	landed bool
	s      *store.Store
}

func (a *abandonedInsert) held() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rows != nil
}

// land commits the abandoned rows, once.
func (a *abandonedInsert) land(ctx context.Context) error {
	a.mu.Lock()
	rows := a.rows
	a.rows, a.landed = []schemas.Touchpoint{}, true
	a.mu.Unlock()
	return a.s.InsertTouchpoints(ctx, rows)
}

func (a *abandonedInsert) hasLanded() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.landed
}

// abandoningSink holds the first touchpoints insert that carries one of
// ids until the processor's generation ends, then reports it cancelled
// without writing it; the abandonedInsert writes it later.
type abandoningSink struct {
	*store.Store
	ids  []string
	late *abandonedInsert
}

func (s *abandoningSink) InsertTouchpoints(ctx context.Context, rows []schemas.Touchpoint) error {
	if !s.late.held() && slices.ContainsFunc(rows, func(r schemas.Touchpoint) bool { return slices.Contains(s.ids, r.MessageID) }) {
		s.late.mu.Lock()
		s.late.rows = slices.Clone(rows)
		s.late.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	return s.Store.InsertTouchpoints(ctx, rows)
}

// landingSink is the next owner's ClickHouse, where the abandoned insert
// lands right after the take-over read how far each partition was written.
type landingSink struct {
	*store.Store
	late *abandonedInsert
	once sync.Once
}

func (s *landingSink) WrittenOffsets(ctx context.Context, partitions []int32) (map[int32]store.Progress, error) {
	written, err := s.Store.WrittenOffsets(ctx, partitions)
	if err != nil {
		return nil, err
	}
	s.once.Do(func() { err = s.late.land(ctx) })
	return written, err
}

// A touchpoints insert that the previous owner of the partitions abandoned
// as its generation ended, but that ClickHouse committed after the next
// owner read how far the partitions were written, is not taken for re-sent
// events: the next owner writes the journeys, flags and customers rows of
// those records as an uninterrupted run does. Before the fix the records
// counted as duplicates, and their flags and customers rows were never
// written (the long rebalance test under load, issue #8).
func TestInsertLandingAfterTheTakeOverReadGivesTheRowsOfAnUninterruptedRun(t *testing.T) {
	events := scenario()
	// The first batch reaches no purchase; the second holds every purchase,
	// and so every flag.
	var first, second []map[string]any
	var secondIDs []string
	for _, e := range events {
		if e["event"] == "purchase" || len(second) > 0 && e["userId"] == second[len(second)-1]["userId"] {
			second = append(second, e)
			secondIDs = append(secondIDs, e["messageId"].(string))
			continue
		}
		first = append(first, e)
	}

	ref := chtest.Open(t)
	{
		b := startBroker(t)
		url := startIngest(t, b)
		stop := runProcessor(t, b, ref)
		send(t, url, first...)
		waitTouchpoints(t, ref, uint64(len(first)))
		send(t, url, second...)
		waitTouchpoints(t, ref, uint64(len(events)))
		eventually(t, 30*time.Second, "reference flags and customers", func() (bool, string) {
			return len(flags(t, ref)) == 3 && count(t, ref, "SELECT count() FROM customers FINAL") == 6, snapshot(t, ref)
		})
		stop()
	}

	b := startBroker(t)
	s := chtest.Open(t)
	url := startIngest(t, b)
	late := &abandonedInsert{s: s}
	stop := runProcessor(t, b, &abandoningSink{Store: s, ids: secondIDs, late: late})
	send(t, url, first...)
	waitTouchpoints(t, s, uint64(len(first)))
	send(t, url, second...)
	eventually(t, 30*time.Second, "the second batch's insert to be held", func() (bool, string) { return late.held(), "" })
	stop() // the generation ends; the insert has not landed yet
	if n := count(t, s, "SELECT count() FROM touchpoints FINAL"); n != uint64(len(first)) {
		t.Fatalf("%d touchpoints stored before the take-over, want the first batch's %d", n, len(first))
	}

	runProcessor(t, b, &landingSink{Store: s, late: late})
	eventually(t, 60*time.Second, "rows equal to the uninterrupted run's", func() (bool, string) {
		got, want := snapshot(t, s), snapshot(t, ref)
		return got == want, chtest.LineDiff(got, want)
	})
	if !late.hasLanded() {
		t.Fatal("the abandoned insert never landed: the take-over did not read the written offsets")
	}
}
