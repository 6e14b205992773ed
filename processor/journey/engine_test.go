package journey

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/journeys/journeys/processor/rules"
	"github.com/journeys/journeys/schemas"
)

func TestJourneyLifecycle(t *testing.T) {
	type row struct {
		first       string // message id of the journey's first touchpoint
		status      string
		touchpoints uint32
		started     float64
		ended       float64
	}
	tests := []struct {
		name string
		cfg  Config
		tps  []schemas.Touchpoint
		// want is the latest row of each journey, in order of start.
		want []row
	}{
		{
			name: "touchpoints without purchase or gap keep one open journey",
			tps:  []schemas.Touchpoint{page("p1", 0), page("p2", 1), phoneCall("c1", 29)},
			want: []row{{"p1", schemas.JourneyOpen, 3, 0, 29}},
		},
		{
			name: "purchase converts the journey and the next touchpoint starts a new one",
			tps:  []schemas.Touchpoint{page("p1", 0), purchase("buy", 1, `{}`), page("p2", 1), page("p3", 2)},
			want: []row{
				{"p1", schemas.JourneyConverted, 2, 0, 1},
				{"p2", schemas.JourneyOpen, 2, 1, 2},
			},
		},
		{
			name: "gap of more than 30 days abandons the journey and opens a new one",
			tps:  []schemas.Touchpoint{page("p1", 0), page("p2", 3), page("p3", 33.5)},
			want: []row{
				{"p1", schemas.JourneyAbandoned, 2, 0, 3},
				{"p3", schemas.JourneyOpen, 1, 33.5, 33.5},
			},
		},
		{
			name: "gap of exactly 30 days keeps the journey open",
			tps:  []schemas.Touchpoint{page("p1", 0), page("p2", 30)},
			want: []row{{"p1", schemas.JourneyOpen, 2, 0, 30}},
		},
		{
			name: "purchase after a long gap is a journey of its own",
			tps:  []schemas.Touchpoint{page("p1", 0), purchase("buy", 40, `{}`)},
			want: []row{
				{"p1", schemas.JourneyAbandoned, 1, 0, 0},
				{"buy", schemas.JourneyConverted, 1, 40, 40},
			},
		},
		{
			name: "a long gap after a purchase starts a new journey without re-emitting the converted one",
			tps:  []schemas.Touchpoint{purchase("buy", 0, `{}`), page("p1", 90)},
			want: []row{
				{"buy", schemas.JourneyConverted, 1, 0, 0},
				{"p1", schemas.JourneyOpen, 1, 90, 90},
			},
		},
		{
			name: "configured inactivity timeout applies",
			cfg:  Config{InactivityTimeout: time.Hour},
			tps:  []schemas.Touchpoint{page("p1", 0), page("p2", 0.5)},
			want: []row{
				{"p1", schemas.JourneyAbandoned, 1, 0, 0},
				{"p2", schemas.JourneyOpen, 1, 0.5, 0.5},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := foldAll(New(tt.cfg, fakeClock), tt.tps)
			got := latest(f.journeys)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d journeys %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.JourneyID != journeyID("c-1", w.first) || g.Status != w.status || g.Touchpoints != w.touchpoints ||
					!g.StartedAt.Equal(day(w.started)) || !g.EndedAt.Equal(day(w.ended)) {
					t.Errorf("journey %d: got %+v, want %+v", i, g, w)
				}
			}
			// Every touchpoint row names the journey it joined.
			for _, tp := range f.touchpoints {
				if tp.JourneyID == "" || tp.Version != uint64(tp.KafkaOffset)+1 {
					t.Errorf("touchpoint %s: journey %q version %d", tp.MessageID, tp.JourneyID, tp.Version)
				}
			}
		})
	}
}

func TestAbandonedJourneyIsReemittedBeforeTheNewOne(t *testing.T) {
	e := New(Config{}, fakeClock)
	e.Apply(page("p1", 0))
	e.Apply(page("p2", 3))
	p3 := page("p3", 40)
	r := e.Apply(p3)
	if len(r.Journeys) != 2 {
		t.Fatalf("got %d journey rows, want 2", len(r.Journeys))
	}
	old, cur := r.Journeys[0], r.Journeys[1]
	if old.Status != schemas.JourneyAbandoned || !old.EndedAt.Equal(day(3)) || old.Version != uint64(p3.KafkaOffset+1)*4+2 {
		t.Errorf("abandoned row %+v", old)
	}
	if cur.Status != schemas.JourneyOpen || r.Touchpoint.JourneyID != cur.JourneyID || cur.JourneyID == old.JourneyID {
		t.Errorf("new row %+v, touchpoint journey %s", cur, r.Touchpoint.JourneyID)
	}
}

