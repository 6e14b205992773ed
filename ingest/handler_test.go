package ingest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/journeys/journeys/schemas"
)

type apiCase struct {
	name    string
	call    call
	status  int
	records int // how many records must reach the topic
	check   func(t *testing.T, a answer, recs []stored)
}

func runAPICases(t *testing.T, cases []apiCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startPipeline(t, nil)
			a := p.do(t, tc.call)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d; body %s", a.status, tc.status, a.body)
			}
			if tc.status == http.StatusOK && !strings.HasPrefix(a.body, `{"success":true`) {
				t.Errorf("body %s, want success", a.body)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			recs := readTopic(t, p.broker.Addrs(), "touchpoints")
			if len(recs) != tc.records {
				t.Fatalf("%d records on the topic, want %d", len(recs), tc.records)
			}
			for _, r := range recs {
				if r.key != r.event.CustomerID() {
					t.Errorf("record key %q, want customer id %q", r.key, r.event.CustomerID())
				}
				if r.event.ReceivedAt != testNow {
					t.Errorf("receivedAt %v, want %v", r.event.ReceivedAt, testNow)
				}
				if _, leaked := r.fields["writeKey"]; leaked || strings.Contains(fmt.Sprint(r.fields), testKey) {
					t.Errorf("write key reached Kafka: %v", r.fields)
				}
			}
			if tc.check != nil {
				tc.check(t, a, recs)
			}
		})
	}
}

func TestSingleCallEndpoints(t *testing.T) {
	bodies := map[string]string{
		"track":    `{"messageId":"m1","userId":"u1","event":"call","properties":{"wait_seconds":12,"direction":"inbound"}}`,
		"identify": `{"messageId":"m1","userId":"u1","traits":{"plan":"pro"}}`,
		"page":     `{"messageId":"m1","userId":"u1","name":"Pricing","properties":{"path":"/pricing"}}`,
		"screen":   `{"messageId":"m1","userId":"u1","name":"Home"}`,
		"group":    `{"messageId":"m1","userId":"u1","groupId":"g1","traits":{"name":"Acme"}}`,
		"alias":    `{"messageId":"m1","userId":"u1","previousId":"a1"}`,
	}
	var cases []apiCase
	for _, ep := range endpoints {
		if ep.callType == "" {
			continue
		}
		for _, path := range []string{"/v1/" + ep.name, "/v1/" + ep.short} {
			cases = append(cases, apiCase{
				name:    ep.name + " at " + path,
				call:    call{path: path, body: bodies[ep.name]},
				status:  http.StatusOK,
				records: 1,
				check: func(t *testing.T, _ answer, recs []stored) {
					ev := recs[0].event
					if ev.Type != ep.callType || ev.MessageID != "m1" || recs[0].key != "u1" {
						t.Errorf("stored type %q id %q key %q", ev.Type, ev.MessageID, recs[0].key)
					}
					if ev.Source != "key-1" {
						t.Errorf("source %q, want key-1", ev.Source)
					}
				},
			})
		}
	}
	cases = append(cases, apiCase{
		name:    "the path sets the type whatever the body says",
		call:    call{path: "/v1/identify", body: `{"type":"track","userId":"u1"}`},
		status:  http.StatusOK,
		records: 1,
		check: func(t *testing.T, _ answer, recs []stored) {
			if recs[0].event.Type != schemas.TypeIdentify {
				t.Errorf("type %q", recs[0].event.Type)
			}
		},
	})
	runAPICases(t, cases)
}

