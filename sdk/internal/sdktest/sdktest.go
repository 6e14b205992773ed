// Package sdktest starts what the SDKs' tests send to: the real ingest
// handler over HTTP in front of the in-process Kafka broker, behind a gate
// that can answer 503 as an unreachable ingest would, and a reader that
// collects what reached the touchpoints topic.
package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/ingest"
	"github.com/journeys/journeys/internal/broker"
	"github.com/journeys/journeys/schemas"
)

// WriteKey is the key the test ingest accepts.
const WriteKey = "test-key"

// partitions of the test broker's topics.
const partitions = 3

// Env is a running ingest behind a gate, reachable at URL.
type Env struct {
	URL  string
	Mux  *http.ServeMux // add the test's own routes (pages, /sdk.js) here
	Gate *Gate

	mu     sync.Mutex
	events []schemas.Event
}

// Start serves ingest at /v1/ on a new httptest server whose mux the
// test may extend, with its own broker, and starts collecting the
// touchpoints topic. Everything stops when the test ends.
func Start(t testing.TB) *Env {
	t.Helper()
	b, err := broker.Start(broker.Config{Partitions: partitions})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	pub := ingest.NewKafkaPublisher(ingest.KafkaConfig{Brokers: b.Addrs()})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := ingest.NewHandler(ingest.Config{WriteKeys: []string{WriteKey}}, pub, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{Mux: http.NewServeMux(), Gate: &Gate{next: h}}
	e.Mux.Handle("/v1/", e.Gate)
	srv := httptest.NewServer(e.Mux)
	e.URL = srv.URL
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for p := range partitions {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: b.Addrs(), Topic: broker.TopicTouchpoints, Partition: p,
			MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 50 * time.Millisecond,
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("read touchpoints partition %d: %v", p, err)
					}
					return
				}
				var ev schemas.Event
				if err := json.Unmarshal(m.Value, &ev); err != nil {
					t.Errorf("decode touchpoint: %v", err)
					continue
				}
				e.mu.Lock()
				e.events = append(e.events, ev)
				e.mu.Unlock()
			}
		}()
	}
	// Cleanups run last-in first-out: the server closes before the
	// readers, and the readers before the broker.
	t.Cleanup(func() { cancel(); wg.Wait() })
	t.Cleanup(func() { srv.Close(); pub.Close() })
	return e
}

// Events returns a copy of what has reached the touchpoints topic so far.
func (e *Env) Events() []schemas.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]schemas.Event(nil), e.events...)
}

// WaitEvents waits until cond holds for the events on the topic, or fails
// the test after within, printing what arrived.
func (e *Env) WaitEvents(t testing.TB, within time.Duration, what string, cond func([]schemas.Event) bool) []schemas.Event {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		evs := e.Events()
		if cond(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; %d events arrived:\n%s", what, within, len(evs), Describe(evs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Describe renders events one a line, for failure messages.
func Describe(evs []schemas.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "  %s %s %s anon=%s user=%s props=%s\n", ev.MessageID, ev.Type, ev.EventName(), ev.AnonymousID, ev.UserID, ev.Properties)
	}
	return b.String()
}

// Duplicates lists the messageIds that reached the topic more than once.
func Duplicates(evs []schemas.Event) []string {
	seen := map[string]int{}
	for _, ev := range evs {
		seen[ev.MessageID]++
	}
	var dup []string
	for id, n := range seen {
		if n > 1 {
			dup = append(dup, id)
		}
	}
	sort.Strings(dup)
	return dup
}

// Request is what the gate saw of one tracking request.
type Request struct {
	At          time.Time
	Path        string
	Status      int
	ContentType string
	FetchMode   string // Sec-Fetch-Mode: a beacon is no-cors
	Events      int
	IDs         []string
}

// Gate stands in front of ingest. While down it answers 503 itself, with
// Retry-After when RetryAfter is set, as a load balancer in front of a
// stopped ingest would.
type Gate struct {
	next http.Handler

	mu         sync.Mutex
	down       bool
	failNext   int
	retryAfter string
	seen       []Request
}

// SetDown makes every request fail with 503 (true) or reach ingest.
func (g *Gate) SetDown(down bool, retryAfter string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down, g.retryAfter = down, retryAfter
}

// FailNext makes the next n requests fail with 503.
func (g *Gate) FailNext(n int, retryAfter string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failNext, g.retryAfter = n, retryAfter
}

// Requests returns what the gate has seen so far.
func (g *Gate) Requests() []Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Request(nil), g.seen...)
}

// Count is the number of requests answered with status (0: all).
func (g *Gate) Count(status int) int {
	n := 0
	for _, r := range g.Requests() {
		if status == 0 || r.Status == status {
			n++
		}
	}
	return n
}

func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := Request{At: time.Now(), Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), FetchMode: r.Header.Get("Sec-Fetch-Mode")}
	req.Events, req.IDs = peek(body)
	g.mu.Lock()
	fail := g.down || g.failNext > 0
	if g.failNext > 0 {
		g.failNext--
	}
	retryAfter := g.retryAfter
	g.mu.Unlock()
	if fail {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		req.Status = http.StatusServiceUnavailable
		http.Error(w, `{"success":false,"code":"unavailable"}`, req.Status)
	} else {
		r.Body = io.NopCloser(bytes.NewReader(body))
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		g.next.ServeHTTP(sw, r)
		req.Status = sw.code
	}
	g.mu.Lock()
	g.seen = append(g.seen, req)
	g.mu.Unlock()
}

// peek reads the messageIds of a batch or a single call.
func peek(body []byte) (int, []string) {
	var b struct {
		Batch []struct {
			MessageID string `json:"messageId"`
		} `json:"batch"`
		MessageID string `json:"messageId"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return 0, nil
	}
	if b.Batch == nil {
		return 1, []string{b.MessageID}
	}
	ids := make([]string, len(b.Batch))
	for i, e := range b.Batch {
		ids[i] = e.MessageID
	}
	return len(ids), ids
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// ErrTimeout is returned by Until when the condition did not hold in time.
var ErrTimeout = errors.New("condition did not hold in time")

// Until polls cond every 20ms until it holds or within passes.
func Until(within time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return ErrTimeout
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
