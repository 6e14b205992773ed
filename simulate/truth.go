package simulate

import (
	"math"
	"sort"
	"time"
)

// Ground-truth parameters, matching the processor's default
// repeated-calls-before-purchase rule.
const (
	// FlagWindow is how far before a purchase a call still counts towards
	// a flag (inclusive: a call exactly 14 days before counts).
	FlagWindow = 14 * 24 * time.Hour
	// FlagThreshold is the number of calls in FlagWindow that flags a
	// purchase.
	FlagThreshold = 3
)

// truth is what computeTruth finds in a list of events.
type truth struct {
	events, calls       int
	revenueCents        int64
	orders              []Order
	flags               int
	callsBeforePurchase [6]int
	perCustomer         map[string]Expectation
}

// computeTruth is the reference implementation of the ground truth. It reads
// only the events: it groups them by CustomerID(), orders each customer's
// events by timestamp, and walks them once, keeping the calls since the
// customer's previous purchase.
func computeTruth(events []Event) truth {
	byCustomer := map[string][]Event{}
	var keys []string
	for _, e := range events {
		k := e.CustomerID()
		if _, ok := byCustomer[k]; !ok {
			keys = append(keys, k)
		}
		byCustomer[k] = append(byCustomer[k], e)
	}
	t := truth{events: len(events), perCustomer: make(map[string]Expectation, len(keys))}
	for _, k := range keys {
		evs := byCustomer[k]
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].Timestamp.Before(evs[j].Timestamp) })
		var exp Expectation
		var journeyCalls []time.Time // calls since the previous purchase
		for _, e := range evs {
			exp.Events++
			switch {
			case e.IsCall():
				exp.Calls++
				journeyCalls = append(journeyCalls, e.Timestamp)
			case e.IsPurchase():
				o := Order{
					CustomerID:     k,
					MessageID:      e.MessageID,
					At:             e.Timestamp,
					Channel:        e.Channel,
					CallsInJourney: len(journeyCalls),
				}
				o.OrderID, _ = e.Properties["order_id"].(string)
				o.Revenue, _ = e.Properties["revenue"].(float64)
				for _, c := range journeyCalls {
					if !c.Before(e.Timestamp.Add(-FlagWindow)) {
						o.CallsIn14Days++
					}
				}
				o.Flagged = o.CallsIn14Days >= FlagThreshold
				if o.Flagged {
					exp.Flags++
					t.flags++
				}
				t.callsBeforePurchase[min(o.CallsInJourney, 5)]++
				t.revenueCents += int64(math.Round(o.Revenue * 100))
				t.orders = append(t.orders, o)
				exp.Purchases++
				exp.Journeys++
				journeyCalls = nil
			}
		}
		if len(evs) > 0 && !evs[len(evs)-1].IsPurchase() {
			exp.Journeys++ // an open journey after the last purchase, or the only one
		}
		t.calls += exp.Calls
		t.perCustomer[k] = exp
	}
	return t
}

func (ds *Dataset) setTruth(t truth) {
	ds.TotalEvents = t.events
	ds.Calls = t.calls
	ds.Purchases = len(t.orders)
	ds.Revenue = float64(t.revenueCents) / 100
	ds.Orders = t.orders
	ds.ExpectedFlags = t.flags
	ds.CallsBeforePurchase = t.callsBeforePurchase
	ds.PerCustomer = t.perCustomer
}
