package rules

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// t0 starts every hand-built timeline; times are in hours after it.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func hour(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }

// ev is a touchpoint of one customer: "id name@hours {props}". The channel
// is the name's usual one; the journey is "j".
func ev(id, name string, h float64, props string) Event {
	if props == "" {
		props = "{}"
	}
	return Event{MessageID: id, Name: name, Properties: props, At: hour(h), JourneyID: "j"}
}

// tick is an Expire at a time, written in a timeline.
func tick(h float64) Event { return Event{Name: "\x00tick", At: hour(h)} }

// found is what a test expects of a finding.
type found struct {
	key      string
	severity string
	evidence string // comma-separated
}

func (f found) String() string { return fmt.Sprintf("%s %s [%s]", f.key, f.severity, f.evidence) }

// play runs a timeline through a set the way the journey engine does:
// Expire at each touchpoint's time, then Apply.
func play(s *Set, events []Event) ([]found, []Finding, *State) {
	st := &State{}
	var all []Finding
	for _, e := range events {
		all = s.Expire(st, e.At, all)
		if e.Name != "\x00tick" {
			all = s.Apply(st, e, all)
		}
	}
	out := make([]found, len(all))
	for i, f := range all {
		out[i] = found{f.Key, f.Severity, strings.Join(f.Evidence, ",")}
	}
	return out, all, st
}

func mustParse(t *testing.T, text string) *Set {
	t.Helper()
	s, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("parse:\n%s\n%v", text, err)
	}
	return s
}

// one is a file with a single rule of the given shape body.
func one(severity, extra, shape string) string {
	return "rules:\n  - id: r\n    description: d\n    severity: " + severity + "\n" + extra + shape
}

type shapeCase struct {
	name   string
	events []Event
	want   []found
}

