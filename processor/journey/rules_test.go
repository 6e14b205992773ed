package journey

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/journeys/journeys/schemas"
)

// ev builds a touchpoint of c-1 at day d with properties.
func ev(id, event string, d float64, props string) schemas.Touchpoint {
	tp := touch(id, event, d)
	tp.Properties = props
	return tp
}

func hours(h float64) float64 { return h / 24 }

type wantFlag struct {
	rule, key, severity string
	evidence            []string
}

// TestDefaultRules gives each rule of schemas/friction-rules.yaml a small
// journey that trips it, and one that does not.
func TestDefaultRules(t *testing.T) {
	topic := `{"topic":"delivery","direction":"inbound"}`
	due := func(h float64) string {
		return fmt.Sprintf(`{"promise_id":"pr-1","due_at":%q}`, day(h/24).Format(time.RFC3339))
	}
	tests := []struct {
		name string
		tps  []schemas.Touchpoint
		want []wantFlag
	}{
		{"repeated_calls_before_purchase: three calls then a purchase",
			[]schemas.Touchpoint{phoneCall("c1", 0), phoneCall("c2", 1), phoneCall("c3", 2), purchase("buy", 3, `{}`)},
			[]wantFlag{{"repeated_calls_before_purchase", "buy", "warning", []string{"c1", "c2", "c3"}}}},
		{"repeat_contact_same_topic: a chat about the call's topic 3 days later",
			[]schemas.Touchpoint{ev("c1", "call", 0, topic), onChannel("chat", ev("ch1", "chat", 3, `{"topic":"delivery"}`))},
			[]wantFlag{{"repeat_contact_same_topic", "ch1", "warning", []string{"c1", "ch1"}}}},
		{"repeat_contact_same_topic: 8 days later is a new issue",
			[]schemas.Touchpoint{ev("c1", "call", 0, topic), ev("c2", "call", 8, topic)}, nil},
		{"repeat_contact_same_topic: our own outbound call is no repeat",
			[]schemas.Touchpoint{ev("c1", "call", 0, topic), ev("c2", "call", 1, `{"topic":"delivery","direction":"outbound"}`)}, nil},
		{"help_page_then_call: contact page then a call 40 minutes later",
			[]schemas.Touchpoint{ev("p1", "page", 0, `{"path":"/help/contact"}`), phoneCall("c1", hours(0.66))},
			[]wantFlag{{"help_page_then_call", "c1", "info", []string{"p1", "c1"}}}},
		{"help_page_then_call: call 3 hours later",
			[]schemas.Touchpoint{ev("p1", "page", 0, `{"path":"/help/contact"}`), phoneCall("c1", hours(3))}, nil},
		{"checkout_then_call: checkout abandoned, then a call",
			[]schemas.Touchpoint{touch("co", "checkout_started", 0), phoneCall("c1", hours(5))},
			[]wantFlag{{"checkout_then_call", "c1", "warning", []string{"co", "c1"}}}},
		{"checkout_then_call: checkout completed before the call",
			[]schemas.Touchpoint{touch("co", "checkout_started", 0), purchase("buy", hours(0.1), `{}`), phoneCall("c1", hours(5))}, nil},
		{"long_call_wait: a 6-minute wait, and a 20-minute one",
			[]schemas.Touchpoint{ev("c1", "call", 0, `{"wait_seconds":360}`), ev("c2", "call", 1, `{"wait_seconds":1200}`), ev("c3", "call", 2, `{"wait_seconds":60}`)},
			[]wantFlag{
				{"long_call_wait", "c1", "warning", []string{"c1"}},
				{"long_call_wait", "c2", "critical", []string{"c2"}},
			}},
		{"many_transfers: two transfers warn, three are a failed contact",
			[]schemas.Touchpoint{ev("c1", "call", 0, `{"transfers":1}`), ev("c2", "call", 1, `{"transfers":2}`), ev("c3", "call", 2, `{"transfers":3}`)},
			[]wantFlag{
				{"many_transfers", "c2", "warning", []string{"c2"}},
				{"many_transfers", "c3", "critical", []string{"c3"}},
			}},
		{"detractor_survey: NPS 6 is a detractor, 7 is not",
			[]schemas.Touchpoint{ev("s1", "survey_response", 0, `{"survey":"q2-relationship","kind":"nps","score":6}`), ev("s2", "survey_response", 1, `{"survey":"q2-relationship","kind":"nps","score":7}`)},
			[]wantFlag{{"detractor_survey", "s1", "warning", []string{"s1"}}}},
		{"promise_not_kept: due date passes before the next touchpoint",
			[]schemas.Touchpoint{ev("pm", "promise_made", 0, due(48)), ev("p1", "page", 2.5, `{}`)},
			[]wantFlag{{"promise_not_kept", "pm", "critical", []string{"pm"}}}},
		{"promise_not_kept: kept on time",
			[]schemas.Touchpoint{ev("pm", "promise_made", 0, due(48)), ev("pk", "promise_kept", 1, `{"promise_id":"pr-1"}`), ev("p1", "page", 5, `{}`)}, nil},
		{"trial_ending_without_contact: nobody called",
			[]schemas.Touchpoint{touch("ts", "trial_started", 0), touch("te", "trial_ending", 14)},
			[]wantFlag{{"trial_ending_without_contact", "te", "warning", []string{"te"}}}},
		{"trial_ending_without_contact: an outbound email 3 days before",
			[]schemas.Touchpoint{touch("ts", "trial_started", 0), ev("e1", "email", 11, `{"direction":"outbound"}`), touch("te", "trial_ending", 14)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := foldAll(New(Config{}, fakeClock), tt.tps)
			if len(f.flags) != len(tt.want) {
				t.Fatalf("got %d flags %+v, want %d", len(f.flags), f.flags, len(tt.want))
			}
			for i, w := range tt.want {
				g := f.flags[i]
				if g.Rule != w.rule || g.FlagID != hashID(w.rule, w.key) || g.Severity != w.severity || !slices.Equal(g.Evidence, w.evidence) {
					t.Errorf("flag %d: got %s %s %s %v, want %+v (id of %s)", i, g.Rule, g.FlagID, g.Severity, g.Evidence, w, w.key)
				}
				// The version is the offset (+1) of the record that completed the pattern, or a later one.
				var key int64 = -1
				causes := map[uint64]bool{}
				for _, tp := range tt.tps {
					if tp.MessageID == w.key {
						key = tp.KafkaOffset
					}
					if key >= 0 {
						causes[uint64(tp.KafkaOffset)+1] = true
					}
				}
				if g.CustomerID != "c-1" || g.JourneyID == "" || !g.DetectedAt.Equal(detectedAt) || !causes[g.Version] {
					t.Errorf("flag %d row: %+v", i, g)
				}
			}
		})
	}
}

