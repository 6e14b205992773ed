package rules

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event is what the rules see of one touchpoint.
type Event struct {
	MessageID string
	Name      string // schemas.Touchpoint.Event
	Channel   string
	// Properties is the touchpoint's JSON text; only the top-level keys the
	// rules name are read.
	Properties string
	// At is the event time. A customer's events must come with
	// non-decreasing At (the journey engine clamps late ones).
	At time.Time
	// JourneyID is the journey the touchpoint joined; absence rules keep
	// it, so that a promise broken later is flagged on the promise's
	// journey.
	JourneyID string
}

// Finding is a rule's match: the journey engine turns it into a
// schemas.FrictionFlag.
type Finding struct {
	Rule *Rule
	// Key is the message id of the touchpoint that completed the pattern
	// (for an absence: the first touchpoint, whose follow-up never came).
	// The flag id derives from Rule.ID and Key, so a replay finds the same
	// flag.
	Key string
	// JourneyID is set for absences (the first touchpoint's journey); ""
	// means the journey of the touchpoint being applied.
	JourneyID string
	At        time.Time // event time the pattern completed
	Severity  string
	Evidence  []string // message ids, in event-time order
	Details   string   // JSON object
}

// State is what the rules remember of one customer. The zero value is an
// empty state. It holds, per rule that needs it, a list bounded by maxMarks
// and pruned to the rule's window, so it stays small.
type State struct {
	entries []entry
	due     int64 // earliest absence deadline in Unix nanoseconds; 0 if none
}

type entry struct {
	rule  int
	marks []mark
}

// mark is one remembered touchpoint. It must not keep the strings of the
// touchpoint it came from alive (a message id, or the properties a key was
// read from, hold a decoded batch's bytes), so it copies what it keeps.
type mark struct {
	at      int64 // event time, Unix nanoseconds
	due     int64 // absence: the deadline
	id      msgID
	key     string // the same-property value
	journey string // absence: the journey of the first touchpoint
}

// msgID is a message id as a mark holds it: a canonical UUID (the usual
// form, which ingest also gives an event without one) as its 16 bytes, any
// other id as a string.
type msgID struct {
	s    string // the id, unless uuid holds it
	uuid [16]byte
}

func newMsgID(id string) msgID {
	if u, ok := parseUUID(id); ok && u != [16]byte{} {
		return msgID{uuid: u}
	}
	return msgID{s: id}
}

func (m msgID) String() string {
	if m.s != "" || m.uuid == [16]byte{} {
		return m.s
	}
	const hexDigits = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i, c := range m.uuid {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[c>>4], hexDigits[c&0xf]
		j += 2
	}
	return string(b[:])
}

// parseUUID reads a UUID in its canonical text form (lower-case hex,
// 8-4-4-4-12), the only form that String gives back unchanged.
func parseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return u, false
			}
			i++
			continue
		}
		hi, ok1 := hexValue(s[i])
		lo, ok2 := hexValue(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, true
}

func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func (st *State) marks(rule int) []mark {
	for i := range st.entries {
		if st.entries[i].rule == rule {
			return st.entries[i].marks
		}
	}
	return nil
}

// setMarks stores a rule's marks, dropping the entry when they are empty so
// that a quiet customer holds nothing.
func (st *State) setMarks(rule int, marks []mark) {
	for i := range st.entries {
		if st.entries[i].rule == rule {
			if len(marks) == 0 {
				st.entries = slices.Delete(st.entries, i, i+1)
				if len(st.entries) == 0 {
					st.entries = nil
				}
				return
			}
			st.entries[i].marks = marks
			return
		}
	}
	if len(marks) > 0 {
		st.entries = append(st.entries, entry{rule: rule, marks: marks})
	}
}

// Pending reports whether an absence rule waits on a deadline.
func (st *State) Pending() bool { return st.due != 0 }

// NextDue is the earliest absence deadline, if any.
func (st *State) NextDue() (time.Time, bool) {
	if st.due == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, st.due).UTC(), true
}

// Idle reports whether st holds nothing that could still make a rule fire
// at or after now: no absence waits, and every remembered touchpoint is
// older than its rule's window. An idle customer can be forgotten.
func (s *Set) Idle(st *State, now time.Time) bool {
	if st.due != 0 {
		return false
	}
	t := now.UnixNano()
	for _, e := range st.entries {
		r := s.rules[e.rule]
		w := max(r.window, r.before)
		if len(e.marks) > 0 && e.marks[len(e.marks)-1].at >= t-int64(w) {
			return false
		}
	}
	return true
}