func runShapeCases(t *testing.T, s *Set, cases []shapeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, _ := play(s, tc.events)
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestCountBefore(t *testing.T) {
	s := mustParse(t, one("warning", "    escalate: {at: 3, severity: critical}\n", `    count_before:
      count: {event: call}
      anchor: {event: purchase}
      min: 2
      within: 10h
`))
	runShapeCases(t, s, []shapeCase{
		{"two calls before the anchor fire", []Event{ev("c1", "call", 0, ""), ev("c2", "call", 1, ""), ev("p", "purchase", 2, "")},
			[]found{{"p", "warning", "c1,c2"}}},
		{"one call does not fire", []Event{ev("c1", "call", 0, ""), ev("p", "purchase", 2, "")}, nil},
		{"a call exactly the window before counts", []Event{ev("c1", "call", 0, ""), ev("c2", "call", 5, ""), ev("p", "purchase", 10, "")},
			[]found{{"p", "warning", "c1,c2"}}},
		{"a call just outside the window does not count", []Event{ev("c1", "call", 0, ""), ev("c2", "call", 5, ""), ev("p", "purchase", 10.01, "")}, nil},
		{"calls before the previous anchor do not count", []Event{ev("c1", "call", 0, ""), ev("p1", "purchase", 1, ""), ev("c2", "call", 2, ""), ev("p2", "purchase", 3, "")}, nil},
		{"the escalation count makes it critical", []Event{ev("c1", "call", 0, ""), ev("c2", "call", 1, ""), ev("c3", "call", 1, ""), ev("p", "purchase", 2, "")},
			[]found{{"p", "critical", "c1,c2,c3"}}},
		{"other events are not counted", []Event{ev("c1", "call", 0, ""), ev("x", "chat", 1, ""), ev("p", "purchase", 2, "")}, nil},
	})
}

func TestRepeatWithin(t *testing.T) {
	s := mustParse(t, one("warning", "    escalate: {at: 3, severity: critical}\n", `    repeat_within:
      match: {event: [call, chat]}
      same: topic
      min: 2
      within: 7d
`))
	b := `{"topic":"billing"}`
	runShapeCases(t, s, []shapeCase{
		{"second contact on the topic within the window fires", []Event{ev("c1", "call", 0, b), ev("c2", "chat", 24, b)},
			[]found{{"c2", "warning", "c1,c2"}}},
		{"contact exactly 7 days later still repeats", []Event{ev("c1", "call", 0, b), ev("c2", "call", 168, b)},
			[]found{{"c2", "warning", "c1,c2"}}},
		{"contact just over 7 days later does not repeat", []Event{ev("c1", "call", 0, b), ev("c2", "call", 168.01, b)}, nil},
		{"another topic does not repeat", []Event{ev("c1", "call", 0, b), ev("c2", "call", 1, `{"topic":"delivery"}`)}, nil},
		{"contacts without a topic take no part", []Event{ev("c1", "call", 0, ""), ev("c2", "call", 1, "")}, nil},
		{"every further repeat fires, escalating", []Event{ev("c1", "call", 0, b), ev("c2", "call", 1, b), ev("c3", "call", 2, b)},
			[]found{{"c2", "warning", "c1,c2"}, {"c3", "critical", "c1,c2,c3"}}},
	})
	t.Run("without same any matching contacts repeat", func(t *testing.T) {
		s := mustParse(t, one("info", "", "    repeat_within:\n      match: {event: call}\n      min: 3\n      within: 1h\n"))
		got, _, _ := play(s, []Event{ev("a", "call", 0, ""), ev("b", "call", 0.5, `{"topic":"x"}`), ev("c", "call", 1, "")})
		if want := []found{{"c", "info", "a,b,c"}}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestSequence(t *testing.T) {
	s := mustParse(t, one("info", "", `    sequence:
      first: {event: page, properties: {path: {prefix: [/help, /contact]}}}
      then: {event: call}
      unless: {event: purchase}
      within: 2h
`))
	help := `{"path":"/help/delivery"}`
	runShapeCases(t, s, []shapeCase{
		{"help page then call within 2 hours fires", []Event{ev("p1", "page", 0, help), ev("c1", "call", 1, "")},
			[]found{{"c1", "info", "p1,c1"}}},
		{"call exactly 2 hours later fires", []Event{ev("p1", "page", 0, help), ev("c1", "call", 2, "")},
			[]found{{"c1", "info", "p1,c1"}}},
		{"call after more than 2 hours does not", []Event{ev("p1", "page", 0, help), ev("c1", "call", 2.01, "")}, nil},
		{"other pages do not start the sequence", []Event{ev("p1", "page", 0, `{"path":"/products"}`), ev("c1", "call", 1, "")}, nil},
		{"call before the page does not fire", []Event{ev("c1", "call", 0, ""), ev("p1", "page", 1, help)}, nil},
		{"all help pages in the window are evidence, once", []Event{
			ev("p1", "page", 0, help), ev("p2", "page", 0.1, `{"path":"/contact"}`), ev("c1", "call", 1, ""), ev("c2", "call", 1.5, "")},
			[]found{{"c1", "info", "p1,p2,c1"}}},
		{"a purchase in between breaks the sequence", []Event{ev("p1", "page", 0, help), ev("b", "purchase", 0.5, ""), ev("c1", "call", 1, "")}, nil},
	})
}

func TestThreshold(t *testing.T) {
	s := mustParse(t, one("warning", "    escalate: {at: 900, severity: critical}\n", `    threshold:
      match: {event: call, channel: phone}
      property: wait_seconds
      gte: 300
`))
	call := func(id, props string) Event { e := ev(id, "call", 0, props); e.Channel = "phone"; return e }
	runShapeCases(t, s, []shapeCase{
		{"wait of exactly 300 seconds fires", []Event{call("c1", `{"wait_seconds":300}`)}, []found{{"c1", "warning", "c1"}}},
		{"wait of 299 seconds does not", []Event{call("c1", `{"wait_seconds":299}`)}, nil},
		{"numeric string counts", []Event{call("c1", `{"wait_seconds":"301.5"}`)}, []found{{"c1", "warning", "c1"}}},
		{"escalates at 900", []Event{call("c1", `{"wait_seconds":900}`)}, []found{{"c1", "critical", "c1"}}},
		{"missing property does not fire", []Event{call("c1", `{}`)}, nil},
		{"other channel does not fire", []Event{ev("c1", "call", 0, `{"wait_seconds":1000}`)}, nil},
	})
	t.Run("lte fires at and below, escalating downwards", func(t *testing.T) {
		s := mustParse(t, one("warning", "    escalate: {at: 3, severity: critical}\n", `    threshold:
      match: {event: survey_response, properties: {survey: {equals: nps}}}
      property: score
      lte: 6
`))
		got, all, _ := play(s, []Event{
			ev("a", "survey_response", 0, `{"survey":"nps","score":6}`),
			ev("b", "survey_response", 1, `{"survey":"nps","score":7}`),
			ev("c", "survey_response", 2, `{"survey":"csat","score":1}`),
			ev("d", "survey_response", 3, `{"survey":"nps","score":2}`),
		})
		if want := []found{{"a", "warning", "a"}, {"d", "critical", "d"}}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		if all[0].Details != `{"property":"score","value":6}` {
			t.Errorf("details %s", all[0].Details)
		}
	})
}

func TestAbsenceAfter(t *testing.T) {
	s := mustParse(t, one("critical", "", `    absence:
      first: {event: promise_made}
      then: {event: promise_kept}
      same: promise_id
      due_property: due_at
      within: 24h
`))
	due := func(id string, h float64) string {
		return fmt.Sprintf(`{"promise_id":%q,"due_at":%q}`, id, hour(h).Format(time.RFC3339))
	}
	kept := func(id string) string { return fmt.Sprintf(`{"promise_id":%q}`, id) }
	runShapeCases(t, s, []shapeCase{
		{"kept before the due time does not fire", []Event{ev("m", "promise_made", 0, due("p1", 48)), ev("k", "promise_kept", 47, kept("p1")), tick(100)}, nil},
		{"kept exactly at the due time is in time", []Event{ev("m", "promise_made", 0, due("p1", 48)), ev("k", "promise_kept", 48, kept("p1")), tick(100)}, nil},
		{"a later touchpoint past the due time fires it", []Event{ev("m", "promise_made", 0, due("p1", 48)), ev("x", "page", 49, "")},
			[]found{{"m", "critical", "m"}}},
		{"kept after the due time is too late", []Event{ev("m", "promise_made", 0, due("p1", 48)), ev("k", "promise_kept", 48.5, kept("p1"))},
			[]found{{"m", "critical", "m"}}},
		{"the clock past the due time fires it", []Event{ev("m", "promise_made", 0, due("p1", 48)), tick(48), tick(48.01)},
			[]found{{"m", "critical", "m"}}},
		{"keeping another promise does not count", []Event{ev("m", "promise_made", 0, due("p1", 48)), ev("k", "promise_kept", 1, kept("p2")), tick(49)},
			[]found{{"m", "critical", "m"}}},
		{"without due_at the window applies", []Event{ev("m", "promise_made", 0, kept("p1")), tick(24), tick(24.5)},
			[]found{{"m", "critical", "m"}}},
		{"a promise without an id is not tracked", []Event{ev("m", "promise_made", 0, `{"due_at":"2026-03-02T10:00:00Z"}`), tick(100)}, nil},
		{"fires once", []Event{ev("m", "promise_made", 0, due("p1", 1)), tick(2), tick(3), ev("x", "page", 4, "")},
			[]found{{"m", "critical", "m"}}},
		{"two promises fire in due order", []Event{ev("m1", "promise_made", 0, due("p1", 10)), ev("m2", "promise_made", 1, due("p2", 5)), tick(20)},
			[]found{{"m2", "critical", "m2"}, {"m1", "critical", "m1"}}},
	})
	t.Run("finding carries the first touchpoint's journey and the due time", func(t *testing.T) {
		_, all, st := play(s, []Event{ev("m", "promise_made", 0, due("p1", 48)), tick(49)})
		if len(all) != 1 || all[0].JourneyID != "j" || !all[0].At.Equal(hour(48)) ||
			all[0].Details != `{"due":"2026-03-04T09:00:00Z","promise_id":"p1"}` || st.Pending() {
			t.Errorf("finding %+v, pending %v", all, st.Pending())
		}
	})
	t.Run("a due time beyond max_due is moved to it", func(t *testing.T) {
		capped := mustParse(t, one("critical", "", `    absence:
      first: {event: promise_made}
      then: {event: promise_kept}
      same: promise_id
      due_property: due_at
      max_due: 72h
`))
		got, all, _ := play(capped, []Event{ev("m", "promise_made", 0, due("p1", 1000)), tick(71.9), tick(72.1)})
		if want := []found{{"m", "critical", "m"}}; !slices.Equal(got, want) || !all[0].At.Equal(hour(72)) {
			t.Errorf("got %v at %v, want %v at %v", got, all[0].At, want, hour(72))
		}
		if h := capped.Horizon(); h != 72*time.Hour {
			t.Errorf("horizon %v, want 72h", h)
		}
	})
	t.Run("unix seconds are a due time", func(t *testing.T) {
		got, _, _ := play(s, []Event{ev("m", "promise_made", 0, fmt.Sprintf(`{"promise_id":"p","due_at":%d}`, hour(2).Unix())), tick(1.9), tick(2.1)})
		if want := []found{{"m", "critical", "m"}}; !slices.Equal(got, want) {
			t.Errorf("got %v", got)
		}
	})
}

func TestAbsenceBefore(t *testing.T) {
	s := mustParse(t, one("warning", "", `    absence:
      first: {event: trial_ending}
      then: {event: [call, email], properties: {direction: {equals: outbound}}}
      before: 7d
`))
	out := `{"direction":"outbound"}`
	runShapeCases(t, s, []shapeCase{
		{"no contact before the trial ends fires at once", []Event{ev("t", "trial_ending", 200, "")}, []found{{"t", "warning", "t"}}},
		{"outbound contact within 7 days before does not fire", []Event{ev("e", "email", 100, out), ev("t", "trial_ending", 200, "")}, nil},
		{"contact exactly 7 days before counts", []Event{ev("e", "email", 32, out), ev("t", "trial_ending", 200, "")}, nil},
		{"contact more than 7 days before does not count", []Event{ev("e", "email", 31.9, out), ev("t", "trial_ending", 200, "")},
			[]found{{"t", "warning", "t"}}},
		{"inbound contact does not count", []Event{ev("c", "call", 190, `{"direction":"inbound"}`), ev("t", "trial_ending", 200, "")},
			[]found{{"t", "warning", "t"}}},
		{"contact after the trial ended is too late", []Event{ev("t", "trial_ending", 200, ""), ev("e", "email", 201, out)},
			[]found{{"t", "warning", "t"}}},
	})
}

func TestDetailsAndFlagKeys(t *testing.T) {
	s := mustParse(t, one("warning", "    details: [order_id]\n", `    count_before:
      count: {event: call}
      anchor: {event: purchase}
      min: 1
      within: 14d
      count_key: calls
`))
	_, all, _ := play(s, []Event{ev("c", "call", 0, ""), ev("p", "purchase", 1, `{"order_id":"o-\"1\""}`)})
	if len(all) != 1 || all[0].Details != `{"calls":1,"window_hours":336,"order_id":"o-\"1\""}` {
		t.Errorf("findings %+v", all)
	}
}

func TestStateIsBoundedAndPruned(t *testing.T) {
	s := mustParse(t, one("info", "", "    repeat_within:\n      match: {event: call}\n      min: 1000\n      within: 1h\n"))
	st := &State{}
	for i := range 500 {
		s.Apply(st, ev(fmt.Sprint(i), "call", float64(i)/1000, ""), nil)
	}
	if n := len(st.marks(0)); n != maxMarks {
		t.Errorf("held %d marks, want the bound %d", n, maxMarks)
	}
	if s.Idle(st, hour(1.4)) {
		t.Error("idle while marks are inside the window")
	}
	if !s.Idle(st, hour(1.6)) {
		t.Error("not idle once every mark is older than the window")
	}
	s.Apply(st, ev("late", "call", 10, ""), nil)
	if n := len(st.marks(0)); n != 1 {
		t.Errorf("held %d marks after the window passed, want 1", n)
	}
}

func TestPropsLookup(t *testing.T) {
	tests := []struct{ json, key, want string }{
		{`{"a":1,"b":"x"}`, "b", `"x"`},
		{` { "a" : {"b":[1,"}"]} , "b" : true } `, "b", `true`},
		{`{"a\u0062":5}`, "ab", `5`},
		{`{"a":null}`, "a", ``},
		{`{"a":"q\"uote","b":2}`, "b", `2`},
		{`[1,2]`, "a", ``},
		{`not json`, "a", ``},
		{`{"a":`, "a", ``},
		{``, "a", ``},
	}
	for _, tt := range tests {
		p := props{json: tt.json}
		if got := p.get(tt.key); got != tt.want {
			t.Errorf("get(%s, %q) = %q, want %q", tt.json, tt.key, got, tt.want)
		}
	}
}

func TestMarkMessageIDComesBackUnchanged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		id     string
		packed bool
	}{
		{"canonical uuid is held as bytes", "0190a3b4-4b1d-4c2e-9f00-00000000002a", true},
		{"upper-case uuid stays a string", "0190A3B4-4B1D-4C2E-9F00-00000000002A", false},
		{"uuid without dashes stays a string", "0190a3b44b1d4c2e9f0000000000002a00aa", false},
		{"all-zero uuid stays a string", "00000000-0000-0000-0000-000000000000", false},
		{"other id stays a string", "ajs-next-1712345678901-abc", false},
		{"empty id", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMsgID(tc.id)
			if got := m.String(); got != tc.id {
				t.Errorf("got %q back", got)
			}
			if packed := m.s == "" && tc.id != ""; packed != tc.packed {
				t.Errorf("packed %v, want %v", packed, tc.packed)
			}
		})
	}
}