func TestBatch(t *testing.T) {
	runAPICases(t, []apiCase{
		{
			name: "batch of three calls for two customers, batch context fills in",
			call: call{path: "/v1/batch", body: `{
				"context":{"library":{"name":"analytics.js"}},
				"batch":[
					{"type":"page","messageId":"p1","anonymousId":"a1","properties":{"path":"/"}},
					{"type":"track","messageId":"t1","anonymousId":"a1","event":"purchase","properties":{"order_id":"o1","revenue":10,"currency":"EUR"},"context":{"ip":"0.0.0.0"}},
					{"type":"identify","messageId":"i1","userId":"u9","traits":{"email":"x@example.com"}}
				]}`},
			status:  http.StatusOK,
			records: 3,
			check: func(t *testing.T, _ answer, recs []stored) {
				got := byMessageID(t, recs)
				if string(got["p1"].event.Context) != `{"library":{"name":"analytics.js"}}` {
					t.Errorf("p1 context %s, want the batch's", got["p1"].event.Context)
				}
				if string(got["t1"].event.Context) != `{"ip":"0.0.0.0"}` {
					t.Errorf("t1 context %s, want its own", got["t1"].event.Context)
				}
				if got["p1"].partition != got["t1"].partition {
					t.Errorf("one customer's events on partitions %d and %d", got["p1"].partition, got["t1"].partition)
				}
				if got["i1"].key != "u9" || got["t1"].key != "a1" {
					t.Errorf("keys %q %q", got["i1"].key, got["t1"].key)
				}
				if string(got["t1"].event.Properties) != `{"order_id":"o1","revenue":10,"currency":"EUR"}` {
					t.Errorf("properties not kept as sent: %s", got["t1"].event.Properties)
				}
			},
		},
		{
			name:    "short batch path",
			call:    call{path: "/v1/b", body: `{"batch":[{"type":"track","event":"signup","userId":"u1"}]}`},
			status:  http.StatusOK,
			records: 1,
		},
		{
			name:   "empty batch succeeds with nothing to store",
			call:   call{path: "/v1/batch", body: `{"batch":[]}`},
			status: http.StatusOK,
		},
		{
			name:   "body without a batch array",
			call:   call{path: "/v1/batch", body: `{"events":[]}`},
			status: http.StatusBadRequest,
			check:  wantError(ReasonInvalidJSON, `body has no "batch" array`),
		},
	})
}

func TestAuth(t *testing.T) {
	const track = `{"userId":"u1","event":"signup"}`
	runAPICases(t, []apiCase{
		{
			name:   "unknown key",
			call:   call{path: "/v1/track", body: track, key: "wk_guess"},
			status: http.StatusUnauthorized,
			check:  wantError(ReasonUnauthorized, "unknown or disabled write key"),
		},
		{
			name:   "no key anywhere",
			call:   call{path: "/v1/track", body: track, key: "-"},
			status: http.StatusUnauthorized,
			check:  wantError(ReasonUnauthorized, "missing, unknown or disabled write key"),
		},
		{
			name:   "unknown key in the body",
			call:   call{path: "/v1/batch", body: `{"writeKey":"wk_guess","batch":[` + `{"type":"track","userId":"u1","event":"x"}]}`, key: "-"},
			status: http.StatusUnauthorized,
		},
		{
			name:    "key in the batch body",
			call:    call{path: "/v1/batch", body: `{"writeKey":"` + testKey + `","batch":[{"type":"track","userId":"u1","event":"x"}]}`, key: "-"},
			status:  http.StatusOK,
			records: 1,
		},
		{
			name:    "key in a single call's body",
			call:    call{path: "/v1/t", body: `{"writeKey":"` + otherTestKey + `","userId":"u1","event":"x"}`, key: "-"},
			status:  http.StatusOK,
			records: 1,
			check: func(t *testing.T, _ answer, recs []stored) {
				if recs[0].event.Source != "key-2" {
					t.Errorf("source %q, want key-2", recs[0].event.Source)
				}
			},
		},
		{
			name:    "key in the query, as beacons send it",
			call:    call{path: "/v1/t", body: track, key: "-", query: "writeKey=" + testKey},
			status:  http.StatusOK,
			records: 1,
		},
	})
}

