package ingest

import (
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []error
	}{
		{name: "write keys and defaults are enough", cfg: Config{WriteKeys: []string{"k"}}},
		{name: "no write keys", cfg: Config{}, want: []error{ErrNoWriteKeys}},
		{name: "empty and repeated keys", cfg: Config{WriteKeys: []string{"k", "", "k"}}, want: []error{ErrEmptyWriteKey, ErrDuplicateKey}},
		{name: "listen without port", cfg: Config{WriteKeys: []string{"k"}, Listen: "localhost"}, want: []error{ErrBadListen}},
		{name: "batch limit below event limit", cfg: Config{WriteKeys: []string{"k"}, MaxEventBytes: 64 << 10, MaxBatchBytes: 32 << 10}, want: []error{ErrBadLimit}},
		{name: "negative event limit", cfg: Config{WriteKeys: []string{"k"}, MaxEventBytes: -1}, want: []error{ErrBadLimit}},
		{name: "negative produce timeout", cfg: Config{WriteKeys: []string{"k"}, ProduceTimeout: -time.Second}, want: []error{ErrBadTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("Validate = %v, want %v among the errors", err, w)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.WithDefaults()
	if c.Listen != "127.0.0.1:8080" || c.Topic != "touchpoints" || c.MaxEventBytes != 32768 ||
		c.MaxBatchBytes != 512000 || c.ProduceTimeout != 10*time.Second || c.Now == nil {
		t.Errorf("defaults %+v", c)
	}
}

func TestConfigFromYAML(t *testing.T) {
	b, err := os.ReadFile("testdata/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:8080" || !slices.Equal(c.WriteKeys, []string{"wk_live_web", "wk_live_backend"}) ||
		c.ProduceTimeout != 5*time.Second || c.MaxBatchBytes != 512000 {
		t.Errorf("decoded %+v", c)
	}
}

func TestKafkaConfigValidate(t *testing.T) {
	if err := (KafkaConfig{}).Validate(); !errors.Is(err, ErrNoBrokers) {
		t.Errorf("Validate = %v, want ErrNoBrokers", err)
	}
	if err := (KafkaConfig{Brokers: []string{"localhost:9092"}}).Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
}

func TestLoadSources(t *testing.T) {
	got, err := LoadSources("testdata/sources.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Name != "web" || got[0].RateLimit != 500 || got[0].RateBurst != 2500 ||
		!slices.Equal(got[0].AllowedOrigins, []string{"https://shop.example.com", "https://*.example.com"}) ||
		!slices.Equal(got[1].AllowedEvents, []string{"purchase", "checkout_started", "identify"}) || !got[2].Disabled {
		t.Errorf("loaded %+v", got)
	}
	if err := (Config{Sources: got}).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestParseSourcesRefuses(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want error // nil: any error
	}{
		{name: "a misspelt field", yaml: "sources:\n  - name: web\n    write_key: k\n    ratelimit: 5\n"},
		{name: "no sources", yaml: "sources: []\n", want: ErrNoSources},
		{name: "a source without a key", yaml: "sources:\n  - name: web\n", want: ErrEmptyWriteKey},
		{name: "two sources of one name", yaml: "sources:\n  - {name: web, write_key: a}\n  - {name: web, write_key: b}\n", want: ErrDuplicateSource},
		{name: "one key for two sources", yaml: "sources:\n  - {name: a, write_key: k}\n  - {name: b, write_key: k}\n", want: ErrDuplicateKey},
		{name: "a negative rate", yaml: "sources:\n  - {name: a, write_key: k, rate_limit: -1}\n", want: ErrBadRateLimit},
		{name: "an origin with a path", yaml: "sources:\n  - {name: a, write_key: k, allowed_origins: [\"https://x.com/\"]}\n", want: ErrBadOrigin},
		{name: "an origin without a scheme", yaml: "sources:\n  - {name: a, write_key: k, allowed_origins: [x.com]}\n", want: ErrBadOrigin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSources([]byte(tt.yaml))
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("ParseSources = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestWriteKeysShortcutMakesOneSourceEach(t *testing.T) {
	c := Config{Sources: []Source{{Name: "web", WriteKey: "w"}}, WriteKeys: []string{"a", "b"}}
	got := c.AllSources()
	if len(got) != 3 || got[1].Name != "key-1" || got[2].Name != "key-2" || got[2].WriteKey != "b" ||
		!slices.Equal(got[1].AllowedOrigins, []string{"*"}) {
		t.Errorf("sources %+v", got)
	}
}

func TestConfigValidateHashing(t *testing.T) {
	c := Config{WriteKeys: []string{"k"}, HashProperties: []string{"traits.email", "email"}}
	err := c.Validate()
	if !errors.Is(err, ErrNoHashKey) || !errors.Is(err, ErrBadHashPath) {
		t.Errorf("Validate = %v, want ErrNoHashKey and ErrBadHashPath", err)
	}
}
