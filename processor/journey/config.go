package journey

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/journeys/journeys/processor/rules"
)

// DefaultInactivityTimeout is the default of Config.InactivityTimeout.
const DefaultInactivityTimeout = 30 * 24 * time.Hour

// ErrInactivityTimeout is what Validate returns (wrapped with the offending
// value) for a negative timeout.
var ErrInactivityTimeout = errors.New("journey: inactivity timeout must be positive")

// Config of the engine. The zero value is the default configuration.
type Config struct {
	// InactivityTimeout ends an open journey as abandoned when the customer
	// has no touchpoint for longer than this, in event time. Zero means 30 days.
	InactivityTimeout time.Duration
	// Rules are the friction rules to run. Nil means rules.Default(), the
	// rules of schemas/friction-rules.yaml.
	Rules *rules.Set
}

// DefaultConfig returns the configuration with every default filled in.
func DefaultConfig() Config {
	return Config{}.withDefaults()
}

func (c Config) withDefaults() Config {
	if c.InactivityTimeout == 0 {
		c.InactivityTimeout = DefaultInactivityTimeout
	}
	if c.Rules == nil {
		c.Rules = rules.Default()
	}
	return c
}

// Validate reports the first invalid field, after filling in defaults. The
// rules were validated when they were loaded.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.InactivityTimeout < 0 {
		return fmt.Errorf("%w: %s", ErrInactivityTimeout, c.InactivityTimeout)
	}
	return nil
}

// RegisterFlags registers the configuration's flags on fs, with the defaults
// filled in. --rules FILE loads and validates a rules file while the flags
// are parsed, so a mistake in it stops the command at once with the rule and
// field at fault.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	d := DefaultConfig()
	fs.DurationVar(&c.InactivityTimeout, "journey.inactivity-timeout", d.InactivityTimeout,
		"a journey without a touchpoint for longer than this (event time) is abandoned")
	c.Rules = d.Rules
	fs.Func("rules", "friction rules YAML `file` (default: the built-in schemas/friction-rules.yaml)", func(path string) error {
		s, err := rules.Load(path)
		if err != nil {
			return err
		}
		c.Rules = s
		return nil
	})
}
