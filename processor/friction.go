package processor

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/schemas"
)

// FrictionMessage is the JSON value of each record on the friction topic,
// for alerting and for systems that act on a flag (a CRM task, a callback).
type FrictionMessage struct {
	FlagID     string          `json:"flagId"`
	Rule       string          `json:"rule"`
	Severity   string          `json:"severity"`
	CustomerID string          `json:"customerId"`
	JourneyID  string          `json:"journeyId"`
	OccurredAt time.Time       `json:"occurredAt"`
	DetectedAt time.Time       `json:"detectedAt"`
	Evidence   []string        `json:"evidence"`
	Details    json.RawMessage `json:"details,omitempty"`
}

// KafkaFlagPublisher writes friction flags to a Kafka topic, keyed by
// customer, acknowledged by all in-sync replicas. Consumers deduplicate by
// flagId: a replay publishes a flag again.
type KafkaFlagPublisher struct {
	w *kafka.Writer
}

// NewKafkaFlagPublisher writes to topic on brokers.
func NewKafkaFlagPublisher(brokers []string, topic string) *KafkaFlagPublisher {
	return &KafkaFlagPublisher{w: &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 2 * time.Millisecond,
		WriteTimeout: 10 * time.Second,
	}}
}

// PublishFlags writes flags and returns once the broker acknowledged them.
func (k *KafkaFlagPublisher) PublishFlags(ctx context.Context, flags []schemas.FrictionFlag) error {
	msgs := make([]kafka.Message, 0, len(flags))
	for _, f := range flags {
		v, err := json.Marshal(FrictionMessage{
			FlagID: f.FlagID, Rule: f.Rule, Severity: f.Severity, CustomerID: f.CustomerID, JourneyID: f.JourneyID,
			OccurredAt: f.OccurredAt, DetectedAt: f.DetectedAt, Evidence: f.Evidence, Details: json.RawMessage(f.Details),
		})
		if err != nil {
			return fmt.Errorf("encode friction flag %s: %w", f.FlagID, err)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(f.CustomerID), Value: v})
	}
	if err := k.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("publish %d friction flags: %w", len(flags), err)
	}
	return nil
}

// Close flushes and closes the writer.
func (k *KafkaFlagPublisher) Close() error { return k.w.Close() }
