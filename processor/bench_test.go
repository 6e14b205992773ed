package processor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/internal/broker"
	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/internal/loadgen"
	"github.com/journeys/journeys/processor"
	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// mix produces n touchpoint records for customers: mostly page views, some
// calls, a few purchases, in event-time order per customer.
func mix(n, customers int, start time.Time) []kafka.Message {
	msgs := make([]kafka.Message, 0, n)
	for i := 0; i < n; i++ {
		c := i % customers
		step := i / customers
		ev := schemas.Event{
			MessageID:  fmt.Sprintf("m-%d", i),
			UserID:     fmt.Sprintf("c-%06d", c),
			Timestamp:  start.Add(time.Duration(step) * 17 * time.Minute),
			ReceivedAt: start,
		}
		switch r := (i * 7919) % 100; {
		case r < 80:
			ev.Type, ev.Channel = schemas.TypePage, schemas.ChannelWeb
			ev.Properties = json.RawMessage(`{"path":"/pricing","title":"Pricing"}`)
		case r < 95:
			ev.Type, ev.Event, ev.Channel = schemas.TypeTrack, schemas.EventCall, schemas.ChannelPhone
			ev.Properties = json.RawMessage(`{"wait_seconds":42,"duration_seconds":300,"topic":"billing"}`)
		default:
			ev.Type, ev.Event, ev.Channel = schemas.TypeTrack, schemas.EventPurchase, schemas.ChannelWeb
			ev.Properties = json.RawMessage(`{"order_id":"o-1","revenue":49.5,"currency":"EUR"}`)
		}
		v, _ := json.Marshal(ev)
		msgs = append(msgs, kafka.Message{Key: []byte(ev.UserID), Value: v})
	}
	return msgs
}

// BenchmarkProcessorKafkaToClickHouse measures the processor from records
// already on the in-process broker to rows acknowledged by the real
// ClickHouse, offsets committed. Run:
//
//	go test -run '^$' -bench ProcessorKafkaToClickHouse -benchtime 200000x ./processor/
func BenchmarkProcessorKafkaToClickHouse(b *testing.B) {
	for _, batch := range []int{2000, 5000, 20000, 50000, 100000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			br, err := broker.Start(broker.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			s := chtest.Open(b)
			w := &kafka.Writer{Addr: kafka.TCP(br.Addrs()...), Topic: broker.TopicTouchpoints, Balancer: &kafka.Hash{},
				RequiredAcks: kafka.RequireAll, BatchSize: 5000, BatchTimeout: 5 * time.Millisecond}
			msgs := mix(b.N, max(b.N/20, 1), time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC))
			for i := 0; i < len(msgs); i += 5000 {
				if err := w.WriteMessages(context.Background(), msgs[i:min(i+5000, len(msgs))]...); err != nil {
					b.Fatal(err)
				}
			}
			w.Close()

			cfg := processor.DefaultConfig()
			cfg.Brokers = br.Addrs()
			cfg.BatchSize = batch
			cfg.BatchWait = 50 * time.Millisecond
			reg := prometheus.NewRegistry()
			sink := &timedLookups{Store: s}
			p, err := processor.New(cfg, sink, nil, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			chCPU := clickHouseCPU(b)
			b.ResetTimer()
			start, goCPU, chStart := time.Now(), selfCPU(b), chCPU()
			go func() { done <- p.Run(ctx) }()
			for {
				var n uint64
				if err := s.Conn().QueryRow(context.Background(), "SELECT count() FROM touchpoints").Scan(&n); err != nil {
					b.Fatal(err)
				}
				if n >= uint64(b.N) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			elapsed := time.Since(start)
			goSpent, chSpent := selfCPU(b)-goCPU, chCPU()-chStart
			b.StopTimer()
			cancel()
			<-done
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			// CPU per event of this process (processor and the in-process
			// broker) and of the ClickHouse server: on shared cores these
			// vary less than events/s, and their sum bounds events/s at
			// cores / (go + clickhouse).
			b.ReportMetric(float64(goSpent.Microseconds())/float64(b.N), "go_cpu_us/event")
			b.ReportMetric(float64(chSpent.Microseconds())/float64(b.N), "ch_cpu_us/event")
			// Where a batch's time goes: the share of the elapsed time
			// spent looking up message ids and in each ClickHouse insert.
			b.ReportMetric(100*sink.spent.Seconds()/elapsed.Seconds(), "%lookup")
			mfs, err := reg.Gather()
			if err != nil {
				b.Fatal(err)
			}
			for _, mf := range mfs {
				if mf.GetName() != "journeys_processor_insert_duration_seconds" {
					continue
				}
				for _, m := range mf.GetMetric() {
					for _, l := range m.GetLabel() {
						b.ReportMetric(100*m.GetHistogram().GetSampleSum()/elapsed.Seconds(), "%insert_"+l.GetValue())
					}
				}
			}
		})
	}
}

func selfCPU(b *testing.B) time.Duration {
	cpu, err := loadgen.ProcCPU(0)
	if err != nil {
		b.Fatal(err)
	}
	return cpu
}

// clickHouseCPU returns a reader of the CPU time the ClickHouse server
// behind the tests has used.
func clickHouseCPU(b *testing.B) func() time.Duration {
	_, port, err := net.SplitHostPort(chtest.Addr(b))
	if err != nil {
		b.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	pid, err := loadgen.ListeningPID(n)
	if err != nil {
		b.Fatal(err)
	}
	return func() time.Duration {
		cpu, err := loadgen.ProcCPU(pid)
		if err != nil {
			b.Fatal(err)
		}
		return cpu
	}
}

// timedLookups is the store, timing the duplicate lookups.
type timedLookups struct {
	*store.Store
	spent time.Duration
}

func (t *timedLookups) StoredMessageIDs(ctx context.Context, ids []string) (map[string]store.StoredMessage, error) {
	start := time.Now()
	defer func() { t.spent += time.Since(start) }()
	return t.Store.StoredMessageIDs(ctx, ids)
}