// Apply evaluates one touchpoint of a customer against every rule and
// appends what it completes to out. Absences due before ev.At are not
// reported here: call Expire(st, ev.At) first, so the engine can count them
// on the journey they belong to before the touchpoint moves it on.
func (s *Set) Apply(st *State, ev Event, out []Finding) []Finding {
	roles, ok := s.byEvent[ev.Name]
	if !ok {
		roles = s.any
	}
	if len(roles) == 0 {
		return out
	}
	p := props{json: ev.Properties}
	at := ev.At.UnixNano()
	for _, ro := range roles {
		if !ro.filter().match(ev.Name, ev.Channel, &p) {
			continue
		}
		r := ro.rule
		switch r.Shape {
		case CountBefore:
			out = s.countBefore(st, r, ro.kind, ev, at, &p, out)
		case RepeatWithin:
			out = s.repeatWithin(st, r, ev, at, &p, out)
		case Sequence:
			out = s.sequence(st, r, ro.kind, ev, at, &p, out)
		case Threshold:
			out = s.threshold(r, ev, &p, out)
		case Absence:
			if r.before != 0 {
				out = s.absenceBefore(st, r, ro.kind, ev, at, &p, out)
			} else {
				s.absenceAfter(st, r, ro.kind, ev, at, &p)
			}
		}
	}
	return out
}

// prune drops the marks before cutoff; marks are in time order.
func prune(marks []mark, cutoff int64) []mark {
	i := 0
	for i < len(marks) && marks[i].at < cutoff {
		i++
	}
	if i == 0 {
		return marks
	}
	n := copy(marks, marks[i:])
	clear(marks[n:]) // release the strings
	return marks[:n]
}

// push appends m, dropping the oldest mark beyond maxMarks.
func push(marks []mark, m mark) []mark {
	if len(marks) >= maxMarks {
		n := copy(marks, marks[1:])
		marks = marks[:n]
	}
	return append(marks, m)
}

func ids(marks []mark, extra ...string) []string {
	out := make([]string, 0, len(marks)+len(extra))
	for _, m := range marks {
		out = append(out, m.id.String())
	}
	return append(out, extra...)
}

func (s *Set) countBefore(st *State, r *Rule, kind roleKind, ev Event, at int64, p *props, out []Finding) []Finding {
	marks := prune(st.marks(r.index), at-int64(r.window))
	if kind == roleCount {
		st.setMarks(r.index, push(marks, mark{at: at, id: newMsgID(ev.MessageID)}))
		return out
	}
	// The anchor: only what came since the previous anchor counts.
	if n := len(marks); n >= r.min {
		d := newDetails()
		d.num(r.countKey, float64(n))
		d.num("window_hours", r.window.Hours())
		out = append(out, r.finding(ev, ids(marks), float64(n), d, p))
	}
	st.setMarks(r.index, nil)
	return out
}

func (s *Set) repeatWithin(st *State, r *Rule, ev Event, at int64, p *props, out []Finding) []Finding {
	var key string
	if r.same != "" {
		var ok bool
		if key, ok = text(p.get(r.same)); !ok || key == "" {
			return out // without the property it cannot repeat anything
		}
	}
	marks := push(prune(st.marks(r.index), at-int64(r.window)), mark{at: at, id: newMsgID(ev.MessageID), key: strings.Clone(key)})
	st.setMarks(r.index, marks)
	n := 0
	for _, m := range marks {
		if m.key == key {
			n++
		}
	}
	if n < r.min {
		return out
	}
	evidence := make([]string, 0, n)
	for _, m := range marks {
		if m.key == key {
			evidence = append(evidence, m.id.String())
		}
	}
	d := newDetails()
	d.num("count", float64(n))
	d.num("window_hours", r.window.Hours())
	if r.same != "" {
		d.str(r.same, key)
	}
	return append(out, r.finding(ev, evidence, float64(n), d, p))
}

func (s *Set) sequence(st *State, r *Rule, kind roleKind, ev Event, at int64, p *props, out []Finding) []Finding {
	marks := prune(st.marks(r.index), at-int64(r.window))
	switch kind {
	case roleUnless:
		clear(marks)
		marks = marks[:0]
	case roleB:
		if len(marks) > 0 {
			d := newDetails()
			d.num("window_hours", r.window.Hours())
			d.num("gap_seconds", float64(at-marks[len(marks)-1].at)/1e9)
			out = append(out, r.finding(ev, ids(marks, ev.MessageID), 0, d, p))
			clear(marks)
			marks = marks[:0]
		}
	case roleA:
		marks = push(marks, mark{at: at, id: newMsgID(ev.MessageID)})
	}
	st.setMarks(r.index, marks)
	return out
}

func (s *Set) threshold(r *Rule, ev Event, p *props, out []Finding) []Finding {
	v, ok := number(p.get(r.property))
	if !ok || !r.cmp.holds(v) {
		return out
	}
	d := newDetails()
	d.str("property", r.property)
	d.num("value", v)
	return append(out, r.finding(ev, []string{ev.MessageID}, v, d, p))
}