func TestContentType(t *testing.T) {
	const track = `{"userId":"u1","event":"signup"}`
	runAPICases(t, []apiCase{
		{
			name:    "text/plain from a browser avoiding preflight",
			call:    call{path: "/v1/t", body: track, contentType: "text/plain;charset=UTF-8"},
			status:  http.StatusOK,
			records: 1,
		},
		{
			name:    "no content type",
			call:    call{path: "/v1/t", body: track, contentType: "-"},
			status:  http.StatusOK,
			records: 1,
		},
		{
			name:   "form encoding",
			call:   call{path: "/v1/t", body: track, contentType: "application/x-www-form-urlencoded"},
			status: http.StatusUnsupportedMediaType,
			check:  wantError(ReasonMediaType, ""),
		},
	})
}

func TestMalformed(t *testing.T) {
	runAPICases(t, []apiCase{
		{
			name:   "neither anonymousId nor userId",
			call:   call{path: "/v1/track", body: `{"messageId":"m7","event":"signup"}`},
			status: http.StatusBadRequest,
			check: func(t *testing.T, a answer, _ []stored) {
				e := decodeError(t, a.body)
				if len(e.Rejected) != 1 || e.Rejected[0].Index != 0 || e.Rejected[0].MessageID != "m7" ||
					e.Rejected[0].Message != "anonymousId or userId is required" {
					t.Errorf("body %s", a.body)
				}
			},
		},
		{
			name: "a batch of only bad events is refused with each listed",
			call: call{path: "/v1/batch", body: `{"batch":[
				{"type":"page"},
				42]}`},
			status: http.StatusBadRequest,
			check: func(t *testing.T, a answer, _ []stored) {
				e := decodeError(t, a.body)
				if e.Reason != ReasonSchema || len(e.Rejected) != 2 || e.Rejected[0].Index != 0 || e.Rejected[1].Index != 1 ||
					e.Rejected[1].Message != "expected object, got number" {
					t.Errorf("body %s", a.body)
				}
			},
		},
		{
			name:   "body is not JSON",
			call:   call{path: "/v1/batch", body: `batch=1`},
			status: http.StatusBadRequest,
			check:  wantError(ReasonInvalidJSON, "body is not valid JSON: invalid character 'b' looking for beginning of value"),
		},
		{
			name:   "truncated JSON",
			call:   call{path: "/v1/track", body: `{"userId":"u1","event":"sig`},
			status: http.StatusBadRequest,
			check:  wantError(ReasonInvalidJSON, "body is not valid JSON: unexpected end of JSON input"),
		},
		{
			name:   "a single call that is an array",
			call:   call{path: "/v1/track", body: `[{"userId":"u1","event":"x"}]`},
			status: http.StatusBadRequest,
			check:  wantError(ReasonInvalidJSON, "body is not a JSON object"),
		},
		{
			name:   "batch sentAt not a date",
			call:   call{path: "/v1/batch", body: `{"sentAt":"now","batch":[]}`},
			status: http.StatusBadRequest,
			check:  wantError(ReasonSchema, "sentAt: expected an RFC 3339 date-time"),
		},
	})
}

