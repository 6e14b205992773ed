package ingest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/internal/broker"
)

// Concurrent requests share produce requests, so one partition's batch
// can gather many large events at once. Kafka refuses a record batch over
// its message.max.bytes (1 MB by default, kfake's too) with "Message Size
// Too Large", so the publisher must never build one: events each within
// the per-event limit must publish whatever their number.
func TestLargeEventsTogetherStayWithinTheBrokersRecordBatchLimit(t *testing.T) {
	p := startPipeline(t, nil)
	pub, b := p.pub, p.broker

	const n = 200 // 200 events of almost 32 KB: about 6 MB for one partition
	value := `{"type":"page","properties":{"title":"` + strings.Repeat("x", DefaultMaxEventBytes-100) + `"}}`
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{Key: []byte("one-customer"), Value: []byte(value)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pub.Publish(ctx, msgs); err != nil {
		t.Fatalf("publish %d events of %d bytes for one partition: %v", n, len(value), err)
	}

	var got int
	for part := 0; part < 3; part++ {
		conn, err := kafka.DialLeader(ctx, "tcp", b.Addrs()[0], broker.TopicTouchpoints, part)
		if err != nil {
			t.Fatal(err)
		}
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		got += int(last)
	}
	if got != n {
		t.Fatalf("the topic holds %d records, want %d", got, n)
	}
}
