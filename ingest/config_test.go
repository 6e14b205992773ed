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
