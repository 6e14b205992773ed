package ingest

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Defaults of Config and KafkaConfig, used where a field is zero.
const (
	DefaultListen         = "127.0.0.1:8080"
	DefaultTopic          = "touchpoints"
	DefaultMaxEventBytes  = 32 * 1024
	DefaultMaxBatchBytes  = 500 * 1024
	DefaultProduceTimeout = 10 * time.Second
)

// Errors Config.Validate reports, wrapped with the offending value.
var (
	ErrNoWriteKeys   = errors.New("no write keys configured")
	ErrEmptyWriteKey = errors.New("empty write key")
	ErrDuplicateKey  = errors.New("duplicate write key")
	ErrBadListen     = errors.New("listen address is not host:port")
	ErrBadLimit      = errors.New("size limit out of range")
	ErrBadTimeout    = errors.New("produce timeout must be positive")
	ErrNoTopic       = errors.New("no topic")
	ErrNoBrokers     = errors.New("no Kafka brokers")
)

// Config of the ingest HTTP service. Zero fields take the documented default.
type Config struct {
	// Listen is the address the HTTP server binds; default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// WriteKeys are the secrets senders authenticate with. The key at index
	// i is source "key-<i+1>" in events; the secret itself never leaves
	// ingest.
	WriteKeys []string `yaml:"write_keys"`
	// Topic accepted events are written to; default touchpoints. The binary
	// passes it on to KafkaConfig.
	Topic string `yaml:"topic"`
	// MaxEventBytes caps one event's JSON; default 32768.
	MaxEventBytes int `yaml:"max_event_bytes"`
	// MaxBatchBytes caps a request body; default 512000.
	MaxBatchBytes int `yaml:"max_batch_bytes"`
	// ProduceTimeout bounds the wait for the broker to acknowledge a
	// request's events; default 10s. Past it the sender gets 503.
	ProduceTimeout time.Duration `yaml:"produce_timeout"`
	// Now is the clock that stamps receivedAt; nil means time.Now.
	Now func() time.Time `yaml:"-"`
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.MaxEventBytes == 0 {
		c.MaxEventBytes = DefaultMaxEventBytes
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.ProduceTimeout == 0 {
		c.ProduceTimeout = DefaultProduceTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports every problem of c after defaults, joined.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("ingest listen %q: %w", c.Listen, ErrBadListen))
	}
	if len(c.WriteKeys) == 0 {
		errs = append(errs, fmt.Errorf("ingest write_keys: %w", ErrNoWriteKeys))
	}
	seen := make(map[string]bool, len(c.WriteKeys))
	for i, k := range c.WriteKeys {
		switch {
		case k == "":
			errs = append(errs, fmt.Errorf("ingest write_keys[%d]: %w", i, ErrEmptyWriteKey))
		case seen[k]:
			errs = append(errs, fmt.Errorf("ingest write_keys[%d]: %w", i, ErrDuplicateKey))
		}
		seen[k] = true
	}
	if c.Topic == "" {
		errs = append(errs, fmt.Errorf("ingest topic: %w", ErrNoTopic))
	}
	if c.MaxEventBytes < 0 {
		errs = append(errs, fmt.Errorf("ingest max_event_bytes %d: %w", c.MaxEventBytes, ErrBadLimit))
	}
	if c.MaxBatchBytes < c.MaxEventBytes {
		errs = append(errs, fmt.Errorf("ingest max_batch_bytes %d is below max_event_bytes %d: %w",
			c.MaxBatchBytes, c.MaxEventBytes, ErrBadLimit))
	}
	if c.ProduceTimeout < 0 {
		errs = append(errs, fmt.Errorf("ingest produce_timeout %s: %w", c.ProduceTimeout, ErrBadTimeout))
	}
	return errors.Join(errs...)
}

// KafkaConfig says where the publisher writes.
type KafkaConfig struct {
	// Brokers are the bootstrap host:port addresses.
	Brokers []string `yaml:"brokers"`
	// Topic to write to; default touchpoints.
	Topic string `yaml:"topic"`
}

// Validate reports whether the publisher can be built from k.
func (k KafkaConfig) Validate() error {
	if len(k.Brokers) == 0 {
		return fmt.Errorf("kafka brokers: %w", ErrNoBrokers)
	}
	return nil
}
