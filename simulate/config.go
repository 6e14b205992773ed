package simulate

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of Config's zero values.
const (
	// DefaultDays is four weeks, not thirty days: a period that ends today
	// and starts at a midnight thirty days back holds events older than the
	// processor's default 30-day inactivity timeout by the wall clock, so a
	// live processor that sees a customer's first event in one batch and
	// the next in a later one closes the journey between them and the
	// ground truth no longer holds (a CI run that took a minute did).
	// Twenty-eight days keep the oldest event at least a day inside it.
	DefaultDays        = 28
	DefaultBatchSize   = 100
	DefaultConcurrency = 4
	DefaultMaxAttempts = 8
	DefaultMinBackoff  = 250 * time.Millisecond
	DefaultMaxBackoff  = 10 * time.Second

	// MaxBatchSize keeps a batch well under Segment's 500 KB request limit
	// (our events are well under 1 KB each).
	MaxBatchSize = 500
	// MaxCustomers keeps customer ids in the c-000123 shape.
	MaxCustomers = 999_999
)

// Errors Validate returns; each is wrapped with the offending value.
var (
	ErrCustomers   = errors.New("customers must be between 1 and 999999")
	ErrDays        = errors.New("days must be between 1 and 366")
	ErrBatchSize   = errors.New("batch size must be between 1 and 500")
	ErrConcurrency = errors.New("concurrency must be between 1 and 256")
	ErrAttempts    = errors.New("max attempts must be at least 1")
	ErrBackoff     = errors.New("backoff must be non-negative and min <= max")
)

// Config says what traffic to generate and how to send it. Zero values mean
// the documented defaults; WithDefaults fills them in.
type Config struct {
	// Customers is the number of simulated customers (required).
	Customers int
	// Seed makes Generate deterministic: the same Config gives the same
	// events, message ids included.
	Seed int64
	// Start is the first day of the simulated period. Zero means now minus
	// Days days, truncated to the UTC day, so the period ends today. Set it
	// explicitly when determinism across days matters (tests).
	Start time.Time
	// Days is the length of the simulated period; default 28. With the
	// default Start, more than 29 days puts the first events within the
	// processor's 30-day inactivity timeout of the wall clock (see
	// DefaultDays).
	Days int
	// BatchSize is the number of events per POST /v1/batch; default 100.
	BatchSize int
	// Concurrency is the number of sending workers; default 4.
	Concurrency int
	// MaxAttempts bounds the attempts per batch (first try included) on
	// 429, 5xx and network errors; default 8.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the jittered exponential backoff
	// between attempts; defaults 250ms and 10s. A Retry-After header
	// overrides the computed backoff, capped at MaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Days == 0 {
		c.Days = DefaultDays
	}
	if c.Start.IsZero() {
		c.Start = time.Now().UTC().AddDate(0, 0, -c.Days).Truncate(24 * time.Hour)
	}
	c.Start = c.Start.UTC()
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	return c
}

// Validate reports the first invalid field, after applying defaults.
func (c Config) Validate() error {
	c = c.WithDefaults()
	switch {
	case c.Customers < 1 || c.Customers > MaxCustomers:
		return fmt.Errorf("%w: %d", ErrCustomers, c.Customers)
	case c.Days < 1 || c.Days > 366:
		return fmt.Errorf("%w: %d", ErrDays, c.Days)
	}
	return c.validateSend()
}

// validateSend checks the fields Send uses.
func (c Config) validateSend() error {
	switch {
	case c.BatchSize < 1 || c.BatchSize > MaxBatchSize:
		return fmt.Errorf("%w: %d", ErrBatchSize, c.BatchSize)
	case c.Concurrency < 1 || c.Concurrency > 256:
		return fmt.Errorf("%w: %d", ErrConcurrency, c.Concurrency)
	case c.MaxAttempts < 1:
		return fmt.Errorf("%w: %d", ErrAttempts, c.MaxAttempts)
	case c.MinBackoff < 0 || c.MaxBackoff < c.MinBackoff:
		return fmt.Errorf("%w: min %s, max %s", ErrBackoff, c.MinBackoff, c.MaxBackoff)
	}
	return nil
}