func TestSizeLimits(t *testing.T) {
	pad := func(n int) string { return strings.Repeat("x", n) }
	bigEvent := `{"type":"track","userId":"u1","event":"x","properties":{"pad":"` + pad(33*1024) + `"}}`
	var many []string
	for range 20 {
		many = append(many, `{"type":"track","userId":"u1","event":"x","properties":{"pad":"`+pad(30*1024)+`"}}`)
	}
	runAPICases(t, []apiCase{
		{
			name:   "single call above 32 KB",
			call:   call{path: "/v1/track", body: `{"userId":"u1","event":"x","properties":{"pad":"` + pad(33*1024) + `"}}`},
			status: http.StatusRequestEntityTooLarge,
			check:  wantError(ReasonEventTooLarge, "body exceeds 32768 bytes"),
		},
		{
			name:    "one event above 32 KB in a small batch is rejected alone",
			call:    call{path: "/v1/batch", body: `{"batch":[{"type":"track","userId":"u1","event":"x"},` + bigEvent + `]}`},
			status:  http.StatusOK,
			records: 1,
			check: func(t *testing.T, a answer, _ []stored) {
				p := decodePartial(t, a.body)
				if p.Accepted != 1 || len(p.Rejected) != 1 || p.Rejected[0].Index != 1 || p.Rejected[0].Reason != ReasonEventTooLarge {
					t.Errorf("body %s", a.body)
				}
			},
		},
		{
			name:   "a batch of one event above 32 KB",
			call:   call{path: "/v1/batch", body: `{"batch":[` + bigEvent + `]}`},
			status: http.StatusRequestEntityTooLarge,
			check:  wantError(ReasonEventTooLarge, "every event of the batch was rejected"),
		},
		{
			name:   "more than 2,500 events",
			call:   call{path: "/v1/batch", body: `{"batch":[` + strings.Repeat(`{"type":"page","userId":"u"},`, 2500) + `{"type":"page","userId":"u"}]}`},
			status: http.StatusBadRequest,
			check:  wantError(ReasonTooManyEvents, "batch has 2501 events; at most 2500 are accepted"),
		},
		{
			name:   "batch above 500 KB of events each under 32 KB",
			call:   call{path: "/v1/batch", body: `{"batch":[` + strings.Join(many, ",") + `]}`},
			status: http.StatusRequestEntityTooLarge,
			check:  wantError(ReasonBatchTooLarge, "body exceeds 512000 bytes"),
		},
	})
}

