package rules

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/journeys/journeys/schemas"
)

// Shape is the kind of pattern a rule detects.
type Shape string

// The shapes a rule can take; see the package doc for what each means.
const (
	CountBefore  Shape = "count_before"
	RepeatWithin Shape = "repeat_within"
	Sequence     Shape = "sequence"
	Threshold    Shape = "threshold"
	Absence      Shape = "absence"
)

var shapes = []Shape{CountBefore, RepeatWithin, Sequence, Threshold, Absence}

// KnownEvents are the touchpoint names a rule may use without saying
// custom_events: true. A typo in an event name would otherwise make a rule
// that silently never fires.
var KnownEvents = []string{
	"page", "call", "purchase", "email", "chat", "store_visit", "ticket",
	"survey_response", "review", "referral", "idea_submitted",
	"idea_status_changed", "community_answer", "promise_made", "promise_kept", "trial_started",
	"trial_ending", "subscription_started", "subscription_cancelled",
	"checkout_started", "identify",
}

// maxMarks bounds what one rule remembers of one customer: the events it
// counts, the first halves of sequences, the promises it waits on. Beyond
// it the oldest is dropped, so a customer who sends thousands of events
// cannot grow their state without limit; counts saturate at this value.
const maxMarks = 64

// Rule is one compiled friction rule.
type Rule struct {
	ID          string
	Description string
	Severity    string
	Shape       Shape

	// escalateAt raises the severity to escalateTo: a count for
	// count_before and repeat_within, a property value for threshold.
	escalateAt float64
	escalateTo string
	details    []string // properties of the completing touchpoint copied to the flag

	a, b, unless *filter // count/match/first; anchor/then; sequence's unless
	min          int
	window       time.Duration // within
	before       time.Duration // absence looking back
	dueProperty  string
	maxDue       time.Duration // latest deadline after first that due_property may set
	same         string
	property     string // threshold
	cmp          numCmp // threshold
	countKey     string // count_before's key in the details
	index        int    // position in the set
}

// severity is the rule's severity for a count or value v.
func (r *Rule) severity(v float64) string {
	if r.escalateTo == "" {
		return r.Severity
	}
	reached := v >= r.escalateAt
	if r.Shape == Threshold && (r.cmp.op == opLt || r.cmp.op == opLte) {
		reached = v <= r.escalateAt
	}
	if reached {
		return r.escalateTo
	}
	return r.Severity
}

// stateful reports whether the rule remembers anything per customer.
func (r *Rule) stateful() bool { return r.Shape != Threshold }

// role is one filter of a rule that an event can match.
type role struct {
	rule *Rule
	kind roleKind
}

type roleKind uint8

// Roles in the order they are evaluated for one event of one rule: an event
// that completes a pattern is looked at before it starts a new one, so that
// e.g. a touchpoint matching both halves of a sequence does not pair with
// itself.
const (
	roleUnless roleKind = iota // sequence: clears the pending first halves
	roleCount                  // count_before: counted before the anchor
	roleB                      // anchor / then
	roleA                      // match / first
)

// Set is a validated, compiled list of rules. It is immutable and may be
// shared by engines in several goroutines; the per-customer state lives in
// State.
type Set struct {
	rules   []*Rule
	byEvent map[string][]role // roles whose filter names the event, plus anyEvent, in evaluation order
	any     []role            // roles whose filter names no event
}

// Rules returns the rules in file order.
func (s *Set) Rules() []*Rule { return slices.Clone(s.rules) }