func TestAbsenceFlagsTheJourneyOfThePromise(t *testing.T) {
	due := `{"promise_id":"pr-1","due_at":"2026-03-04T09:00:00Z"}` // day 2
	t.Run("fired by a touchpoint that abandons the journey, counted on it", func(t *testing.T) {
		e := New(Config{}, fakeClock)
		e.Apply(ev("pm", "promise_made", 0, due))
		r := e.Apply(page("p1", 40))
		if len(r.Flags) != 1 || len(r.Journeys) != 2 {
			t.Fatalf("flags %+v journeys %+v", r.Flags, r.Journeys)
		}
		abandoned := r.Journeys[0]
		if r.Flags[0].JourneyID != abandoned.JourneyID || abandoned.FrictionCount != 1 || r.Journeys[1].FrictionCount != 0 {
			t.Errorf("flag on %s; abandoned %+v; new %+v", r.Flags[0].JourneyID, abandoned, r.Journeys[1])
		}
		if !r.Flags[0].OccurredAt.Equal(day(2)) {
			t.Errorf("occurred at %v, want the due time", r.Flags[0].OccurredAt)
		}
	})
	t.Run("fired by Tick, counted on the open journey's next row", func(t *testing.T) {
		e := New(Config{}, fakeClock)
		first := e.Apply(ev("pm", "promise_made", 0, due))
		e.Apply(forCustomer("c-2", page("q1", 0)))
		if flags := e.Tick(day(2)); len(flags) != 0 {
			t.Fatalf("fired at the due time: %+v", flags)
		}
		flags := e.Tick(day(2.01))
		if len(flags) != 1 || flags[0].JourneyID != first.Journeys[0].JourneyID || flags[0].CustomerID != "c-1" {
			t.Fatalf("tick flags %+v", flags)
		}
		if again := e.Tick(day(3)); len(again) != 0 {
			t.Errorf("fired twice: %+v", again)
		}
		r := e.Apply(page("p1", 3))
		if r.Journeys[0].FrictionCount != 1 || len(r.Flags) != 0 {
			t.Errorf("next row %+v, flags %+v", r.Journeys[0], r.Flags)
		}
	})
	t.Run("Tick orders flags by id and skips customers without deadlines", func(t *testing.T) {
		e := New(Config{}, fakeClock)
		for i := range 5 {
			e.Apply(forCustomer(fmt.Sprintf("c-%d", i), ev(fmt.Sprintf("pm%d", i), "promise_made", 0, due)))
		}
		e.Apply(forCustomer("quiet", page("q", 0)))
		flags := e.Tick(day(10))
		if len(flags) != 5 || !slices.IsSortedFunc(flags, func(a, b schemas.FrictionFlag) int { return cmpString(a.FlagID, b.FlagID) }) {
			t.Errorf("flags %+v", flags)
		}
		if len(e.armed) != 0 {
			t.Errorf("%d customers still armed", len(e.armed))
		}
	})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestRestoreRebuildsRuleState: folding the stored touchpoints of the
// latest journey gives rule state that flags the rest of the journey as an
// uninterrupted engine does.
func TestRestoreRebuildsRuleState(t *testing.T) {
	topic := `{"topic":"billing"}`
	tests := []struct {
		name          string
		history, next []schemas.Touchpoint
		ticks         []float64 // Tick times (days) after next
	}{
		{"a pending promise fires after the restore",
			[]schemas.Touchpoint{page("p1", 0), ev("pm", "promise_made", 1, `{"promise_id":"x"}`)},
			[]schemas.Touchpoint{page("p2", 5)}, []float64{20}},
		{"a promise kept before the restore stays kept",
			[]schemas.Touchpoint{ev("pm", "promise_made", 1, `{"promise_id":"x"}`), ev("pk", "promise_kept", 2, `{"promise_id":"x"}`)},
			[]schemas.Touchpoint{page("p2", 20)}, []float64{30}},
		{"a help page before the restore pairs with a call after it",
			[]schemas.Touchpoint{ev("h", "page", 0, `{"path":"/help"}`)},
			[]schemas.Touchpoint{phoneCall("c1", hours(1))}, nil},
		{"a contact before the restore is repeated after it",
			[]schemas.Touchpoint{ev("c1", "call", 0, topic)},
			[]schemas.Touchpoint{ev("c2", "call", 2, topic), ev("c3", "call", 3, topic)}, nil},
		{"calls before the restore count for a purchase after it",
			[]schemas.Touchpoint{phoneCall("c1", 0), phoneCall("c2", 1)},
			[]schemas.Touchpoint{phoneCall("c3", 2), phoneCall("c4", 3), phoneCall("c5", 3), purchase("buy", 4, `{}`)}, nil},
		{"a promise broken inside the history is flagged by the restore too",
			[]schemas.Touchpoint{ev("pm", "promise_made", 0, `{"promise_id":"x","due_at":"2026-03-03T09:00:00Z"}`), page("p1", 3)},
			[]schemas.Touchpoint{page("p2", 4)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			applied := New(Config{}, fakeClock)
			f := foldAll(applied, tt.history)
			restored := New(Config{}, fakeClock)
			res := restored.Restore("c-1", slices.Clone(f.touchpoints), time.Time{})
			if !reflect.DeepEqual(res.Flags, f.flags) {
				t.Errorf("restore flags\n got %+v\nwant %+v", res.Flags, f.flags)
			}
			a, b := foldAll(applied, tt.next), foldAll(restored, tt.next)
			for _, d := range tt.ticks {
				a.flags = append(a.flags, applied.Tick(day(d))...)
				b.flags = append(b.flags, restored.Tick(day(d))...)
				a.journeys = append(a.journeys, applied.CloseIdle(day(d))...)
				b.journeys = append(b.journeys, restored.CloseIdle(day(d))...)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("after restore\n got %+v\nwant %+v", b, a)
			}
			if len(a.flags)+len(f.flags) == 0 && tt.name != "a promise kept before the restore stays kept" {
				t.Errorf("the case flags nothing; it tests nothing")
			}
		})
	}
}

func TestEvictIdleKeepsCustomersARuleWaitsOn(t *testing.T) {
	e := New(Config{}, fakeClock)
	e.Apply(forCustomer("promised", ev("pm", "promise_made", 0, `{"promise_id":"x","due_at":"2026-06-01T00:00:00Z"}`)))
	e.Apply(forCustomer("promised", purchase("buy", 0.1, `{}`)))
	e.Apply(forCustomer("done", purchase("b2", 0, `{}`)))
	if n := e.EvictIdle(day(60)); n != 1 || !e.Has("promised") || e.Has("done") {
		t.Errorf("evicted %d; promised held %v, done held %v", n, e.Has("promised"), e.Has("done"))
	}
	if flags := e.Tick(time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)); len(flags) != 1 {
		t.Fatalf("tick flags %+v", flags)
	}
	if n := e.EvictIdle(day(100)); n != 1 || e.Len() != 0 {
		t.Errorf("evicted %d, left %d", n, e.Len())
	}
}

