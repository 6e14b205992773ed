package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/internal/loadgen"
	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

// benchTouchpoints are n touchpoints shaped like the processor's: ids,
// a browser context and properties of a few hundred bytes.
func benchTouchpoints(n int, run int) []schemas.Touchpoint {
	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]schemas.Touchpoint, n)
	for i := range rows {
		at := t0.Add(time.Duration(i) * time.Second)
		rows[i] = schemas.Touchpoint{
			MessageID: fmt.Sprintf("%d-%08d-4c1e-9a5b-2f0e7d1c3b4a", run, i), CustomerID: fmt.Sprintf("c-%06d", i%5000),
			AnonymousID: fmt.Sprintf("anon-%016x", i%5000), UserID: fmt.Sprintf("c-%06d", i%5000),
			Type: "page", Event: "page", Channel: "web", Timestamp: at, ReceivedAt: at.Add(time.Second),
			JourneyID: fmt.Sprintf("%032x", i%7000), SessionID: fmt.Sprintf("%032x", i%9000),
			Properties: `{"path":"/pricing","url":"https://shop.example.com/pricing","title":"Pricing","referrer":"https://www.google.com/"}`,
			Context:    `{"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36","locale":"nl-NL","library":{"name":"journeys.js","version":"1.0.0"}}`,
			Source:     "website", KafkaPartition: int32(i % 3), KafkaOffset: int64(i), Version: uint64(i + 1),
		}
	}
	return rows
}

// insertTouchpointsRowWise is how InsertTouchpoints filled its batch
// before it went column by column: the baseline of the benchmark.
func insertTouchpointsRowWise(ctx context.Context, s *store.Store, rows []schemas.Touchpoint) error {
	b, err := s.Conn().PrepareBatch(ctx, store.InsertStatements()["touchpoints"])
	if err != nil {
		return err
	}
	defer b.Abort()
	for i := range rows {
		r := &rows[i]
		late := uint8(0)
		if r.Late {
			late = 1
		}
		if err := b.Append(r.MessageID, r.CustomerID, r.AnonymousID, r.UserID, r.Type, r.Event, r.Channel,
			r.Timestamp, r.Timestamp.UnixMilli(), r.ReceivedAt, r.JourneyID, r.SessionID, late, r.Properties, r.Context, r.Source, r.KafkaPartition, r.KafkaOffset, r.Version); err != nil {
			return err
		}
	}
	return b.Send()
}

// BenchmarkInsertTouchpoints inserts batches of 20,000 touchpoints into
// ClickHouse, filled row by row (the old way) and column by column
// (InsertTouchpoints), and reports this process's CPU per row beside the
// wall time (ClickHouse's work is the same for both).
//
//	go test -run '^$' -bench InsertTouchpoints -benchtime 20x ./store/
func BenchmarkInsertTouchpoints(b *testing.B) {
	const n = 20_000
	for _, way := range []struct {
		name   string
		insert func(context.Context, *store.Store, []schemas.Touchpoint) error
	}{
		{"rows", insertTouchpointsRowWise},
		{"columns", func(ctx context.Context, s *store.Store, rows []schemas.Touchpoint) error {
			return s.InsertTouchpoints(ctx, rows)
		}},
	} {
		b.Run(way.name, func(b *testing.B) {
			s := chtest.Open(b)
			batches := make([][]schemas.Touchpoint, b.N)
			for i := range batches {
				batches[i] = benchTouchpoints(n, i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := selfCPU(b)
			for i := range b.N {
				if err := way.insert(context.Background(), s, batches[i]); err != nil {
					b.Fatal(err)
				}
			}
			cpu = selfCPU(b) - cpu
			b.StopTimer()
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu_ns/row")
			var got uint64
			if err := s.Conn().QueryRow(context.Background(), "SELECT count() FROM touchpoints").Scan(&got); err != nil {
				b.Fatal(err)
			}
			if got != uint64(b.N*n) {
				b.Fatalf("%d rows stored, want %d", got, b.N*n)
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
