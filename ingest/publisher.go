package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Message is one record to publish: the customer id as key, the enriched
// event's JSON as value.
type Message struct {
	Key   []byte
	Value []byte
}

// Publisher hands accepted events to the log. Publish returns nil only
// when the broker has durably acknowledged every message; an error means
// some or all of them may be missing, and the sender must retry.
type Publisher interface {
	Publish(ctx context.Context, msgs []Message) error
}

// publisherBatchTimeout is how long the writer waits for more messages
// before sending a produce request; requests are synchronous, so short.
const publisherBatchTimeout = 2 * time.Millisecond

// KafkaPublisher publishes to Kafka with kafka-go, waiting for all in-sync
// replicas to acknowledge. Messages are partitioned by a hash of their key,
// so one customer's events stay in order on one partition.
type KafkaPublisher struct {
	topic string
	w     *kafka.Writer
}

// NewKafkaPublisher returns a publisher for kcfg. It connects lazily, on
// the first Publish; an empty Topic means touchpoints.
func NewKafkaPublisher(kcfg KafkaConfig) *KafkaPublisher {
	if kcfg.Topic == "" {
		kcfg.Topic = DefaultTopic
	}
	return &KafkaPublisher{
		topic: kcfg.Topic,
		w: &kafka.Writer{
			Addr:                   kafka.TCP(kcfg.Brokers...),
			Topic:                  kcfg.Topic,
			Balancer:               &kafka.Hash{},
			RequiredAcks:           kafka.RequireAll,
			BatchTimeout:           publisherBatchTimeout,
			BatchSize:              1000, // a full request in one produce per partition
			AllowAutoTopicCreation: false,
		},
	}
}

// Publish writes msgs and waits for the broker's acknowledgement of all of
// them, or for ctx to end.
func (p *KafkaPublisher) Publish(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	kmsgs := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		kmsgs[i] = kafka.Message{Key: m.Key, Value: m.Value}
	}
	if err := p.w.WriteMessages(ctx, kmsgs...); err != nil {
		return fmt.Errorf("produce %d events to %s: %w", len(msgs), p.topic, err)
	}
	return nil
}

// Close flushes pending writes and closes the connections.
func (p *KafkaPublisher) Close() error {
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("close kafka writer: %w", err)
	}
	return nil
}
