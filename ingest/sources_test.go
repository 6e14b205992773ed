package ingest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Sources of the tests that configure them: a shop's web site, an order
// system limited to purchases, and a switched-off legacy source.
var testSources = []Source{
	{Name: "web", WriteKey: "wk_web", AllowedOrigins: []string{"https://shop.example.com", "https://*.example.org"}},
	{Name: "orders", WriteKey: "wk_orders", AllowedEvents: []string{"purchase", "checkout_started", "identify"}},
	{Name: "legacy", WriteKey: "wk_legacy", Disabled: true},
}

func withSources(c *Config) {
	c.Sources = testSources
	c.WriteKeys = nil
}

func runSourceCases(t *testing.T, cases []apiCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startPipeline(t, withSources)
			a := p.do(t, tc.call)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d; body %s", a.status, tc.status, a.body)
			}
			recs := readTopic(t, p.broker.Addrs(), "touchpoints")
			if len(recs) != tc.records {
				t.Fatalf("%d records on the topic, want %d", len(recs), tc.records)
			}
			if tc.check != nil {
				tc.check(t, a, recs)
			}
		})
	}
}

func TestSourceAuthentication(t *testing.T) {
	const track = `{"userId":"u1","event":"purchase","properties":{"order_id":"o1"}}`
	runSourceCases(t, []apiCase{
		{
			name:    "a configured key names its source in the event",
			call:    call{path: "/v1/track", body: track, key: "wk_orders"},
			status:  http.StatusOK,
			records: 1,
			check: func(t *testing.T, _ answer, recs []stored) {
				if recs[0].event.Source != "orders" {
					t.Errorf("source %q, want orders", recs[0].event.Source)
				}
			},
		},
		{
			name:   "a disabled source's key is refused like an unknown one",
			call:   call{path: "/v1/track", body: track, key: "wk_legacy"},
			status: http.StatusUnauthorized,
			check:  wantError(ReasonUnauthorized, "unknown or disabled write key"),
		},
		{
			name:   "a disabled source's key in the body",
			call:   call{path: "/v1/batch", body: `{"writeKey":"wk_legacy","batch":[{"type":"page","userId":"u1"}]}`, key: "-"},
			status: http.StatusUnauthorized,
		},
		{
			name:   "a shortcut write key is not configured when sources are",
			call:   call{path: "/v1/track", body: track},
			status: http.StatusUnauthorized,
		},
		{
			name:   "Basic auth that does not parse",
			call:   call{path: "/v1/track", body: track, key: "-", header: map[string]string{"Authorization": "Bearer wk_orders"}},
			status: http.StatusUnauthorized,
		},
		{
			name:   "an unknown key in the query",
			call:   call{path: "/v1/track", body: track, key: "-", query: "writeKey=wk_nope"},
			status: http.StatusUnauthorized,
		},
		{
			name: "events a source may not send are rejected one by one",
			call: call{path: "/v1/batch", key: "wk_orders", body: `{"batch":[
				{"type":"track","messageId":"ok","userId":"u1","event":"Order Completed","properties":{"order_id":"o1"}},
				{"type":"page","messageId":"no-page","userId":"u1"},
				{"type":"track","messageId":"no-custom","userId":"u1","event":"signup"}]}`},
			status:  http.StatusOK,
			records: 1,
			check: func(t *testing.T, a answer, recs []stored) {
				p := decodePartial(t, a.body)
				if p.Accepted != 1 || len(p.Rejected) != 2 {
					t.Fatalf("body %s", a.body)
				}
				for i, want := range []RejectedEvent{
					{Index: 1, MessageID: "no-page", Reason: ReasonEventNotAllowed, Message: `source orders may not send "page" events`},
					{Index: 2, MessageID: "no-custom", Reason: ReasonEventNotAllowed, Message: `source orders may not send "signup" events`},
				} {
					if got := p.Rejected[i]; got.Index != want.Index || got.MessageID != want.MessageID ||
						got.Reason != want.Reason || got.Message != want.Message {
						t.Errorf("rejected[%d] %+v, want %+v", i, got, want)
					}
				}
				if recs[0].event.Event != "purchase" {
					t.Errorf("Order Completed stored as %q, want purchase", recs[0].event.Event)
				}
			},
		},
	})
}

