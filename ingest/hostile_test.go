package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/broker"
)

// A hostile request is one of testdata/hostile/ or a body generated here
// (too big to commit), with the answer it must get. All run against one
// server, which must still take a valid batch afterwards.
type hostileCase struct {
	name string
	file string        // under testdata/hostile
	body func() []byte // when file is ""
	path string        // default /v1/track
	// chunked sends the body without a Content-Length, so that the server
	// must cut it itself rather than refuse it from its header.
	chunked bool
	gzip    bool // say Content-Encoding: gzip (the body is gzip already)
	noKey   bool // send no Basic auth
	status  int
	reason  Reason
	message string // the answer's message, or of its first rejected event, contains this
	// maxRead bounds the body bytes the handler may read; 0: no bound.
	maxRead int64
}

// countingBody counts the bytes the handler reads of request bodies.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// gzipBomb is n gzip members of 1 MiB of zeros each: about 1 KiB per MiB
// it inflates to.
func gzipBomb(n int) []byte {
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 1<<20))
	_ = zw.Close()
	return bytes.Repeat(member.Bytes(), n)
}

func TestHostileInputGetsAClearRefusalAndLeavesIngestHealthy(t *testing.T) {
	const batchLimit, eventLimit = DefaultMaxBatchBytes, DefaultMaxEventBytes
	tenMB := func() []byte {
		return []byte(`{"batch":[` + strings.Repeat(`{"type":"page","userId":"u1","properties":{"path":"/x"}},`, 10<<20/56) + `{"type":"page","userId":"u1"}]}`)
	}
	cases := []hostileCase{
		{name: "truncated JSON", file: "truncated.json", path: "/v1/batch", status: 400, reason: ReasonInvalidJSON, message: "body is not valid JSON: unexpected end of JSON input"},
		{name: "a form, not JSON", file: "not_json.txt", status: 400, reason: ReasonInvalidJSON, message: "invalid character 'u' looking for beginning of value"},
		{name: "batch is an object", file: "batch_not_array.json", path: "/v1/batch", status: 400, reason: ReasonInvalidJSON, message: `"batch" is not an array`},
		{name: "body is a JSON string", file: "body_is_string.json", status: 400, reason: ReasonInvalidJSON, message: "body is not a JSON object"},
		{name: "trailing garbage", file: "trailing_garbage.json", status: 400, reason: ReasonInvalidJSON, message: "after top-level value"},
		{name: "raw NUL byte", file: "nul_byte_raw.json", status: 400, reason: ReasonInvalidJSON, message: `invalid character '\x00'`},
		{name: "wrong types of every kind", file: "wrong_types.json", path: "/v1/batch", status: 400, reason: ReasonSchema, message: "userId: expected null or string, got number"},
		{name: "wrong write key in the body", file: "wrong_write_key.json", path: "/v1/batch", noKey: true, status: 401, reason: ReasonUnauthorized, message: "missing, unknown or disabled write key"},
		{name: "100,000 nested arrays as a batch", file: "deep_batch_100k.json", path: "/v1/batch", status: 400, reason: ReasonInvalidJSON, message: "exceeded max depth"},
		{name: "100,000 nested arrays as a call", file: "deep_arrays_100k.json", status: 413, reason: ReasonEventTooLarge, message: "body exceeds 32768 bytes", maxRead: eventLimit + 1},
		{name: "5,000 nested objects in properties", file: "deep_properties.json", status: 400, reason: ReasonUnsafeJSON, message: "properties.a.a.a.a.a.a.a…: objects and arrays nested deeper than 64 levels"},
		{name: "1e400 revenue", file: "huge_float.json", status: 400, reason: ReasonUnsafeJSON, message: "properties.revenue: number 1e400 is out of the range of a 64-bit float"},
		{name: "400-digit revenue", file: "huge_integer.json", status: 400, reason: ReasonUnsafeJSON, message: "properties.revenue: number 99999999999999999999… (400 digits) is out of the range"},
		{name: "huge numbers in a custom event", file: "huge_number_custom.json", status: 400, reason: ReasonUnsafeJSON, message: "properties.n: number 1e400"},
		{name: "invalid UTF-8 in userId", file: "invalid_utf8.json", status: 400, reason: ReasonUnsafeJSON, message: "userId: byte 0xff at offset 27 is not UTF-8"},
		{name: "invalid UTF-8 in a property", file: "invalid_utf8_property.json", status: 400, reason: ReasonUnsafeJSON, message: "properties.note: byte 0xc3 at offset 67 is not UTF-8"},
		{name: "half a surrogate pair in userId", file: "lone_surrogate.json", status: 400, reason: ReasonUnsafeJSON, message: `userId: \uD800 at offset 27 is half a UTF-16 surrogate pair`},
		{name: "NUL escaped in userId", file: "nul_in_user_id.json", status: 400, reason: ReasonUnsafeJSON, message: "userId: holds the control character U+0000"},
		{name: "10 MB batch with its length declared", body: tenMB, path: "/v1/batch", status: 413, reason: ReasonBatchTooLarge, message: "body exceeds 512000 bytes", maxRead: 1 /* refused from its header */},
		{name: "10 MB batch streamed without a length", body: tenMB, path: "/v1/batch", chunked: true, status: 413, reason: ReasonBatchTooLarge, message: "body exceeds 512000 bytes", maxRead: batchLimit + 1},
		{name: "10 MB single call streamed", body: tenMB, chunked: true, status: 413, reason: ReasonEventTooLarge, message: "body exceeds 32768 bytes", maxRead: eventLimit + 1},
		{name: "gzip bomb: 2 MB inflating to 2 GB", body: func() []byte { return gzipBomb(2048) }, path: "/v1/batch", chunked: true, gzip: true,
			status: 413, reason: ReasonBatchTooLarge, message: "body exceeds 512000 bytes once decompressed", maxRead: batchLimit + 1},
	}

	used := map[string]bool{}
	for _, tc := range cases {
		used[tc.file] = true
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "hostile", "*"))
	for _, f := range files {
		if !used[filepath.Base(f)] {
			t.Errorf("%s has no case: say what it must get", f)
		}
	}

	p := startPipeline(t, nil)
	var read atomic.Int64
	inner := p.srv.Config.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = countingBody{r.Body, &read}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.bodyBytes(t)
			path := tc.path
			if path == "" {
				path = "/v1/track"
			}
			var r io.Reader = bytes.NewReader(body)
			if tc.chunked {
				r = io.MultiReader(r) // hides the length from the client
			}
			req, err := http.NewRequest(http.MethodPost, srv.URL+path, r)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tc.gzip {
				req.Header.Set("Content-Encoding", "gzip")
			}
			if !tc.noKey {
				req.SetBasicAuth(testKey, "")
			}
			read.Store(0)
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			runtime.ReadMemStats(&after)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, answer)
			}
			e := decodeError(t, string(answer))
			msg := e.Error
			if len(e.Rejected) > 0 {
				msg = e.Rejected[0].Message
			}
			if e.Reason != tc.reason || !strings.Contains(msg, tc.message) {
				t.Errorf("reason %q message %q, want %q containing %q", e.Reason, msg, tc.reason, tc.message)
			}
			if tc.maxRead > 0 && read.Load() > tc.maxRead {
				t.Errorf("the handler read %d bytes of the body, want at most %d", read.Load(), tc.maxRead)
			}
			// The client holds the body already; what the request
			// allocates besides is the server's.
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
				t.Errorf("serving the request allocated %d MB", grew>>20)
			}
		})
	}

	// Still healthy: a valid batch is accepted and on Kafka, and nothing
	// of the hostile requests is.
	a := p.do(t, call{path: "/v1/batch", body: `{"batch":[{"type":"track","userId":"u1","event":"call","messageId":"ok-1"},{"type":"page","anonymousId":"a1","messageId":"ok-2"}]}`})
	if a.status != http.StatusOK {
		t.Fatalf("valid batch after the hostile ones: %d %s", a.status, a.body)
	}
	recs := readTopic(t, p.broker.Addrs(), broker.TopicTouchpoints)
	if len(recs) != 2 || byMessageID(t, recs)["ok-1"].event.UserID != "u1" {
		t.Errorf("records on the topic %+v, want the valid batch's two", recs)
	}
	if got := gatherFlat(t, p)["journeys_ingest_in_flight_bytes"]; got != 0 {
		t.Errorf("in-flight bytes %v after every request finished", got)
	}
}

