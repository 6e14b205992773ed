package ingest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/journeys/journeys/internal/broker"
	"github.com/journeys/journeys/internal/loadgen"
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

// benchRetentionBytes bounds the broker's log per partition. kfake holds
// its log in this process's heap and grows each segment by doubling one
// byte slice; unbounded, a 5 s run made the broker hold gigabytes and the
// benchmark measure that growth (throughput fell with the length of the
// run). A real broker appends to files in the page cache. 1 MiB per
// partition (segments of 256 KiB) keeps the broker's copying to a few per
// cent of the profile; every record is still written and acknowledged.
const benchRetentionBytes = 1 << 20

type benchTarget struct {
	base   string // the server's URL
	url    string
	body   []byte
	events int
	client *http.Client
}

func startBenchTarget(b *testing.B, batch int) *benchTarget {
	b.Helper()
	br, err := broker.Start(broker.Config{RetentionBytes: benchRetentionBytes})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(br.Close)
	return startBenchTargetOn(b, batch, br.Addrs())
}

// startBenchTargetOn serves the tracking API into the broker at addrs.
func startBenchTargetOn(b *testing.B, batch int, addrs []string) *benchTarget {
	b.Helper()
	pub := NewKafkaPublisher(KafkaConfig{Brokers: addrs})
	b.Cleanup(func() { _ = pub.Close() })
	h, err := NewHandler(Config{WriteKeys: []string{testKey}}, pub, prometheus.NewRegistry(), nil)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	t := newBenchClient(srv.URL, batch)
	b.Cleanup(t.client.CloseIdleConnections)
	if err := t.send(); err != nil { // connect and warm the writer
		b.Fatal(err)
	}
	return t
}

// newBenchClient sends the benchmark's request of batch events to the
// tracking API at base.
func newBenchClient(base string, batch int) *benchTarget {
	tr := &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512, DisableCompression: true}
	t := &benchTarget{client: &http.Client{Transport: tr}, events: batch, base: base}
	if batch == 1 {
		t.url, t.body = base+"/v1/track", []byte(benchEvent(1))
	} else {
		t.url, t.body = base+"/v1/batch", benchBatch(batch)
	}
	return t
}

// send posts the body once; it fails unless the answer is 200.
func (t *benchTarget) send() error {
	req, _ := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(t.body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(testKey, "")
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var sink [256]byte
	for {
		if _, err := resp.Body.Read(sink[:]); err != nil {
			break
		}
	}
	return nil
}

// failures counts failed requests and keeps the first error.
type failures struct{ loadgen.Failures }

func (f *failures) add(err error) { f.Add(err) }

func (f *failures) check(b *testing.B, of int) {
	if err := f.Err(of); err != nil {
		b.Fatal(err)
	}
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
			var failed failures
			b.SetBytes(int64(len(t.body)))
			b.ReportAllocs()
			b.SetParallelism(max(1, s.clients/max(1, testingProcs())))
			b.ResetTimer()
			start, cpu := time.Now(), processCPU()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					failed.add(t.send())
				}
			})
			elapsed, cpu := time.Since(start), processCPU()-cpu
			b.StopTimer()
			failed.check(b, b.N)
			events := float64(b.N * s.batch)
			b.ReportMetric(events/elapsed.Seconds(), "events/s")
			if cpu > 0 {
				b.ReportMetric(float64(cpu.Microseconds())/events, "cpu_us/event")
			}
		})
	}
}

// BenchmarkIngestLatency finds the peak request rate for a few seconds,
// then drives half of it at a fixed rate and reports latency percentiles.
// Latency is measured from each request's scheduled start, so a stall
// counts against every request it delays. Run it with -benchtime=1x.
//
// The broker runs in this process (broker=inprocess, as in the other
// benchmarks) and in a process of its own (broker=process, as Kafka does
// in production), one after the other in the same run; the third
// placement also drives the load from a process of its own
// (broker=process/clients=process), so that ingest's process holds ingest
// alone, as it does in production.
func BenchmarkIngestLatency(b *testing.B) {
	placements := []struct {
		name  string
		start func(b *testing.B, batch int) *benchTarget
	}{
		{"broker=inprocess", startBenchTarget},
		{"broker=process", func(b *testing.B, batch int) *benchTarget {
			return startBenchTargetOn(b, batch, startBrokerProcess(b))
		}},
	}
	for _, s := range benchShapes {
		for _, pl := range placements {
			b.Run(s.name+"/"+pl.name, func(b *testing.B) {
				benchLatency(b, pl.start(b, s.batch), s.batch, s.clients)
			})
		}
		b.Run(s.name+"/broker=process/clients=process", func(b *testing.B) {
			t := startBenchTargetOn(b, s.batch, startBrokerProcess(b))
			for range b.N {
				r := runBenchClients(b, t.base, s.batch, s.clients)
				reportLatency(b, r, s.batch)
			}
		})
	}
}

