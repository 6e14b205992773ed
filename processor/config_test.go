package processor_test

import (
	"strings"
	"testing"
	"time"

	"github.com/journeys/journeys/processor"
)

func TestConfigValidate(t *testing.T) {
	valid := processor.DefaultConfig()
	valid.Brokers = []string{"127.0.0.1:9092"}
	tests := []struct {
		name    string
		edit    func(*processor.Config)
		wantErr string
	}{
		{"defaults with a broker", func(*processor.Config) {}, ""},
		{"no brokers", func(c *processor.Config) { c.Brokers = nil }, "no Kafka brokers"},
		{"batch size zero", func(c *processor.Config) { c.BatchSize = 0 }, "batch size 0"},
		{"fetch max bytes zero", func(c *processor.Config) { c.FetchMaxBytes = 0 }, "fetch max bytes 0"},
		{"negative batch wait", func(c *processor.Config) { c.BatchWait = -time.Second }, "batch wait -1s is negative"},
		{"negative inactivity timeout", func(c *processor.Config) { c.Journey.InactivityTimeout = -time.Hour }, "inactivity timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	if _, err := processor.New(processor.Config{}, nil, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "no Kafka brokers") {
		t.Fatalf("New with no brokers = %v, want an error naming the brokers", err)
	}
}
