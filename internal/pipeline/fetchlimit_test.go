package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/internal/broker"
	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/processor"
	"github.com/journeys/journeys/schemas"
)

// The processor asks each partition for FetchMaxBytes at a time. A topic
// whose max.message.bytes was raised above it holds record batches larger
// than the limit: they must still be read, not skipped or fetched forever.
func TestARecordBatchLargerThanTheFetchLimitIsConsumed(t *testing.T) {
	b := startBroker(t)
	s := chtest.Open(t)
	client := &kafka.Client{Addr: kafka.TCP(b.Addrs()...)}
	resp, err := client.AlterConfigs(context.Background(), &kafka.AlterConfigsRequest{Resources: []kafka.AlterConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: broker.TopicTouchpoints,
		Configs: []kafka.AlterConfigRequestConfig{{Name: "max.message.bytes", Value: "16777216"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	for r, err := range resp.Errors {
		if err != nil {
			t.Fatalf("raise max.message.bytes of %v: %v", r, err)
		}
	}

	const n = 3000
	padding := strings.Repeat("x", 1000)
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	msgs := make([]kafka.Message, n)
	total := 0
	for i := range msgs {
		ev := schemas.Event{
			MessageID: fmt.Sprintf("big-%04d", i), UserID: "c-big", Type: schemas.TypePage, Channel: schemas.ChannelWeb,
			Timestamp: at.Add(time.Duration(i) * time.Second), ReceivedAt: at,
			Properties: json.RawMessage(`{"path":"/pricing","title":"` + padding + `"}`),
		}
		v, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = kafka.Message{Key: []byte(ev.UserID), Value: v}
		total += len(v)
	}
	limit := processor.DefaultConfig().FetchMaxBytes
	if total < 2*limit {
		t.Fatalf("the batch holds %d bytes, want more than twice the fetch limit %d", total, limit)
	}
	// One produce request of one partition: one record batch.
	w := &kafka.Writer{Addr: kafka.TCP(b.Addrs()...), Topic: broker.TopicTouchpoints, Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchSize: n, BatchBytes: 8 << 20, BatchTimeout: time.Millisecond}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := firstBatchLen(t, b, broker.TopicTouchpoints); got != n {
		t.Fatalf("the partition's first record batch holds %d records, want all %d in one", got, n)
	}

	runProcessor(t, b, s)
	waitTouchpoints(t, s, n)
	if got := count(t, s, "SELECT count() FROM touchpoints FINAL WHERE customer_id = 'c-big'"); got != n {
		t.Fatalf("stored %d of the batch's touchpoints, want %d", got, n)
	}
}

// firstBatchLen is how many records the first record batch of the
// topic's non-empty partition holds: a fetch of at most 1 byte gets that
// batch whole.
func firstBatchLen(t *testing.T, b *broker.Embedded, topic string) int {
	t.Helper()
	for p := 0; p < 3; p++ {
		conn, err := kafka.DialLeader(context.Background(), "tcp", b.Addrs()[0], topic, p)
		if err != nil {
			t.Fatal(err)
		}
		last, err := conn.ReadLastOffset()
		if err != nil || last == 0 {
			conn.Close()
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := conn.Seek(0, kafka.SeekAbsolute); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		batch := conn.ReadBatch(1, 1)
		got := 0
		for {
			if _, err := batch.ReadMessage(); err != nil {
				break
			}
			got++
		}
		batch.Close()
		conn.Close()
		return got
	}
	t.Fatal("no partition holds a record")
	return 0
}
