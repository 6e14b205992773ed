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

// CustomerProfile is the ground truth of one customer's customers row,
// computed from their events in time order (see the package doc).
type CustomerProfile struct {
	FirstSeen, LastSeen time.Time
	Touchpoints         int
	Purchases           int
	Revenue             float64
	Surveys             int
	PositiveSurveys     int // NPS answers of 9 or 10 (the simulator sends NPS only)
	LastNPS             int // -1 without an NPS answer
	Reviews, Referrals  int
	Ideas               int
	CommunityAnswers    int
	Tier                string
	TierSince           time.Time
}

// NPSAnswer is one NPS survey answer.
type NPSAnswer struct {
	CustomerID string
	At         time.Time
	Score      int
}

// engagementTruth is the profiles, ideas and NPS answers in events.
type engagementTruth struct {
	profiles map[string]CustomerProfile
	ideas    map[string]string
	nps      []NPSAnswer
}

// computeEngagement is the reference implementation of the engagement
// ground truth, from the events alone.
func computeEngagement(events []Event) engagementTruth {
	byCustomer := map[string][]Event{}
	for _, e := range events {
		byCustomer[e.CustomerID()] = append(byCustomer[e.CustomerID()], e)
	}
	t := engagementTruth{profiles: map[string]CustomerProfile{}, ideas: map[string]string{}}
	type status struct {
		at     time.Time
		status string
	}
	latest := map[string]status{}
	for k, evs := range byCustomer {
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].Timestamp.Before(evs[j].Timestamp) })
		p := CustomerProfile{LastNPS: -1, Tier: "prospect"}
		var cents int64
		lastPositive := false
		for i, e := range evs {
			if i == 0 {
				p.FirstSeen, p.TierSince = e.Timestamp, e.Timestamp
			}
			p.LastSeen = e.Timestamp
			p.Touchpoints++
			if e.Type == "track" {
				switch e.Event {
				case "purchase":
					p.Purchases++
					rev, _ := e.Properties["revenue"].(float64)
					cents += int64(math.Round(rev * 100))
				case EventSurvey:
					p.Surveys++
					score, _ := e.Properties["score"].(int)
					lastPositive = score >= 9
					if lastPositive {
						p.PositiveSurveys++
					}
					p.LastNPS = score
					t.nps = append(t.nps, NPSAnswer{CustomerID: k, At: e.Timestamp, Score: score})
				case EventReview:
					p.Reviews++
				case EventReferral:
					p.Referrals++
				case EventIdeaSubmitted:
					p.Ideas++
					id, _ := e.Properties["idea_id"].(string)
					if _, ok := latest[id]; !ok {
						latest[id] = status{e.Timestamp, "under review"}
					}
				case EventCommunityAnswer:
					p.CommunityAnswers++
				case EventIdeaStatusChanged:
					id, _ := e.Properties["idea_id"].(string)
					s, _ := e.Properties["status"].(string)
					if cur, ok := latest[id]; !ok || !e.Timestamp.Before(cur.at) {
						latest[id] = status{e.Timestamp, s}
					}
				}
			}
			tier := "prospect"
			switch {
			case p.Reviews > 0 || p.Referrals > 0 || p.Ideas > 0 || p.CommunityAnswers > 0:
				tier = "engaged"
			case p.Purchases > 1:
				tier = "loyal"
			case lastPositive:
				tier = "satisfied"
			case p.Purchases == 1:
				tier = "buyer"
			}
			if tier != p.Tier {
				p.Tier, p.TierSince = tier, e.Timestamp
			}
		}
		p.Revenue = float64(cents) / 100
		t.profiles[k] = p
	}
	for id, s := range latest {
		t.ideas[id] = s.status
	}
	sort.Slice(t.nps, func(i, j int) bool { return t.nps[i].At.Before(t.nps[j].At) })
	return t
}
