package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Message is one record to publish: the customer id as key, the enriched
// event's JSON as value.
type Message struct {
	// Topic is where the record goes; empty means the publisher's topic.
	Topic string
	Key   []byte
	Value []byte
}

// Publisher hands accepted events to the log. Publish returns nil only
// when the broker has durably acknowledged every message; an error means
// some or all of them may be missing, and the sender must retry.
type Publisher interface {
	Publish(ctx context.Context, msgs []Message) error
}

// ReadinessChecker is what /readyz asks, when the Publisher implements it.
type ReadinessChecker interface {
	// Ready returns nil when the log can be written to now.
	Ready(ctx context.Context) error
}

// Writer settings. Requests are synchronous, so the writer waits only a
// few milliseconds for others' messages before sending a produce request;
// under load, concurrent requests share produce requests.
//
// kafka-go allocates room for BatchSize messages (about 150 bytes each)
// with every batch, full or not, once per partition and BatchTimeout under
// load: 2,500 made that a fifth of all bytes allocated. Batches under
// load hold about 200 messages; 1,000 leaves room and still sends a full
// request of 2,500 events in three produce requests per partition.
const (
	publisherBatchTimeout = 2 * time.Millisecond
	publisherBatchSize    = 1000
	// publisherBatchBytes bounds one partition's record batch. Kafka
	// refuses a batch over the topic's max.message.bytes (default
	// 1,048,588) with "Message Size Too Large", and concurrent requests of
	// large events fill a batch past 1 MB within BatchTimeout
	// (TestLargeEventsTogetherStayWithinTheBrokersRecordBatchLimit: it was
	// 4 MiB until that test saw the broker refuse such a batch, which
	// fails every request in it with 503). The margin covers the batch's
	// own framing.
	publisherBatchBytes = 1_000_000
)

// KafkaPublisher publishes to Kafka with kafka-go, waiting for all in-sync
// replicas to acknowledge. Messages are partitioned by a hash of their key,
// so one customer's events stay in order on one partition.
type KafkaPublisher struct {
	topic   string
	brokers []string
	w       *kafka.Writer
}

// NewKafkaPublisher returns a publisher for kcfg. It connects lazily, on
// the first Publish; an empty Topic means touchpoints.
func NewKafkaPublisher(kcfg KafkaConfig) *KafkaPublisher {
	if kcfg.Topic == "" {
		kcfg.Topic = DefaultTopic
	}
	addr := kafka.TCP(kcfg.Brokers...)
	return &KafkaPublisher{
		topic:   kcfg.Topic,
		brokers: kcfg.Brokers,
		w: &kafka.Writer{
			Addr:                   addr,
			Balancer:               &kafka.Hash{},
			RequiredAcks:           kafka.RequireAll,
			BatchTimeout:           publisherBatchTimeout,
			BatchSize:              publisherBatchSize,
			BatchBytes:             publisherBatchBytes,
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
		topic := m.Topic
		if topic == "" {
			topic = p.topic
		}
		kmsgs[i] = kafka.Message{Topic: topic, Key: m.Key, Value: m.Value}
	}
	if err := p.w.WriteMessages(ctx, kmsgs...); err != nil {
		return fmt.Errorf("produce %d records: %w", len(msgs), err)
	}
	return nil
}

// Ready dials a broker afresh and asks it for the topic's partitions:
// it answers nil only when a broker is reachable and every partition of
// the topic has a leader.
func (p *KafkaPublisher) Ready(ctx context.Context) error {
	var errs []error
	for _, addr := range p.brokers {
		err := partitionsLed(ctx, addr, p.topic)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func partitionsLed(ctx context.Context, addr, topic string) error {
	conn, err := (&kafka.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dial kafka %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	parts, err := conn.ReadPartitions(topic)
	if err != nil {
		return fmt.Errorf("kafka %s: partitions of %s: %w", addr, topic, err)
	}
	for _, part := range parts {
		if part.Leader.Host == "" {
			return fmt.Errorf("kafka %s: partition %d of %s has no leader", addr, part.ID, topic)
		}
	}
	if len(parts) == 0 {
		return fmt.Errorf("kafka %s: topic %s has no partitions", addr, topic)
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
