package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/internal/broker"
	"github.com/journeys/journeys/schemas"
)

// Write keys of the test server; the second one is source "key-2".
const (
	testKey      = "wk_test_one"
	otherTestKey = "wk_test_two"
)

// testNow is the receivedAt of every request in these tests.
var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type testPipeline struct {
	broker *broker.Embedded
	pub    *KafkaPublisher
	srv    *httptest.Server
	reg    *prometheus.Registry
}

// startPipeline runs an in-process broker, a Kafka publisher and the ingest
// handler over real HTTP, all torn down when the test ends.
func startPipeline(t *testing.T, change func(*Config)) *testPipeline {
	t.Helper()
	b, err := broker.Start(broker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	pub := NewKafkaPublisher(KafkaConfig{Brokers: b.Addrs(), Topic: broker.TopicTouchpoints})
	t.Cleanup(func() { _ = pub.Close() })

	cfg := Config{
		WriteKeys: []string{testKey, otherTestKey},
		Now:       func() time.Time { return testNow },
	}
	if change != nil {
		change(&cfg)
	}
	reg := prometheus.NewRegistry()
	h, err := NewHandler(cfg, pub, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testPipeline{broker: b, pub: pub, srv: srv, reg: reg}
}

// call is one HTTP request to the tracking API.
type call struct {
	path        string
	body        string
	contentType string // default application/json; "-" sends none
	key         string // Basic auth user; default testKey; "-" sends none
	query       string
	method      string            // default POST
	header      map[string]string // more headers, such as Origin
	gzip        bool              // gzip the body and say so
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (p *testPipeline) do(t *testing.T, c call) answer {
	t.Helper()
	url := p.srv.URL + c.path
	if c.query != "" {
		url += "?" + c.query
	}
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader = strings.NewReader(c.body)
	if c.gzip {
		body = bytes.NewReader(gzipped(t, []byte(c.body)))
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	switch c.contentType {
	case "":
		req.Header.Set("Content-Type", "application/json")
	case "-":
	default:
		req.Header.Set("Content-Type", c.contentType)
	}
	switch c.key {
	case "":
		req.SetBasicAuth(testKey, "")
	case "-":
	default:
		req.SetBasicAuth(c.key, "")
	}
	resp, err := p.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// stored is one record read back from the touchpoints topic.
type stored struct {
	key       string
	partition int
	event     schemas.Event
	fields    map[string]any // the value as generic JSON
}

// readTopic reads every record of the topic, partition by partition. The
// handler answered before this is called, so all records are acknowledged
// and the end offsets are final.
func readTopic(t *testing.T, addrs []string, topic string) []stored {
	t.Helper()
	var out []stored
	for _, m := range readMessages(t, addrs, topic) {
		s := stored{key: string(m.Key), partition: m.Partition}
		if err := json.Unmarshal(m.Value, &s.event); err != nil {
			t.Fatalf("decode record: %v", err)
		}
		if err := json.Unmarshal(m.Value, &s.fields); err != nil {
			t.Fatalf("decode record: %v", err)
		}
		out = append(out, s)
	}
	return out
}

func readValues(t *testing.T, addrs []string, topic string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, m := range readMessages(t, addrs, topic) {
		out = append(out, m.Value)
	}
	return out
}

// readMessages reads every record of a topic with kafka-go, partition by
// partition, up to the end offsets at the time of the call.
func readMessages(t *testing.T, addrs []string, topic string) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []kafka.Message
	for p := 0; p < 3; p++ {
		conn, err := kafka.DialLeader(ctx, "tcp", addrs[0], topic, p)
		if err != nil {
			t.Fatalf("dial partition %d: %v", p, err)
		}
		last, err := conn.ReadLastOffset()
		_ = conn.Close()
		if err != nil {
			t.Fatalf("last offset of partition %d: %v", p, err)
		}
		if last == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: addrs, Topic: topic, Partition: p, MaxWait: 50 * time.Millisecond,
		})
		for i := int64(0); i < last; i++ {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				_ = r.Close()
				t.Fatalf("read partition %d offset %d: %v", p, i, err)
			}
			out = append(out, m)
		}
		_ = r.Close()
	}
	return out
}

func byMessageID(t *testing.T, recs []stored) map[string]stored {
	t.Helper()
	m := make(map[string]stored, len(recs))
	for _, r := range recs {
		m[r.event.MessageID] = r
	}
	return m
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// decodeError decodes a refusal body.
func decodeError(t *testing.T, body string) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rejectedRecords reads every record of touchpoints.rejected.
func rejectedRecords(t *testing.T, addrs []string) []RejectedRecord {
	t.Helper()
	var out []RejectedRecord
	for _, v := range readValues(t, addrs, broker.TopicRejected) {
		var r RejectedRecord
		if err := json.Unmarshal(v, &r); err != nil {
			t.Fatalf("decode rejected record %s: %v", v, err)
		}
		out = append(out, r)
	}
	return out
}

// decodePartial decodes the 200 answer of a partly accepted batch.
func decodePartial(t *testing.T, body string) partialBody {
	t.Helper()
	var p partialBody
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("partial body %q: %v", body, err)
	}
	return p
}
