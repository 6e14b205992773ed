package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults of Config and KafkaConfig, used where a field is zero.
const (
	DefaultListen           = "127.0.0.1:8080"
	DefaultTopic            = "touchpoints"
	DefaultRejectedTopic    = "touchpoints.rejected"
	DefaultMaxEventBytes    = 32 * 1024
	DefaultMaxBatchBytes    = 500 * 1024
	DefaultMaxBatchEvents   = 2500
	DefaultMaxInFlightBytes = 64 << 20
	DefaultProduceTimeout   = 10 * time.Second
	// DefaultReadHeaderTimeout and DefaultReadTimeout bound how long a
	// client may take to send its headers, and its whole request.
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = time.Minute
	// DefaultMinBurst is the smallest default token bucket of a
	// rate-limited source, so that an ordinary batch fits in it.
	DefaultMinBurst = 100
	// minAdminToken is the shortest admin token accepted.
	minAdminToken = 16
)

// Errors Config.Validate and LoadSources report, wrapped with the
// offending value.
var (
	ErrNoSources       = errors.New("no sources or write keys configured")
	ErrNoWriteKeys     = ErrNoSources // the name of the walking skeleton
	ErrEmptyWriteKey   = errors.New("empty write key")
	ErrDuplicateKey    = errors.New("duplicate write key")
	ErrEmptySourceName = errors.New("empty source name")
	ErrDuplicateSource = errors.New("duplicate source name")
	ErrBadRateLimit    = errors.New("rate limit and burst must not be negative")
	ErrBadOrigin       = errors.New("allowed origin is not *, scheme://host[:port] or scheme://*.domain")
	ErrBadListen       = errors.New("listen address is not host:port")
	ErrBadLimit        = errors.New("size limit out of range")
	ErrBadTimeout      = errors.New("timeout must be positive")
	ErrNoTopic         = errors.New("no topic")
	ErrNoBrokers       = errors.New("no Kafka brokers")
	ErrNoHashKey       = errors.New("hash_properties needs a hash_key")
	ErrBadHashPath     = errors.New("hashed property path must start with properties., traits. or context.")
	ErrWeakAdminToken  = errors.New("admin token must be at least 16 characters")
)

// Config of the ingest HTTP service. Zero fields take the documented default.
type Config struct {
	// Listen is the address the HTTP server binds; default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// Sources are the senders ingest accepts events from, each with its own
	// write key, origins, events and rate limit.
	Sources []Source `yaml:"sources"`
	// WriteKeys is a shortcut for sources: the key at index i becomes
	// source "key-<i+1>" allowing every origin and event, unlimited.
	WriteKeys []string `yaml:"write_keys"`
	// Topic accepted events are written to; default touchpoints. The binary
	// passes it on to KafkaConfig.
	Topic string `yaml:"topic"`
	// RejectedTopic receives every refused event of an authenticated
	// request with its reason; default touchpoints.rejected.
	RejectedTopic string `yaml:"rejected_topic"`
	// MaxEventBytes caps one event's JSON; default 32768.
	MaxEventBytes int `yaml:"max_event_bytes"`
	// MaxBatchBytes caps a request body after decompression; default 512000.
	MaxBatchBytes int `yaml:"max_batch_bytes"`
	// MaxBatchEvents caps the events of one batch; default 2500.
	MaxBatchEvents int `yaml:"max_batch_events"`
	// MaxInFlightBytes bounds the request bodies held at once; a request
	// that would pass it is answered 503 at once. Default 64 MiB.
	MaxInFlightBytes int64 `yaml:"max_in_flight_bytes"`
	// ProduceTimeout bounds the wait for the broker to acknowledge a
	// request's events; default 10s. Past it the sender gets 503.
	ProduceTimeout time.Duration `yaml:"produce_timeout"`
	// ReadHeaderTimeout bounds the time to read a request's headers;
	// past it the connection is closed. Default 10s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds the time to read a whole request, body included;
	// a body still arriving then is answered 408. Default 1m.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// HashProperties are dotted paths (properties.email, traits.phone,
	// context.traits.email) whose values are replaced by their keyed hash
	// (HMAC-SHA256 with HashKey, hex) before any event is written.
	HashProperties []string `yaml:"hash_properties"`
	// HashKey is the secret of the keyed hash.
	HashKey string `yaml:"hash_key"`
	// AdminToken enables POST /v1/admin/forget for callers sending
	// Authorization: Bearer <AdminToken>, when Forgetter is set too. At
	// least 16 characters.
	AdminToken string `yaml:"admin_token"`
	// Now is the clock that stamps receivedAt; nil means time.Now.
	Now func() time.Time `yaml:"-"`
	// Suppression, when set, drops the events of forgotten customers
	// (package forget): answered as accepted, written nowhere.
	Suppression Suppression `yaml:"-"`
	// Forgetter carries out the admin API's forget requests.
	Forgetter Forgetter `yaml:"-"`
}

