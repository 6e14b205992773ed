package journey

import (
	"slices"
	"strings"
	"time"

	"github.com/journeys/journeys/processor/rules"
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
	// Touchpoints are, from Restore only, the touchpoint rows it folded
	// from its from time on, with the journeys they now belong to.
	Touchpoints []schemas.Touchpoint
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
	rules     *rules.Set
	now       func() time.Time
	customers map[string]*customer
	// armed are the customers an absence rule waits on, for Tick.
	armed    map[string]*customer
	names    map[string]string // interned event names and channels
	findings []rules.Finding   // scratch, reused by every Apply
}

// customer is the state held per customer.
type customer struct {
	journey journey
	// rules is what the friction rules remember, pruned to each rule's
	// window; kept across journeys, as a window may be longer than the
	// inactivity timeout.
	rules rules.State
	armed bool // in Engine.armed
	// offset is the highest Kafka offset applied: the cause of rows that
	// time alone produces (CloseIdle, Tick). See Version in the doc.
	offset int64
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
	cfg = cfg.withDefaults()
	return &Engine{
		cfg:       cfg,
		rules:     cfg.Rules,
		now:       now,
		customers: make(map[string]*customer),
		armed:     make(map[string]*customer),
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
	res := e.apply(tp.CustomerID, c, tp)
	e.track(tp.CustomerID, c)
	return res
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
	c.offset = max(c.offset, tp.KafkaOffset)
	cause := c.offset
	if j.id != "" && j.contains(h) {
		return Result{Duplicate: true}
	}
	at := tp.Timestamp
	if j.id != "" && at.Before(j.endedAt) {
		at = j.endedAt // out of order: happens at the journey's current time
	}

	out := &applyOut{}
	res := Result{Touchpoint: &out.tp, Journeys: out.journeys[:0:1]}
	// Absences whose deadline this touchpoint's time passes fire first, on
	// the journey of the touchpoint that armed them; counted on it while it
	// is open, before the gap may close it.
	found := e.rules.Expire(&c.rules, at, e.findings[:0])
	for _, f := range found {
		if f.JourneyID == j.id && j.status == statusOpen {
			j.friction++
		}
	}
	expired := len(found)
	switch {
	case j.id == "" || j.status != statusOpen:
		*j = newJourney(customerID, tp.MessageID, at)
	case at.Sub(j.endedAt) > e.cfg.InactivityTimeout:
		j.status = statusAbandoned
		res.Journeys = append(res.Journeys, j.row(customerID, cause))
		*j = newJourney(customerID, tp.MessageID, at)
	}
	j.add(h, e.intern(tp.Event), e.intern(tp.Channel), at)

	found = e.rules.Apply(&c.rules, rules.Event{
		MessageID: tp.MessageID, Name: tp.Event, Channel: tp.Channel,
		Properties: tp.Properties, At: at, JourneyID: j.id,
	}, found)
	j.friction += uint32(len(found) - expired)
	if len(found) > 0 {
		res.Flags = make([]schemas.FrictionFlag, len(found))
		for i, f := range found {
			journeyID := f.JourneyID
			if journeyID == "" {
				journeyID = j.id
			}
			res.Flags[i] = e.flag(customerID, journeyID, f, cause)
		}
		clear(found) // the scratch must not keep evidence alive
	}
	e.findings = found[:0]

	if tp.Event == schemas.EventPurchase {
		revenue, _ := parsePurchase(tp.Properties)
		j.revenue += revenue
		j.status = statusConverted
	}

	out.tp = tp
	out.tp.JourneyID = j.id
	// A touchpoint forwarded from an id merged into this customer arrives
	// with a version above its old row's, which it keeps if higher.
	out.tp.Version = max(tp.Version, uint64(tp.KafkaOffset)+1)
	res.Journeys = append(res.Journeys, j.row(customerID, cause))
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
		rows = append(rows, j.row(id, c.offset))
	}
	slices.SortFunc(rows, func(a, b schemas.Journey) int { return strings.Compare(a.JourneyID, b.JourneyID) })
	return rows
}

// Tick fires the absence rules (a promise not kept by its due time) whose
// deadline is before now, for customers who sent nothing since: pass the
// event-time watermark while catching up and the wall clock while live.
// Flags come ordered by flag id. A flag whose journey is still open counts
// on it; that journey's next row (its next touchpoint, or CloseIdle) carries
// the count. Call Tick before CloseIdle with the same time, so that a
// journey closed for inactivity is written with its count.
func (e *Engine) Tick(now time.Time) []schemas.FrictionFlag {
	var flags []schemas.FrictionFlag
	for id, c := range e.armed {
		found := e.rules.Expire(&c.rules, now, e.findings[:0])
		for _, f := range found {
			if f.JourneyID == c.journey.id && c.journey.status == statusOpen {
				c.journey.friction++
			}
			flags = append(flags, e.flag(id, f.JourneyID, f, c.offset))
		}
		clear(found)
		e.findings = found[:0]
		e.track(id, c)
	}
	slices.SortFunc(flags, func(a, b schemas.FrictionFlag) int { return strings.Compare(a.FlagID, b.FlagID) })
	return flags
}

