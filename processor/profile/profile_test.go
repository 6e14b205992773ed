package profile

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/journeys/journeys/schemas"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// ev is a touchpoint of customer c at t0 plus h hours.
func ev(h int, event, props string) schemas.Touchpoint {
	return schemas.Touchpoint{MessageID: fmt.Sprintf("m%03d", h), CustomerID: "c", Event: event,
		Timestamp: t0.Add(time.Duration(h) * time.Hour), Properties: props, Version: uint64(100 + h)}
}

func nps(h int, score int) schemas.Touchpoint {
	return ev(h, EventSurvey, fmt.Sprintf(`{"survey":"nps","kind":"nps","score":%d,"scale_max":10}`, score))
}

func TestTiers(t *testing.T) {
	page := ev(0, "page", `{"path":"/"}`)
	buy := func(h int) schemas.Touchpoint { return ev(h, schemas.EventPurchase, `{"order_id":"o","revenue":10.5}`) }
	tests := []struct {
		name      string
		tps       []schemas.Touchpoint
		tier      string
		sinceHour int
	}{
		{"no purchase, survey or contribution is a prospect", []schemas.Touchpoint{page, ev(1, "call", `{}`)}, schemas.TierProspect, 0},
		{"one purchase is a buyer", []schemas.Touchpoint{page, buy(2)}, schemas.TierBuyer, 2},
		{"two purchases are loyal", []schemas.Touchpoint{page, buy(2), buy(5)}, schemas.TierLoyal, 5},
		{"a promoter answer last is satisfied", []schemas.Touchpoint{page, nps(3, 9)}, schemas.TierSatisfied, 3},
		{"a buyer with a promoter answer is satisfied", []schemas.Touchpoint{buy(1), nps(3, 10)}, schemas.TierSatisfied, 3},
		{"a passive answer is not satisfied", []schemas.Touchpoint{buy(1), nps(3, 8)}, schemas.TierBuyer, 1},
		{"a later detractor answer ends satisfied", []schemas.Touchpoint{buy(1), nps(3, 10), nps(6, 4)}, schemas.TierBuyer, 6},
		{"satisfied again from the latest positive answer", []schemas.Touchpoint{nps(1, 10), nps(2, 3), nps(4, 9)}, schemas.TierSatisfied, 4},
		{"a CSAT of 4 of 5 is positive", []schemas.Touchpoint{ev(1, EventSurvey, `{"survey":"s","kind":"csat","score":4}`)}, schemas.TierSatisfied, 1},
		{"a CES of 5 of 7 is not", []schemas.Touchpoint{ev(1, EventSurvey, `{"survey":"s","kind":"ces","score":5}`)}, schemas.TierProspect, 1},
		{"repeat buyer outranks satisfied", []schemas.Touchpoint{nps(1, 10), buy(2), buy(3)}, schemas.TierLoyal, 3},
		{"a review makes engaged", []schemas.Touchpoint{buy(1), buy(2), ev(4, EventReview, `{"rating":2}`)}, schemas.TierEngaged, 4},
		{"a referral makes engaged", []schemas.Touchpoint{ev(4, EventReferral, `{}`)}, schemas.TierEngaged, 4},
		{"an idea makes engaged", []schemas.Touchpoint{ev(4, EventIdea, `{"idea_id":"i"}`)}, schemas.TierEngaged, 4},
		{"a community answer makes engaged", []schemas.Touchpoint{page, ev(4, EventCommunityAnswer, `{"question_id":"q"}`)}, schemas.TierEngaged, 4},
		{"engaged stays engaged after a detractor answer", []schemas.Touchpoint{ev(1, EventReview, `{"rating":5}`), nps(2, 0)}, schemas.TierEngaged, 1},
		{"an idea status change is no contribution", []schemas.Touchpoint{ev(1, "idea_status_changed", `{"idea_id":"i","status":"launched"}`)}, schemas.TierProspect, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Build("c", tt.tps)
			if c.Tier != tt.tier {
				t.Errorf("tier %s, want %s", c.Tier, tt.tier)
			}
			if want := t0.Add(time.Duration(tt.sinceHour) * time.Hour); !c.TierSince.Equal(want) {
				t.Errorf("tier since %s, want %s", c.TierSince, want)
			}
		})
	}
}

func TestPositive(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name string
		s    Survey
		want bool
	}{
		{"NPS 9 is a promoter", Survey{Kind: KindNPS, Score: f(9)}, true},
		{"NPS 8 is passive", Survey{Kind: KindNPS, Score: f(8)}, false},
		{"CSAT 4 of 5", Survey{Kind: KindCSAT, Score: f(4)}, true},
		{"CSAT 3 of 5", Survey{Kind: KindCSAT, Score: f(3)}, false},
		{"CSAT 8 of 10 with its scale", Survey{Kind: KindCSAT, Score: f(8), ScaleMax: f(10)}, true},
		{"CES 6 of 7", Survey{Kind: KindCES, Score: f(6)}, true},
		{"other kind without a scale", Survey{Kind: "other", Score: f(100)}, false},
		{"other kind at 80 % of its scale", Survey{Kind: "other", Score: f(4), ScaleMax: f(5)}, true},
		{"no score", Survey{Kind: KindNPS}, false},
	}
	for _, tt := range tests {
		if got := tt.s.Positive(); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestBuildCountsAndOrder(t *testing.T) {
	tps := []schemas.Touchpoint{
		ev(5, EventReview, `{"rating":4}`),
		ev(0, "page", `{}`),
		ev(1, schemas.EventPurchase, `{"order_id":"a","revenue":19.99}`),
		nps(2, 10),
		ev(3, schemas.EventPurchase, `{"order_id":"b","revenue":5}`),
		nps(4, 6),
		ev(6, EventSurvey, `{"survey":"csat","kind":"csat","score":5}`),
		ev(7, EventReferral, `{"code":"X"}`),
		ev(8, EventIdea, `{"idea_id":"i"}`),
		ev(9, EventCommunityAnswer, `{"question_id":"q"}`),
		ev(10, EventCommunityAnswer, `{"question_id":"q2"}`),
	}
	got := Build("c", tps)
	want := schemas.Customer{CustomerID: "c", FirstSeen: t0, LastSeen: t0.Add(10 * time.Hour), Touchpoints: 11,
		Purchases: 2, Revenue: 24.99, Surveys: 3, PositiveSurveys: 2, LastNPS: 6, LastSurveyPositive: true,
		Reviews: 1, Referrals: 1, Ideas: 1, CommunityAnswers: 2, Tier: schemas.TierEngaged, TierSince: t0.Add(5 * time.Hour), Version: 110}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// Any order of the same touchpoints gives the same row.
	for i := range tps {
		rot := append(append([]schemas.Touchpoint{}, tps[i:]...), tps[:i]...)
		if again := Build("c", rot); again != got {
			t.Fatalf("rotation %d: %+v", i, again)
		}
	}
	// Adding them one by one in time order gives the same row.
	sorted := append([]schemas.Touchpoint{}, tps...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Timestamp.Before(sorted[j].Timestamp) })
	added := New("c")
	for i := range sorted {
		Add(&added, &sorted[i])
		if partial := Build("c", sorted[:i+1]); added != partial {
			t.Fatalf("after %d touchpoints Add gives %+v, Build %+v", i+1, added, partial)
		}
	}
	if empty := Build("x", nil); empty.Tier != schemas.TierProspect || empty.LastNPS != -1 {
		t.Errorf("no touchpoints: %+v", empty)
	}
}
