package journey

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// Defaults of Config; a zero field in Config means its default.
const (
	DefaultInactivityTimeout = 30 * 24 * time.Hour
	DefaultMinCalls          = 3
	DefaultCriticalCalls     = 5
	DefaultCallsWindow       = 14 * 24 * time.Hour
)

// Errors Validate returns (wrapped with the offending value).
var (
	ErrInactivityTimeout = errors.New("journey: inactivity timeout must be positive")
	ErrMinCalls          = errors.New("journey: repeated calls min calls must be at least 1")
	ErrCriticalCalls     = errors.New("journey: repeated calls critical calls must be at least min calls")
	ErrCallsWindow       = errors.New("journey: repeated calls window must be positive")
)

// Config of the engine. The zero value is the default configuration.
type Config struct {
	// InactivityTimeout ends an open journey as abandoned when the customer
	// has no touchpoint for longer than this, in event time. Zero means 30 days.
	InactivityTimeout time.Duration
	RepeatedCalls     RepeatedCallsConfig
}

// RepeatedCallsConfig configures the repeated_calls_before_purchase rule: a
// purchase preceded by at least MinCalls calls of the same customer within
// Window (since their previous purchase).
type RepeatedCallsConfig struct {
	// MinCalls is the number of calls that raises a warning. Zero means 3.
	MinCalls int
	// CriticalCalls is the number of calls that makes the flag critical. Zero
	// means 5, or MinCalls when that is larger.
	CriticalCalls int
	// Window is how far before the purchase calls count. Zero means 14 days.
	Window time.Duration
}

// DefaultConfig returns the configuration with every default filled in.
func DefaultConfig() Config {
	return Config{}.withDefaults()
}

func (c Config) withDefaults() Config {
	if c.InactivityTimeout == 0 {
		c.InactivityTimeout = DefaultInactivityTimeout
	}
	rc := &c.RepeatedCalls
	if rc.MinCalls == 0 {
		rc.MinCalls = DefaultMinCalls
	}
	if rc.CriticalCalls == 0 {
		rc.CriticalCalls = max(DefaultCriticalCalls, rc.MinCalls)
	}
	if rc.Window == 0 {
		rc.Window = DefaultCallsWindow
	}
	return c
}

// Validate reports the first invalid field, after filling in defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	rc := c.RepeatedCalls
	switch {
	case c.InactivityTimeout < 0:
		return fmt.Errorf("%w: %s", ErrInactivityTimeout, c.InactivityTimeout)
	case rc.MinCalls < 1:
		return fmt.Errorf("%w: %d", ErrMinCalls, rc.MinCalls)
	case rc.CriticalCalls < rc.MinCalls:
		return fmt.Errorf("%w: %d < %d", ErrCriticalCalls, rc.CriticalCalls, rc.MinCalls)
	case rc.Window < 0:
		return fmt.Errorf("%w: %s", ErrCallsWindow, rc.Window)
	}
	return nil
}

// RegisterFlags registers the configuration's flags on fs, with the defaults
// filled in.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	d := DefaultConfig()
	fs.DurationVar(&c.InactivityTimeout, "journey.inactivity-timeout", d.InactivityTimeout,
		"a journey without a touchpoint for longer than this (event time) is abandoned")
	fs.IntVar(&c.RepeatedCalls.MinCalls, "journey.repeated-calls.min-calls", d.RepeatedCalls.MinCalls,
		"calls before a purchase that raise a repeated_calls_before_purchase warning")
	fs.IntVar(&c.RepeatedCalls.CriticalCalls, "journey.repeated-calls.critical-calls", d.RepeatedCalls.CriticalCalls,
		"calls before a purchase that make the flag critical")
	fs.DurationVar(&c.RepeatedCalls.Window, "journey.repeated-calls.window", d.RepeatedCalls.Window,
		"how far before a purchase calls count")
}
