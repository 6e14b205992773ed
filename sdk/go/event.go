package journeys

import (
	"context"
	"time"
)

// Version of this client, sent as its User-Agent.
const Version = "0.1.0"

// Call types of the tracking API.
const (
	TypeTrack    = "track"
	TypePage     = "page"
	TypeIdentify = "identify"
	TypeAlias    = "alias"
	TypeGroup    = "group"
)

// Event is one tracking call. Enqueue fills MessageID and Timestamp when
// they are empty; set MessageID yourself (e.g. from the source record's
// id) to make re-sending the same record harmless.
type Event struct {
	Type        string         `json:"type"`
	Event       string         `json:"event,omitempty"`
	Name        string         `json:"name,omitempty"`
	MessageID   string         `json:"messageId"`
	UserID      string         `json:"userId,omitempty"`
	AnonymousID string         `json:"anonymousId,omitempty"`
	PreviousID  string         `json:"previousId,omitempty"`
	GroupID     string         `json:"groupId,omitempty"`
	Channel     string         `json:"channel,omitempty"`
	Timestamp   time.Time      `json:"timestamp"`
	Properties  map[string]any `json:"properties,omitempty"`
	Traits      map[string]any `json:"traits,omitempty"`
	Context     map[string]any `json:"context,omitempty"`
}

// Track enqueues a track event of any name.
func (c *Client) Track(ctx context.Context, userID, event string, at time.Time, props map[string]any) error {
	return c.Enqueue(ctx, Event{Type: TypeTrack, Event: event, UserID: userID, Timestamp: at, Properties: props})
}

// Identify ties traits (email, plan, …) to a user.
func (c *Client) Identify(ctx context.Context, userID string, traits map[string]any) error {
	return c.Enqueue(ctx, Event{Type: TypeIdentify, UserID: userID, Traits: traits})
}

// Alias links an earlier id (an anonymous web visitor, a phone number
// used as id) to userID.
func (c *Client) Alias(ctx context.Context, previousID, userID string) error {
	return c.Enqueue(ctx, Event{Type: TypeAlias, PreviousID: previousID, UserID: userID})
}

// Page records a page view seen server-side.
func (c *Client) Page(ctx context.Context, userID string, at time.Time, p Page) error {
	return c.Enqueue(ctx, Event{Type: TypePage, Name: p.Title, UserID: userID, Timestamp: at, Properties: props(
		"path", p.Path, "url", p.URL, "referrer", p.Referrer, "title", p.Title)})
}

// Page is a page view's properties.
type Page struct {
	Path, URL, Referrer, Title string
}

// Call is a phone call with the contact center.
type Call struct {
	ID        string // the telephony system's call id; becomes the messageId
	At        time.Time
	Wait      time.Duration
	Duration  time.Duration
	Topic     string
	Direction string // inbound or outbound
	Transfers int
}

// Call enqueues a call touchpoint (channel phone).
func (c *Client) Call(ctx context.Context, userID string, call Call) error {
	p := props("topic", call.Topic, "direction", call.Direction)
	p["wait_seconds"] = call.Wait.Seconds()
	p["duration_seconds"] = call.Duration.Seconds()
	p["transfers"] = call.Transfers
	return c.Enqueue(ctx, Event{Type: TypeTrack, Event: "call", MessageID: idOf("call", call.ID), UserID: userID, Timestamp: call.At, Properties: p})
}

// Purchase is a completed order.
type Purchase struct {
	OrderID  string
	At       time.Time
	Revenue  float64
	Currency string // ISO 4217, e.g. EUR
}

// Purchase enqueues a purchase; the order id makes it idempotent.
func (c *Client) Purchase(ctx context.Context, userID string, p Purchase) error {
	pr := props("order_id", p.OrderID, "currency", p.Currency)
	pr["revenue"] = p.Revenue
	return c.Enqueue(ctx, Event{Type: TypeTrack, Event: "purchase", MessageID: idOf("purchase", p.OrderID), UserID: userID, Timestamp: p.At, Properties: pr})
}

// Promise is something the company promised a customer, by a date.
type Promise struct {
	ID   string
	At   time.Time // when it was made or kept
	Due  time.Time // for PromiseMade
	What string
	By   string // who promised: an agent, a team
}

