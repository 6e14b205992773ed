package journey

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/journeys/journeys/processor/rules"
)

func TestConfigFlags(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if c != DefaultConfig() {
		t.Errorf("registered defaults %+v, want %+v", c, DefaultConfig())
	}
	if c.Rules != rules.Default() {
		t.Errorf("default rules are not the embedded set")
	}
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(repeatedCallsYAML(2, 4, "30d")), 0o600); err != nil {
		t.Fatal(err)
	}
	err := fs.Parse([]string{
		"-journey.inactivity-timeout=168h",
		"-rules=" + path,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.InactivityTimeout != 7*24*time.Hour {
		t.Errorf("inactivity timeout %s", c.InactivityTimeout)
	}
	if rs := c.Rules.Rules(); len(rs) != 1 || rs[0].ID != RuleRepeatedCallsBeforePurchase {
		t.Errorf("rules from the file: %+v", rs)
	}
}

func TestRulesFlagRejectsAnInvalidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(repeatedCallsYAML(3, 5, "14d"), "14d", "14 days", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	c.RegisterFlags(fs)
	err := fs.Parse([]string{"-rules=" + path})
	if err == nil || !strings.Contains(err.Error(), "rule repeated_calls_before_purchase") || !strings.Contains(err.Error(), "count_before.within") {
		t.Fatalf("Parse = %v, want an error naming the rule and the field", err)
	}
}

func TestNewPanicsOnInvalidConfig(t *testing.T) {
	defer func() {
		err, _ := recover().(error)
		if !errors.Is(err, ErrInactivityTimeout) {
			t.Errorf("recovered %v, want %v", err, ErrInactivityTimeout)
		}
	}()
	New(Config{InactivityTimeout: -time.Hour}, nil)
}