func TestEnrichment(t *testing.T) {
	runAPICases(t, []apiCase{
		{
			name: "clock skew: the sender's clock runs an hour ahead",
			// The event happened 30 s before sending by the sender's clock,
			// so 30 s before receipt by ours.
			call:    call{path: "/v1/track", body: `{"messageId":"m1","userId":"u1","event":"x","timestamp":"2025-03-01T13:00:00Z","sentAt":"2025-03-01T13:00:30Z"}`},
			status:  http.StatusOK,
			records: 1,
			check:   wantTimestamp("m1", "2025-03-01T11:59:30Z"),
		},
		{
			name: "batch sentAt corrects every event lacking its own; the event's own comes first",
			call: call{path: "/v1/batch", body: `{"sentAt":"2025-03-01T09:00:10Z","batch":[
				{"type":"track","messageId":"a","userId":"u1","event":"x","timestamp":"2025-03-01T09:00:00Z"},
				{"type":"track","messageId":"b","userId":"u1","event":"x","originalTimestamp":"2025-03-01T09:00:05.5Z"},
				{"type":"track","messageId":"c","userId":"u1","event":"x","timestamp":"2025-03-01T09:00:00Z","sentAt":"2025-03-01T09:01:00Z"}]}`},
			status:  http.StatusOK,
			records: 3,
			check: func(t *testing.T, a answer, recs []stored) {
				wantTimestamp("a", "2025-03-01T11:59:50Z")(t, a, recs)
				wantTimestamp("b", "2025-03-01T11:59:55.5Z")(t, a, recs)
				wantTimestamp("c", "2025-03-01T11:59:00Z")(t, a, recs)
				b := byMessageID(t, recs)["b"].event
				if b.OriginalTimestamp == nil || !b.OriginalTimestamp.Equal(mustTime(t, "2025-03-01T09:00:05.5Z")) ||
					b.SentAt == nil || !b.SentAt.Equal(mustTime(t, "2025-03-01T09:00:10Z")) {
					t.Errorf("originalTimestamp %v sentAt %v not kept", b.OriginalTimestamp, b.SentAt)
				}
			},
		},
		{
			name:    "no sentAt keeps the sender's timestamp",
			call:    call{path: "/v1/track", body: `{"messageId":"m1","userId":"u1","event":"x","timestamp":"2025-02-28T08:00:00+01:00"}`},
			status:  http.StatusOK,
			records: 1,
			check:   wantTimestamp("m1", "2025-02-28T07:00:00Z"),
		},
		{
			name:    "no timestamp means received now",
			call:    call{path: "/v1/track", body: `{"messageId":"m1","userId":"u1","event":"x","sentAt":"2025-03-01T13:00:30Z"}`},
			status:  http.StatusOK,
			records: 1,
			check:   wantTimestamp("m1", "2025-03-01T12:00:00Z"),
		},
		{
			name:    "a missing messageId is generated",
			call:    call{path: "/v1/batch", body: `{"batch":[{"type":"track","userId":"u1","event":"x"},{"type":"track","userId":"u1","event":"x"}]}`},
			status:  http.StatusOK,
			records: 2,
			check: func(t *testing.T, _ answer, recs []stored) {
				for _, r := range recs {
					if _, err := uuid.Parse(r.event.MessageID); err != nil {
						t.Errorf("messageId %q is not a UUID", r.event.MessageID)
					}
				}
				if recs[0].event.MessageID == recs[1].event.MessageID {
					t.Error("generated messageIds repeat")
				}
			},
		},
		{
			name: "channel defaults by type and event, a sent channel is kept",
			call: call{path: "/v1/batch", body: `{"batch":[
				{"type":"track","messageId":"call","userId":"u1","event":"call"},
				{"type":"page","messageId":"page","userId":"u1"},
				{"type":"screen","messageId":"screen","userId":"u1"},
				{"type":"track","messageId":"custom","userId":"u1","event":"signup"},
				{"type":"track","messageId":"sent","userId":"u1","event":"call","channel":"chat"}]}`},
			status:  http.StatusOK,
			records: 5,
			check: func(t *testing.T, _ answer, recs []stored) {
				want := map[string]string{"call": "phone", "page": "web", "screen": "app", "custom": "", "sent": "chat"}
				for id, r := range byMessageID(t, recs) {
					if r.event.Channel != want[id] {
						t.Errorf("%s: channel %q, want %q", id, r.event.Channel, want[id])
					}
				}
			},
		},
		{
			name:    "unknown fields are dropped, null ids are absent",
			call:    call{path: "/v1/page", body: `{"messageId":"m1","anonymousId":"a1","userId":null,"integrations":{"All":true},"_metadata":{}}`},
			status:  http.StatusOK,
			records: 1,
			check: func(t *testing.T, _ answer, recs []stored) {
				f := recs[0].fields
				for _, k := range []string{"integrations", "_metadata", "userId"} {
					if _, ok := f[k]; ok {
						t.Errorf("field %s reached Kafka", k)
					}
				}
				if recs[0].key != "a1" {
					t.Errorf("key %q", recs[0].key)
				}
			},
		},
	})
}

func wantError(reason Reason, message string) func(*testing.T, answer, []stored) {
	return func(t *testing.T, a answer, _ []stored) {
		t.Helper()
		e := decodeError(t, a.body)
		if e.Reason != reason || (message != "" && e.Error != message) {
			t.Errorf("error %q reason %q, want %q %q", e.Error, e.Reason, message, reason)
		}
	}
}

func wantTimestamp(messageID, want string) func(*testing.T, answer, []stored) {
	return func(t *testing.T, _ answer, recs []stored) {
		t.Helper()
		r, ok := byMessageID(t, recs)[messageID]
		if !ok {
			t.Fatalf("no record %s", messageID)
		}
		if w := mustTime(t, want); !r.event.Timestamp.Equal(w) {
			t.Errorf("%s: timestamp %s, want %s", messageID, r.event.Timestamp.Format(time.RFC3339Nano), want)
		}
	}
}

