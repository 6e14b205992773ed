package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/journeys/journeys/schemas"
)

const validRule = `  - id: long_wait
    description: A long wait.
    severity: warning
    threshold:
      match: {event: call}
      property: wait_seconds
      gte: 300
`

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // all must appear in the error
	}{
		{"unknown field in a shape names rule, line and field", `rules:
` + validRule + `  - id: repeat
    description: d
    severity: info
    repeat_within:
      match: {event: call}
      min: 2
      within: 7d
      same_topic: true
`, []string{"rule repeat", "line 16", "unknown field same_topic"}},
		{"unknown field in a filter", `rules:
  - id: r1
    description: d
    severity: info
    threshold:
      match: {event: call, chanel: phone}
      property: wait_seconds
      gte: 1
`, []string{"rule r1", "unknown field chanel"}},
		{"bad duration", `rules:
  - id: r1
    description: d
    severity: info
    sequence:
      first: {event: page}
      then: {event: call}
      within: 2 hours
`, []string{"rule r1", "sequence.within", `bad duration "2 hours"`}},
		{"unknown duration unit", `rules:
  - id: r1
    description: d
    severity: info
    sequence: {first: {event: page}, then: {event: call}, within: 2y}
`, []string{"rule r1", `unknown unit "y"`}},
		{"unknown shape", `rules:
  - id: r1
    description: d
    severity: info
    count_after:
      count: {event: call}
`, []string{"rule r1", `unknown shape or field "count_after"`, "no shape"}},
		{"two shapes", `rules:
  - id: r1
    description: d
    severity: info
    threshold: {match: {event: call}, property: x, gt: 1}
    sequence: {first: {event: page}, then: {event: call}, within: 1h}
`, []string{"rule r1", "2 shapes"}},
		{"missing id", `rules:
` + validRule + `  - description: d
    severity: info
    threshold: {match: {event: call}, property: x, gt: 1}
`, []string{"rule 2", "id: missing"}},
		{"duplicate id", `rules:
` + validRule + validRule, []string{"rule long_wait", "duplicate id (also rule 1)"}},
		{"unknown event", `rules:
  - id: r1
    description: d
    severity: info
    threshold: {match: {event: cal}, property: x, gt: 1}
`, []string{"rule r1", "threshold.match.event", `unknown event "cal"`, "custom_events: true"}},
		{"unknown severity", `rules:
  - id: r1
    description: d
    severity: high
    threshold: {match: {event: call}, property: x, gt: 1}
`, []string{"rule r1", `severity "high"`}},
		{"missing description", `rules:
  - id: r1
    severity: info
    threshold: {match: {event: call}, property: x, gt: 1}
`, []string{"rule r1", "description: missing"}},
		{"threshold needs exactly one comparison", `rules:
  - id: r1
    description: d
    severity: info
    threshold: {match: {event: call}, property: x, gt: 1, lt: 5}
`, []string{"rule r1", "exactly one of gt, gte, lt, lte"}},
		{"escalation below min", `rules:
  - id: r1
    description: d
    severity: info
    escalate: {at: 1, severity: critical}
    repeat_within: {match: {event: call}, min: 2, within: 1d}
`, []string{"rule r1", "escalate.at: 1 is below min 2"}},
		{"escalation not past the threshold", `rules:
  - id: r1
    description: d
    severity: info
    escalate: {at: 1, severity: critical}
    threshold: {match: {event: call}, property: x, gte: 300}
`, []string{"rule r1", "does not pass the threshold"}},
		{"absence without a window", `rules:
  - id: r1
    description: d
    severity: info
    absence: {first: {event: promise_made}, then: {event: promise_kept}}
`, []string{"rule r1", "want within, due_property"}},
		{"max_due without due_property", `rules:
  - id: r1
    description: d
    severity: info
    absence: {first: {event: promise_made}, then: {event: promise_kept}, within: 1d, max_due: 2d}
`, []string{"rule r1", "max_due: only with due_property"}},
		{"max_due shorter than within", `rules:
  - id: r1
    description: d
    severity: info
    absence: {first: {event: promise_made}, then: {event: promise_kept}, due_property: due_at, within: 3d, max_due: 2d}
`, []string{"rule r1", "max_due: shorter than within"}},
		{"absence both ways", `rules:
  - id: r1
    description: d
    severity: info
    absence: {first: {event: trial_ending}, then: {event: email}, before: 7d, within: 1d}
`, []string{"rule r1", "give one or the other"}},
		{"filter on properties alone", `rules:
  - id: r1
    description: d
    severity: info
    threshold: {match: {properties: {x: {gt: 1}}}, property: x, gt: 1}
`, []string{"rule r1", "threshold.match: name an event or a channel"}},
		{"property condition without an operator", `rules:
  - id: r1
    description: d
    severity: info
    threshold: {match: {event: call, properties: {topic: {}}}, property: x, gt: 1}
`, []string{"rule r1", "threshold.match.properties.topic: no condition"}},
		{"wrong type", `rules:
  - id: r1
    description: d
    severity: info
    repeat_within: {match: {event: call}, min: two, within: 1d}
`, []string{"rule r1", "unexpected str two"}},
		{"no rules", `rules: []`, []string{"no rules"}},
		{"unknown top-level field", "rule:\n" + validRule, []string{"unknown field rule"}},
		{"unsupported version", "version: 2\nrules:\n" + validRule, []string{"version 2"}},
		{"every bad rule is reported", `rules:
  - id: a
    description: d
    severity: info
    sequence: {first: {event: page}, then: {event: call}, within: 0h}
  - id: b
    description: d
    severity: info
    count_before: {count: {event: call}, anchor: {event: purchase}, min: 0, within: 1d}
`, []string{"rule a: sequence.within", "must be positive", "rule b: count_before.min: 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("Parse accepted the file")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseAcceptsCustomEventsWhenTheRuleSaysSo(t *testing.T) {
	_, err := Parse([]byte(`rules:
  - id: rage_click_then_call
    description: d
    severity: info
    custom_events: true
    sequence: {first: {event: rage_click}, then: {event: call}, within: 1h}
`))
	if err != nil {
		t.Fatal(err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"14d", 14 * 24 * time.Hour},
		{"2h", 2 * time.Hour},
		{"90m", 90 * time.Minute},
		{"1d12h", 36 * time.Hour},
		{"1w", 7 * 24 * time.Hour},
		{"1.5h", 90 * time.Minute},
		{"500ms", 500 * time.Millisecond},
	}
	for _, tt := range tests {
		if got, err := ParseDuration(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "7", "d", "7 d", "7days", "-1h", "1h-"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

func TestDefaultRulesParse(t *testing.T) {
	s, err := Parse(schemas.DefaultFrictionRules)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"repeated_calls_before_purchase", "repeat_contact_same_topic", "help_page_then_call", "checkout_then_call",
		"long_call_wait", "many_transfers", "detractor_survey", "promise_not_kept", "trial_ending_without_contact",
	}
	for _, id := range want {
		r := s.Rule(id)
		if r == nil {
			t.Errorf("default rules lack %s", id)
			continue
		}
		if len(r.Description) < 40 {
			t.Errorf("%s: description %q is too short to explain the rule", id, r.Description)
		}
	}
	if Default() != Default() {
		t.Error("Default is parsed more than once")
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte("rules: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load = %v, want an error naming %s", err, path)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}
