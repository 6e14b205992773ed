package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/journeys/journeys/report"
	"github.com/journeys/journeys/simulate"
	"github.com/journeys/journeys/store"
)

// simulated sends a generated month through ingest, the broker and the
// processor into a fresh database, and returns the dataset and the store
// once every acknowledged event is stored and every journey written.
func simulated(t *testing.T, customers int) (*simulate.Dataset, *store.Store) {
	t.Helper()
	ds, s, _ := simulatedPipeline(t, customers)
	return ds, s
}

// simulatedPipeline is simulated that also returns the ingest URL, for tests
// that send more events into the same pipeline.
func simulatedPipeline(t *testing.T, customers int) (*simulate.Dataset, *store.Store, string) {
	t.Helper()
	s, url := startPipeline(t)

	// The period ends today (the default start) and its oldest event is a
	// day younger than the 30 days after which the wall clock closes an
	// idle journey: the ground truth expects none closed that way.
	cfg := simulate.Config{Customers: customers, Seed: 7}.WithDefaults()
	ds := simulate.Generate(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stats, err := simulate.Send(ctx, http.DefaultClient, url, "test-key", ds, cfg)
	if err != nil {
		t.Fatalf("simulate: %v", err)
	}
	if stats.Acknowledged != ds.TotalEvents {
		t.Fatalf("acknowledged %d of %d events", stats.Acknowledged, ds.TotalEvents)
	}
	waitTouchpoints(t, s, uint64(ds.TotalEvents))
	journeys := 0
	for _, e := range ds.PerCustomer {
		journeys += e.Journeys
	}
	eventually(t, 60*time.Second, "every journey written", func() (bool, string) {
		n := count(t, s, "SELECT count() FROM journeys FINAL WHERE retracted = 0")
		return n == uint64(journeys), fmt.Sprintf("%d of %d journeys", n, journeys)
	})
	// A batch writes its journeys before its flags, and a journey may be
	// written open before a later batch converts it: wait for the last
	// batch's rows too, or a slow machine reads a state in between.
	eventually(t, 60*time.Second, "every purchase and repeated-calls flag written", func() (bool, string) {
		converted := count(t, s, "SELECT count() FROM journeys FINAL WHERE status = 'converted' AND retracted = 0")
		flags := count(t, s, "SELECT count() FROM friction_flags FINAL WHERE rule = 'repeated_calls_before_purchase' AND retracted = 0")
		return converted == uint64(ds.Purchases) && flags == uint64(ds.ExpectedFlags),
			fmt.Sprintf("%d of %d converted journeys, %d of %d repeated-calls flags", converted, ds.Purchases, flags, ds.ExpectedFlags)
	})
	return ds, s, url
}

func TestSimulatedMonthMatchesItsGroundTruth(t *testing.T) {
	ds, s := simulated(t, 300)
	sum, err := report.Load(context.Background(), s.Conn())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Touchpoints != uint64(ds.TotalEvents) {
		t.Errorf("touchpoints = %d, want %d", sum.Touchpoints, ds.TotalEvents)
	}
	if got := sum.JourneysByStatus["converted"]; got != uint64(ds.Purchases) {
		t.Errorf("converted journeys = %d, want one per purchase: %d", got, ds.Purchases)
	}
	var flags uint64
	for _, rc := range sum.FlagsByRule {
		if rc.Rule == "repeated_calls_before_purchase" {
			flags += rc.Flags
		}
	}
	if flags != uint64(ds.ExpectedFlags) {
		t.Errorf("repeated_calls_before_purchase flags = %d, want %d", flags, ds.ExpectedFlags)
	}
	for i, want := range ds.CallsBeforePurchase {
		if sum.CallsBeforePurchase[i] != uint64(want) {
			t.Errorf("calls-before-purchase histogram = %v, want %v", sum.CallsBeforePurchase, ds.CallsBeforePurchase)
			break
		}
	}
	// Per customer: the repeated-calls flags land on the right people.
	rows, err := s.Conn().Query(context.Background(), "SELECT customer_id, count() FROM friction_flags FINAL WHERE rule = 'repeated_calls_before_purchase' GROUP BY customer_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var c string
		var n uint64
		if err := rows.Scan(&c, &n); err != nil {
			t.Fatal(err)
		}
		got[c] = int(n)
	}
	for c, e := range ds.PerCustomer {
		if got[c] != e.Flags {
			t.Errorf("customer %s has %d flags, want %d", c, got[c], e.Flags)
		}
	}
}
