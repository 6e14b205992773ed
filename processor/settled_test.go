package processor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// unreachable is a Sink every call of which panics: what reaches it passed
// the wait.
type unreachable struct{ Sink }

// Every call the applying batch makes to the sink first waits for the write
// in flight, and gives up with that write's error.
func TestEverySinkCallWaitsForTheWriteInFlight(t *testing.T) {
	sinkType := reflect.TypeFor[Sink]()
	for i := range sinkType.NumMethod() {
		m := sinkType.Method(i)
		t.Run(m.Name, func(t *testing.T) {
			writeFailed := errors.New("the write in flight failed")
			settled := 0
			var s Sink = settledSink{s: unreachable{}, settle: func() error { settled++; return writeFailed }}
			fn := reflect.ValueOf(s).MethodByName(m.Name)
			args := make([]reflect.Value, fn.Type().NumIn())
			for j := range args {
				args[j] = reflect.Zero(fn.Type().In(j))
			}
			out := fn.Call(args)
			if settled != 1 {
				t.Fatalf("%s waited %d times for the write in flight, want once", m.Name, settled)
			}
			if err, _ := out[len(out)-1].Interface().(error); !errors.Is(err, writeFailed) {
				t.Fatalf("%s returned %v, want the write's error", m.Name, err)
			}

			// Once the write is done, the call goes through.
			reached := func() (reached bool) {
				defer func() { reached = recover() != nil }()
				s := settledSink{s: unreachable{}, settle: func() error { return nil }}
				reflect.ValueOf(s).MethodByName(m.Name).Call(args)
				return false
			}()
			if !reached {
				t.Fatalf("%s did not reach the sink after the write was done", m.Name)
			}
		})
	}
}

// Every failed attempt the processor retries is counted by operation, reads
// as well as inserts, so an outage shows in metrics and not only in logs.
func TestEveryRetriedFailureIsCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := DefaultConfig()
	cfg.Brokers = []string{"127.0.0.1:1"}
	cfg.RetryBackoff, cfg.MaxRetryBackoff = time.Millisecond, time.Millisecond
	p, err := New(cfg, unreachable{}, nil, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	failures := 3
	err = p.retry(context.Background(), "look up message ids", func() error {
		if failures > 0 {
			failures--
			return errors.New("connection refused")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(p.metrics.retries.WithLabelValues("look up message ids")); got != 3 {
		t.Errorf("journeys_processor_retries_total{operation=\"look up message ids\"} = %v, want 3", got)
	}
}