// PromiseMade records a promise with its due date; a promise not kept by
// then is friction.
func (c *Client) PromiseMade(ctx context.Context, userID string, p Promise) error {
	pr := props("promise_id", p.ID, "what", p.What, "by", p.By)
	pr["due_at"] = p.Due.UTC().Format(time.RFC3339)
	return c.Enqueue(ctx, Event{Type: TypeTrack, Event: "promise_made", MessageID: idOf("promise_made", p.ID), UserID: userID, Timestamp: p.At, Properties: pr})
}

// PromiseKept records that the promise with p.ID was kept at p.At.
func (c *Client) PromiseKept(ctx context.Context, userID string, p Promise) error {
	pr := props("promise_id", p.ID)
	if !p.At.IsZero() {
		pr["kept_at"] = p.At.UTC().Format(time.RFC3339)
	}
	return c.Enqueue(ctx, Event{Type: TypeTrack, Event: "promise_kept", MessageID: idOf("promise_kept", p.ID), UserID: userID, Timestamp: p.At, Properties: pr})
}

// Email is one step of an email: sent, delivered, opened, clicked, …
type Email struct {
	ID        string // the mail system's event id
	At        time.Time
	Action    string
	Campaign  string
	Subject   string
	Direction string
	LinkURL   string
}

// Email enqueues an email touchpoint (channel email).
func (c *Client) Email(ctx context.Context, userID string, e Email) error {
	return c.Enqueue(ctx, Event{Type: TypeTrack, Event: "email", MessageID: idOf("email", e.ID), UserID: userID, Timestamp: e.At, Properties: props(
		"action", e.Action, "campaign", e.Campaign, "subject", e.Subject, "direction", e.Direction, "link_url", e.LinkURL)})
}

// Chat is one chat conversation.
type Chat struct {
	ID        string
	At        time.Time
	Wait      time.Duration
	Duration  time.Duration
	Topic     string
	Direction string
	Agent     string // human or bot
	Messages  int
	Resolved  bool
}

// Chat enqueues a chat touchpoint (channel chat).
func (c *Client) Chat(ctx context.Context, userID string, ch Chat) error {
	p := props("topic", ch.Topic, "direction", ch.Direction, "agent", ch.Agent)
	p["wait_seconds"] = ch.Wait.Seconds()
	p["duration_seconds"] = ch.Duration.Seconds()
	p["messages"] = ch.Messages
	p["resolved"] = ch.Resolved
	return c.Enqueue(ctx, Event{Type: TypeTrack, Event: "chat", MessageID: idOf("chat", ch.ID), UserID: userID, Timestamp: ch.At, Properties: p})
}

// Ticket is a support ticket's change of status.
type Ticket struct {
	ID       string
	At       time.Time
	Status   string // opened, updated, reopened, solved, closed
	Priority string
	Topic    string
}

// Ticket enqueues a ticket event.
func (c *Client) Ticket(ctx context.Context, userID string, t Ticket) error {
	return c.Enqueue(ctx, Event{Type: TypeTrack, Event: "ticket", UserID: userID, Timestamp: t.At, Properties: props(
		"ticket_id", t.ID, "status", t.Status, "priority", t.Priority, "topic", t.Topic)})
}

// StoreVisit is a visit to a physical store.
type StoreVisit struct {
	StoreID  string
	At       time.Time
	Duration time.Duration
	City     string
}

// StoreVisit enqueues a store visit (channel store).
func (c *Client) StoreVisit(ctx context.Context, userID string, v StoreVisit) error {
	p := props("store_id", v.StoreID, "city", v.City)
	if v.Duration > 0 {
		p["duration_seconds"] = v.Duration.Seconds()
	}
	return c.Enqueue(ctx, Event{Type: TypeTrack, Event: "store_visit", UserID: userID, Timestamp: v.At, Properties: p})
}

// props builds properties from name/value pairs, leaving out empty values
// (the schemas refuse empty strings where a value is optional).
func props(kv ...string) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

// idOf derives a stable messageId from the source system's record id, so
// that exporting the same record twice sends one event. An empty id
// leaves the messageId to Enqueue.
func idOf(kind, id string) string {
	if id == "" {
		return ""
	}
	id = kind + "-" + id
	if len(id) > 99 { // ingest's messageId limit
		id = id[:99]
	}
	return id
}
