package simulate

import (
	"time"

	"github.com/journeys/journeys/schemas"
)

// Event is one tracking call as the simulator sends it to POST /v1/batch, in
// the Segment wire shape. Timestamp is the historical event time (UTC,
// encoded RFC 3339 with nanoseconds); ingest keeps it because every batch is
// sent with sentAt = now.
type Event struct {
	MessageID   string         `json:"messageId"`
	Type        string         `json:"type"`
	Event       string         `json:"event,omitempty"`
	Name        string         `json:"name,omitempty"`
	UserID      string         `json:"userId,omitempty"`
	AnonymousID string         `json:"anonymousId,omitempty"`
	Channel     string         `json:"channel"`
	Timestamp   time.Time      `json:"timestamp"`
	Properties  map[string]any `json:"properties,omitempty"`
	Traits      map[string]any `json:"traits,omitempty"`
	Context     map[string]any `json:"context,omitempty"`
}

// CustomerID is the id the processor files the event under before identity
// stitching: the user id if set, else the anonymous id.
func (e Event) CustomerID() string {
	if e.UserID != "" {
		return e.UserID
	}
	return e.AnonymousID
}

// IsCall reports whether e is a phone call touchpoint.
func (e Event) IsCall() bool { return e.Type == schemas.TypeTrack && e.Event == schemas.EventCall }

// IsPurchase reports whether e is a purchase touchpoint.
func (e Event) IsPurchase() bool {
	return e.Type == schemas.TypeTrack && e.Event == schemas.EventPurchase
}

// Track event names besides schemas.EventCall and schemas.EventPurchase.
const (
	EventEmail = "email"
	EventChat  = "chat"
)

// Profile is the behaviour a simulated customer was generated with. It
// explains a customer's events; the ground truth never reads it.
type Profile string

// Profiles and their share of customers (browsers take what is left).
const (
	// ProfileBrowser: 1–4 anonymous web sessions, never identifies, never
	// calls or buys. Events carry anonymousId only. ~45 %.
	ProfileBrowser Profile = "browser"
	// ProfileRegistered: logs in and browses; may open an email, chat, or
	// call once; never buys. ~10 %.
	ProfileRegistered Profile = "registered"
	// ProfileBuyer: a few web sessions and 0, 1 or 2 calls (cycling) within
	// 10 days, then one purchase on the web, in a store or on the phone. ~25 %.
	ProfileBuyer Profile = "buyer"
	// ProfileFrustratedCaller: 3, 4, 5 or 6 calls (cycling) within the 12
	// days before one purchase, often right after the help/contact page:
	// the website does not answer. ~6 %.
	ProfileFrustratedCaller Profile = "frustrated_caller"
	// ProfileStaleCaller: one call 15–20 days before the purchase plus 2, 0
	// or 1 (cycling) calls within 12 days. ~4 %.
	ProfileStaleCaller Profile = "stale_caller"
	// ProfilePostPurchaseCaller: 0 or 1 call before one purchase, then 1, 2
	// or 3 calls about the order after it. ~5 %.
	ProfilePostPurchaseCaller Profile = "post_purchase_caller"
	// ProfileRepeatBuyer: two purchases 3–12 days apart, with (3,2), (0,1)
	// or (1,0) calls (cycling) before the first and the second. ~5 %.
	ProfileRepeatBuyer Profile = "repeat_buyer"
)

// Customer is one simulated person and their events in time order.
type Customer struct {
	// ID is the user id, c-000123. Pure browsers never send it.
	ID string
	// AnonymousID is the browser's id, anon-<16 hex>.
	AnonymousID string
	// Identified reports whether the customer's events carry ID as userId
	// (all of them do then, see the package doc).
	Identified bool
	Profile    Profile
	// Events is this customer's slice of Dataset.Events, in time order.
	Events []Event
}

// Key is the id the processor files the customer's events under: ID when
// identified, else AnonymousID.
func (c Customer) Key() string {
	if c.Identified {
		return c.ID
	}
	return c.AnonymousID
}
