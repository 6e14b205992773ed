package journey

import (
	"slices"
	"strings"
	"time"

	"github.com/journeys/journeys/schemas"
)

// maxInterned bounds the table of interned event names and channels, so that
// a sender inventing names cannot grow it without limit.
const maxInterned = 4096

// Result holds the rows one touchpoint (or a Restore) produced.
type Result struct {
	// Touchpoint is the touchpoint row with its JourneyID and Version set; nil
	// for a duplicate and from Restore.
	Touchpoint *schemas.Touchpoint
	// Journeys are the journey rows that changed, oldest journey first.
	Journeys []schemas.Journey
	// Flags are the friction flags found.
	Flags []schemas.FrictionFlag
	// Duplicate reports a touchpoint the customer's current journey already
	// holds; nothing changed.
	Duplicate bool
}

// Engine folds touchpoints into journeys and friction flags, per customer.
type Engine struct {
	cfg       Config
	now       func() time.Time
	customers map[string]*customer
	names     map[string]string // interned event names and channels
}

// customer is the state held per customer.
type customer struct {
	journey journey
	// calls since the customer's previous purchase, pruned to the rule's
	// window; kept across abandoned journeys, as the window may be longer
	// than the inactivity timeout.
	calls []call
}

// New returns an engine with cfg (zero fields take their defaults) and the
// clock that stamps FrictionFlag.DetectedAt (nil means time.Now). It panics
// if cfg is invalid; check it with Config.Validate first.
func New(cfg Config, now func() time.Time) *Engine {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if now == nil {
		now = time.Now
	}
	return &Engine{
		cfg:       cfg.withDefaults(),
		now:       now,
		customers: make(map[string]*customer),
		names:     make(map[string]string),
	}
}

// Config returns the configuration in use, with defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// Apply folds one touchpoint into its customer's journey. The touchpoints of
// a customer must come in event-time order (see the package doc for what
// happens otherwise).
func (e *Engine) Apply(tp schemas.Touchpoint) Result {
	c := e.customers[tp.CustomerID]
	if c == nil {
		c = &customer{}
		e.customers[tp.CustomerID] = c
	}
	return e.apply(tp.CustomerID, c, tp)
}

// applyOut lets Apply allocate its touchpoint row and the usual single
// journey row at once.
type applyOut struct {
	tp       schemas.Touchpoint
	journeys [1]schemas.Journey
}

func (e *Engine) apply(customerID string, c *customer, tp schemas.Touchpoint) Result {
	h := messageHash(tp.MessageID)
	j := &c.journey
	if j.id != "" && j.contains(h) {
		return Result{Duplicate: true}
	}
	at := tp.Timestamp
	if j.id != "" && at.Before(j.endedAt) {
		at = j.endedAt // out of order: happens at the journey's current time
	}

	out := &applyOut{}
	res := Result{Touchpoint: &out.tp, Journeys: out.journeys[:0:1]}
	switch {
	case j.id == "" || j.status != statusOpen:
		*j = newJourney(customerID, tp.MessageID, at)
	case at.Sub(j.endedAt) > e.cfg.InactivityTimeout:
		j.status = statusAbandoned
		res.Journeys = append(res.Journeys, j.row(customerID))
		*j = newJourney(customerID, tp.MessageID, at)
	}
	j.add(h, e.intern(tp.Event), e.intern(tp.Channel), at)

	switch tp.Event {
	case schemas.EventCall:
		c.calls = pruneCalls(c.calls, at.Add(-e.cfg.RepeatedCalls.Window))
		c.calls = append(c.calls, call{at: at, messageID: tp.MessageID})
	case schemas.EventPurchase:
		revenue, orderID := parsePurchase(tp.Properties)
		j.revenue += revenue
		c.calls = pruneCalls(c.calls, at.Add(-e.cfg.RepeatedCalls.Window))
		if flag, ok := e.repeatedCalls(customerID, j.id, tp, at, orderID, c.calls); ok {
			res.Flags = []schemas.FrictionFlag{flag}
			j.friction++
		}
		c.calls = nil // only calls after this purchase count for the next
		j.status = statusConverted
	}

	out.tp = tp
	out.tp.JourneyID = j.id
	out.tp.Version = 1
	res.Journeys = append(res.Journeys, j.row(customerID))
	return res
}

