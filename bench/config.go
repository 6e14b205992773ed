package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Config of one bench run. Zero values take the defaults of WithDefaults.
type Config struct {
	// Binary is the journeys binary the components run as (required).
	Binary string
	// WorkDir holds logs, the ClickHouse data and the peers' files
	// (required).
	WorkDir string
	// ClickHouse is the native address of a running server to use instead
	// of a throwaway one; its CPU and memory are then not measured.
	ClickHouse string
	// Database the bench's tables live in; default journeys_bench. It is
	// dropped and created afresh.
	Database string
	// Customers simulated; half are sent at the fixed rate, half at the
	// maximum rate. Default 30,000 (about 510,000 events).
	Customers int
	// Seed of the simulated traffic; default 1.
	Seed int64
	// Rate is the fixed rate in events/s of phase 1; default 50,000 (the rate of the targets).
	Rate int
	// BatchSize is events per request in the pipeline phases; default 100.
	BatchSize int
	// Senders is the number of concurrent senders in the pipeline phases
	// (each owns its customers, so their events stay in order); default 16.
	Senders int
	// IngestFor is the length of each ingest-stage run; default 8s; a
	// negative value skips the ingest stage.
	IngestFor time.Duration
	// SingleConns and BatchConns are the connections of the ingest-stage
	// runs with one event per request and with batches; defaults 256 and 16.
	SingleConns, BatchConns int
	// Redpanda is the Redpanda Connect binary; empty skips that peer.
	Redpanda string
	// Scale lists the customers of each step of the scaling run (at most
	// 4); empty skips it.
	Scale []int
	// ScaleEventsPerCustomer is the touchpoints of each customer in the
	// scaling run; default 2.
	ScaleEventsPerCustomer int
	// ProfileDir, when set, receives CPU and allocation profiles of ingest
	// and processor.
	ProfileDir string
	// Timeout bounds each wait for the processor or a peer to catch up;
	// default 10m.
	Timeout time.Duration
	// Log receives progress; default discards.
	Log *slog.Logger
}

// Defaults of Config.
const (
	DefaultDatabase    = "journeys_bench"
	DefaultCustomers   = 30_000
	DefaultRate        = 50_000
	DefaultBatchSize   = 100
	DefaultSenders     = 16
	DefaultIngestFor   = 8 * time.Second
	DefaultSingleConns = 256
	DefaultBatchConns  = 16
	DefaultTimeout     = 10 * time.Minute
)

// WithDefaults fills zero fields.
func (c Config) WithDefaults() Config {
	set := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	set(&c.Customers, DefaultCustomers)
	set(&c.Rate, DefaultRate)
	set(&c.BatchSize, DefaultBatchSize)
	set(&c.Senders, DefaultSenders)
	set(&c.SingleConns, DefaultSingleConns)
	set(&c.BatchConns, DefaultBatchConns)
	set(&c.ScaleEventsPerCustomer, 2)
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.IngestFor == 0 {
		c.IngestFor = DefaultIngestFor
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// Errors of Validate, wrapped with the offending value.
var (
	ErrNoBinary  = errors.New("bench: the journeys binary is required")
	ErrNoWorkDir = errors.New("bench: a work folder is required")
	ErrCustomers = errors.New("bench: customers must be between 2 and 999999 (half go to each pipeline phase)")
	ErrPositive  = errors.New("bench: must be positive")
	ErrBatchSize = errors.New("bench: batch size must be between 1 and 500")
)

// Validate reports the first invalid field, after defaults.
func (c Config) Validate() error {
	c = c.WithDefaults()
	switch {
	case c.Binary == "":
		return ErrNoBinary
	case c.WorkDir == "":
		return ErrNoWorkDir
	case c.Customers < 2 || c.Customers > 999_999:
		return fmt.Errorf("%w: %d", ErrCustomers, c.Customers)
	case c.BatchSize < 1 || c.BatchSize > 500:
		return fmt.Errorf("%w: %d", ErrBatchSize, c.BatchSize)
	}
	for _, n := range c.Scale {
		if n < 1 || n > 9_999_999 {
			return fmt.Errorf("scaling step of %d customers: %w (at most 9,999,999)", n, ErrPositive)
		}
	}
	if len(c.Scale) > len(scaleTopics) {
		return fmt.Errorf("bench: %d scaling steps, at most %d", len(c.Scale), len(scaleTopics))
	}
	for name, v := range map[string]int{"scale-events-per-customer": c.ScaleEventsPerCustomer, "rate": c.Rate, "senders": c.Senders, "single-conns": c.SingleConns, "batch-conns": c.BatchConns} {
		if v < 1 {
			return fmt.Errorf("%s %d: %w", name, v, ErrPositive)
		}
	}
	return nil
}