// TestRestoreFromALaterJourney: rule windows reach across journeys, so a
// restore that must be exact from the latest journey on folds the earlier
// journeys within the horizon too, and returns only the rows from the
// latest journey on. Folding the latest journey alone loses the earlier
// contact: the failure a take-over showed in a group of two processors.
func TestRestoreFromALaterJourney(t *testing.T) {
	topic := `{"topic":"billing"}`
	history := []schemas.Touchpoint{
		ev("c1", "call", 0, topic), purchase("buy", 1, `{}`), // journey 1, converted
		ev("c2", "call", 2, topic), // journey 2 opens with a repeat contact
	}
	next := []schemas.Touchpoint{ev("c3", "call", 3, topic)}

	applied := New(Config{}, fakeClock)
	f := foldAll(applied, history)
	from := f.touchpoints[2].Timestamp // journey 2's start
	second := f.touchpoints[2].JourneyID
	if second == f.touchpoints[0].JourneyID {
		t.Fatal("the purchase did not end the first journey")
	}

	restored := New(Config{}, fakeClock)
	res := restored.Restore("c-1", slices.Clone(f.touchpoints), from)
	if len(res.Journeys) != 1 || res.Journeys[0].JourneyID != second || res.Journeys[0].FrictionCount != 1 {
		t.Errorf("restored journeys %+v, want journey 2 only, with its repeat-contact flag counted", res.Journeys)
	}
	if len(res.Flags) != 1 || res.Flags[0].Rule != "repeat_contact_same_topic" || res.Flags[0].Evidence[0] != "c1" {
		t.Errorf("restored flags %+v, want the repeat contact at c2", res.Flags)
	}
	a, b := foldAll(applied, next), foldAll(restored, next)
	a.flags, b.flags = withoutDetectedAt(a.flags), withoutDetectedAt(b.flags)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("after restore\n got %+v\nwant %+v", b, a)
	}
	if len(a.flags) != 1 || a.flags[0].Severity != "critical" {
		t.Errorf("the third contact should be critical: %+v", a.flags)
	}

	short := New(Config{}, fakeClock)
	short.Restore("c-1", slices.Clone(f.touchpoints[2:]), from)
	if c := foldAll(short, next); len(c.flags) != 1 || c.flags[0].Severity == "critical" {
		t.Errorf("folding journey 2 alone should miss the earlier contact (warning, not critical); got %+v", c.flags)
	}
}