func TestCloseIdle(t *testing.T) {
	e := New(Config{}, fakeClock)
	e.Apply(forCustomer("idle", page("a1", 0)))
	a2 := forCustomer("idle", page("a2", 2))
	e.Apply(a2)
	e.Apply(forCustomer("recent", page("b1", 20)))
	e.Apply(forCustomer("bought", purchase("c1", 0, `{}`)))

	if rows := e.CloseIdle(day(32)); len(rows) != 0 {
		t.Fatalf("exactly 30 days idle closed %+v", rows)
	}
	rows := e.CloseIdle(day(32.5))
	if len(rows) != 1 {
		t.Fatalf("got %d rows, want 1: %+v", len(rows), rows)
	}
	r := rows[0]
	if r.CustomerID != "idle" || r.Status != schemas.JourneyAbandoned || !r.EndedAt.Equal(day(2)) || r.Version != uint64(a2.KafkaOffset+1)*4+2 {
		t.Errorf("closed row %+v", r)
	}
	if rows := e.CloseIdle(day(33)); len(rows) != 0 {
		t.Errorf("closing twice returned %+v", rows)
	}
	// The next touchpoint starts a new journey without re-emitting the old one.
	res := e.Apply(forCustomer("idle", page("a3", 40)))
	if len(res.Journeys) != 1 || res.Journeys[0].JourneyID == r.JourneyID || res.Journeys[0].Status != schemas.JourneyOpen {
		t.Errorf("after CloseIdle: %+v", res.Journeys)
	}
	if got := e.CloseIdle(day(100)); len(got) != 2 || got[0].JourneyID > got[1].JourneyID {
		t.Errorf("CloseIdle rows not sorted by journey id: %+v", got)
	}
}

func TestJourneyRowContents(t *testing.T) {
	e := New(Config{}, fakeClock)
	f := foldAll(e, []schemas.Touchpoint{
		page("p1", 0),
		onChannel("", touch("t1", "newsletter_signup", 0.1)),
		onChannel(schemas.ChannelEmail, touch("e1", "email", 1)),
		phoneCall("c1", 2),
		page("p2", 3),
		onChannel(schemas.ChannelApp, touch("a1", "checkout_started", 4)),
		purchase("buy", 4.1, `{"revenue":99.5,"order_id":"o-1"}`),
	})
	got := f.journeys[len(f.journeys)-1]
	want := schemas.Journey{
		JourneyID:   journeyID("c-1", "p1"),
		CustomerID:  "c-1",
		StartedAt:   day(0),
		EndedAt:     day(4.1),
		Status:      schemas.JourneyConverted,
		Touchpoints: 7,
		Channels:    []string{"web", "email", "phone", "app"},
		Path:        []string{"page", "newsletter_signup", "email", "call", "page", "checkout_started", "purchase"},
		// The touchpoints' channels in order, a repeat left out, "" for none.
		ChannelSequence: []string{"web", "", "email", "phone", "web", "app", "web"},
		FrictionCount:   0,
		Revenue:         99.5,
		Version:         uint64(f.touchpoints[6].KafkaOffset+1)*4 + 1,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("journey\n got %+v\nwant %+v", got, want)
	}
}

