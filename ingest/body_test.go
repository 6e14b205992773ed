package ingest

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestGzipBodies(t *testing.T) {
	const batch = `{"batch":[{"type":"track","messageId":"g1","userId":"u1","event":"x"},{"type":"page","messageId":"g2","userId":"u1"}]}`
	runAPICases(t, []apiCase{
		{
			name:    "gzip batch",
			call:    call{path: "/v1/batch", body: batch, gzip: true},
			status:  http.StatusOK,
			records: 2,
		},
		{
			name:    "gzip single call from a browser as text/plain",
			call:    call{path: "/v1/t", body: `{"userId":"u1","event":"x"}`, gzip: true, contentType: "text/plain"},
			status:  http.StatusOK,
			records: 1,
		},
		{
			name:   "a body that says gzip but is not",
			call:   call{path: "/v1/batch", body: batch, header: map[string]string{"Content-Encoding": "gzip"}},
			status: http.StatusBadRequest,
			check:  wantError(ReasonBadEncoding, ""),
		},
		{
			name:   "a truncated gzip stream",
			call:   call{path: "/v1/batch", header: map[string]string{"Content-Encoding": "gzip"}, body: string(gzipped(t, []byte(batch))[:30])},
			status: http.StatusBadRequest,
			check:  wantError(ReasonBadEncoding, ""),
		},
		{
			name:   "brotli is not supported",
			call:   call{path: "/v1/batch", body: batch, header: map[string]string{"Content-Encoding": "br"}},
			status: http.StatusUnsupportedMediaType,
			check:  wantError(ReasonMediaType, `Content-Encoding "br" is not supported; send gzip or none`),
		},
		{
			name:   "gzip that inflates past 500 KB",
			call:   call{path: "/v1/batch", body: `{"batch":[` + strings.Repeat(`{"type":"page","userId":"u1"},`, 20000) + `{"type":"page","userId":"u1"}]}`, gzip: true},
			status: http.StatusRequestEntityTooLarge,
			check:  wantError(ReasonBatchTooLarge, "body exceeds 512000 bytes once decompressed"),
		},
	})
}

// A few kilobytes that inflate to 128 MB must be refused after reading
// no more than the limit, not after filling memory.
func TestZipBombIsRefused(t *testing.T) {
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 128 { // 128 MB of zeros
		_, _ = zw.Write(zeros)
	}
	_ = zw.Close()
	if bomb.Len() > 2<<20 {
		t.Fatalf("bomb of %d bytes is over the body limit", bomb.Len())
	}
	p := startPipeline(t, func(c *Config) { c.MaxBatchBytes = 4 << 20 })
	req, _ := http.NewRequest(http.MethodPost, p.srv.URL+"/v1/batch", bytes.NewReader(bomb.Bytes()))
	req.Header.Set("Content-Encoding", "gzip")
	req.SetBasicAuth(testKey, "")
	start := time.Now()
	resp, err := p.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413; body %s", resp.StatusCode, body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to refuse", d)
	}
}

func TestBeaconBodies(t *testing.T) {
	// navigator.sendBeacon posts text/plain and cannot set headers: the
	// key travels in the body or the query.
	runAPICases(t, []apiCase{
		{
			name:    "beacon batch with the key in the body",
			call:    call{path: "/v1/b", key: "-", contentType: "text/plain;charset=UTF-8", body: `{"writeKey":"` + testKey + `","sentAt":"2025-03-01T12:00:00Z","batch":[{"type":"page","anonymousId":"a1","messageId":"b1"},{"type":"track","anonymousId":"a1","event":"page_left","messageId":"b2"}]}`},
			status:  http.StatusOK,
			records: 2,
		},
		{
			name:    "beacon single call with the key in the query",
			call:    call{path: "/v1/p", key: "-", contentType: "text/plain", query: "writeKey=" + otherTestKey, body: `{"anonymousId":"a1","properties":{"path":"/checkout"}}`},
			status:  http.StatusOK,
			records: 1,
			check: func(t *testing.T, _ answer, recs []stored) {
				if recs[0].event.Source != "key-2" || recs[0].event.Channel != "web" {
					t.Errorf("source %q channel %q", recs[0].event.Source, recs[0].event.Channel)
				}
			},
		},
		{
			name:   "beacon without any key",
			call:   call{path: "/v1/p", key: "-", contentType: "text/plain", body: `{"anonymousId":"a1"}`},
			status: http.StatusUnauthorized,
		},
	})
}

// While requests hold the whole in-flight budget, the next one is told
// 503 at once instead of waiting.
func TestInFlightBytesAreBounded(t *testing.T) {
	p := startPipeline(t, func(c *Config) {
		c.MaxBatchBytes = 64 << 10
		c.MaxInFlightBytes = 64 << 10
	})
	// A sender that opens a chunked body and stalls holds a full batch's worth.
	pr, pw := io.Pipe()
	stalled := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, p.srv.URL+"/v1/batch", pr)
		req.SetBasicAuth(testKey, "")
		resp, err := p.srv.Client().Do(req)
		if err != nil {
			stalled <- 0
			return
		}
		resp.Body.Close()
		stalled <- resp.StatusCode
	}()
	_, _ = pw.Write([]byte(`{"batch":[`))
	waitFor(t, func() bool { return gatherFlat(t, p)["journeys_ingest_in_flight_bytes"] == 64<<10 })

	start := time.Now()
	a := p.do(t, call{path: "/v1/t", body: `{"userId":"u1","event":"x"}`})
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "1" {
		t.Fatalf("status %d Retry-After %q, want 503 and 1; body %s", a.status, a.header.Get("Retry-After"), a.body)
	}
	if e := decodeError(t, a.body); e.Reason != ReasonOverloaded {
		t.Errorf("reason %q", e.Reason)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("answered after %s, want at once", d)
	}

	_, _ = pw.Write([]byte(`{"type":"page","userId":"u1"}]}`))
	_ = pw.Close()
	if code := <-stalled; code != http.StatusOK {
		t.Errorf("stalled request finished with %d", code)
	}
	if a := p.do(t, call{path: "/v1/t", body: `{"userId":"u1","event":"x"}`}); a.status != http.StatusOK {
		t.Errorf("after the stall: status %d", a.status)
	}
	if got := gatherFlat(t, p)["journeys_ingest_in_flight_bytes"]; got != 0 {
		t.Errorf("in-flight bytes %v after every request finished", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
