package dashboards

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

func alertRules(t *testing.T) map[string]AlertRule {
	t.Helper()
	groups, err := AlertRuleGroups()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]AlertRule{}
	for _, g := range groups {
		for _, r := range g.Rules {
			out[r.UID] = r
		}
	}
	return out
}

func TestAlertRulesAreValid(t *testing.T) {
	groups, err := AlertRuleGroups()
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateAlertRules(groups); err != nil {
		t.Fatal(err)
	}
	rules := alertRules(t)
	for _, uid := range []string{"journeys-friction-spike", "journeys-calls-before-purchase", "journeys-promises-overdue", "journeys-data-freshness"} {
		if _, ok := rules[uid]; !ok {
			t.Errorf("alert rule %s missing", uid)
		}
	}
}

func TestValidateAlertRulesFindsBrokenRules(t *testing.T) {
	good := func() AlertRuleGroup {
		return AlertRuleGroup{Name: "g", Folder: "F", Interval: "1m", File: "x.yaml", Rules: []AlertRule{{
			UID: "r", Title: "R", Condition: "C",
			Data: []AlertQuery{
				{RefID: "A", DatasourceUID: "journeys-clickhouse", Model: map[string]any{"rawSql": "SELECT 1"}},
				{RefID: "C", DatasourceUID: ExpressionUID, Model: map[string]any{"type": "threshold", "expression": "A"}},
			}}}}
	}
	cases := []struct {
		name   string
		break_ func(g *AlertRuleGroup)
		errHas string
	}{
		{name: "a well-formed rule passes", break_: func(*AlertRuleGroup) {}},
		{name: "condition names no step", break_: func(g *AlertRuleGroup) { g.Rules[0].Condition = "Z" }, errHas: `condition "Z" names no step`},
		{name: "unknown data source", break_: func(g *AlertRuleGroup) { g.Rules[0].Data[0].DatasourceUID = "nope" }, errHas: `datasource uid "nope" is not provisioned`},
		{name: "expression on a missing step", break_: func(g *AlertRuleGroup) { g.Rules[0].Data[1].Model["expression"] = "B" }, errHas: `expression "B" names no step`},
		{name: "query without SQL", break_: func(g *AlertRuleGroup) { delete(g.Rules[0].Data[0].Model, "rawSql") }, errHas: "rawSql is empty"},
		{name: "repeated uid", break_: func(g *AlertRuleGroup) { g.Rules = append(g.Rules, g.Rules[0]) }, errHas: "uid repeated"},
		{name: "interval off Grafana's 10 s tick", break_: func(g *AlertRuleGroup) { g.Interval = "45s" }, errHas: `interval "45s": want a positive multiple of 10s`},
		{name: "interval that is not a duration", break_: func(g *AlertRuleGroup) { g.Interval = "hourly" }, errHas: `interval "hourly"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := good()
			c.break_(&g)
			err := ValidateAlertRules([]AlertRuleGroup{g})
			if c.errHas == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.errHas) {
				t.Fatalf("err = %v, want %q", err, c.errHas)
			}
		})
	}
}

// threshold returns the comparison and the limit of the rule's condition
// step (a threshold expression), as Grafana applies it to each series.
func threshold(t *testing.T, r AlertRule) func(float64) bool {
	t.Helper()
	for _, q := range r.Data {
		if q.RefID != r.Condition {
			continue
		}
		conds, _ := q.Model["conditions"].([]any)
		if q.Model["type"] != "threshold" || len(conds) != 1 {
			t.Fatalf("rule %s: condition %s is not a threshold with one condition", r.UID, r.Condition)
		}
		ev := conds[0].(map[string]any)["evaluator"].(map[string]any)
		params := ev["params"].([]any)
		limit := toFloat(t, params[0])
		switch ev["type"] {
		case "gt":
			return func(v float64) bool { return v > limit }
		case "lt":
			return func(v float64) bool { return v < limit }
		}
		t.Fatalf("rule %s: evaluator %v not handled by this test", r.UID, ev["type"])
	}
	t.Fatalf("rule %s: no step %s", r.UID, r.Condition)
	return nil
}

func toFloat(t *testing.T, v any) float64 {
	t.Helper()
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	}
	t.Fatalf("%v (%T) is not a number", v, v)
	return 0
}

// seriesOf runs a rule's SQL and returns its series as Grafana builds them
// from a table: string columns are labels, the one numeric column the value.
func seriesOf(t *testing.T, s *store.Store, r AlertRule) map[string]float64 {
	t.Helper()
	var sql string
	for _, q := range r.Data {
		if q.DatasourceUID != ExpressionUID {
			sql = q.SQL()
		}
	}
	rows, err := runQuery(context.Background(), s.Conn(), sql)
	if err != nil {
		t.Fatalf("rule %s: %v\n%s", r.UID, err, sql)
	}
	out := map[string]float64{}
	for _, row := range rows {
		var labels []string
		var value *float64
		for _, v := range row {
			if str, ok := v.(string); ok {
				labels = append(labels, str)
				continue
			}
			if value != nil {
				t.Fatalf("rule %s: more than one numeric column in %v", r.UID, row)
			}
			f := toFloat(t, v)
			value = &f
		}
		if value == nil {
			t.Fatalf("rule %s: no numeric column in %v", r.UID, row)
		}
		out[strings.Join(labels, ",")] = *value
	}
	return out
}

func flag(id, rule string, occurred, detected time.Time, version uint64) schemas.FrictionFlag {
	return schemas.FrictionFlag{FlagID: id, Rule: rule, CustomerID: "c-" + id, JourneyID: "j-" + id,
		OccurredAt: occurred, DetectedAt: detected, Severity: "warning", Evidence: []string{"m-" + id}, Details: "{}", Version: version}
}

// flagsPerHour writes n flags of rule in each of the 168 hours before the
// last one, in the middle of each hour.
func flagsPerHour(rule string, n int, now time.Time) []schemas.FrictionFlag {
	var out []schemas.FrictionFlag
	for h := 1; h <= 168; h++ {
		for i := 0; i < n; i++ {
			at := now.Add(-time.Duration(h)*time.Hour - 30*time.Minute + time.Duration(i)*time.Second)
			out = append(out, flag(fmt.Sprintf("%s-%d-%d", rule, h, i), rule, at, at, 1))
		}
	}
	return out
}

// lastHour writes n flags of rule within the last hour.
func lastHour(rule string, n int, now time.Time, version uint64) []schemas.FrictionFlag {
	var out []schemas.FrictionFlag
	for i := 0; i < n; i++ {
		at := now.Add(-30*time.Minute + time.Duration(i)*time.Second)
		out = append(out, flag(fmt.Sprintf("%s-now-%d", rule, i), rule, at, at, version))
	}
	return out
}

func converted(id string, ended time.Time, path ...string) schemas.Journey {
	return schemas.Journey{JourneyID: id, CustomerID: "c-" + id, StartedAt: ended.Add(-48 * time.Hour), EndedAt: ended,
		Status: "converted", Touchpoints: uint32(len(path)), Channels: []string{"web", "phone"}, Path: path, Version: 1}
}

func calls(n int, after ...string) []string {
	p := []string{"page"}
	for i := 0; i < n; i++ {
		p = append(p, "call")
	}
	return append(append(p, "purchase"), after...)
}

func touchpoint(id string, received time.Time) schemas.Touchpoint {
	return schemas.Touchpoint{MessageID: id, CustomerID: "c1", UserID: "c1", Type: "page", Event: "page", Channel: "web",
		Timestamp: received, ReceivedAt: received, JourneyID: "j1", Properties: "{}", Context: "{}", Source: "test", Version: 1}
}

// Every alert SQL runs on the real ClickHouse over seeded rows; the values
// it returns and whether Grafana's threshold fires on them are checked.
func TestAlertRuleQueriesOnClickHouse(t *testing.T) {
	rules := alertRules(t)
	type seed struct {
		flags      [][]schemas.FrictionFlag // one insert each
		journeys   []schemas.Journey
		touchpoint []schemas.Touchpoint
	}
	cases := []struct {
		name  string
		rule  string
		seed  func(now time.Time) seed
		want  map[string]float64 // series → value
		tol   float64
		fires []string // series that cross the threshold
	}{
		{name: "a rule at ten times its hourly baseline spikes; a flat rule and a rare one do not",
			rule: "journeys-friction-spike",
			seed: func(now time.Time) seed {
				return seed{flags: [][]schemas.FrictionFlag{
					append(flagsPerHour("help_page_then_call", 1, now), lastHour("help_page_then_call", 10, now, 1)...),
					// the same ten flags rewritten: FINAL counts them once
					lastHour("help_page_then_call", 10, now, 2),
					append(flagsPerHour("repeated_calls_before_purchase", 10, now), lastHour("repeated_calls_before_purchase", 10, now, 1)...),
					lastHour("long_call_wait", 3, now, 1),
					// older than the 7-day baseline: ignored
					{flag("old", "many_transfers", now.Add(-10*24*time.Hour), now.Add(-10*24*time.Hour), 1)},
				}}
			},
			want:  map[string]float64{"help_page_then_call": 10, "repeated_calls_before_purchase": 1, "long_call_wait": 0},
			fires: []string{"help_page_then_call"},
		},
		{name: "a flat baseline does not spike",
			rule: "journeys-friction-spike",
			seed: func(now time.Time) seed {
				return seed{flags: [][]schemas.FrictionFlag{
					append(flagsPerHour("detractor_survey", 6, now), lastHour("detractor_survey", 6, now, 1)...),
				}}
			},
			want: map[string]float64{"detractor_survey": 1},
		},
		{name: "2.5 calls on average before purchase fires; calls after the purchase and old journeys do not count",
			rule: "journeys-calls-before-purchase",
			seed: func(now time.Time) seed {
				var js []schemas.Journey
				for i := 0; i < 5; i++ {
					js = append(js, converted(fmt.Sprintf("four-%d", i), now.Add(-time.Hour), calls(4)...))
					js = append(js, converted(fmt.Sprintf("one-%d", i), now.Add(-2*time.Hour), calls(1, "call", "call")...))
				}
				js = append(js, converted("last-week", now.Add(-7*24*time.Hour), calls(10)...))
				return seed{journeys: js}
			},
			want: map[string]float64{"": 2.5}, fires: []string{""},
		},
		{name: "one call before purchase is quiet",
			rule: "journeys-calls-before-purchase",
			seed: func(now time.Time) seed {
				var js []schemas.Journey
				for i := 0; i < 12; i++ {
					js = append(js, converted(fmt.Sprintf("j%d", i), now.Add(-3*time.Hour), calls(1)...))
				}
				return seed{journeys: js}
			},
			want: map[string]float64{"": 1},
		},
		{name: "too few purchases to judge are quiet",
			rule: "journeys-calls-before-purchase",
			seed: func(now time.Time) seed {
				return seed{journeys: []schemas.Journey{converted("a", now.Add(-time.Hour), calls(6)...), converted("b", now.Add(-time.Hour), calls(6)...)}}
			},
			want: map[string]float64{"": 0},
		},
		{name: "promises found overdue in the last hour fire",
			rule: "journeys-promises-overdue",
			seed: func(now time.Time) seed {
				return seed{flags: [][]schemas.FrictionFlag{{
					flag("p1", "promise_not_kept", now.Add(-26*time.Hour), now.Add(-10*time.Minute), 1),
					flag("p2", "promise_not_kept", now.Add(-2*time.Hour), now.Add(-5*time.Minute), 1),
					flag("p3", "promise_not_kept", now.Add(-5*time.Hour), now.Add(-3*time.Hour), 1),
					flag("x1", "trial_ending_without_contact", now.Add(-time.Hour), now.Add(-time.Minute), 1),
				}, {flag("p2", "promise_not_kept", now.Add(-2*time.Hour), now.Add(-5*time.Minute), 2)}}}
			},
			want: map[string]float64{"": 2}, fires: []string{""},
		},
		{name: "no overdue promise is quiet",
			rule: "journeys-promises-overdue",
			seed: func(now time.Time) seed {
				return seed{flags: [][]schemas.FrictionFlag{{flag("p3", "promise_not_kept", now.Add(-5*time.Hour), now.Add(-3*time.Hour), 1)}}}
			},
			want: map[string]float64{"": 0},
		},
		{name: "a touchpoint two minutes ago is fresh",
			rule: "journeys-data-freshness",
			seed: func(now time.Time) seed {
				return seed{touchpoint: []schemas.Touchpoint{touchpoint("old", now.Add(-3*time.Hour)), touchpoint("new", now.Add(-2*time.Minute))}}
			},
			want: map[string]float64{"": 2}, tol: 0.5,
		},
		{name: "forty minutes without a touchpoint fires",
			rule: "journeys-data-freshness",
			seed: func(now time.Time) seed {
				return seed{touchpoint: []schemas.Touchpoint{touchpoint("t", now.Add(-40*time.Minute))}}
			},
			want: map[string]float64{"": 40}, tol: 0.5, fires: []string{""},
		},
		{name: "no touchpoint in a day fires",
			rule: "journeys-data-freshness",
			seed: func(now time.Time) seed {
				return seed{touchpoint: []schemas.Touchpoint{touchpoint("t", now.Add(-48*time.Hour))}}
			},
			want: map[string]float64{"": float64(time.Now().Unix()) / 60}, tol: 1, fires: []string{""},
		},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, ok := rules[c.rule]
			if !ok {
				t.Fatalf("no alert rule %s", c.rule)
			}
			covered[c.rule] = true
			s := chtest.Open(t)
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Second)
			sd := c.seed(now)
			for _, fs := range sd.flags {
				if err := s.InsertFlags(ctx, fs); err != nil {
					t.Fatal(err)
				}
			}
			if len(sd.journeys) > 0 {
				if err := s.InsertJourneys(ctx, sd.journeys); err != nil {
					t.Fatal(err)
				}
			}
			if len(sd.touchpoint) > 0 {
				if err := s.InsertTouchpoints(ctx, sd.touchpoint); err != nil {
					t.Fatal(err)
				}
			}
			got := seriesOf(t, s, r)
			if len(got) != len(c.want) {
				t.Fatalf("series %v, want %v", got, c.want)
			}
			tol := c.tol
			if tol == 0 {
				tol = 1e-9
			}
			for k, w := range c.want {
				if g, ok := got[k]; !ok || math.Abs(g-w) > tol {
					t.Errorf("series %q = %v, want %v (all: %v)", k, got[k], w, got)
				}
			}
			above := threshold(t, r)
			var fired []string
			for k, v := range got {
				if above(v) {
					fired = append(fired, k)
				}
			}
			sort.Strings(fired)
			if strings.Join(fired, "|") != strings.Join(c.fires, "|") {
				t.Errorf("fires for %q, want %q (values %v)", fired, c.fires, got)
			}
		})
	}
	for uid := range rules {
		if !covered[uid] {
			t.Errorf("alert rule %s has no ClickHouse test", uid)
		}
	}
}