// Source is one sender of events: a web site, a call-center system, an
// order system.
type Source struct {
	// Name goes into every event as "source"; the write key never does.
	Name string `yaml:"name"`
	// WriteKey is the secret the sender authenticates with.
	WriteKey string `yaml:"write_key"`
	// AllowedOrigins are the browser origins (https://shop.example.com,
	// https://*.example.com, or *) that may send with this key. A request
	// with an Origin header not listed is refused with 403; none listed
	// means browsers may not use this key.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// AllowedEvents are the event names (track event name, or the call
	// type for page, identify, …) this source may send; empty or "*"
	// allows every one. Other events are rejected one by one.
	AllowedEvents []string `yaml:"allowed_events"`
	// RateLimit is the sustained events per second; 0 means unlimited.
	RateLimit float64 `yaml:"rate_limit"`
	// RateBurst is the token bucket's size in events; default the larger
	// of RateLimit and 100. A request with more events than the bucket
	// holds needs a full bucket.
	RateBurst int `yaml:"rate_burst"`
	// Disabled sources are refused with 401, as if unknown.
	Disabled bool `yaml:"disabled"`
}

// burst is the token bucket size after defaults.
func (s Source) burst() int {
	if s.RateBurst > 0 {
		return s.RateBurst
	}
	return max(int(math.Ceil(s.RateLimit)), DefaultMinBurst)
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.RejectedTopic == "" {
		c.RejectedTopic = DefaultRejectedTopic
	}
	if c.MaxEventBytes == 0 {
		c.MaxEventBytes = DefaultMaxEventBytes
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.MaxBatchEvents == 0 {
		c.MaxBatchEvents = DefaultMaxBatchEvents
	}
	if c.MaxInFlightBytes == 0 {
		c.MaxInFlightBytes = DefaultMaxInFlightBytes
	}
	if c.ProduceTimeout == 0 {
		c.ProduceTimeout = DefaultProduceTimeout
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// AllSources is Sources followed by one source per WriteKeys entry.
func (c Config) AllSources() []Source {
	out := append([]Source(nil), c.Sources...)
	for i, k := range c.WriteKeys {
		out = append(out, Source{Name: "key-" + strconv.Itoa(i+1), WriteKey: k, AllowedOrigins: []string{"*"}})
	}
	return out
}

// Validate reports every problem of c after defaults, joined.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("ingest listen %q: %w", c.Listen, ErrBadListen))
	}
	errs = append(errs, validateSources(c.AllSources())...)
	if c.Topic == "" || c.RejectedTopic == "" {
		errs = append(errs, fmt.Errorf("ingest topic: %w", ErrNoTopic))
	}
	if c.MaxEventBytes < 0 {
		errs = append(errs, fmt.Errorf("ingest max_event_bytes %d: %w", c.MaxEventBytes, ErrBadLimit))
	}
	if c.MaxBatchBytes < c.MaxEventBytes {
		errs = append(errs, fmt.Errorf("ingest max_batch_bytes %d is below max_event_bytes %d: %w",
			c.MaxBatchBytes, c.MaxEventBytes, ErrBadLimit))
	}
	if c.MaxBatchEvents < 0 {
		errs = append(errs, fmt.Errorf("ingest max_batch_events %d: %w", c.MaxBatchEvents, ErrBadLimit))
	}
	if c.MaxInFlightBytes < int64(c.MaxBatchBytes) {
		errs = append(errs, fmt.Errorf("ingest max_in_flight_bytes %d is below max_batch_bytes %d: %w",
			c.MaxInFlightBytes, c.MaxBatchBytes, ErrBadLimit))
	}
	if c.ProduceTimeout < 0 {
		errs = append(errs, fmt.Errorf("ingest produce_timeout %s: %w", c.ProduceTimeout, ErrBadTimeout))
	}
	if c.ReadTimeout < 0 || c.ReadHeaderTimeout < 0 {
		errs = append(errs, fmt.Errorf("ingest read_timeout %s, read_header_timeout %s: %w", c.ReadTimeout, c.ReadHeaderTimeout, ErrBadTimeout))
	}
	if c.AdminToken != "" && len(c.AdminToken) < minAdminToken {
		errs = append(errs, fmt.Errorf("ingest admin_token: %w", ErrWeakAdminToken))
	}
	if len(c.HashProperties) > 0 && c.HashKey == "" {
		errs = append(errs, fmt.Errorf("ingest hash_properties: %w", ErrNoHashKey))
	}
	for i, p := range c.HashProperties {
		if _, _, ok := splitHashPath(p); !ok {
			errs = append(errs, fmt.Errorf("ingest hash_properties[%d] %q: %w", i, p, ErrBadHashPath))
		}
	}
	return errors.Join(errs...)
}

func validateSources(sources []Source) []error {
	var errs []error
	if len(sources) == 0 {
		return []error{fmt.Errorf("ingest sources: %w", ErrNoSources)}
	}
	keys := make(map[string]bool, len(sources))
	names := make(map[string]bool, len(sources))
	for i, s := range sources {
		at := fmt.Sprintf("ingest sources[%d] %q", i, s.Name)
		switch {
		case s.WriteKey == "":
			errs = append(errs, fmt.Errorf("%s: %w", at, ErrEmptyWriteKey))
		case keys[s.WriteKey]:
			errs = append(errs, fmt.Errorf("%s: %w", at, ErrDuplicateKey))
		}
		keys[s.WriteKey] = true
		switch {
		case s.Name == "":
			errs = append(errs, fmt.Errorf("%s: %w", at, ErrEmptySourceName))
		case names[s.Name]:
			errs = append(errs, fmt.Errorf("%s: %w", at, ErrDuplicateSource))
		}
		names[s.Name] = true
		if s.RateLimit < 0 || s.RateBurst < 0 || math.IsNaN(s.RateLimit) {
			errs = append(errs, fmt.Errorf("%s: %w", at, ErrBadRateLimit))
		}
		for _, o := range s.AllowedOrigins {
			if !validOrigin(o) {
				errs = append(errs, fmt.Errorf("%s origin %q: %w", at, o, ErrBadOrigin))
			}
		}
	}
	return errs
}

// sourcesFile is the YAML document LoadSources reads.
type sourcesFile struct {
	Sources []Source `yaml:"sources"`
}

// LoadSources reads a YAML file of sources (see testdata/sources.yaml).
// Unknown fields are errors, so that a misspelt limit does not silently
// mean none.
func LoadSources(path string) ([]Source, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read sources: %w", err)
	}
	return ParseSources(b)
}

// ParseSources decodes and validates a YAML document of sources.
func ParseSources(b []byte) ([]Source, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f sourcesFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse sources: %w", err)
	}
	if err := errors.Join(validateSources(f.Sources)...); err != nil {
		return nil, err
	}
	return f.Sources, nil
}

// validOrigin accepts *, scheme://host[:port] and scheme://*.domain[:port].
func validOrigin(o string) bool {
	if o == "*" {
		return true
	}
	scheme, host, ok := strings.Cut(o, "://")
	if !ok || scheme == "" || host == "" || strings.ContainsAny(host, "/?#") {
		return false
	}
	host = strings.TrimPrefix(host, "*.")
	return host != "" && !strings.Contains(host, "*")
}

// KafkaConfig says where the publisher writes.
type KafkaConfig struct {
	// Brokers are the bootstrap host:port addresses.
	Brokers []string `yaml:"brokers"`
	// Topic to write to when a message names none; default touchpoints.
	Topic string `yaml:"topic"`
}

// Validate reports whether the publisher can be built from k.
func (k KafkaConfig) Validate() error {
	if len(k.Brokers) == 0 {
		return fmt.Errorf("kafka brokers: %w", ErrNoBrokers)
	}
	return nil
}