// Rule returns the rule with the given id, or nil.
func (s *Set) Rule(id string) *Rule {
	for _, r := range s.rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// DefaultMaxDue is an absence rule's max_due when it reads a due_property
// and does not say: a deadline a sender sets further out than this after the
// first event is moved to this.
const DefaultMaxDue = 30 * 24 * time.Hour

// MaxWindow is the longest time any rule looks back; state older than it
// is useless.
func (s *Set) MaxWindow() time.Duration {
	var w time.Duration
	for _, r := range s.rules {
		w = max(w, r.window, r.before)
	}
	return w
}

// Horizon is the longest time a touchpoint can matter to a rule: the
// longest window, or the furthest deadline an absence can arm. Folding a
// customer's touchpoints from Horizon before a time t on gives the same
// State at t, and the same findings from t on, as folding all of them.
func (s *Set) Horizon() time.Duration {
	h := s.MaxWindow()
	for _, r := range s.rules {
		h = max(h, r.maxDue)
	}
	return h
}

func newSet(rules []*Rule) *Set {
	s := &Set{rules: rules, byEvent: map[string][]role{}}
	var all []role
	for i, r := range rules {
		r.index = i
		for _, ro := range []struct {
			f    *filter
			kind roleKind
		}{{r.unless, roleUnless}, {r.countFilter(), roleCount}, {r.b, roleB}, {r.aFilter(), roleA}} {
			if ro.f != nil {
				all = append(all, role{r, ro.kind})
			}
		}
	}
	for _, ro := range all {
		f := ro.filter()
		if len(f.events) == 0 {
			s.any = append(s.any, ro)
			continue
		}
		for _, ev := range f.events {
			if n := len(s.byEvent[ev]); n == 0 || s.byEvent[ev][n-1] != ro {
				s.byEvent[ev] = append(s.byEvent[ev], ro)
			}
		}
	}
	// Each event's list holds the any-event roles too, in rule order, so
	// that evaluation needs a single lookup.
	for ev, roles := range s.byEvent {
		merged := append(slices.Clone(roles), s.any...)
		slices.SortStableFunc(merged, func(x, y role) int {
			if x.rule.index != y.rule.index {
				return x.rule.index - y.rule.index
			}
			return int(x.kind) - int(y.kind)
		})
		s.byEvent[ev] = merged
	}
	return s
}

func (r *Rule) countFilter() *filter {
	if r.Shape == CountBefore {
		return r.a
	}
	return nil
}

func (r *Rule) aFilter() *filter {
	if r.Shape == CountBefore {
		return nil
	}
	return r.a
}

func (ro role) filter() *filter {
	switch ro.kind {
	case roleUnless:
		return ro.rule.unless
	case roleB:
		return ro.rule.b
	}
	return ro.rule.a
}

var defaultSet = sync.OnceValue(func() *Set {
	s, err := Parse(schemas.DefaultFrictionRules)
	if err != nil {
		panic("default friction rules: " + err.Error())
	}
	return s
})

// Default returns the rule set of schemas/friction-rules.yaml. It is parsed
// once and shared.
func Default() *Set { return defaultSet() }

// filter selects touchpoints by event name, channel and properties. Empty
// lists match anything.
type filter struct {
	events   []string
	channels []string
	props    []propCond
}

func (f *filter) match(name, channel string, p *props) bool {
	if len(f.events) > 0 && !slices.Contains(f.events, name) {
		return false
	}
	if len(f.channels) > 0 && !slices.Contains(f.channels, channel) {
		return false
	}
	for i := range f.props {
		if !f.props[i].match(p) {
			return false
		}
	}
	return true
}

// propCond is the condition on one top-level property; all its parts must
// hold.
type propCond struct {
	key      string
	equals   []value // equals or in: one of them
	notIn    []value // none of them (a missing property passes)
	prefixes []string
	nums     []numCmp
}

type value struct {
	text  string
	num   float64
	isNum bool
}

func (v value) matches(raw string) bool {
	if v.isNum {
		n, ok := number(raw)
		return ok && n == v.num
	}
	t, ok := text(raw)
	return ok && t == v.text
}

func (c *propCond) match(p *props) bool {
	raw := p.get(c.key)
	if len(c.notIn) > 0 {
		for _, v := range c.notIn {
			if raw != "" && v.matches(raw) {
				return false
			}
		}
		if len(c.equals) == 0 && len(c.prefixes) == 0 && len(c.nums) == 0 {
			return true
		}
	}
	if raw == "" {
		return false
	}
	if len(c.equals) > 0 && !slices.ContainsFunc(c.equals, func(v value) bool { return v.matches(raw) }) {
		return false
	}
	if len(c.prefixes) > 0 {
		t, ok := text(raw)
		if !ok || !slices.ContainsFunc(c.prefixes, func(pre string) bool { return strings.HasPrefix(t, pre) }) {
			return false
		}
	}
	if len(c.nums) > 0 {
		n, ok := number(raw)
		if !ok {
			return false
		}
		for _, cmp := range c.nums {
			if !cmp.holds(n) {
				return false
			}
		}
	}
	return true
}

type cmpOp uint8

const (
	opGt cmpOp = iota + 1
	opGte
	opLt
	opLte
)

var opNames = map[cmpOp]string{opGt: "gt", opGte: "gte", opLt: "lt", opLte: "lte"}

type numCmp struct {
	op  cmpOp
	val float64
}

func (c numCmp) holds(n float64) bool {
	switch c.op {
	case opGt:
		return n > c.val
	case opGte:
		return n >= c.val
	case opLt:
		return n < c.val
	case opLte:
		return n <= c.val
	}
	return false
}
