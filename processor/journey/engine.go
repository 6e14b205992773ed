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
	armed map[string]*customer
	// names interns event names and channels: journeys hold their index
	// in nameList.
	names    map[string]uint16
	nameList []string
	// channelSets are the Channels of rows by journey.channels, so that
	// rows of journeys with the same channels share one array.
	channelSets map[uint64][]string
	// wide holds the path and channels of the journeys that keep them as
	// strings (journey.wide).
	wide map[*journey]*wide
	// paths is where rows' Path arrays are cut from (see rowPath).
	paths    []string
	findings []rules.Finding // scratch, reused by every Apply
}

// customer is the state held per customer.
type customer struct {
	journey journey
	// rules is what the friction rules remember, pruned to each rule's
	// window; kept across journeys, as a window may be longer than the
	// inactivity timeout.
	rules rules.State
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
	e := &Engine{cfg: cfg, rules: cfg.Rules, now: now}
	e.Reset()
	return e
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
	if j.started && j.contains(h) {
		return Result{Duplicate: true}
	}
	at := tp.Timestamp
	if j.started {
		if end := j.endedAt(); at.Before(end) {
			at = end // out of order: happens at the journey's current time
		}
	}

	out := &applyOut{}
	res := Result{Touchpoint: &out.tp, Journeys: out.journeys[:0:1]}
	// Absences whose deadline this touchpoint's time passes fire first, on
	// the journey of the touchpoint that armed them; counted on it while it
	// is open, before the gap may close it.
	found := e.rules.Expire(&c.rules, at, e.findings[:0])
	for _, f := range found {
		if j.status == statusOpen && j.is(f.JourneyID) {
			j.friction++
		}
	}
	expired := len(found)
	switch {
	case !j.started || j.status != statusOpen:
		e.begin(j, customerID, tp.MessageID, at)
	case at.Sub(j.endedAt()) > e.cfg.InactivityTimeout:
		j.status = statusAbandoned
		res.Journeys = append(res.Journeys, e.row(j, customerID, j.hexID(), cause))
		e.begin(j, customerID, tp.MessageID, at)
	}
	jid := j.hexID()
	e.add(j, h, tp.Event, tp.Channel, at)

	found = e.rules.Apply(&c.rules, rules.Event{
		MessageID: tp.MessageID, Name: tp.Event, Channel: tp.Channel,
		Properties: tp.Properties, At: at, JourneyID: jid,
	}, found)
	j.friction += uint32(len(found) - expired)
	if len(found) > 0 {
		res.Flags = make([]schemas.FrictionFlag, len(found))
		for i, f := range found {
			journeyID := f.JourneyID
			if journeyID == "" {
				journeyID = jid
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
	out.tp.JourneyID = jid
	// A touchpoint forwarded from an id merged into this customer arrives
	// with a version above its old row's, which it keeps if higher.
	out.tp.Version = max(tp.Version, uint64(tp.KafkaOffset)+1)
	res.Journeys = append(res.Journeys, e.row(j, customerID, jid, cause))
	if j.status != statusOpen {
		e.closed(j)
	}
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
		if !j.started || j.status != statusOpen || now.Sub(j.endedAt()) <= e.cfg.InactivityTimeout {
			continue
		}
		j.status = statusAbandoned
		rows = append(rows, e.row(j, id, j.hexID(), c.offset))
		e.closed(j)
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
		flags = e.expire(id, c, now, flags)
	}
	slices.SortFunc(flags, func(a, b schemas.FrictionFlag) int { return strings.Compare(a.FlagID, b.FlagID) })
	return flags
}

// track keeps Engine.armed in step with a customer's absence deadlines.
func (e *Engine) track(id string, c *customer) {
	switch pending := c.rules.Pending(); {
	case pending && !c.journey.armed:
		e.armed[id] = c
		c.journey.armed = true
	case !pending && c.journey.armed:
		delete(e.armed, id)
		c.journey.armed = false
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
		if c.journey.started && c.journey.status == statusOpen {
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

// Holds reports what the engine knows of a customer's message whose event
// time is at: known when the customer's current journey began at or before
// at (every touchpoint of theirs applied from then on is in it), and then
// whether the journey holds the message (by a 48-bit hash of its id).
func (e *Engine) Holds(customerID, messageID string, at time.Time) (holds, known bool) {
	c, ok := e.customers[customerID]
	if !ok || !c.journey.started || at.Before(c.journey.startedAt()) {
		return false, false
	}
	return c.journey.contains(messageHash(messageID)), true
}

// Latest is the event time of the customer's latest touchpoint, if the
// engine holds them.
func (e *Engine) Latest(customerID string) (time.Time, bool) {
	c, ok := e.customers[customerID]
	if !ok || !c.journey.started {
		return time.Time{}, false
	}
	return c.journey.endedAt(), true
}

// expire appends to flags the customer's absences whose deadline is before
// now, counting each on its journey while that is open.
func (e *Engine) expire(id string, c *customer, now time.Time, flags []schemas.FrictionFlag) []schemas.FrictionFlag {
	found := e.rules.Expire(&c.rules, now, e.findings[:0])
	for _, f := range found {
		if c.journey.status == statusOpen && c.journey.is(f.JourneyID) {
			c.journey.friction++
		}
		flags = append(flags, e.flag(id, f.JourneyID, f, c.offset))
	}
	clear(found)
	e.findings = found[:0]
	e.track(id, c)
	return flags
}

// Settle is Tick and CloseIdle for one customer: what time passing at now
// produces for them without a touchpoint.
func (e *Engine) Settle(customerID string, now time.Time) ([]schemas.FrictionFlag, []schemas.Journey) {
	c, ok := e.customers[customerID]
	if !ok {
		return nil, nil
	}
	flags := e.expire(customerID, c, now, nil)
	j := &c.journey
	if !j.started || j.status != statusOpen || now.Sub(j.endedAt()) <= e.cfg.InactivityTimeout {
		return flags, nil
	}
	j.status = statusAbandoned
	rows := []schemas.Journey{e.row(j, customerID, j.hexID(), c.offset)}
	e.closed(j)
	return flags, rows
}

// Forget drops the state held for a customer.
func (e *Engine) Forget(customerID string) {
	if c, ok := e.customers[customerID]; ok && c.journey.wide {
		delete(e.wide, &c.journey)
	}
	delete(e.customers, customerID)
	delete(e.armed, customerID)
}

// ForgetWhere drops the state of every customer for whom forgotten is
// true (GDPR erasure) and returns how many there were.
func (e *Engine) ForgetWhere(forgotten func(customerID string) bool) int {
	var ids []string
	for id := range e.customers {
		if forgotten(id) {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		e.Forget(id)
	}
	return len(ids)
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
	e.names = make(map[string]uint16)
	e.nameList = nil
	e.channelSets = make(map[uint64][]string)
	e.wide = make(map[*journey]*wide)
	e.paths = nil
}

// intern returns the index of an event name or channel in e.nameList:
// millions of customers then hold two bytes per touchpoint instead of a
// string. ok is false when the table is full.
func (e *Engine) intern(s string) (i uint16, ok bool) {
	if i, ok := e.names[s]; ok {
		return i, true
	}
	if len(e.nameList) >= maxInterned {
		return 0, false
	}
	s = strings.Clone(s)
	i = uint16(len(e.nameList))
	e.names[s] = i
	e.nameList = append(e.nameList, s)
	return i, true
}

// begin starts the customer's next journey.
func (e *Engine) begin(j *journey, customerID, firstMessageID string, at time.Time) {
	if j.wide {
		delete(e.wide, j)
	}
	j.begin(customerID, firstMessageID, at)
}

// closed lets go of what only rows needed: a closed journey emits no more
// rows, and its steps keep the duplicate check.
func (e *Engine) closed(j *journey) {
	if j.wide {
		delete(e.wide, j)
		j.wide = false
	}
}

// add appends a touchpoint that happened at the (clamped) time at.
func (e *Engine) add(j *journey, h uint64, event, channel string, at time.Time) {
	name, interned := e.intern(event)
	if !j.wide && (!interned || len(j.steps) >= widePath) {
		e.widen(j)
	}
	var place uint64
	if !j.wide && channel != "" {
		var ok bool
		if place, ok = e.channelPlace(j, channel); !ok {
			e.widen(j)
		}
	}
	j.steps = append(grow(j.steps), h&hashMask|place<<nameBits|uint64(name))
	j.endSec, j.endNsec = unixTime(at)
	if !j.wide {
		return
	}
	w := e.wide[j]
	if interned {
		event = e.nameList[name]
	}
	w.path = append(w.path, event)
	j.steps[len(j.steps)-1] &= hashMask
	if channel != "" {
		if i, ok := e.intern(channel); ok {
			channel = e.nameList[i]
		}
	}
	w.addChannel(channel)
}

// channelPlace is the place of channel in journey.channels plus one (a
// step's channel bits), adding it if there is room; ok is false when there
// is none or the intern table is full.
func (e *Engine) channelPlace(j *journey, channel string) (place uint64, ok bool) {
	ch, ok := e.intern(channel)
	if !ok {
		return 0, false
	}
	for k := 0; k < maxChannels; k++ {
		v := j.channels >> (k * nameBits) & nameMask
		if v == 0 {
			j.channels |= (uint64(ch) + 1) << (k * nameBits)
		}
		if v == 0 || v == uint64(ch)+1 {
			return uint64(k) + 1, true
		}
	}
	return 0, false
}

// widen moves a journey's path, channels and channel sequence to strings
// (see wide).
func (e *Engine) widen(j *journey) {
	w := &wide{path: make([]string, len(j.steps), max(2*len(j.steps), 4))}
	w.channels = e.channelList(j.channels)
	for i, s := range j.steps {
		w.path[i] = e.nameList[s&nameMask]
		if n := len(w.sequence); n == 0 || w.sequence[n-1] != e.stepChannel(j, s) {
			w.sequence = append(w.sequence, e.stepChannel(j, s))
		}
		j.steps[i] = s & hashMask
	}
	j.channels = 0
	j.wide = true
	e.wide[j] = w
}

// stepChannel is the channel of a step of a compact journey, "" for none.
func (e *Engine) stepChannel(j *journey, step uint64) string {
	p := slot(step)
	if p == 0 {
		return ""
	}
	return e.nameList[j.channels>>((p-1)*nameBits)&nameMask-1]
}

// channelList is the channels of journey.channels in order.
func (e *Engine) channelList(packed uint64) []string {
	var cs []string
	for ; packed != 0; packed >>= nameBits {
		cs = append(cs, e.nameList[packed&nameMask-1])
	}
	return cs
}

// row is the journey's row; id is its hex, cause the Kafka offset of the
// record that made this change (see Version in the package doc).
func (e *Engine) row(j *journey, customerID, id string, cause int64) schemas.Journey {
	n := len(j.steps)
	var path, channels, sequence []string
	if j.wide {
		w := e.wide[j]
		path = w.path[:n:n]
		channels = w.channels[:len(w.channels):len(w.channels)]
		sequence = w.sequence[:len(w.sequence):len(w.sequence)]
	} else {
		path = e.rowPath(n)
		switches := 0
		for i, s := range j.steps {
			path[i] = e.nameList[s&nameMask]
			if i == 0 || slot(s) != slot(j.steps[i-1]) {
				switches++
			}
		}
		channels = e.channelSet(j.channels)
		sequence = e.rowPath(switches)
		k := 0
		for i, s := range j.steps {
			if i == 0 || slot(s) != slot(j.steps[i-1]) {
				sequence[k] = e.stepChannel(j, s)
				k++
			}
		}
	}
	return schemas.Journey{
		JourneyID:       id,
		CustomerID:      customerID,
		StartedAt:       j.startedAt(),
		EndedAt:         j.endedAt(),
		Status:          statusNames[j.status],
		Touchpoints:     uint32(n),
		Channels:        channels,
		Path:            path,
		ChannelSequence: sequence,
		FrictionCount:   j.friction,
		Revenue:         j.revenue,
		Version:         uint64(cause+1)*4 + uint64(j.status),
	}
}

// pathChunk is how many path elements rowPath allocates at once.
const pathChunk = 1024

// rowPath returns an array of n elements for a row's Path. Rows' arrays are
// cut from shared chunks, one allocation for many rows: a chunk lives as
// long as the rows cut from it, that is about a batch in the processor.
func (e *Engine) rowPath(n int) []string {
	if n > len(e.paths) {
		if n > pathChunk/8 {
			return make([]string, n)
		}
		e.paths = make([]string, pathChunk)
	}
	p := e.paths[:n:n]
	e.paths = e.paths[n:]
	return p
}

// channelSet is the Channels of a row for journey.channels, shared by all
// rows with the same channels (their capacity is capped).
func (e *Engine) channelSet(packed uint64) []string {
	if packed == 0 {
		return nil
	}
	if cs, ok := e.channelSets[packed]; ok {
		return cs
	}
	cs := e.channelList(packed)
	cs = cs[:len(cs):len(cs)]
	if len(e.channelSets) < maxInterned {
		e.channelSets[packed] = cs
	}
	return cs
}
