package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/journeys/journeys/ingest"
	"github.com/journeys/journeys/internal/broker"
	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/processor"
	"github.com/journeys/journeys/store"
)

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelError}))
}

func startBroker(t *testing.T) *broker.Embedded {
	t.Helper()
	b, err := broker.Start(broker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// startIngest serves the real ingest handler over HTTP in front of the broker.
func startIngest(t *testing.T, b *broker.Embedded) string {
	t.Helper()
	pub := ingest.NewKafkaPublisher(ingest.KafkaConfig{Brokers: b.Addrs()})
	h, err := ingest.NewHandler(ingest.Config{WriteKeys: []string{"test-key"}}, pub, nil, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); pub.Close() })
	return srv.URL
}

// runProcessor runs a processor until the returned stop is called (which
// waits for it to return) or the test ends.
func runProcessor(t *testing.T, b *broker.Embedded, sink processor.Sink) (stop func()) {
	t.Helper()
	return runProcessorWith(t, b, sink, nil)
}

// runProcessorWith is runProcessor with the processor's metrics registered
// on reg (nil: none).
func runProcessorWith(t *testing.T, b *broker.Embedded, sink processor.Sink, reg prometheus.Registerer) (stop func()) {
	t.Helper()
	cfg := processor.DefaultConfig()
	cfg.Brokers = b.Addrs()
	cfg.BatchWait = 20 * time.Millisecond
	cfg.RetryBackoff = 20 * time.Millisecond
	p, err := processor.New(cfg, sink, nil, reg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("processor: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("processor did not stop within 30s")
		}
	}
	t.Cleanup(stop)
	return stop
}

// startPipeline runs broker, ingest and one processor over a fresh
// database, and returns the store and the ingest URL.
func startPipeline(t *testing.T) (*store.Store, string) {
	t.Helper()
	b := startBroker(t)
	s := chtest.Open(t)
	url := startIngest(t, b)
	runProcessor(t, b, s)
	return s, url
}

// ev builds one tracking event of the wire format.
func ev(id, user, typ, event string, at time.Time, props map[string]any) map[string]any {
	e := map[string]any{"messageId": id, "userId": user, "type": typ, "timestamp": at.Format(time.RFC3339Nano)}
	if event != "" {
		e["event"] = event
	}
	if props != nil {
		e["properties"] = props
	}
	return e
}

func call(id, user string, at time.Time) map[string]any {
	return ev(id, user, "track", "call", at, map[string]any{"wait_seconds": 30, "duration_seconds": 240, "topic": "billing"})
}

func purchase(id, user string, at time.Time) map[string]any {
	return ev(id, user, "track", "purchase", at, map[string]any{"order_id": "o-" + id, "revenue": 49.5, "currency": "EUR"})
}

func page(id, user string, at time.Time) map[string]any {
	return ev(id, user, "page", "", at, map[string]any{"path": "/pricing"})
}

// send posts events as one batch and fails the test unless ingest answers 200.
// It sends no sentAt, so ingest keeps the timestamps as they are and two runs
// of the same events can be compared to the millisecond.
func send(t *testing.T, url string, events ...map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"batch": events})
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/batch", bytes.NewReader(body))
	req.SetBasicAuth("test-key", "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		t.Fatalf("POST /v1/batch = %d: %s", resp.StatusCode, b.String())
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s; last state: %s", what, within, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func count(t *testing.T, s *store.Store, q string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := s.Conn().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func waitTouchpoints(t *testing.T, s *store.Store, n uint64) {
	t.Helper()
	eventually(t, 60*time.Second, fmt.Sprintf("%d touchpoints stored", n), func() (bool, string) {
		got := count(t, s, "SELECT count() FROM touchpoints FINAL")
		return got == n, fmt.Sprintf("%d touchpoints", got)
	})
}

func snapshot(t *testing.T, s *store.Store) string  { return chtest.Snapshot(t, s) }
func structure(t *testing.T, s *store.Store) string { return chtest.Structure(t, s) }
func render(t *testing.T, s *store.Store, queries ...string) string {
	return chtest.Render(t, s, queries...)
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func joinLines(l []string) string { return strings.Join(l, "\n") }

func containsWord(line, w string) bool {
	for _, f := range strings.Fields(line) {
		if f == w {
			return true
		}
	}
	return false
}