// CloseIdle abandons the open journeys whose latest touchpoint is more than
// the inactivity timeout before now (an event-time watermark or the wall
// clock) and returns their rows, ordered by journey id. The customers stay
// held; see EvictIdle.
func (e *Engine) CloseIdle(now time.Time) []schemas.Journey {
	var rows []schemas.Journey
	for id, c := range e.customers {
		j := &c.journey
		if j.id == "" || j.status != statusOpen || now.Sub(j.endedAt) <= e.cfg.InactivityTimeout {
			continue
		}
		j.status = statusAbandoned
		rows = append(rows, j.row(id))
	}
	slices.SortFunc(rows, func(a, b schemas.Journey) int { return strings.Compare(a.JourneyID, b.JourneyID) })
	return rows
}

// EvictIdle forgets the customers whose journey is closed and who hold no call
// within the repeated-calls window before now, and returns how many it
// forgot. Their state can be rebuilt with Restore if they come back; what is
// lost is only the duplicate check against their closed journey.
func (e *Engine) EvictIdle(now time.Time) int {
	cutoff := now.Add(-e.cfg.RepeatedCalls.Window)
	n := 0
	for id, c := range e.customers {
		if c.journey.id != "" && c.journey.status == statusOpen {
			continue
		}
		if len(c.calls) > 0 && !c.calls[len(c.calls)-1].at.Before(cutoff) {
			continue
		}
		delete(e.customers, id)
		n++
	}
	return n
}

// Restore rebuilds a customer's state from the stored touchpoints of their
// latest journey, in event-time order, replacing any state held for them. It
// returns the journey rows (the latest row of each journey folded, oldest
// first) and the flags as they stand after folding, for idempotent
// re-insertion; they equal what Apply produced for the same touchpoints,
// except FrictionFlag.DetectedAt. The touchpoints' CustomerID and JourneyID
// are not read: they belong to customerID, and their journey is recomputed.
//
// Calls from before the latest journey are not in history, so a purchase
// after a restore does not count calls of an earlier abandoned journey.
func (e *Engine) Restore(customerID string, history []schemas.Touchpoint) Result {
	if len(history) == 0 {
		delete(e.customers, customerID)
		return Result{}
	}
	c := &customer{}
	var res Result
	for _, tp := range history {
		r := e.apply(customerID, c, tp)
		for _, row := range r.Journeys {
			if i := slices.IndexFunc(res.Journeys, func(j schemas.Journey) bool { return j.JourneyID == row.JourneyID }); i >= 0 {
				res.Journeys[i] = row
			} else {
				res.Journeys = append(res.Journeys, row)
			}
		}
		res.Flags = append(res.Flags, r.Flags...)
	}
	e.customers[customerID] = c
	return res
}

// Forget drops the state held for a customer.
func (e *Engine) Forget(customerID string) { delete(e.customers, customerID) }

// Has reports whether the engine holds state for a customer.
func (e *Engine) Has(customerID string) bool {
	_, ok := e.customers[customerID]
	return ok
}

// Len returns the number of customers held.
func (e *Engine) Len() int { return len(e.customers) }

// Reset drops all state.
func (e *Engine) Reset() {
	e.customers = make(map[string]*customer)
	e.names = make(map[string]string)
}

// intern returns a shared copy of an event name or channel: millions of
// customers then hold the same few strings instead of one copy per
// touchpoint.
func (e *Engine) intern(s string) string {
	if v, ok := e.names[s]; ok {
		return v
	}
	if len(e.names) >= maxInterned {
		return s
	}
	s = strings.Clone(s)
	e.names[s] = s
	return s
}