// track keeps Engine.armed in step with a customer's absence deadlines.
func (e *Engine) track(id string, c *customer) {
	switch pending := c.rules.Pending(); {
	case pending && !c.armed:
		e.armed[id] = c
		c.armed = true
	case !pending && c.armed:
		delete(e.armed, id)
		c.armed = false
	}
}

// EvictIdle forgets the customers whose journey is closed and whose rule
// state is idle at now (nothing inside a rule's window, no absence waiting),
// and returns how many it forgot. Their state can be rebuilt with Restore if
// they come back; what is lost is only the duplicate check against their
// closed journey.
func (e *Engine) EvictIdle(now time.Time) int {
	n := 0
	for id, c := range e.customers {
		if c.journey.id != "" && c.journey.status == statusOpen {
			continue
		}
		if !e.rules.Idle(&c.rules, now) {
			continue
		}
		e.Forget(id)
		n++
	}
	return n
}

// Restore rebuilds a customer's state by folding their stored touchpoints
// again, in event-time order, replacing any state held for them. history
// must begin with the first touchpoint of a journey that begins at least
// Horizon before from (or with the customer's first touchpoint): the rules
// then see everything that can matter from from on, so the rows from from on
// equal what Apply produced, except FrictionFlag.DetectedAt. Restore returns
// those rows for idempotent re-insertion: the latest row of each journey
// that began at or after from, oldest first, and the flags found at
// touchpoints at or after from. Rows before from are not returned: their
// rule state may be incomplete. The touchpoints' CustomerID and JourneyID
// are not read: they belong to customerID, and their journey is recomputed.
// An absence armed in history fires again at the next Tick (same flag id,
// so the same row).
func (e *Engine) Restore(customerID string, history []schemas.Touchpoint, from time.Time) Result {
	if len(history) == 0 {
		e.Forget(customerID)
		return Result{}
	}
	c := &customer{}
	var res Result
	for _, tp := range history {
		r := e.apply(customerID, c, tp)
		if tp.Timestamp.Before(from) {
			continue
		}
		if r.Touchpoint != nil {
			res.Touchpoints = append(res.Touchpoints, *r.Touchpoint)
		}
		for _, row := range r.Journeys {
			if row.StartedAt.Before(from) {
				continue
			}
			if i := slices.IndexFunc(res.Journeys, func(j schemas.Journey) bool { return j.JourneyID == row.JourneyID }); i >= 0 {
				res.Journeys[i] = row
			} else {
				res.Journeys = append(res.Journeys, row)
			}
		}
		res.Flags = append(res.Flags, r.Flags...)
	}
	e.Forget(customerID)
	e.customers[customerID] = c
	e.track(customerID, c)
	return res
}

// Horizon is how long before a time a Restore must begin folding to be
// exact from that time on: the rules' Horizon (rules.Set.Horizon).
func (e *Engine) Horizon() time.Duration { return e.rules.Horizon() }

// Latest is the event time of the customer's latest touchpoint, if the
// engine holds them.
func (e *Engine) Latest(customerID string) (time.Time, bool) {
	c, ok := e.customers[customerID]
	if !ok || c.journey.id == "" {
		return time.Time{}, false
	}
	return c.journey.endedAt, true
}

// Settle is Tick and CloseIdle for one customer: what time passing at now
// produces for them without a touchpoint.
func (e *Engine) Settle(customerID string, now time.Time) ([]schemas.FrictionFlag, []schemas.Journey) {
	c, ok := e.customers[customerID]
	if !ok {
		return nil, nil
	}
	var flags []schemas.FrictionFlag
	found := e.rules.Expire(&c.rules, now, e.findings[:0])
	for _, f := range found {
		if f.JourneyID == c.journey.id && c.journey.status == statusOpen {
			c.journey.friction++
		}
		flags = append(flags, e.flag(customerID, f.JourneyID, f, c.offset))
	}
	clear(found)
	e.findings = found[:0]
	e.track(customerID, c)
	j := &c.journey
	if j.id == "" || j.status != statusOpen || now.Sub(j.endedAt) <= e.cfg.InactivityTimeout {
		return flags, nil
	}
	j.status = statusAbandoned
	return flags, []schemas.Journey{j.row(customerID, c.offset)}
}

// Forget drops the state held for a customer.
func (e *Engine) Forget(customerID string) {
	delete(e.customers, customerID)
	delete(e.armed, customerID)
}

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
	e.armed = make(map[string]*customer)
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