func TestCORS(t *testing.T) {
	const track = `{"userId":"u1","event":"signup"}`
	preflight := func(origin string) call {
		return call{path: "/v1/t", method: http.MethodOptions, key: "-", contentType: "-", header: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type",
		}}
	}
	allowed := func(origin string) func(*testing.T, answer, []stored) {
		return func(t *testing.T, a answer, _ []stored) {
			t.Helper()
			if got := a.header.Get("Access-Control-Allow-Origin"); got != origin {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, origin)
			}
		}
	}
	runSourceCases(t, []apiCase{
		{
			name:   "preflight from an allowed origin",
			call:   preflight("https://shop.example.com"),
			status: http.StatusNoContent,
			check: func(t *testing.T, a answer, recs []stored) {
				allowed("https://shop.example.com")(t, a, recs)
				if a.header.Get("Access-Control-Allow-Methods") != "POST, OPTIONS" ||
					a.header.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type, Content-Encoding" ||
					a.header.Get("Access-Control-Max-Age") == "" {
					t.Errorf("preflight headers %v", a.header)
				}
			},
		},
		{
			name:   "preflight from a subdomain of a wildcard origin",
			call:   preflight("https://blog.example.org"),
			status: http.StatusNoContent,
			check:  allowed("https://blog.example.org"),
		},
		{
			name:   "preflight on a short alias from an unknown origin",
			call:   preflight("https://evil.example.net"),
			status: http.StatusForbidden,
			check:  allowed(""),
		},
		{
			name:    "request from an allowed origin may read the answer",
			call:    call{path: "/v1/t", body: track, key: "wk_web", contentType: "text/plain", header: map[string]string{"Origin": "https://shop.example.com"}},
			status:  http.StatusOK,
			records: 1,
			check:   allowed("https://shop.example.com"),
		},
		{
			name:   "another source's origin is refused",
			call:   call{path: "/v1/t", body: track, key: "wk_orders", header: map[string]string{"Origin": "https://shop.example.com"}},
			status: http.StatusForbidden,
			check: func(t *testing.T, a answer, recs []stored) {
				wantError(ReasonOriginNotAllowed, "origin https://shop.example.com may not send with this write key")(t, a, recs)
				allowed("https://shop.example.com")(t, a, recs)
			},
		},
		{
			name:   "the scheme is part of the origin",
			call:   call{path: "/v1/t", body: track, key: "wk_web", header: map[string]string{"Origin": "http://shop.example.com"}},
			status: http.StatusForbidden,
			check:  allowed(""),
		},
	})
}

func TestRateLimit(t *testing.T) {
	p := startPipeline(t, func(c *Config) {
		c.Sources = []Source{
			{Name: "slow", WriteKey: "wk_slow", RateLimit: 0.01, RateBurst: 3},
			{Name: "fast", WriteKey: "wk_fast"},
		}
		c.WriteKeys = nil
	})
	batch := func(n int) string {
		b := `{"batch":[`
		for i := range n {
			if i > 0 {
				b += ","
			}
			b += `{"type":"track","userId":"u1","event":"x"}`
		}
		return b + `]}`
	}
	steps := []struct {
		name   string
		key    string
		events int
		status int
	}{
		{name: "two events fit in the bucket of three", key: "wk_slow", events: 2, status: http.StatusOK},
		{name: "two more do not", key: "wk_slow", events: 2, status: http.StatusTooManyRequests},
		{name: "one more does", key: "wk_slow", events: 1, status: http.StatusOK},
		{name: "the bucket is empty", key: "wk_slow", events: 1, status: http.StatusTooManyRequests},
		{name: "another source has its own limit", key: "wk_fast", events: 100, status: http.StatusOK},
	}
	for _, s := range steps {
		a := p.do(t, call{path: "/v1/batch", key: s.key, body: batch(s.events)})
		if a.status != s.status {
			t.Fatalf("%s: status %d, want %d; body %s", s.name, a.status, s.status, a.body)
		}
		if s.status != http.StatusTooManyRequests {
			continue
		}
		e := decodeError(t, a.body)
		if e.Reason != ReasonRateLimited {
			t.Errorf("%s: reason %q", s.name, e.Reason)
		}
		// 0.01 events/s: a token every 100 s.
		if ra, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || ra < 50 || ra > 200 {
			t.Errorf("%s: Retry-After %q, want about 100 s", s.name, a.header.Get("Retry-After"))
		}
	}
	if n := len(readTopic(t, p.broker.Addrs(), "touchpoints")); n != 103 {
		t.Errorf("%d records stored, want 103", n)
	}
	got := gatherFlat(t, p)[`journeys_ingest_events_rejected_total{reason="rate_limited",source="slow"}`]
	if got != 3 {
		t.Errorf("rate-limited events counted %v, want 3", got)
	}
}

// failingPublisher refuses every write, as a broker that never acknowledges.
type failingPublisher struct{}

func (failingPublisher) Publish(context.Context, []Message) error {
	return errors.New("broker unavailable")
}

// A browser's code may read a response header only when the answer exposes
// it, and Retry-After is what a sender told 429 or 503 must act on.
func TestCORSExposesRetryAfter(t *testing.T) {
	const origin = "https://shop.example.com"
	sources := []Source{{Name: "web", WriteKey: "wk_web", AllowedOrigins: []string{origin}, RateLimit: 0.01, RateBurst: 1}}
	tests := []struct {
		name   string
		pub    Publisher
		sends  int // requests before the one checked
		status int
	}{
		{name: "over the rate limit", pub: acceptingPublisher{}, sends: 1, status: http.StatusTooManyRequests},
		{name: "broker unavailable", pub: failingPublisher{}, status: http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHandler(Config{Sources: sources}, tt.pub, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			send := func() *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodPost, "/v1/t", strings.NewReader(`{"userId":"u1","event":"signup"}`))
				r.Header.Set("Origin", origin)
				r.Header.Set("Content-Type", "text/plain")
				r.SetBasicAuth("wk_web", "")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			for range tt.sends {
				send()
			}
			w := send()
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			hdr := w.Result().Header
			if hdr.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
			if got := hdr.Get("Access-Control-Allow-Origin"); got != origin {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, origin)
			}
			if got := hdr.Values("Access-Control-Expose-Headers"); !slices.Contains(got, "Retry-After") {
				t.Errorf("Access-Control-Expose-Headers %q, want Retry-After", got)
			}
		})
	}
}

// acceptingPublisher acknowledges every write at once.
type acceptingPublisher struct{}

func (acceptingPublisher) Publish(context.Context, []Message) error { return nil }