// peakPhase is how long the latency benchmark looks for the peak.
const peakPhase = 3 * time.Second

// settlePhase is how long it drives half of the peak before measuring:
// the peak phase ends with every client's request in flight, a heap and a
// broker log grown under overload, and the first quarter second at the
// fixed rate measured that backlog, not the load (a run with per-window
// counts had 108 of its 118 slow requests there, the ones that made its
// p99 83 ms). Load generators discard such a warm-up as well.
const settlePhase = time.Second

// fixedPhase is how long it then drives half of the peak: 5 s, or the
// seconds $JOURNEYS_BENCH_LATENCY_SECONDS gives. A p99 over 5 s rests on
// its slowest 1 % of a few thousand requests, which one burst can fill.
func fixedPhase() time.Duration {
	if n, err := strconv.Atoi(os.Getenv("JOURNEYS_BENCH_LATENCY_SECONDS")); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 5 * time.Second
}

// benchLatency finds t's peak, then drives half of it for settlePhase
// unmeasured and for fixedPhase measured.
func benchLatency(b *testing.B, t *benchTarget, batch, clients int) {
	for range b.N {
		r, err := t.measureLatency(clients)
		if err != nil {
			b.Fatal(err)
		}
		reportLatency(b, r, batch)
	}
}

// measureLatency is one latency run of clients against t: the peak, the
// settle second, then half of the peak measured. A failed request fails
// the run.
func (t *benchTarget) measureLatency(clients int) (latencyReport, error) {
	var failed failures
	peak := t.peak(clients, peakPhase, &failed)
	if err := failed.Err(0); err != nil {
		return latencyReport{}, fmt.Errorf("peak: %w", err)
	}
	t.fixedRate(peak/2, settlePhase, 4*clients, &failed)
	lat, achieved := t.fixedRate(peak/2, fixedPhase(), 4*clients, &failed)
	if err := failed.Err(len(lat)); err != nil {
		return latencyReport{}, fmt.Errorf("half of peak: %w", err)
	}
	return latencyOf(peak, achieved, lat), nil
}

// latencyReport is what a latency run measured, in requests/s and
// milliseconds.
type latencyReport struct {
	Peak, Achieved float64
	P50, P99, P999 float64
}

func latencyOf(peak, achieved float64, lat []time.Duration) latencyReport {
	return latencyReport{Peak: peak, Achieved: achieved,
		P50: ms(percentile(lat, 0.50)), P99: ms(percentile(lat, 0.99)), P999: ms(percentile(lat, 0.999))}
}

func reportLatency(b *testing.B, r latencyReport, batch int) {
	b.ReportMetric(r.Peak*float64(batch), "peak_events/s")
	b.ReportMetric(r.Achieved*float64(batch), "driven_events/s")
	b.ReportMetric(r.P50, "p50_ms")
	b.ReportMetric(r.P99, "p99_ms")
	b.ReportMetric(r.P999, "p999_ms")
}

// peak is the requests/s that clients sending back to back achieve.
func (t *benchTarget) peak(clients int, d time.Duration, failed *failures) float64 {
	var ok atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				err := t.send()
				if failed.add(err); err == nil {
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
func (t *benchTarget) fixedRate(rate float64, d time.Duration, workers int, failed *failures) ([]time.Duration, float64) {
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
				err := t.send()
				i := next.Add(1) - 1
				lat[i] = time.Since(at)
				failed.add(err)
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

var (
	percentile = loadgen.Percentile
	ms         = loadgen.Ms
)

func testingProcs() int {
	return int(max(1, float64(runtimeProcs())))
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// BenchmarkHandler measures the handler alone — body read, decode,
// validation, enrichment, encoding — with a publisher that acknowledges at
// once and no network: the part of BenchmarkIngestHTTP that is ingest's own.
func BenchmarkHandler(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			h, err := NewHandler(Config{WriteKeys: []string{testKey}}, acceptingPublisher{}, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			path, body := "/v1/batch", benchBatch(s.batch)
			if s.batch == 1 {
				path, body = "/v1/track", []byte(benchEvent(1))
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				r.SetBasicAuth(testKey, "")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*s.batch), "ns/event")
		})
	}
}
