package simulate

import (
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

func day(d float64) time.Time { return t0.Add(time.Duration(d * float64(24*time.Hour))) }

func call(user string, at time.Time) Event {
	return Event{MessageID: "m", Type: "track", Event: "call", Channel: "phone", UserID: user, Timestamp: at}
}

func buy(user string, at time.Time) Event {
	return Event{MessageID: "m", Type: "track", Event: "purchase", Channel: "web", UserID: user, Timestamp: at,
		Properties: map[string]any{"order_id": "o", "revenue": 10.5, "currency": "EUR"}}
}

func view(user, anon string, at time.Time) Event {
	return Event{MessageID: "m", Type: "page", Name: "Home", Channel: "web", UserID: user, AnonymousID: anon, Timestamp: at}
}

func TestComputeTruth(t *testing.T) {
	tests := []struct {
		name      string
		events    []Event
		flags     int
		histogram [6]int
		per       map[string]Expectation
	}{
		{
			name:      "three calls within 14 days flag the purchase",
			events:    []Event{call("a", day(1)), call("a", day(5)), call("a", day(10)), buy("a", day(11))},
			flags:     1,
			histogram: [6]int{3: 1},
			per:       map[string]Expectation{"a": {Events: 4, Calls: 3, Purchases: 1, Flags: 1, Journeys: 1}},
		},
		{
			name:      "third call 15 days before purchase does not count",
			events:    []Event{call("a", day(1)), call("a", day(10)), call("a", day(12)), buy("a", day(16))},
			flags:     0,
			histogram: [6]int{3: 1},
			per:       map[string]Expectation{"a": {Events: 4, Calls: 3, Purchases: 1, Journeys: 1}},
		},
		{
			name:      "a call exactly 14 days before counts",
			events:    []Event{call("a", day(2)), call("a", day(10)), call("a", day(12)), buy("a", day(16))},
			flags:     1,
			histogram: [6]int{3: 1},
			per:       map[string]Expectation{"a": {Events: 4, Calls: 3, Purchases: 1, Flags: 1, Journeys: 1}},
		},
		{
			name: "calls before the previous purchase do not count",
			events: []Event{
				call("a", day(1)), call("a", day(2)), call("a", day(3)), buy("a", day(4)),
				call("a", day(5)), call("a", day(6)), buy("a", day(7)),
			},
			flags:     1,
			histogram: [6]int{2: 1, 3: 1},
			per:       map[string]Expectation{"a": {Events: 7, Calls: 5, Purchases: 2, Flags: 1, Journeys: 2}},
		},
		{
			name:      "calls after the last purchase belong to no purchase",
			events:    []Event{buy("a", day(1)), call("a", day(2)), call("a", day(3)), call("a", day(4))},
			flags:     0,
			histogram: [6]int{0: 1},
			per:       map[string]Expectation{"a": {Events: 4, Calls: 3, Purchases: 1, Journeys: 2}},
		},
		{
			name: "six calls land in the 5+ bucket",
			events: []Event{
				call("a", day(1)), call("a", day(2)), call("a", day(3)),
				call("a", day(4)), call("a", day(5)), call("a", day(6)), buy("a", day(7)),
			},
			flags:     1,
			histogram: [6]int{5: 1},
			per:       map[string]Expectation{"a": {Events: 7, Calls: 6, Purchases: 1, Flags: 1, Journeys: 1}},
		},
		{
			name: "customers are counted apart and events are ordered by time",
			events: []Event{
				buy("a", day(9)), call("b", day(1)), call("a", day(1)), call("a", day(2)),
				call("b", day(3)), call("a", day(3)), buy("b", day(4)),
				view("", "anon-1", day(2)),
			},
			flags:     1,
			histogram: [6]int{2: 1, 3: 1},
			per: map[string]Expectation{
				"a":      {Events: 4, Calls: 3, Purchases: 1, Flags: 1, Journeys: 1},
				"b":      {Events: 3, Calls: 2, Purchases: 1, Journeys: 1},
				"anon-1": {Events: 1, Journeys: 1},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := computeTruth(tc.events)
			if got.flags != tc.flags {
				t.Errorf("flags = %d, want %d", got.flags, tc.flags)
			}
			if got.callsBeforePurchase != tc.histogram {
				t.Errorf("histogram = %v, want %v", got.callsBeforePurchase, tc.histogram)
			}
			if len(got.perCustomer) != len(tc.per) {
				t.Errorf("customers = %v, want %v", got.perCustomer, tc.per)
			}
			for k, want := range tc.per {
				if got.perCustomer[k] != want {
					t.Errorf("customer %s = %+v, want %+v", k, got.perCustomer[k], want)
				}
			}
		})
	}
}

// recount is a second, deliberately different implementation of the ground
// truth: for each purchase it scans all of the customer's events.
func recount(events []Event) (flags int, histogram [6]int, perCustomer map[string]Expectation) {
	byKey := map[string][]Event{}
	for _, e := range events {
		byKey[e.CustomerID()] = append(byKey[e.CustomerID()], e)
	}
	perCustomer = map[string]Expectation{}
	for k, evs := range byKey {
		var exp Expectation
		var last time.Time
		for _, p := range evs {
			exp.Events++
			if p.Timestamp.After(last) {
				last = p.Timestamp
			}
			if p.IsCall() {
				exp.Calls++
			}
			if !p.IsPurchase() {
				continue
			}
			exp.Purchases++
			var prev time.Time // latest purchase before p
			for _, q := range evs {
				if q.IsPurchase() && q.Timestamp.Before(p.Timestamp) && q.Timestamp.After(prev) {
					prev = q.Timestamp
				}
			}
			inJourney, recent := 0, 0
			for _, c := range evs {
				if c.IsCall() && c.Timestamp.After(prev) && c.Timestamp.Before(p.Timestamp) {
					inJourney++
					if p.Timestamp.Sub(c.Timestamp) <= 14*24*time.Hour {
						recent++
					}
				}
			}
			histogram[min(inJourney, 5)]++
			if recent >= 3 {
				flags++
				exp.Flags++
			}
		}
		exp.Journeys = exp.Purchases
		lastIsPurchase := false
		for _, e := range evs {
			if e.Timestamp.Equal(last) {
				lastIsPurchase = e.IsPurchase()
			}
		}
		if !lastIsPurchase {
			exp.Journeys++
		}
		perCustomer[k] = exp
	}
	return flags, histogram, perCustomer
}

func TestGroundTruthMatchesRecount(t *testing.T) {
	for _, seed := range []int64{1, 2, 3, 42} {
		ds := Generate(Config{Customers: 300, Seed: seed, Start: t0})
		flags, histogram, per := recount(ds.Events)
		if flags != ds.ExpectedFlags {
			t.Errorf("seed %d: flags = %d, recount %d", seed, ds.ExpectedFlags, flags)
		}
		if histogram != ds.CallsBeforePurchase {
			t.Errorf("seed %d: histogram = %v, recount %v", seed, ds.CallsBeforePurchase, histogram)
		}
		if len(per) != len(ds.PerCustomer) {
			t.Errorf("seed %d: %d customers, recount %d", seed, len(ds.PerCustomer), len(per))
		}
		for k, want := range per {
			if ds.PerCustomer[k] != want {
				t.Errorf("seed %d: customer %s = %+v, recount %+v", seed, k, ds.PerCustomer[k], want)
			}
		}
		sum := 0
		for _, n := range histogram {
			sum += n
		}
		if sum != ds.Purchases || len(ds.Orders) != ds.Purchases {
			t.Errorf("seed %d: histogram sums to %d, %d orders, Purchases %d", seed, sum, len(ds.Orders), ds.Purchases)
		}
		if ds.TotalEvents != len(ds.Events) {
			t.Errorf("seed %d: TotalEvents %d, len(Events) %d", seed, ds.TotalEvents, len(ds.Events))
		}
	}
}

// TestCallsClearOfFlagWindowEdge checks the promise that no call lies near
// the 14-day edge, so inclusive and exclusive windows agree.
func TestCallsClearOfFlagWindowEdge(t *testing.T) {
	ds := Generate(Config{Customers: 1000, Seed: 7, Start: t0})
	for _, c := range ds.Customers {
		var calls []time.Time
		for _, e := range c.Events {
			switch {
			case e.IsCall():
				calls = append(calls, e.Timestamp)
			case e.IsPurchase():
				for _, at := range calls {
					if d := e.Timestamp.Sub(at); d > 13*24*time.Hour && d < 14*24*time.Hour+6*time.Hour {
						t.Errorf("%s: call %s before purchase, too close to the 14-day edge", c.Key(), d)
					}
				}
				calls = nil
			}
		}
	}
}

func TestEngagementTruthHoldsEveryTier(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		ds := Generate(Config{Customers: 200, Seed: seed, Start: t0})
		tiers := map[string]int{}
		for k, p := range ds.Profiles {
			tiers[p.Tier]++
			if p.Touchpoints != ds.PerCustomer[k].Events || p.Purchases != ds.PerCustomer[k].Purchases {
				t.Errorf("seed %d %s: profile %+v against %+v", seed, k, p, ds.PerCustomer[k])
			}
		}
		for _, tier := range []string{"engaged", "loyal", "satisfied", "buyer", "prospect"} {
			if tiers[tier] == 0 {
				t.Errorf("seed %d: no %s customer (%v)", seed, tier, tiers)
			}
		}
		if len(ds.IdeaStatus) == 0 || len(ds.NPSAnswers) == 0 {
			t.Errorf("seed %d: %d ideas, %d NPS answers", seed, len(ds.IdeaStatus), len(ds.NPSAnswers))
		}
	}
}
