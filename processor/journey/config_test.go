package journey

import (
	"errors"
	"flag"
	"testing"
	"time"
)

func TestConfigFlags(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if c != DefaultConfig() {
		t.Errorf("registered defaults %+v, want %+v", c, DefaultConfig())
	}
	err := fs.Parse([]string{
		"-journey.inactivity-timeout=168h",
		"-journey.repeated-calls.min-calls=2",
		"-journey.repeated-calls.critical-calls=4",
		"-journey.repeated-calls.window=720h",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{InactivityTimeout: 7 * 24 * time.Hour, RepeatedCalls: RepeatedCallsConfig{2, 4, 30 * 24 * time.Hour}}
	if c != want {
		t.Errorf("parsed %+v, want %+v", c, want)
	}
}

func TestNewPanicsOnInvalidConfig(t *testing.T) {
	defer func() {
		err, _ := recover().(error)
		if !errors.Is(err, ErrMinCalls) {
			t.Errorf("recovered %v, want %v", err, ErrMinCalls)
		}
	}()
	New(Config{RepeatedCalls: RepeatedCallsConfig{MinCalls: -2}}, nil)
}
