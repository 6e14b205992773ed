package ingest

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/journeys/journeys/internal/broker"
)

// While the broker is down, requests are answered 503 with Retry-After
// within the produce timeout; once it is back, requests succeed again, and
// every event that was answered 200 — before, during or after — is in the
// log.
func TestBrokerStoppedThenRecoversWithNothingLost(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cfg := broker.Config{Port: port, DataDir: dir}
	b, err := broker.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pub := NewKafkaPublisher(KafkaConfig{Brokers: b.Addrs()})
	t.Cleanup(func() { _ = pub.Close() })
	h, err := NewHandler(Config{WriteKeys: []string{testKey}, ProduceTimeout: 500 * time.Millisecond}, pub, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	p := &testPipeline{srv: srv}

	var mu sync.Mutex
	acked := map[string]bool{}
	codes := map[int]int{}
	seq := 0
	send := func() int {
		mu.Lock()
		seq++
		id := "m" + strconv.Itoa(seq)
		mu.Unlock()
		a := p.do(t, call{path: "/v1/batch", body: fmt.Sprintf(
			`{"batch":[{"type":"track","messageId":"%s-a","userId":"u%d","event":"x"},{"type":"track","messageId":"%s-b","userId":"v%d","event":"x"}]}`,
			id, seq, id, seq)})
		mu.Lock()
		defer mu.Unlock()
		codes[a.status]++
		if a.status == http.StatusOK {
			acked[id+"-a"], acked[id+"-b"] = true, true
		} else if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
			t.Errorf("status %d Retry-After %q; body %s", a.status, a.header.Get("Retry-After"), a.body)
		}
		return a.status
	}

	for range 20 {
		if code := send(); code != http.StatusOK {
			t.Fatalf("healthy broker: status %d", code)
		}
	}
	b.Close()
	for range 5 {
		start := time.Now()
		if code := send(); code != http.StatusServiceUnavailable {
			t.Fatalf("broker stopped: status %d, want 503", code)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("503 after %s, want about the produce timeout", d)
		}
	}
	if b, err = broker.Start(cfg); err != nil {
		t.Fatalf("restart broker on port %d: %v", port, err)
	}
	t.Cleanup(b.Close)
	waitFor(t, func() bool { return send() == http.StatusOK })
	for range 20 {
		if code := send(); code != http.StatusOK {
			t.Fatalf("broker back: status %d", code)
		}
	}

	stored := map[string]bool{}
	for _, r := range readTopic(t, b.Addrs(), broker.TopicTouchpoints) {
		stored[r.event.MessageID] = true
	}
	for id := range acked {
		if !stored[id] {
			t.Errorf("event %s was answered 200 but is not in the log", id)
		}
	}
	t.Logf("answers %v; %d events acknowledged, %d in the log", codes, len(acked), len(stored))
}

func TestReadyz(t *testing.T) {
	p := startPipeline(t, nil)
	get := func(path string) int {
		resp, err := p.srv.Client().Get(p.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/readyz"); code != http.StatusOK {
		t.Errorf("readyz with the broker up: %d", code)
	}
	p.broker.Close()
	waitFor(t, func() bool { return get("/readyz") == http.StatusServiceUnavailable })
	if code := get("/healthz"); code != http.StatusOK {
		t.Errorf("healthz with the broker down: %d, want 200 (the process is up)", code)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
