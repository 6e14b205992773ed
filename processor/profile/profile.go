// Package profile derives a customer's profile row (the customers table)
// from their touchpoints: what they bought, how they answered surveys, what
// they contributed, and the engagement tier that follows. It has no I/O:
// the processor hands it every stored touchpoint of a customer, so the row
// is a function of the stored touchpoints alone and a replay, a restart or
// a reordering that ends with the same touchpoints gives the same row.
//
// # Tiers
//
// A customer is in the highest tier whose rule holds, in this order:
//
//	engaged    contributed at least once: a review, a referral, an idea
//	           (idea_submitted) or an answer to another customer
//	           (community_answer)
//	loyal      bought at least twice (two purchase touchpoints)
//	satisfied  their latest survey answer was positive (see Positive)
//	buyer      bought once
//	prospect   none of the above
//
// Engaged and loyal, once reached, are never lost (counts only grow);
// satisfied is lost by a later answer that is not positive. TierSince is
// the event time of the touchpoint from which the customer has been in
// their current tier without interruption (first_seen for a prospect).
package profile

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/journeys/journeys/schemas"
)

// Events that change a profile besides purchases.
const (
	EventSurvey          = "survey_response"
	EventReview          = "review"
	EventReferral        = "referral"
	EventIdea            = "idea_submitted"
	EventCommunityAnswer = "community_answer"
)

// Events lists the touchpoint events a profile reads the properties of.
var Events = []string{schemas.EventPurchase, EventSurvey, EventReview, EventReferral, EventIdea, EventCommunityAnswer}

// Survey kinds and the default top of their scales.
const (
	KindNPS  = "nps"
	KindCSAT = "csat"
	KindCES  = "ces"
)

// Survey is what a profile reads of a survey_response.
type Survey struct {
	Kind     string   `json:"kind"`
	Score    *float64 `json:"score"`
	ScaleMax *float64 `json:"scale_max"`
}

// Positive reports whether a survey answer is in the top box: an NPS
// score of 9 or 10 (a promoter), or a CSAT, CES or other score of at least
// 80 % of its scale (4–5 of 5, 6–7 of 7; CSAT's scale is 5 and CES's 7
// unless scale_max says otherwise). An answer without a score, or of
// another kind without a scale_max, is not positive.
func (s Survey) Positive() bool {
	if s.Score == nil {
		return false
	}
	score := *s.Score
	scale := 0.0
	switch s.Kind {
	case KindNPS:
		return score >= 9
	case KindCSAT:
		scale = 5
	case KindCES:
		scale = 7
	}
	if s.ScaleMax != nil && *s.ScaleMax > 0 {
		scale = *s.ScaleMax
	}
	return scale > 0 && score >= 0.8*scale
}

// Tier is the engagement tier of a profile (see the package doc).
func Tier(c *schemas.Customer) string {
	switch {
	case c.Reviews+c.Referrals+c.Ideas+c.CommunityAnswers > 0:
		return schemas.TierEngaged
	case c.Purchases >= 2:
		return schemas.TierLoyal
	case c.LastSurveyPositive:
		return schemas.TierSatisfied
	case c.Purchases == 1:
		return schemas.TierBuyer
	}
	return schemas.TierProspect
}

// Build derives the profile of customerID from all their touchpoints, in
// any order. Version is the highest version of the touchpoints; it grows
// with every touchpoint the customer gains, since touchpoint versions
// follow Kafka offsets. Build of no touchpoints is a prospect with zero
// times.
func Build(customerID string, tps []schemas.Touchpoint) schemas.Customer {
	var sum Summary
	var events []schemas.Touchpoint
	for i, tp := range tps {
		if i == 0 || tp.Timestamp.Before(sum.First) {
			sum.First = tp.Timestamp
		}
		if i == 0 || tp.Timestamp.After(sum.Last) {
			sum.Last = tp.Timestamp
		}
		sum.Touchpoints++
		sum.Version = max(sum.Version, tp.Version)
		if slices.Contains(Events, tp.Event) {
			events = append(events, tp)
		}
	}
	return BuildFrom(customerID, sum, events)
}

// Summary is what a profile needs of all of a customer's touchpoints; the
// store computes it in ClickHouse, so that only the few touchpoints of
// Events travel.
type Summary struct {
	First, Last time.Time
	Touchpoints uint32
	Version     uint64 // the highest touchpoint version
}

// BuildFrom is Build from the summary of all the customer's touchpoints
// and those of them whose event is one of Events: a tier changes only at
// those, and before the first of them the customer is a prospect since
// they were first seen.
func BuildFrom(customerID string, sum Summary, tps []schemas.Touchpoint) schemas.Customer {
	sorted := make([]*schemas.Touchpoint, len(tps))
	for i := range tps {
		sorted[i] = &tps[i]
	}
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if !a.Timestamp.Equal(b.Timestamp) {
			return a.Timestamp.Before(b.Timestamp)
		}
		return a.MessageID < b.MessageID
	})
	c := New(customerID)
	c.FirstSeen, c.TierSince, c.LastSeen, c.Touchpoints, c.Version = sum.First, sum.First, sum.Last, sum.Touchpoints, sum.Version
	for _, tp := range sorted {
		count(&c, tp)
	}
	return c
}

// Add folds one more touchpoint into c, a profile built from the
// customer's touchpoints before it: tp must come after all of them in
// (timestamp, message id) order, as Build would sort it. The processor
// keeps profiles up to date this way; anything else (a touchpoint placed
// earlier, a replay) goes through Build again.
func Add(c *schemas.Customer, tp *schemas.Touchpoint) {
	if c.Touchpoints == 0 {
		c.FirstSeen, c.TierSince = tp.Timestamp, tp.Timestamp
	}
	c.LastSeen = tp.Timestamp
	c.Touchpoints++
	c.Version = max(c.Version, tp.Version)
	if slices.Contains(Events, tp.Event) {
		count(c, tp)
	}
}

// New is the profile of a customer with no touchpoints yet.
func New(customerID string) schemas.Customer {
	return schemas.Customer{CustomerID: customerID, LastNPS: -1, Tier: schemas.TierProspect}
}

// count folds a touchpoint of one of Events into c.
func count(c *schemas.Customer, tp *schemas.Touchpoint) {
	switch tp.Event {
	case schemas.EventPurchase:
		c.Purchases++
		var p struct {
			Revenue float64 `json:"revenue"`
		}
		if json.Unmarshal([]byte(tp.Properties), &p) == nil {
			c.Revenue += p.Revenue
		}
	case EventSurvey:
		var s Survey
		_ = json.Unmarshal([]byte(tp.Properties), &s)
		c.Surveys++
		c.LastSurveyPositive = s.Positive()
		if c.LastSurveyPositive {
			c.PositiveSurveys++
		}
		if s.Kind == KindNPS && s.Score != nil {
			c.LastNPS = int16(min(max(math.Round(*s.Score), 0), 10))
		}
	case EventReview:
		c.Reviews++
	case EventReferral:
		c.Referrals++
	case EventIdea:
		c.Ideas++
	case EventCommunityAnswer:
		c.CommunityAnswers++
	}
	if t := Tier(c); t != c.Tier {
		c.Tier, c.TierSince = t, tp.Timestamp
	}
}
