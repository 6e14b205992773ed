package simulate

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/journeys/journeys/schemas"
)

// Engagement track events and the channels the simulator sends them on.
const (
	EventSurvey                   = "survey_response"
	EventReview                   = "review"
	EventReferral                 = "referral"
	EventIdeaSubmitted            = "idea_submitted"
	EventIdeaStatusChanged        = "idea_status_changed"
	EventCommunityAnswer          = "community_answer"
	ChannelCommunity              = "community"
	ChannelSocial                 = "social"
	engagementStream       uint64 = 1 << 40
)

// IdeaStatuses are the statuses an idea moves through, in order.
var IdeaStatuses = []string{"under review", "reviewed", "coming soon", "launched"}

// engager adds one identified customer's engagement: NPS surveys after
// purchases (and now and then without one), reviews, referrals by
// promoters, ideas that move through their statuses, answers to other
// customers in the community. It draws from a random stream of its own and
// only adds events, on channels that have no sessions (email, social,
// community) and are no inbound contact, so every event, journey, call
// and purchase truth the generator had before stays as it was, apart from
// the engagement touchpoints joining journeys.
type engager struct {
	b      *builder
	r      *rand.Rand
	taken  map[int64]bool // event times in ms already used by the customer
	events []Event
	ideas  int
}

func (b *builder) engage(seed int64, n int) {
	if !b.c.Identified {
		return
	}
	e := &engager{b: b, r: rand.New(rand.NewPCG(uint64(seed), uint64(n)|engagementStream)), taken: map[int64]bool{}}
	for _, ev := range b.events {
		e.taken[ev.Timestamp.UnixMilli()] = true
	}
	frustrated := b.c.Profile == ProfileFrustratedCaller
	// Half the repeat buyers never contribute, so loyal customers exist
	// besides engaged ones.
	quiet := b.c.Profile == ProfileRepeatBuyer && e.r.IntN(2) == 0
	var purchases []time.Time
	for _, ev := range b.events {
		if ev.IsPurchase() {
			purchases = append(purchases, ev.Timestamp)
		}
	}
	for _, p := range purchases {
		if e.r.Float64() < 0.6 {
			if at, ok := e.after(p, 1, 3); ok {
				score := []int{6, 7, 8, 9, 9, 10, 10}[e.r.IntN(7)]
				if frustrated {
					score = []int{2, 4, 5, 6, 7, 8}[e.r.IntN(6)]
				}
				e.survey(at, score)
				if score >= 9 && !quiet && e.r.Float64() < 0.5 {
					if at, ok := e.after(at, 1, 4); ok {
						e.referral(at)
					}
				}
			}
		}
		if !quiet && e.r.Float64() < 0.3 {
			if at, ok := e.after(p, 1, 5); ok {
				rating := 3 + e.r.IntN(3)
				if frustrated {
					rating = 1 + e.r.IntN(3)
				}
				e.review(at, rating)
			}
		}
	}
	if len(purchases) == 0 && e.r.Float64() < 0.2 {
		e.survey(e.day(), e.r.IntN(11))
	}
	if !quiet && e.r.Float64() < 0.2 {
		e.idea(e.day())
	}
	if !quiet && e.r.Float64() < 0.08 {
		for range 1 + e.r.IntN(3) {
			e.answer(e.day())
		}
	}
	if len(e.events) == 0 {
		return
	}
	b.events = append(b.events, e.events...)
	sort.SliceStable(b.events, func(i, j int) bool { return b.events[i].Timestamp.Before(b.events[j].Timestamp) })
}

// day is a random moment of a random day of the customer's window.
func (e *engager) day() time.Time {
	d := e.b.w0 + e.r.IntN(e.b.wEnd-e.b.w0+1)
	return e.b.start.AddDate(0, 0, d).Add(8*time.Hour + time.Duration(e.r.Int64N(int64(12*time.Hour/time.Millisecond)))*time.Millisecond)
}

// after is a random moment lo to hi days after t, if that is still within
// the customer's window.
func (e *engager) after(t time.Time, lo, hi int) (time.Time, bool) {
	at := t.Add(time.Duration(lo)*24*time.Hour + time.Duration(e.r.Int64N(int64(time.Duration(hi-lo)*24*time.Hour/time.Millisecond)))*time.Millisecond)
	last := e.b.start.AddDate(0, 0, e.b.wEnd+1)
	return at, at.Before(last)
}

func (e *engager) emit(at time.Time, channel, event string, props map[string]any) {
	at = at.Truncate(time.Millisecond)
	for e.taken[at.UnixMilli()] {
		at = at.Add(time.Millisecond)
	}
	e.taken[at.UnixMilli()] = true
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[:8], e.r.Uint64())
	binary.BigEndian.PutUint64(u[8:], e.r.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	e.events = append(e.events, Event{
		MessageID: u.String(), Type: schemas.TypeTrack, Event: event, UserID: e.b.c.ID, Channel: channel,
		Timestamp: at, Properties: props,
		Context: map[string]any{"library": map[string]any{"name": "journeys-simulate", "version": "1"}},
	})
}

func (e *engager) survey(at time.Time, score int) {
	e.emit(at, schemas.ChannelEmail, EventSurvey, map[string]any{"survey": "nps-after-purchase", "kind": "nps", "score": score, "scale_max": 10})
}

func (e *engager) review(at time.Time, rating int) {
	e.emit(at, ChannelSocial, EventReview, map[string]any{"rating": rating, "platform": "trustpilot",
		"product_id": productPages[e.r.IntN(len(productPages))].path[len("/products/"):]})
}

func (e *engager) referral(at time.Time) {
	e.emit(at, ChannelSocial, EventReferral, map[string]any{"referrer_id": e.b.c.ID, "code": "FRIEND-" + e.b.c.ID[2:], "program": "friends"})
}

// idea submits an idea and moves it through 0 to 4 statuses, a few days
// apart, as long as the customer's window lasts.
func (e *engager) idea(at time.Time) {
	e.ideas++
	id := fmt.Sprintf("idea-%s-%d", e.b.c.ID[2:], e.ideas)
	e.emit(at, ChannelCommunity, EventIdeaSubmitted, map[string]any{"idea_id": id, "title": "Idea " + id, "category": "product"})
	prev := ""
	for _, status := range IdeaStatuses[:e.r.IntN(len(IdeaStatuses)+1)] {
		next, ok := e.after(at, 1, 4)
		if !ok {
			return
		}
		at = next
		props := map[string]any{"idea_id": id, "status": status}
		if prev != "" {
			props["previous_status"] = prev
		}
		e.emit(at, ChannelCommunity, EventIdeaStatusChanged, props)
		prev = status
	}
}

func (e *engager) answer(at time.Time) {
	e.emit(at, ChannelCommunity, EventCommunityAnswer, map[string]any{"question_id": fmt.Sprintf("q-%d", e.r.IntN(1000)),
		"accepted": e.r.Float64() < 0.4})
}
