package journey

import (
	"slices"
	"testing"
	"time"

	"github.com/journeys/journeys/schemas"
)

func TestRepeatedCallsBeforePurchase(t *testing.T) {
	type wantFlag struct {
		purchase string
		severity string
		evidence []string
	}
	tests := []struct {
		name string
		cfg  Config
		tps  []schemas.Touchpoint
		want []wantFlag
	}{
		{
			name: "three calls within 14 days flag the purchase once",
			tps: []schemas.Touchpoint{
				phoneCall("c1", 0), page("p1", 1), phoneCall("c2", 2), phoneCall("c3", 5),
				purchase("buy", 6, `{"revenue":10,"order_id":"o-1"}`), page("p2", 7),
			},
			want: []wantFlag{{"buy", schemas.SeverityWarning, []string{"c1", "c2", "c3"}}},
		},
		{
			name: "two calls do not flag",
			tps:  []schemas.Touchpoint{phoneCall("c1", 0), phoneCall("c2", 1), purchase("buy", 2, `{}`)},
		},
		{
			name: "third call 15 days before purchase does not count",
			tps:  []schemas.Touchpoint{phoneCall("c1", 0), phoneCall("c2", 10), phoneCall("c3", 12), purchase("buy", 15, `{}`)},
		},
		{
			name: "call exactly 14 days before purchase counts",
			tps:  []schemas.Touchpoint{phoneCall("c1", 0), phoneCall("c2", 10), phoneCall("c3", 12), purchase("buy", 14, `{}`)},
			want: []wantFlag{{"buy", schemas.SeverityWarning, []string{"c1", "c2", "c3"}}},
		},
		{
			name: "call at the same time as the purchase counts",
			tps:  []schemas.Touchpoint{phoneCall("c1", 0), phoneCall("c2", 1), phoneCall("c3", 2), purchase("buy", 2, `{}`)},
			want: []wantFlag{{"buy", schemas.SeverityWarning, []string{"c1", "c2", "c3"}}},
		},
		{
			name: "calls after the purchase do not count for it",
			tps: []schemas.Touchpoint{
				phoneCall("c1", 0), phoneCall("c2", 1), purchase("buy", 2, `{}`),
				phoneCall("c3", 2), phoneCall("c4", 3), phoneCall("c5", 4),
			},
		},
		{
			name: "calls before a previous purchase do not count",
			tps: []schemas.Touchpoint{
				phoneCall("c1", 0), phoneCall("c2", 1), phoneCall("c3", 2), purchase("buy1", 3, `{}`),
				phoneCall("c4", 4), phoneCall("c5", 5), purchase("buy2", 6, `{}`),
			},
			want: []wantFlag{{"buy1", schemas.SeverityWarning, []string{"c1", "c2", "c3"}}},
		},
		{
			name: "four calls are a warning",
			tps: []schemas.Touchpoint{
				phoneCall("c1", 0), phoneCall("c2", 1), phoneCall("c3", 2), phoneCall("c4", 3), purchase("buy", 4, `{}`),
			},
			want: []wantFlag{{"buy", schemas.SeverityWarning, []string{"c1", "c2", "c3", "c4"}}},
		},
		{
			name: "five calls are critical",
			tps: []schemas.Touchpoint{
				phoneCall("c1", 0), phoneCall("c2", 1), phoneCall("c3", 2), phoneCall("c4", 3), phoneCall("c5", 3.5),
				purchase("buy", 4, `{}`),
			},
			want: []wantFlag{{"buy", schemas.SeverityCritical, []string{"c1", "c2", "c3", "c4", "c5"}}},
		},
		{
			name: "calls of another customer do not count",
			tps: []schemas.Touchpoint{
				phoneCall("c1", 0), forCustomer("c-2", phoneCall("x1", 1)), forCustomer("c-2", phoneCall("x2", 1.5)),
				phoneCall("c2", 2), purchase("buy", 3, `{}`),
			},
		},
		{
			name: "only calls inside the window count as evidence",
			tps: []schemas.Touchpoint{
				phoneCall("old", 0), phoneCall("c1", 10), phoneCall("c2", 11), phoneCall("c3", 12), purchase("buy", 20, `{}`),
			},
			want: []wantFlag{{"buy", schemas.SeverityWarning, []string{"c1", "c2", "c3"}}},
		},
		{
			name: "calls of an abandoned journey count when the window is longer than the timeout",
			cfg:  Config{InactivityTimeout: 10 * 24 * time.Hour, Rules: repeatedCallsRules(3, 5, "40d")},
			tps: []schemas.Touchpoint{
				phoneCall("c1", 0), phoneCall("c2", 1), phoneCall("c3", 20), purchase("buy", 35, `{}`),
			},
			want: []wantFlag{{"buy", schemas.SeverityWarning, []string{"c1", "c2", "c3"}}},
		},
		{
			name: "configured thresholds apply",
			cfg:  Config{Rules: repeatedCallsRules(1, 2, "1h")},
			tps: []schemas.Touchpoint{
				phoneCall("c1", 0), purchase("buy1", 1, `{}`),
				phoneCall("c2", 2), phoneCall("c3", 2.01), purchase("buy2", 2.02, `{}`),
			},
			want: []wantFlag{
				{"buy2", schemas.SeverityCritical, []string{"c2", "c3"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := foldAll(New(tt.cfg, fakeClock), tt.tps)
			if len(f.flags) != len(tt.want) {
				t.Fatalf("got %d flags %+v, want %d", len(f.flags), f.flags, len(tt.want))
			}
			for i, w := range tt.want {
				got := f.flags[i]
				if got.FlagID != hashID(RuleRepeatedCallsBeforePurchase, w.purchase) {
					t.Errorf("flag %d: id %s is not that of purchase %s", i, got.FlagID, w.purchase)
				}
				if got.Severity != w.severity {
					t.Errorf("flag %d: severity %s, want %s", i, got.Severity, w.severity)
				}
				if !slices.Equal(got.Evidence, w.evidence) {
					t.Errorf("flag %d: evidence %v, want %v", i, got.Evidence, w.evidence)
				}
			}
		})
	}
}

func TestRepeatedCallsFlagRow(t *testing.T) {
	e := New(Config{}, fakeClock)
	f := foldAll(e, []schemas.Touchpoint{
		phoneCall("c1", 0), phoneCall("c2", 2), phoneCall("c3", 5), phoneCall("c4", 5.5),
		purchase("buy", 6, `{"revenue":10,"order_id":"o-1"}`),
	})
	if len(f.flags) != 1 {
		t.Fatalf("got %d flags, want 1", len(f.flags))
	}
	journeyID := f.touchpoints[0].JourneyID
	want := schemas.FrictionFlag{
		FlagID:     "", // checked below
		Rule:       "repeated_calls_before_purchase",
		CustomerID: "c-1",
		JourneyID:  journeyID,
		OccurredAt: day(6),
		DetectedAt: detectedAt,
		Severity:   schemas.SeverityWarning,
		Evidence:   []string{"c1", "c2", "c3", "c4"},
		Details:    `{"calls":4,"window_hours":336,"order_id":"o-1"}`,
		Version:    uint64(f.touchpoints[len(f.touchpoints)-1].KafkaOffset) + 1, // the purchase's record

	}
	got := f.flags[0]
	if len(got.FlagID) != 32 || got.FlagID != hashID("repeated_calls_before_purchase", "buy") {
		t.Errorf("FlagID %q", got.FlagID)
	}
	got.FlagID = ""
	if !flagEqual(got, want) {
		t.Errorf("flag\n got %+v\nwant %+v", got, want)
	}
	last := f.journeys[len(f.journeys)-1]
	if last.FrictionCount != 1 || last.Status != schemas.JourneyConverted || last.JourneyID != journeyID {
		t.Errorf("journey after flagged purchase: %+v", last)
	}
}

func TestRepeatedCallsDetailsWithoutOrderID(t *testing.T) {
	f := foldAll(New(Config{}, fakeClock), []schemas.Touchpoint{
		phoneCall("c1", 0), phoneCall("c2", 1), phoneCall("c3", 2), purchase("buy", 3, `not json`),
	})
	if len(f.flags) != 1 || f.flags[0].Details != `{"calls":3,"window_hours":336}` {
		t.Fatalf("flags %+v", f.flags)
	}
}

func flagEqual(a, b schemas.FrictionFlag) bool {
	return a.FlagID == b.FlagID && a.Rule == b.Rule && a.CustomerID == b.CustomerID && a.JourneyID == b.JourneyID &&
		a.OccurredAt.Equal(b.OccurredAt) && a.DetectedAt.Equal(b.DetectedAt) && a.Severity == b.Severity &&
		slices.Equal(a.Evidence, b.Evidence) && a.Details == b.Details && a.Version == b.Version
}

func TestParsePurchase(t *testing.T) {
	tests := []struct {
		name, props string
		revenue     float64
		orderID     string
	}{
		{"number revenue and string order id", `{"revenue":12.5,"order_id":"o-1","currency":"EUR"}`, 12.5, "o-1"},
		{"missing revenue is zero", `{"order_id":"o-2"}`, 0, "o-2"},
		{"numeric string revenue is read", `{"revenue":"7.25"}`, 7.25, ""},
		{"non-numeric revenue is zero", `{"revenue":"lots","order_id":42}`, 0, "42"},
		{"null revenue is zero", `{"revenue":null}`, 0, ""},
		{"non-finite revenue is zero", `{"revenue":"NaN"}`, 0, ""},
		{"invalid json is zero", `{"revenue":`, 0, ""},
		{"empty properties are zero", ``, 0, ""},
		{"properties that are not an object are zero", `[1,2]`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			revenue, orderID := parsePurchase(tt.props)
			if revenue != tt.revenue || orderID != tt.orderID {
				t.Errorf("parsePurchase(%q) = %v, %q; want %v, %q", tt.props, revenue, orderID, tt.revenue, tt.orderID)
			}
		})
	}
}
