package processor

import (
	"errors"
	"fmt"
	"time"

	"github.com/journeys/journeys/processor/journey"
	"github.com/journeys/journeys/processor/session"
)

// Config of the processor.
type Config struct {
	// Brokers to bootstrap from.
	Brokers []string
	// Topic of touchpoints; default "touchpoints".
	Topic string
	// FrictionTopic receives each friction flag as JSON; default "friction".
	FrictionTopic string
	// GroupID of the consumer group; default "journeys-processor".
	GroupID string
	// BatchSize is the most records applied and written in one batch;
	// default 100000 (BenchmarkProcessorKafkaToClickHouse, 2026-11-23:
	// 32-34k events/s at 20,000, 54-70k at 50,000, 55-70k at 100,000:
	// fewer, larger inserts cost ClickHouse a quarter of the CPU per
	// event). A batch in memory is about 1.5 KB per record, twice over
	// while one batch is written and the next applied. Under light
	// traffic BatchWait closes batches long before they fill.
	BatchSize int
	// BatchWait is how long a batch waits to fill before it is written;
	// default 200ms.
	BatchWait time.Duration
	// RetryBackoff is the first wait after a failed insert; it doubles up
	// to MaxRetryBackoff. Defaults 200ms and 10s.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// FetchMaxBytes is how many bytes each partition's fetch asks the
	// broker for; default 1 MiB (Kafka's max.partition.fetch.bytes). A
	// record batch larger than this still arrives whole: brokers return
	// at least the first batch whatever the limit (Kafka since 0.10.1,
	// KIP-74; TestARecordBatchLargerThanTheFetchLimitIsConsumed). The
	// processor benchmark gave 91-104k events/s at 1 MiB against 80-90k
	// at 16 MiB in alternating runs (BENCHMARKS.md, 2026-11-23): a large
	// response is assembled in fresh memory on both sides.
	FetchMaxBytes int
	// IdleCloseInterval is how often journeys that went idle are closed
	// while no records arrive; default 10s.
	IdleCloseInterval time.Duration
	// Lateness is how far a touchpoint may be older than its customer's
	// latest one and still count as if it had come on time: the journeys
	// and flags it changes are rewritten. Older ones are stored marked late
	// and kept out of journeys. Default 6h.
	Lateness time.Duration
	// Journey configures journeys and friction rules.
	Journey journey.Config
	// Sessions configures web and app sessions.
	Sessions session.Config
}

// DefaultFetchMaxBytes is the default of Config.FetchMaxBytes.
const DefaultFetchMaxBytes = 1 << 20

// DefaultLateness is the default of Config.Lateness.
const DefaultLateness = 6 * time.Hour

// DefaultConfig returns a configuration with every default set.
func DefaultConfig() Config {
	c := Config{}
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.Topic == "" {
		c.Topic = "touchpoints"
	}
	if c.FrictionTopic == "" {
		c.FrictionTopic = "friction"
	}
	if c.GroupID == "" {
		c.GroupID = "journeys-processor"
	}
	if c.BatchSize == 0 {
		c.BatchSize = 100000
	}
	if c.BatchWait == 0 {
		c.BatchWait = 200 * time.Millisecond
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = 200 * time.Millisecond
	}
	if c.MaxRetryBackoff == 0 {
		c.MaxRetryBackoff = 10 * time.Second
	}
	if c.FetchMaxBytes == 0 {
		c.FetchMaxBytes = DefaultFetchMaxBytes
	}
	if c.IdleCloseInterval == 0 {
		c.IdleCloseInterval = 10 * time.Second
	}
	if c.Lateness == 0 {
		c.Lateness = DefaultLateness
	}
	if c.Sessions.Timeout == nil {
		c.Sessions = session.DefaultConfig()
	}
	if c.Journey == (journey.Config{}) {
		c.Journey = journey.DefaultConfig()
	}
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("processor: no Kafka brokers given"))
	}
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("processor: batch size %d, want at least 1", c.BatchSize))
	}
	if c.FetchMaxBytes < 1 {
		errs = append(errs, fmt.Errorf("processor: fetch max bytes %d, want at least 1", c.FetchMaxBytes))
	}
	if c.Lateness < 0 {
		errs = append(errs, fmt.Errorf("processor: lateness %s is negative", c.Lateness))
	}
	if c.BatchWait < 0 {
		errs = append(errs, fmt.Errorf("processor: batch wait %s is negative", c.BatchWait))
	}
	if err := c.Sessions.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("processor: %w", err))
	}
	if err := c.Journey.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("processor: %w", err))
	}
	return errors.Join(errs...)
}
