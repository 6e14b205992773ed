// Package session groups a customer's web and app touchpoints into
// sessions: a burst of activity on one channel that ends after a spell of
// inactivity (30 minutes on the web by default, 5 in apps) or at midnight in
// the configured time zone. It does no I/O; time comes from the touchpoints.
//
// Session ids derive from the customer and the session's first message id,
// and versions grow with the session's content, so a replay writes the same
// rows again.
package session

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/journeys/journeys/schemas"
)

// Config says when a session ends.
type Config struct {
	// Timeout per channel; channels not listed have no sessions.
	Timeout map[string]time.Duration
	// Location whose midnight splits sessions; default UTC. It must be
	// a named zone: ClickHouse reads sessions back by day in it.
	Location *time.Location
	// Keep is how long, in processing time, a session stays in memory
	// after its last touchpoint arrived; default 6h. Event time cannot
	// decide this: a backfill sends customers days apart in event time.
	Keep time.Duration
}

// DefaultConfig: 30 minutes on the web, 5 in apps, split at UTC midnight.
func DefaultConfig() Config {
	return Config{
		Timeout:  map[string]time.Duration{schemas.ChannelWeb: 30 * time.Minute, schemas.ChannelApp: 5 * time.Minute},
		Location: time.UTC,
		Keep:     6 * time.Hour,
	}
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	var errs []error
	if c.Location != nil && c.Location.String() == "Local" {
		errs = append(errs, errors.New("session time zone must be a named zone such as Europe/Amsterdam, not Local"))
	}
	if c.Keep < 0 {
		errs = append(errs, fmt.Errorf("session keep %s is negative", c.Keep))
	}
	for ch, d := range c.Timeout {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("session timeout of channel %q is %s, want a positive duration", ch, d))
		}
	}
	return errors.Join(errs...)
}

// state is the open session of one customer on one channel.
type state struct {
	row     schemas.Session
	last    time.Time
	day     int       // yyyymmdd in the configured location
	touched time.Time // processing time of the last Apply
}

// Sessionizer holds each customer's current session per channel.
type Sessionizer struct {
	cfg  Config
	now  func() time.Time
	open map[key]*state
}

type key struct{ customer, channel string }

// New returns a sessionizer reading processing time from now (nil:
// time.Now); an invalid config panics (validate first).
func New(cfg Config, now func() time.Time) *Sessionizer {
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Keep == 0 {
		cfg.Keep = 6 * time.Hour
	}
	if now == nil {
		now = time.Now
	}
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return &Sessionizer{cfg: cfg, now: now, open: map[key]*state{}}
}

// Apply assigns tp to a session and returns the session's row as it now
// stands, or ok=false when tp's channel has no sessions. Touchpoints of a
// customer must come in event-time order; an earlier one joins the current
// session.
func (s *Sessionizer) Apply(tp *schemas.Touchpoint) (row schemas.Session, ok bool) {
	timeout, ok := s.cfg.Timeout[tp.Channel]
	if !ok {
		return schemas.Session{}, false
	}
	k := key{tp.CustomerID, tp.Channel}
	local := tp.Timestamp.In(s.cfg.Location)
	day := local.Year()*10000 + int(local.Month())*100 + local.Day()
	st := s.open[k]
	if st == nil || tp.Timestamp.Sub(st.last) > timeout || day != st.day && tp.Timestamp.After(st.last) {
		st = &state{day: day, last: tp.Timestamp, row: schemas.Session{
			SessionID:  id(tp.CustomerID, tp.MessageID),
			CustomerID: tp.CustomerID,
			Channel:    tp.Channel,
			StartedAt:  tp.Timestamp,
			EntryPage:  page(tp),
		}}
		s.open[k] = st
	}
	if tp.Timestamp.After(st.last) {
		st.last = tp.Timestamp
	}
	st.touched = s.now()
	st.row.EndedAt = st.last
	st.row.Touchpoints++
	if tp.Type == schemas.TypePage || tp.Type == schemas.TypeScreen {
		st.row.PageViews++
		st.row.ExitPage = page(tp)
	}
	st.row.Version = uint64(st.row.Touchpoints)
	tp.SessionID = st.row.SessionID
	return st.row, true
}

// Forget drops a customer's sessions, as when their partition moves to
// another processor; Apply over their stored touchpoints rebuilds them.
func (s *Sessionizer) Forget(customerID string) {
	// Only the configured channels have sessions: one lookup each, not a
	// scan of every open session (a scan per identity merge was a quarter
	// of the processor's CPU on simulated traffic).
	for channel := range s.cfg.Timeout {
		delete(s.open, key{customerID, channel})
	}
}

// ForgetWhere drops the sessions of every customer for whom forgotten is
// true (GDPR erasure).
func (s *Sessionizer) ForgetWhere(forgotten func(customerID string) bool) {
	for k := range s.open {
		if forgotten(k.customer) {
			delete(s.open, k)
		}
	}
}

// Evict drops the sessions whose last touchpoint arrived more than Keep
// ago in processing time.
func (s *Sessionizer) Evict() {
	now := s.now()
	for k, st := range s.open {
		if now.Sub(st.touched) > s.cfg.Keep {
			delete(s.open, k)
		}
	}
}

// Len is the number of open sessions held.
func (s *Sessionizer) Len() int { return len(s.open) }

// Reset drops every session.
func (s *Sessionizer) Reset() { s.open = map[key]*state{} }

func id(customer, firstMessage string) string {
	h := sha256.Sum256([]byte("session\x00" + customer + "\x00" + firstMessage))
	return hex.EncodeToString(h[:16])
}

// page is the path of a page view, from its properties or context.
func page(tp *schemas.Touchpoint) string {
	if tp.Type != schemas.TypePage && tp.Type != schemas.TypeScreen {
		return ""
	}
	if p := jsonString(tp.Properties, "path"); p != "" {
		return p
	}
	return jsonString(tp.Context, "page", "path")
}
