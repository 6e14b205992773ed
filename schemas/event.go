package schemas

import (
	"encoding/json"
	"time"
)

// Event types of the Segment tracking API.
const (
	TypeTrack    = "track"
	TypePage     = "page"
	TypeIdentify = "identify"
	TypeScreen   = "screen"
	TypeGroup    = "group"
	TypeAlias    = "alias"
)

// Event names of the touchpoints the processor understands.
const (
	EventCall     = "call"
	EventPurchase = "purchase"
)

// Channels a touchpoint can arrive on.
const (
	ChannelWeb   = "web"
	ChannelApp   = "app"
	ChannelPhone = "phone"
	ChannelEmail = "email"
	ChannelChat  = "chat"
	ChannelStore = "store"
)

// Event is one tracking call after ingest accepted and enriched it. It is the
// value of every record on the touchpoints topic, encoded as JSON; the record
// key is CustomerID().
//
// Timestamp is the event time after clock-skew correction; ReceivedAt is when
// ingest received it; SentAt and OriginalTimestamp are kept as the sender gave
// them.
type Event struct {
	MessageID         string          `json:"messageId"`
	Type              string          `json:"type"`
	Event             string          `json:"event,omitempty"`
	Name              string          `json:"name,omitempty"`
	AnonymousID       string          `json:"anonymousId,omitempty"`
	UserID            string          `json:"userId,omitempty"`
	PreviousID        string          `json:"previousId,omitempty"`
	GroupID           string          `json:"groupId,omitempty"`
	Channel           string          `json:"channel,omitempty"`
	Timestamp         time.Time       `json:"timestamp"`
	OriginalTimestamp *time.Time      `json:"originalTimestamp,omitempty"`
	SentAt            *time.Time      `json:"sentAt,omitempty"`
	ReceivedAt        time.Time       `json:"receivedAt"`
	Context           json.RawMessage `json:"context,omitempty"`
	Properties        json.RawMessage `json:"properties,omitempty"`
	Traits            json.RawMessage `json:"traits,omitempty"`
	// Source is the name of the source whose write key sent the event.
	Source string `json:"source,omitempty"`
	// MergedFrom is set by the processor, never by ingest, on a record it
	// forwarded to a user after identity stitching: the id the touchpoint
	// was stored under before (UserID then names the user). MergedVersion
	// is the version of that stored row; the user's row must be higher.
	MergedFrom    string `json:"mergedFrom,omitempty"`
	MergedVersion uint64 `json:"mergedVersion,omitempty"`
}

// CustomerID is the identity the event belongs to before identity stitching:
// the user id when the sender knows it, else the anonymous id.
func (e *Event) CustomerID() string {
	if e.UserID != "" {
		return e.UserID
	}
	return e.AnonymousID
}

// EventName is the name that journeys' paths and rules use: the track event's
// name, or the call type for page, identify and the other calls.
func (e *Event) EventName() string {
	if e.Type == TypeTrack {
		return e.Event
	}
	return e.Type
}

// DefaultChannel is the channel an event belongs to when the sender named none.
func DefaultChannel(typ, event string) string {
	switch typ {
	case TypePage:
		return ChannelWeb
	case TypeScreen:
		return ChannelApp
	}
	switch event {
	case EventCall:
		return ChannelPhone
	case "email":
		return ChannelEmail
	case "chat":
		return ChannelChat
	case "store_visit":
		return ChannelStore
	case EventPurchase, "checkout_started":
		return ChannelWeb
	}
	return ""
}