func (tc hostileCase) bodyBytes(t *testing.T) []byte {
	t.Helper()
	if tc.file == "" {
		return tc.body()
	}
	b, err := os.ReadFile(filepath.Join("testdata", "hostile", tc.file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Slow senders (slowloris): a body trickling in past the read timeout is
// answered 408, headers that never finish get the connection closed, and
// ingest serves others meanwhile and after.
func TestSlowSendersAreCutOffAtTheReadTimeouts(t *testing.T) {
	b, err := broker.Start(broker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	pub := NewKafkaPublisher(KafkaConfig{Brokers: b.Addrs()})
	t.Cleanup(func() { _ = pub.Close() })
	cfg := Config{WriteKeys: []string{testKey}, ReadTimeout: 600 * time.Millisecond, ReadHeaderTimeout: 300 * time.Millisecond}
	h, err := NewHandler(cfg, pub, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, cfg, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	addr := ln.Addr().String()

	t.Run("a body sent a byte at a time", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		body := `{"userId":"u1","event":"call"}`
		fmt.Fprintf(conn, "POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: Basic d2tfdGVzdF9vbmU6\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		start := time.Now()
		go func() {
			for i := range len(body) {
				if _, err := conn.Write([]byte{body[i]}); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer to a slow body: %v", err)
		}
		answer, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(answer), `"reason":"body_timeout"`) {
			t.Errorf("answer %d %s, want 408 body_timeout", resp.StatusCode, answer)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("answered after %s; the read timeout is 600ms", d)
		}
	})
	t.Run("headers that never end", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /v1/track HTTP/1.1\r\nHost: x\r\n")
		start := time.Now()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadAll(conn) // returns when the server closes
		if err != nil {
			t.Fatalf("connection not closed by the server: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("closed after %s; the header timeout is 300ms", d)
		}
	})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/track", strings.NewReader(`{"userId":"u1","event":"call"}`))
	req.SetBasicAuth(testKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a normal request after the slow ones: %d", resp.StatusCode)
	}
}
