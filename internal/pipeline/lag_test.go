package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/processor"
	"github.com/journeys/journeys/schemas"
)

// gatedSink holds every touchpoint insert until open is closed, so that the
// processor falls behind the records already in the topic.
type gatedSink struct {
	processor.Sink
	open chan struct{}
}

func (g gatedSink) InsertTouchpoints(ctx context.Context, rows []schemas.Touchpoint) error {
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Sink.InsertTouchpoints(ctx, rows)
}

// lagOf sums journeys_processor_consumer_lag_records over partitions; ok is
// false while no partition reports one.
func lagOf(t *testing.T, reg *prometheus.Registry) (lag float64, ok bool) {
	t.Helper()
	return metricSum(t, reg, "journeys_processor_consumer_lag_records")
}

func TestConsumerLagGaugeRisesWhileBehindAndFallsToZeroWhenCaughtUp(t *testing.T) {
	b := startBroker(t)
	s := chtest.Open(t)
	url := startIngest(t, b)
	const n = 60
	var events []map[string]any
	for i := 0; i < n; i++ {
		events = append(events, page(fmt.Sprintf("lag-%d", i), fmt.Sprintf("c-%d", i), t0.Add(time.Duration(i)*time.Minute)))
	}
	send(t, url, events...)

	gate := gatedSink{Sink: s, open: make(chan struct{})}
	cfg := processor.DefaultConfig()
	cfg.Brokers = b.Addrs()
	cfg.BatchSize = 5 // the fetchers stall once a few small batches wait
	cfg.BatchWait = 20 * time.Millisecond
	cfg.RetryBackoff = 20 * time.Millisecond
	reg := prometheus.NewRegistry()
	p, err := processor.New(cfg, gate, nil, reg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("processor: %v", err)
		}
	}()

	eventually(t, 30*time.Second, "a positive consumer lag while inserts are held", func() (bool, string) {
		lag, ok := lagOf(t, reg)
		return ok && lag > 0, fmt.Sprintf("lag %v (reported %v)", lag, ok)
	})
	close(gate.open)
	waitTouchpoints(t, s, n)
	eventually(t, 30*time.Second, "consumer lag back to zero", func() (bool, string) {
		lag, ok := lagOf(t, reg)
		return ok && lag == 0, fmt.Sprintf("lag %v (reported %v)", lag, ok)
	})
}