func TestSettleFiresAndClosesOneCustomer(t *testing.T) {
	e := New(Config{}, fakeClock)
	promise := `{"promise_id":"x","due_at":"2026-03-05T09:00:00Z"}`
	e.Apply(ev("pm", "promise_made", 0, promise))
	e.Apply(forCustomer("other", ev("pm2", "promise_made", 0, promise)))

	if flags, rows := e.Settle("c-1", day(1)); len(flags)+len(rows) != 0 {
		t.Fatalf("before the due time: flags %+v, rows %+v", flags, rows)
	}
	flags, rows := e.Settle("c-1", day(40))
	if len(flags) != 1 || flags[0].Rule != "promise_not_kept" || flags[0].CustomerID != "c-1" {
		t.Errorf("flags %+v, want c-1's promise not kept", flags)
	}
	if len(rows) != 1 || rows[0].Status != schemas.JourneyAbandoned || rows[0].FrictionCount != 1 {
		t.Errorf("rows %+v, want c-1's journey abandoned with the flag counted", rows)
	}
	if f, r := e.Settle("nobody", day(40)); f != nil || r != nil {
		t.Errorf("an unknown customer settled to %+v, %+v", f, r)
	}
	// The other customer is untouched: Tick still fires their promise.
	if got := e.Tick(day(40)); len(got) != 1 || got[0].CustomerID != "other" {
		t.Errorf("Tick after Settle: %+v, want only other's flag", got)
	}
}