func TestRevenueOfPurchases(t *testing.T) {
	tests := []struct {
		name  string
		props string
		want  float64
	}{
		{"revenue is read from properties", `{"revenue":12.5}`, 12.5},
		{"missing revenue counts as zero", `{"order_id":"o-1"}`, 0},
		{"invalid properties count as zero", `{{`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(Config{}, fakeClock).Apply(purchase("buy", 0, tt.props))
			if got := r.Journeys[0].Revenue; got != tt.want {
				t.Errorf("revenue %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("revenue of a non-purchase event is ignored", func(t *testing.T) {
		tp := page("p1", 0)
		tp.Properties = `{"revenue":5}`
		if got := New(Config{}, fakeClock).Apply(tp).Journeys[0].Revenue; got != 0 {
			t.Errorf("revenue %v, want 0", got)
		}
	})
}

func TestVersionsStrictlyIncrease(t *testing.T) {
	e := New(Config{}, fakeClock)
	tps := []schemas.Touchpoint{
		page("p1", 0), phoneCall("c1", 1), phoneCall("c2", 2), phoneCall("c3", 3), purchase("buy", 4, `{}`),
		page("p2", 5), page("p3", 6), page("p4", 50), page("p5", 51),
	}
	versions := map[string][]uint64{}
	record := func(rows []schemas.Journey) {
		for _, r := range rows {
			versions[r.JourneyID] = append(versions[r.JourneyID], r.Version)
		}
	}
	for _, tp := range tps {
		record(e.Apply(tp).Journeys)
	}
	record(e.CloseIdle(day(100)))
	if len(versions) != 3 {
		t.Fatalf("got %d journeys, want 3: %v", len(versions), versions)
	}
	for id, vs := range versions {
		for i := 1; i < len(vs); i++ {
			if vs[i] <= vs[i-1] {
				t.Errorf("journey %s: versions %v do not strictly increase", id, vs)
			}
		}
	}
}

func TestDeterministicIDs(t *testing.T) {
	tps := []schemas.Touchpoint{
		page("p1", 0), phoneCall("c1", 1), phoneCall("c2", 2), phoneCall("c3", 3), purchase("buy", 4, `{"revenue":3}`),
		forCustomer("c-2", page("q1", 4)), page("p2", 5), page("p3", 60),
	}
	a := foldAll(New(Config{}, fakeClock), tps)
	b := foldAll(New(Config{}, fakeClock), tps)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two runs over the same input differ:\n%+v\n%+v", a, b)
	}
	sum := sha256.Sum256([]byte("c-1\x00p1"))
	if want := hex.EncodeToString(sum[:16]); a.touchpoints[0].JourneyID != want {
		t.Errorf("journey id %s, want %s", a.touchpoints[0].JourneyID, want)
	}
	sum = sha256.Sum256([]byte("repeated_calls_before_purchase\x00buy"))
	if want := hex.EncodeToString(sum[:])[:32]; len(a.flags) != 1 || a.flags[0].FlagID != want {
		t.Errorf("flags %+v, want id %s", a.flags, want)
	}
}

func TestDuplicateMessageIgnored(t *testing.T) {
	tests := []struct {
		name      string
		tps       []schemas.Touchpoint
		wantDup   int
		wantTouch uint32 // touchpoints of the last journey
		wantFlags int
	}{
		{
			name:      "repeated page view is counted once",
			tps:       []schemas.Touchpoint{page("p1", 0), page("p2", 1), page("p1", 0)},
			wantDup:   1,
			wantTouch: 2,
		},
		{
			name:      "replayed purchase after conversion does not start a journey",
			tps:       []schemas.Touchpoint{page("p1", 0), purchase("buy", 1, `{}`), purchase("buy", 1, `{}`)},
			wantDup:   1,
			wantTouch: 2,
		},
		{
			name: "replayed calls and purchase do not double flag",
			tps: []schemas.Touchpoint{
				phoneCall("c1", 0), phoneCall("c2", 1), phoneCall("c3", 2), purchase("buy", 3, `{}`),
				phoneCall("c1", 0), phoneCall("c2", 1), phoneCall("c3", 2), purchase("buy", 3, `{}`),
			},
			wantDup:   4,
			wantTouch: 4,
			wantFlags: 1,
		},
		{
			name:      "same message id of another customer is not a duplicate",
			tps:       []schemas.Touchpoint{page("p1", 0), forCustomer("c-2", page("p1", 0))},
			wantTouch: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(Config{}, fakeClock)
			f := foldAll(e, tt.tps)
			if f.duplicates != tt.wantDup {
				t.Errorf("duplicates %d, want %d", f.duplicates, tt.wantDup)
			}
			last := f.journeys[len(f.journeys)-1]
			if last.Touchpoints != tt.wantTouch {
				t.Errorf("touchpoints %d, want %d", last.Touchpoints, tt.wantTouch)
			}
			if len(f.flags) != tt.wantFlags {
				t.Errorf("flags %d, want %d", len(f.flags), tt.wantFlags)
			}
		})
	}
	t.Run("duplicate returns an empty result", func(t *testing.T) {
		e := New(Config{}, fakeClock)
		e.Apply(page("p1", 0))
		if r := e.Apply(page("p1", 0)); !reflect.DeepEqual(r, Result{Duplicate: true}) {
			t.Errorf("result %+v", r)
		}
	})
}