func TestBrokerTroubleAnswers503(t *testing.T) {
	const timeout = 400 * time.Millisecond
	tests := []struct {
		name  string
		fault func(t *testing.T, p *testPipeline)
	}{
		{
			name:  "broker gone",
			fault: func(_ *testing.T, p *testPipeline) { p.broker.Close() },
		},
		{
			name: "broker does not acknowledge within the produce timeout",
			fault: func(t *testing.T, p *testPipeline) {
				release := make(chan struct{})
				t.Cleanup(func() { close(release) }) // runs before the broker closes
				c := p.broker.Cluster()
				c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
					c.KeepControl()
					c.SleepControl(func() { <-release })
					return nil, nil, false
				})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startPipeline(t, func(c *Config) { c.ProduceTimeout = timeout })
			tt.fault(t, p)

			start := time.Now()
			a := p.do(t, call{path: "/v1/track", body: `{"userId":"u1","event":"signup"}`})
			if a.status != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503; body %s", a.status, a.body)
			}
			if a.header.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
			if e := decodeError(t, a.body); e.Reason != ReasonUnavailable {
				t.Errorf("reason %q", e.Reason)
			}
			if d := time.Since(start); d > timeout+2*time.Second {
				t.Errorf("answered after %s, want about the produce timeout %s", d, timeout)
			}
			if got := gatherFlat(t, p)[`journeys_ingest_produce_duration_seconds_count{outcome="failed"}`]; got != 1 {
				t.Errorf("failed produce observations %v, want 1", got)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	p := startPipeline(t, nil)
	resp, err := p.srv.Client().Get(p.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestMetrics(t *testing.T) {
	p := startPipeline(t, nil)
	p.do(t, call{path: "/v1/b", body: `{"batch":[{"type":"track","userId":"u1","event":"x"},{"type":"page","userId":"u1"}]}`})
	p.do(t, call{path: "/v1/batch", body: `{"batch":[{"type":"track","userId":"u1","event":"x"},{"type":"page"},{"type":"page"}]}`})
	p.do(t, call{path: "/v1/batch", body: `{"batch":[{"type":"page"}]}`})
	p.do(t, call{path: "/v1/t", body: `{}`, key: "wk_guess"})

	want := map[string]float64{
		`journeys_ingest_requests_total{code="200",endpoint="batch"}`:                   2,
		`journeys_ingest_requests_total{code="400",endpoint="batch"}`:                   1,
		`journeys_ingest_requests_total{code="401",endpoint="track"}`:                   1,
		`journeys_ingest_events_accepted_total{source="key-1"}`:                         3,
		`journeys_ingest_events_rejected_total{reason="schema",source="key-1"}`:         3,
		`journeys_ingest_events_rejected_total{reason="unauthorized",source="unknown"}`: 1,
		`journeys_ingest_produce_duration_seconds_count{outcome="acked"}`:               3,
		`journeys_ingest_batch_events_count`:                                            3,
		`journeys_ingest_in_flight_bytes`:                                               0,
	}
	got := gatherFlat(t, p)
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
}

func gatherFlat(t *testing.T, p *testPipeline) map[string]float64 {
	t.Helper()
	mfs, err := p.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			name := mf.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[name] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[name] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				if len(labels) == 0 {
					out[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
				} else {
					out[strings.Replace(name, "{", "_count{", 1)] = float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
	}
	return out
}

// The error body a refusal answers is what SDKs parse; keep its shape.
func TestErrorBodyShape(t *testing.T) {
	b, _ := json.Marshal(errorBody{Error: "invalid batch", Reason: ReasonSchema, Rejected: []RejectedEvent{
		{Index: 3, MessageID: "m", Reason: ReasonSchema, Message: "properties.revenue: expected number, got string"},
	}})
	want := `{"error":"invalid batch","reason":"schema","rejected":[{"index":3,"messageId":"m","reason":"schema","message":"properties.revenue: expected number, got string"}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}
