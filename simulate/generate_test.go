package simulate

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/journeys/journeys/processor/journey"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"defaults are valid", Config{Customers: 10}, nil},
		{"no customers", Config{}, ErrCustomers},
		{"too many customers", Config{Customers: MaxCustomers + 1}, ErrCustomers},
		{"negative days", Config{Customers: 1, Days: -1}, ErrDays},
		{"batch too large", Config{Customers: 1, BatchSize: MaxBatchSize + 1}, ErrBatchSize},
		{"negative concurrency", Config{Customers: 1, Concurrency: -2}, ErrConcurrency},
		{"max backoff below min", Config{Customers: 1, MinBackoff: time.Second, MaxBackoff: time.Millisecond}, ErrBackoff},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); !errors.Is(err, tc.want) {
				t.Fatalf("Validate() = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestConfigDefaultStartEndsToday(t *testing.T) {
	cfg := Config{Customers: 1}.WithDefaults()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	if got := cfg.Start.AddDate(0, 0, cfg.Days); !got.Equal(today) {
		t.Fatalf("Start+Days = %s, want today %s", got, today)
	}
}

// The default period's events are all younger than the processor's
// inactivity timeout by a day, whatever the time of day: a live processor
// closes a journey idle that long by the wall clock, and the ground truth
// assumes none is.
func TestDefaultPeriodStaysInsideTheInactivityTimeout(t *testing.T) {
	now := time.Now()
	ds := Generate(Config{Customers: 200, Seed: 5})
	oldest := now.Add(-journey.DefaultInactivityTimeout + 24*time.Hour)
	for _, e := range ds.Events {
		if !e.Timestamp.After(oldest) || e.Timestamp.After(now) {
			t.Fatalf("event %s at %s: the default period must lie within (%s, %s]", e.MessageID, e.Timestamp, oldest, now)
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	cfg := Config{Customers: 150, Seed: 99, Start: t0}
	a, b := Generate(cfg), Generate(cfg)
	ja, _ := json.Marshal(a.Events)
	jb, _ := json.Marshal(b.Events)
	if string(ja) != string(jb) {
		t.Fatal("same config gave different events")
	}
	if !reflect.DeepEqual(a.PerCustomer, b.PerCustomer) || a.CallsBeforePurchase != b.CallsBeforePurchase {
		t.Fatal("same config gave different ground truth")
	}
	c := Generate(Config{Customers: 150, Seed: 100, Start: t0})
	if jc, _ := json.Marshal(c.Events); string(jc) == string(ja) {
		t.Fatal("different seeds gave the same events")
	}
}

func TestGenerateInvariants(t *testing.T) {
	for _, cfg := range []Config{
		{Customers: 500, Seed: 1, Start: t0},
		{Customers: 300, Seed: 2, Start: t0, Days: 90},
		{Customers: 50, Seed: 3, Start: t0, Days: 3},
		{Customers: 5, Seed: 4, Start: t0, Days: 1},
	} {
		ds := Generate(cfg)
		end := cfg.Start.AddDate(0, 0, ds.Config.Days)
		ids := map[string]bool{}
		for _, c := range ds.Customers {
			if c.Identified != (c.Profile != ProfileBrowser) {
				t.Errorf("%s: profile %s identified=%v", c.ID, c.Profile, c.Identified)
			}
			if len(c.Events) == 0 {
				t.Errorf("%s: no events", c.ID)
				continue
			}
			first, last := c.Events[0].Timestamp, c.Events[len(c.Events)-1].Timestamp
			if last.Sub(first) >= 30*24*time.Hour {
				t.Errorf("%s: activity spans %s, 30 days or more", c.ID, last.Sub(first))
			}
			for i, e := range c.Events {
				if i > 0 && !e.Timestamp.After(c.Events[i-1].Timestamp) {
					t.Errorf("%s: event %d not after the previous one", c.ID, i)
				}
				if e.Timestamp.Before(cfg.Start) || !e.Timestamp.Before(end) {
					t.Errorf("%s: event at %s outside [%s, %s)", c.ID, e.Timestamp, cfg.Start, end)
				}
				if e.CustomerID() != c.Key() {
					t.Errorf("%s: event filed under %q, want %q", c.ID, e.CustomerID(), c.Key())
				}
				if c.Identified && e.UserID != c.ID {
					t.Errorf("%s: identified customer's %s event without userId", c.ID, e.Type)
				}
				if !c.Identified && (e.UserID != "" || e.Type != "page") {
					t.Errorf("%s: pure browser sent %s/%s with userId %q", c.ID, e.Type, e.Event, e.UserID)
				}
				if e.Channel == "web" && e.AnonymousID != c.AnonymousID {
					t.Errorf("%s: web event without the anonymousId", c.ID)
				}
				if ids[e.MessageID] {
					t.Errorf("duplicate message id %s", e.MessageID)
				}
				ids[e.MessageID] = true
				if _, err := uuid.Parse(e.MessageID); err != nil {
					t.Errorf("message id %q: %v", e.MessageID, err)
				}
				checkShape(t, e)
			}
		}
	}
}

// checkShape checks the fields the API and the processor rely on.
func checkShape(t *testing.T, e Event) {
	t.Helper()
	props := e.Properties
	switch {
	case e.Type == "page":
		path, _ := props["path"].(string)
		if e.Channel != "web" || e.Name == "" || !strings.HasPrefix(path, "/") || props["title"] == nil {
			t.Errorf("page %+v", e)
		}
		pg, _ := e.Context["page"].(map[string]any)
		if pg["path"] != path || e.Context["userAgent"] == nil {
			t.Errorf("page context %+v", e.Context)
		}
	case e.IsCall():
		for _, k := range []string{"wait_seconds", "duration_seconds", "topic", "direction", "transfers"} {
			if props[k] == nil {
				t.Errorf("call without %s: %+v", k, props)
			}
		}
		if e.Channel != "phone" || props["direction"] != "inbound" {
			t.Errorf("call %+v", e)
		}
	case e.IsPurchase():
		if _, ok := props["revenue"].(float64); !ok || props["currency"] != "EUR" || props["order_id"] == "" {
			t.Errorf("purchase properties %+v", props)
		}
		if e.Channel != "web" && e.Channel != "store" && e.Channel != "phone" {
			t.Errorf("purchase on channel %q", e.Channel)
		}
	case e.Type == "identify":
		if e.UserID == "" || e.AnonymousID == "" {
			t.Errorf("identify without both ids: %+v", e)
		}
	case e.Type == "track" && (e.Event == EventEmail || e.Event == EventChat):
		if e.Channel != e.Event {
			t.Errorf("%s on channel %q", e.Event, e.Channel)
		}
	case e.Type == "track" && e.Event == EventSurvey:
		score, ok := props["score"].(int)
		if e.Channel != "email" || props["kind"] != "nps" || !ok || score < 0 || score > 10 {
			t.Errorf("survey %+v", e)
		}
	case e.Type == "track" && (e.Event == EventReview || e.Event == EventReferral):
		if e.Channel != ChannelSocial {
			t.Errorf("%s on channel %q", e.Event, e.Channel)
		}
	case e.Type == "track" && (e.Event == EventIdeaSubmitted || e.Event == EventIdeaStatusChanged || e.Event == EventCommunityAnswer):
		if e.Channel != ChannelCommunity {
			t.Errorf("%s on channel %q", e.Event, e.Channel)
		}
	default:
		t.Errorf("unexpected event %s/%s", e.Type, e.Event)
	}
}

// TestMixHoldsEveryCase looks for each case in the events themselves, not in
// the profiles, for a few seeds of the documented N=200.
func TestMixHoldsEveryCase(t *testing.T) {
	for _, seed := range []int64{1, 2, 3, 4, 5} {
		ds := Generate(Config{Customers: 200, Seed: seed, Start: t0})
		var flagged, twoCalls, fivePlus, staleCall, staleNotFlagged, afterPurchase, twice, resetMatters bool
		for _, c := range ds.Customers {
			var calls []time.Time
			var allCalls []time.Time
			purchases := 0
			for _, e := range c.Events {
				switch {
				case e.IsCall():
					calls = append(calls, e.Timestamp)
					allCalls = append(allCalls, e.Timestamp)
					if purchases > 0 {
						afterPurchase = true
					}
				case e.IsPurchase():
					purchases++
					recent, recentAll := 0, 0
					for _, at := range calls {
						if e.Timestamp.Sub(at) <= FlagWindow {
							recent++
						} else if e.Timestamp.Sub(at) >= 15*24*time.Hour {
							staleCall = true
							if len(calls) >= 3 && recent < 3 {
								staleNotFlagged = true
							}
						}
					}
					for _, at := range allCalls {
						if e.Timestamp.Sub(at) <= FlagWindow {
							recentAll++
						}
					}
					flagged = flagged || recent >= 3
					twoCalls = twoCalls || len(calls) == 2
					fivePlus = fivePlus || len(calls) >= 5
					resetMatters = resetMatters || (purchases > 1 && recent < 3 && recentAll >= 3)
					calls = nil
				}
			}
			twice = twice || purchases >= 2
		}
		for name, ok := range map[string]bool{
			"flagged purchase":                                 flagged,
			"purchase after exactly 2 calls":                   twoCalls,
			"purchase after 5+ calls":                          fivePlus,
			"call 15+ days before a purchase":                  staleCall,
			"3 calls in journey, stale one keeps it unflagged": staleNotFlagged,
			"call after a purchase":                            afterPurchase,
			"customer buying twice":                            twice,
			"calls before the previous purchase matter":        resetMatters,
		} {
			if !ok {
				t.Errorf("seed %d: no %s", seed, name)
			}
		}
		if ds.ExpectedFlags == 0 || ds.CallsBeforePurchase[2] == 0 {
			t.Errorf("seed %d: truth %d flags, histogram %v", seed, ds.ExpectedFlags, ds.CallsBeforePurchase)
		}
	}
}

func TestMostCustomersDoNotBuy(t *testing.T) {
	ds := Generate(Config{Customers: 1000, Seed: 1, Start: t0})
	buyers, browsers := 0, 0
	for _, exp := range ds.PerCustomer {
		if exp.Purchases > 0 {
			buyers++
		}
	}
	for _, c := range ds.Customers {
		if !c.Identified {
			browsers++
		}
	}
	if buyers < 300 || buyers > 500 || browsers < 350 {
		t.Fatalf("%d buyers, %d pure browsers of 1000", buyers, browsers)
	}
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	events := 0
	for i := 0; b.Loop(); i++ {
		events += Generate(Config{Customers: 1000, Seed: int64(i), Start: t0}).TotalEvents
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