func TestRestoreMatchesApply(t *testing.T) {
	tests := []struct {
		name    string
		history []schemas.Touchpoint
		next    []schemas.Touchpoint // applied after the restore
	}{
		{
			name:    "open journey",
			history: []schemas.Touchpoint{page("p1", 0), phoneCall("c1", 1), page("p2", 2)},
			next:    []schemas.Touchpoint{phoneCall("c2", 3), phoneCall("c3", 4), purchase("buy", 5, `{"revenue":20}`)},
		},
		{
			name: "converted journey with a flag",
			history: []schemas.Touchpoint{
				page("p1", 0), phoneCall("c1", 1), phoneCall("c2", 2), phoneCall("c3", 3),
				purchase("buy", 4, `{"revenue":20,"order_id":"o-9"}`),
			},
			next: []schemas.Touchpoint{page("p2", 5)},
		},
		{
			name:    "journey that the next touchpoint abandons",
			history: []schemas.Touchpoint{page("p1", 0), onChannel("chat", touch("ch1", "chat", 1))},
			next:    []schemas.Touchpoint{page("p2", 45)},
		},
		{
			name:    "single purchase",
			history: []schemas.Touchpoint{purchase("buy", 0, `{"revenue":"5"}`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			applied := New(Config{}, fakeClock)
			f := foldAll(applied, tt.history)

			restored := New(Config{}, func() time.Time { return detectedAt.Add(time.Hour) })
			// State held for the customer before the restore is replaced.
			restored.Apply(page("stale", 100))
			restored.Apply(forCustomer("c-2", page("other", 0)))
			// The stored rows carry the journey id the processor gave them.
			stored := slices.Clone(f.touchpoints)
			res := restored.Restore("c-1", stored, time.Time{})

			if res.Touchpoint != nil || res.Duplicate {
				t.Errorf("restore result %+v", res)
			}
			if !reflect.DeepEqual(res.Journeys, latest(f.journeys)) {
				t.Errorf("journeys\nrestore %+v\n  apply %+v", res.Journeys, latest(f.journeys))
			}
			if !reflect.DeepEqual(withoutDetectedAt(res.Flags), withoutDetectedAt(f.flags)) {
				t.Errorf("flags\nrestore %+v\n  apply %+v", res.Flags, f.flags)
			}
			if !restored.Has("c-2") || restored.Len() != 2 {
				t.Errorf("restore touched other customers: len %d", restored.Len())
			}

			// Replaying the history after the restore changes nothing.
			for _, tp := range tt.history {
				if r := restored.Apply(tp); !r.Duplicate {
					t.Errorf("replayed %s was not a duplicate: %+v", tp.MessageID, r)
				}
			}
			// Carrying on gives the same rows as if there had been no restart.
			a, b := foldAll(applied, tt.next), foldAll(restored, tt.next)
			a.flags, b.flags = withoutDetectedAt(a.flags), withoutDetectedAt(b.flags)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("after restore\n got %+v\nwant %+v", b, a)
			}
		})
	}
	t.Run("empty history forgets the customer", func(t *testing.T) {
		e := New(Config{}, fakeClock)
		e.Apply(page("p1", 0))
		if r := e.Restore("c-1", nil, time.Time{}); !reflect.DeepEqual(r, Result{}) || e.Has("c-1") {
			t.Errorf("result %+v, has %v", r, e.Has("c-1"))
		}
	})
}

func withoutDetectedAt(flags []schemas.FrictionFlag) []schemas.FrictionFlag {
	out := make([]schemas.FrictionFlag, len(flags))
	for i, f := range flags {
		f.DetectedAt = time.Time{}
		out[i] = f
	}
	return out
}

func TestOutOfOrderTouchpointHappensAtJourneyTime(t *testing.T) {
	e := New(Config{}, fakeClock)
	e.Apply(page("p1", 10))
	e.Apply(page("p2", 20))
	r := e.Apply(page("late", 1))
	j := r.Journeys[0]
	if len(r.Journeys) != 1 || j.Touchpoints != 3 || !j.StartedAt.Equal(day(10)) || !j.EndedAt.Equal(day(20)) {
		t.Errorf("journey %+v", r.Journeys)
	}
	if !r.Touchpoint.Timestamp.Equal(day(1)) {
		t.Errorf("touchpoint row lost its timestamp: %v", r.Touchpoint.Timestamp)
	}
	// A late call counts at the journey's current time.
	e.Apply(phoneCall("c1", 19))
	e.Apply(phoneCall("c2", 2))
	e.Apply(phoneCall("c3", 3))
	if r := e.Apply(purchase("buy", 21, `{}`)); len(r.Flags) != 1 || len(r.Flags[0].Evidence) != 3 {
		t.Errorf("flags %+v", r.Flags)
	}
	// An old touchpoint after a conversion starts the next journey at the purchase time.
	r = e.Apply(page("older", 0))
	if !r.Journeys[0].StartedAt.Equal(day(21)) || r.Journeys[0].Status != schemas.JourneyOpen {
		t.Errorf("journey after late touchpoint %+v", r.Journeys[0])
	}
}