// absenceBefore remembers the latest follow-up (then) and, at each first
// touchpoint, flags it unless a follow-up came within before ahead of it.
func (s *Set) absenceBefore(st *State, r *Rule, kind roleKind, ev Event, at int64, p *props, out []Finding) []Finding {
	marks := st.marks(r.index)
	if kind == roleB {
		if len(marks) == 0 {
			marks = make([]mark, 1)
		}
		marks[0] = mark{at: at, id: newMsgID(ev.MessageID)}
		st.setMarks(r.index, marks)
		return out
	}
	if len(marks) > 0 && marks[0].at >= at-int64(r.before) {
		return out
	}
	st.setMarks(r.index, nil)
	d := newDetails()
	d.num("window_hours", r.before.Hours())
	return append(out, r.finding(ev, []string{ev.MessageID}, 0, d, p))
}

// absenceAfter arms a deadline at a first touchpoint and disarms it at a
// matching follow-up. Expire reports the deadlines that pass.
func (s *Set) absenceAfter(st *State, r *Rule, kind roleKind, ev Event, at int64, p *props) {
	var key string
	if r.same != "" {
		var ok bool
		if key, ok = text(p.get(r.same)); !ok || key == "" {
			return // a follow-up or promise without the key matches nothing
		}
	}
	marks := st.marks(r.index)
	if kind == roleB {
		marks = slices.DeleteFunc(marks, func(m mark) bool { return m.key == key })
		st.setMarks(r.index, marks)
		st.due = s.nextDue(st)
		return
	}
	var due int64
	if r.dueProperty != "" {
		if t, ok := timeValue(p.get(r.dueProperty)); ok {
			due = t.UnixNano()
		}
	}
	if due != 0 && due > at+int64(r.maxDue) {
		due = at + int64(r.maxDue)
	}
	if due == 0 {
		if r.window == 0 {
			return // no due date and no default window: nothing to wait for
		}
		due = at + int64(r.window)
	}
	st.setMarks(r.index, push(marks, mark{at: at, due: due, id: newMsgID(ev.MessageID), key: strings.Clone(key), journey: ev.JourneyID}))
	if st.due == 0 || due < st.due {
		st.due = due
	}
}

func (s *Set) nextDue(st *State) int64 {
	var due int64
	for _, e := range st.entries {
		r := s.rules[e.rule]
		if r.Shape != Absence || r.before != 0 {
			continue
		}
		for _, m := range e.marks {
			if due == 0 || m.due < due {
				due = m.due
			}
		}
	}
	return due
}

// Expire reports the absences whose deadline is before now (event time of
// the customer's next touchpoint, or a wall-clock or watermark time) and
// forgets them. A follow-up exactly at the deadline is in time. Findings
// come in deadline order.
func (s *Set) Expire(st *State, now time.Time, out []Finding) []Finding {
	t := now.UnixNano()
	if st.due == 0 || st.due >= t {
		return out
	}
	start := len(out)
	for i := 0; i < len(st.entries); i++ {
		e := &st.entries[i]
		r := s.rules[e.rule]
		if r.Shape != Absence || r.before != 0 {
			continue
		}
		kept := e.marks[:0]
		for _, m := range e.marks {
			if m.due >= t {
				kept = append(kept, m)
				continue
			}
			id := m.id.String()
			d := newDetails()
			due := time.Unix(0, m.due).UTC()
			d.str("due", due.Format(time.RFC3339Nano))
			if r.same != "" {
				d.str(r.same, m.key)
			}
			out = append(out, Finding{
				Rule: r, Key: id, JourneyID: m.journey, At: due, Severity: r.Severity,
				Evidence: []string{id}, Details: d.close(),
			})
		}
		clear(e.marks[len(kept):])
		if len(kept) == 0 {
			st.setMarks(e.rule, nil)
			i--
		} else {
			e.marks = kept
		}
	}
	st.due = s.nextDue(st)
	slices.SortStableFunc(out[start:], func(a, b Finding) int { return a.At.Compare(b.At) })
	return out
}

func (r *Rule) finding(ev Event, evidence []string, v float64, d *details, p *props) Finding {
	for _, k := range r.details {
		if t, ok := text(p.get(k)); ok && t != "" {
			d.str(k, t)
		}
	}
	return Finding{
		Rule: r, Key: ev.MessageID, At: ev.At, Severity: r.severity(v),
		Evidence: evidence, Details: d.close(),
	}
}

// details builds a flag's JSON object in a fixed key order.
type details struct{ b strings.Builder }

func newDetails() *details {
	d := &details{}
	d.b.WriteByte('{')
	return d
}

func (d *details) key(k string) {
	if d.b.Len() > 1 {
		d.b.WriteByte(',')
	}
	d.b.WriteString(jsonQuote(k))
	d.b.WriteByte(':')
}

func (d *details) num(k string, v float64) {
	d.key(k)
	d.b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
}

func (d *details) str(k, v string) {
	d.key(k)
	d.b.WriteString(jsonQuote(v))
}

func (d *details) close() string {
	d.b.WriteByte('}')
	return d.b.String()
}

// jsonQuote quotes s as a JSON string (strconv.Quote's escapes are Go's,
// which differ for some control and non-ASCII characters).
func jsonQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteRune(c)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&0xf])
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
