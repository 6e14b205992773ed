package ingest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/journeys/journeys/internal/broker"
)

// The benchmarks drive the tracking API over loopback HTTP, through the
// real handler, validator and kafka-go publisher (acks=all), into the
// in-process kfake broker — all in this one process, on this machine's
// cores. See BENCHMARKS.md for the commands and figures.

// benchEvent is a realistic browser track call of about 600 bytes.
func benchEvent(i int) string {
	return fmt.Sprintf(`{"type":"track","messageId":"bench-%d","anonymousId":"anon-%d","userId":"user-%d","event":"purchase",`+
		`"properties":{"order_id":"o-%d","revenue":49.9,"currency":"EUR","products":[{"sku":"sku-1","price":49.9,"quantity":1}]},`+
		`"context":{"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",`+
		`"page":{"path":"/checkout/done","url":"https://shop.example.com/checkout/done","title":"Thank you"},"library":{"name":"analytics.js","version":"5.2.0"},"locale":"de-DE"},`+
		`"timestamp":"2025-03-01T11:59:58.123Z"}`, i, i%5000, i%5000, i)
}

func benchBatch(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"sentAt":"2025-03-01T11:59:59Z","batch":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(benchEvent(i))
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// benchRetentionBytes bounds the broker's log per partition.
const benchRetentionBytes = 8 << 20

type benchTarget struct {
	url    string
	body   []byte
	events int
	client *http.Client
}

func startBenchTarget(b *testing.B, batch int) *benchTarget {
	b.Helper()
	// The broker keeps 64 MiB per partition, as a real one keeps its log on
	// disk rather than in this process's heap.
	br, err := broker.Start(broker.Config{RetentionBytes: benchRetentionBytes})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(br.Close)
	pub := NewKafkaPublisher(KafkaConfig{Brokers: br.Addrs()})
	b.Cleanup(func() { _ = pub.Close() })
	h, err := NewHandler(Config{WriteKeys: []string{testKey}}, pub, prometheus.NewRegistry(), nil)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	t := &benchTarget{client: &http.Client{Transport: tr}, events: batch}
	if batch == 1 {
		t.url, t.body = srv.URL+"/v1/track", []byte(benchEvent(1))
	} else {
		t.url, t.body = srv.URL+"/v1/batch", benchBatch(batch)
	}
	t.send() // connect and warm the writer
	return t
}

// send posts the body once and reports whether it was answered 200.
func (t *benchTarget) send() bool {
	req, _ := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(t.body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(testKey, "")
	resp, err := t.client.Do(req)
	if err != nil {
		return false
	}
	var sink [256]byte
	for {
		if _, err := resp.Body.Read(sink[:]); err != nil {
			break
		}
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// benchShapes are the request shapes measured, with the concurrent
// clients used for each.
var benchShapes = []struct {
	name    string
	batch   int
	clients int
}{
	{"batch100", 100, 16},
	{"single", 1, 64},
}

// BenchmarkIngestHTTP measures throughput: b.N requests from concurrent
// clients, as fast as the service answers.
func BenchmarkIngestHTTP(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			t := startBenchTarget(b, s.batch)
			var failed atomic.Int64
			b.SetBytes(int64(len(t.body)))
			b.ReportAllocs()
			b.SetParallelism(max(1, s.clients/max(1, testingProcs())))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if !t.send() {
						failed.Add(1)
					}
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			if f := failed.Load(); f > 0 {
				b.Fatalf("%d of %d requests failed", f, b.N)
			}
			b.ReportMetric(float64(b.N*s.batch)/elapsed.Seconds(), "events/s")
		})
	}
}

// BenchmarkIngestLatency finds the peak request rate for a few seconds,
// then drives half of it at a fixed rate and reports latency percentiles.
// Latency is measured from each request's scheduled start, so a stall
// counts against every request it delays. Run it with -benchtime=1x.
func BenchmarkIngestLatency(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			t := startBenchTarget(b, s.batch)
			for range b.N {
				peak := t.peak(s.clients, 3*time.Second)
				lat, achieved := t.fixedRate(peak/2, 5*time.Second, 4*s.clients)
				b.ReportMetric(peak*float64(s.batch), "peak_events/s")
				b.ReportMetric(achieved*float64(s.batch), "driven_events/s")
				b.ReportMetric(ms(percentile(lat, 0.50)), "p50_ms")
				b.ReportMetric(ms(percentile(lat, 0.99)), "p99_ms")
				b.ReportMetric(ms(percentile(lat, 0.999)), "p999_ms")
			}
		})
	}
}

// peak is the requests/s that clients sending back to back achieve.
func (t *benchTarget) peak(clients int, d time.Duration) float64 {
	var ok atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if t.send() {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(ok.Load()) / d.Seconds()
}

// fixedRate schedules requests at rate per second for d and returns each
// request's latency from its scheduled start, and the rate achieved.
func (t *benchTarget) fixedRate(rate float64, d time.Duration, workers int) ([]time.Duration, float64) {
	interval := time.Duration(float64(time.Second) / rate)
	n := int(d / interval)
	due := make(chan time.Time, n)
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for at := range due {
				if w := time.Until(at); w > 0 {
					time.Sleep(w)
				}
				ok := t.send()
				i := next.Add(1) - 1
				lat[i] = time.Since(at)
				if !ok {
					lat[i] = time.Hour // a failure is the worst latency
				}
			}
		})
	}
	for i := range n {
		due <- start.Add(time.Duration(i) * interval)
	}
	close(due)
	wg.Wait()
	return lat, float64(n) / time.Since(start).Seconds()
}

func percentile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func testingProcs() int {
	return int(max(1, float64(runtimeProcs())))
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