func TestEmittedRowsDoNotAliasState(t *testing.T) {
	e := New(Config{}, fakeClock)
	r1 := e.Apply(page("p1", 0))
	r1.Journeys[0].Path = append(r1.Journeys[0].Path, "tampered")
	r1.Journeys[0].Channels = append(r1.Journeys[0].Channels, "tampered")
	r2 := e.Apply(phoneCall("c1", 1))
	if want := []string{"page", "call"}; !slices.Equal(r2.Journeys[0].Path, want) {
		t.Errorf("path %v, want %v", r2.Journeys[0].Path, want)
	}
	if want := []string{"web", "phone"}; !slices.Equal(r2.Journeys[0].Channels, want) {
		t.Errorf("channels %v, want %v", r2.Journeys[0].Channels, want)
	}
	if !slices.Equal(r1.Journeys[0].Path, []string{"page", "tampered"}) {
		t.Errorf("earlier row changed: %v", r1.Journeys[0].Path)
	}
}

func TestCustomerBookkeeping(t *testing.T) {
	e := New(Config{}, fakeClock)
	e.Apply(page("p1", 0))
	e.Apply(forCustomer("c-2", page("q1", 0)))
	if !e.Has("c-1") || !e.Has("c-2") || e.Has("c-3") || e.Len() != 2 {
		t.Fatalf("has/len wrong: len %d", e.Len())
	}
	e.Forget("c-1")
	if e.Has("c-1") || e.Len() != 1 {
		t.Errorf("after Forget: has %v len %d", e.Has("c-1"), e.Len())
	}
	// A forgotten customer's message is new again.
	if r := e.Apply(page("p1", 0)); r.Duplicate {
		t.Errorf("message of a forgotten customer was a duplicate")
	}
	e.Reset()
	if e.Len() != 0 || e.Has("c-2") {
		t.Errorf("after Reset: len %d", e.Len())
	}
}

func TestEvictIdle(t *testing.T) {
	e := New(Config{}, fakeClock)
	e.Apply(forCustomer("open", page("a1", 0)))
	e.Apply(forCustomer("converted", purchase("b1", 0, `{}`)))
	e.Apply(forCustomer("caller", page("c0", 0)))
	e.Apply(forCustomer("caller", phoneCall("c1", 1)))
	e.CloseIdle(day(32)) // abandons "open" and "caller"

	e.Apply(forCustomer("active", page("d1", 31)))

	// "open" and "converted" have closed journeys and no calls; "caller" still
	// has a call inside the window; "active" has an open journey.
	if n := e.EvictIdle(day(14.5)); n != 2 || e.Has("converted") || e.Has("open") {
		t.Errorf("evicted %d; held converted %v open %v", n, e.Has("converted"), e.Has("open"))
	}
	if !e.Has("caller") || !e.Has("active") {
		t.Errorf("evicted a customer with a call in the window or an open journey")
	}
	if n := e.EvictIdle(day(32)); n != 1 || e.Has("caller") || e.Len() != 1 {
		t.Errorf("evicted %d, len %d", n, e.Len())
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"zero config is the default", Config{}, nil},
		{"defaults are valid", DefaultConfig(), nil},
		{"negative inactivity timeout", Config{InactivityTimeout: -time.Hour}, ErrInactivityTimeout},
		{"rules of a file", Config{Rules: repeatedCallsRules(7, 7, "1h")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); !errors.Is(err, tt.want) {
				t.Errorf("Validate() = %v, want %v", err, tt.want)
			}
		})
	}
	d := DefaultConfig()
	if d.InactivityTimeout != 30*24*time.Hour || d.Rules != rules.Default() {
		t.Errorf("DefaultConfig() = %+v", d)
	}
}

func TestHoldsAnswersForTheCurrentJourney(t *testing.T) {
	e := New(Config{}, fakeClock)
	e.Apply(phoneCall("c1", 1))
	e.Apply(purchase("buy", 2, `{}`))
	e.Apply(page("p1", 3)) // a new journey begins at day 3
	tests := []struct {
		name        string
		customer    string
		id          string
		at          float64
		holds, know bool
	}{
		{"a message of the current journey", "c-1", "p1", 3, true, true},
		{"a new message after the journey's start", "c-1", "p2", 4, false, true},
		{"a message before the current journey is not known", "c-1", "buy", 2, false, false},
		{"a customer not held is not known", "c-2", "x", 4, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			holds, known := e.Holds(tt.customer, tt.id, day(tt.at))
			if holds != tt.holds || known != tt.know {
				t.Errorf("Holds = %v, %v; want %v, %v", holds, known, tt.holds, tt.know)
			}
		})
	}
}
