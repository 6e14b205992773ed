package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

const testKey = "wk_test"

// fakeAPI is a /v1/batch endpoint that checks each request like ingest
// would, records the batches it acknowledged, and answers what answer says.
type fakeAPI struct {
	t      *testing.T
	answer func(n int, ids []string) (status int, header http.Header, body string)

	mu       sync.Mutex
	requests [][]string // message ids of every request, in arrival order
	acked    []wireEvent
}

type wireEvent struct {
	MessageID   string         `json:"messageId"`
	Type        string         `json:"type"`
	Event       string         `json:"event"`
	UserID      string         `json:"userId"`
	AnonymousID string         `json:"anonymousId"`
	Channel     string         `json:"channel"`
	Timestamp   string         `json:"timestamp"`
	Properties  map[string]any `json:"properties"`
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := f.t
	user, pass, ok := r.BasicAuth()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/batch" {
		t.Errorf("%s %s, want POST /v1/batch", r.Method, r.URL.Path)
	}
	if !ok || user != testKey || pass != "" {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var body struct {
		Batch  []wireEvent `json:"batch"`
		SentAt string      `json:"sentAt"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		// A sender that already gave up (another worker failed first)
		// closes its connection mid-body: not the sender's bug.
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(err, &syntax) || errors.As(err, &typ) {
			t.Errorf("decode body: %v", err)
		}
		return
	}
	sentAt, err := time.Parse(time.RFC3339, body.SentAt)
	if err != nil || time.Since(sentAt).Abs() > time.Minute {
		t.Errorf("sentAt %q is not now: %v", body.SentAt, err)
	}
	if len(body.Batch) == 0 || len(body.Batch) > 25 {
		t.Errorf("batch of %d events", len(body.Batch))
	}
	ids := make([]string, len(body.Batch))
	for i, e := range body.Batch {
		ids[i] = e.MessageID
		if _, err := time.Parse(time.RFC3339Nano, e.Timestamp); err != nil {
			t.Errorf("timestamp %q: %v", e.Timestamp, err)
		}
		if e.MessageID == "" || e.Type == "" || e.Channel == "" || (e.UserID == "" && e.AnonymousID == "") {
			t.Errorf("incomplete event %+v", e)
		}
	}
	f.mu.Lock()
	n := len(f.requests)
	f.requests = append(f.requests, ids)
	f.mu.Unlock()

	status, header, answer := http.StatusOK, http.Header{}, `{"success":true}`
	if f.answer != nil {
		status, header, answer = f.answer(n, ids)
	}
	if status == http.StatusOK {
		f.mu.Lock()
		f.acked = append(f.acked, body.Batch...)
		f.mu.Unlock()
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(answer))
}

func sendConfig() Config {
	return Config{Customers: 40, Seed: 5, Start: t0, BatchSize: 25, Concurrency: 3, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

func TestSendRetries503WithSameMessageIDs(t *testing.T) {
	api := &fakeAPI{t: t, answer: func(n int, _ []string) (int, http.Header, string) {
		if n == 0 {
			return http.StatusServiceUnavailable, http.Header{"Retry-After": {"0"}}, `{"error":"overloaded"}`
		}
		return http.StatusOK, nil, `{"success":true}`
	}}
	srv := httptest.NewServer(api)
	defer srv.Close()

	cfg := sendConfig()
	ds := Generate(cfg)
	st, err := Send(context.Background(), srv.Client(), srv.URL+"/", testKey, ds, cfg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	wantBatches := 0
	for w := range cfg.Concurrency {
		n := 0
		for i := w; i < len(ds.Customers); i += cfg.Concurrency {
			n += len(ds.Customers[i].Events)
		}
		wantBatches += (n + cfg.BatchSize - 1) / cfg.BatchSize
	}
	want := Stats{Sent: ds.TotalEvents, Batches: wantBatches, Retries: 1, Acknowledged: ds.TotalEvents}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}

	api.mu.Lock()
	defer api.mu.Unlock()
	failed := api.requests[0]
	if !slices.ContainsFunc(api.requests[1:], func(ids []string) bool { return slices.Equal(ids, failed) }) {
		t.Errorf("the batch answered 503 was not resent with the same message ids")
	}
	if len(api.requests) != wantBatches+1 {
		t.Errorf("%d requests, want %d", len(api.requests), wantBatches+1)
	}

	// Every event acknowledged exactly once, and each customer's events
	// arrived in time order.
	seen := map[string]bool{}
	lastAt := map[string]string{}
	for _, e := range api.acked {
		if seen[e.MessageID] {
			t.Errorf("message %s acknowledged twice", e.MessageID)
		}
		seen[e.MessageID] = true
		key := e.UserID
		if key == "" {
			key = e.AnonymousID
		}
		at, _ := time.Parse(time.RFC3339Nano, e.Timestamp)
		if prev, ok := lastAt[key]; ok {
			if p, _ := time.Parse(time.RFC3339Nano, prev); !at.After(p) {
				t.Errorf("customer %s: event at %s arrived after one at %s", key, at, p)
			}
		}
		lastAt[key] = e.Timestamp
	}
	for _, e := range ds.Events {
		if !seen[e.MessageID] {
			t.Errorf("message %s never acknowledged", e.MessageID)
		}
	}
}

func TestSendFailures(t *testing.T) {
	tests := []struct {
		name     string
		key      string
		status   int
		body     string
		want     error
		requests int // at most
	}{
		{"400 is a simulator bug and stops the run", testKey, 400, `{"error":"invalid_event","message":"timestamp is required"}`, nil, 3},
		{"413 is a simulator bug too", testKey, 413, `{"error":"batch too large"}`, nil, 3},
		{"401 means the write key is refused", "wrong", 0, "", ErrUnauthorized, 3},
		{"503 forever exhausts the attempts", testKey, 503, `{"error":"overloaded"}`, ErrRetriesExhausted, 3 * 4},
		{"429 forever exhausts the attempts", testKey, 429, `{"error":"slow down"}`, ErrRetriesExhausted, 3 * 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPI{t: t, answer: func(int, []string) (int, http.Header, string) {
				return tc.status, nil, tc.body
			}}
			srv := httptest.NewServer(api)
			defer srv.Close()
			cfg := sendConfig()
			cfg.MaxAttempts = 4
			st, err := Send(context.Background(), srv.Client(), srv.URL, tc.key, Generate(cfg), cfg)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == nil {
				var rej *RejectedError
				if !errors.As(err, &rej) || rej.StatusCode != tc.status {
					t.Fatalf("err = %v, want RejectedError %d", err, tc.status)
				}
				if rej.Message == "" {
					t.Errorf("RejectedError without the API's message")
				}
			}
			if st.Acknowledged != 0 {
				t.Errorf("acknowledged %d events", st.Acknowledged)
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			if len(api.requests) > tc.requests {
				t.Errorf("%d requests, want at most %d", len(api.requests), tc.requests)
			}
		})
	}
}

func TestSendRetriesNetworkErrors(t *testing.T) {
	api := &fakeAPI{t: t}
	var mu sync.Mutex
	dropped := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		drop := dropped < 2
		dropped++
		mu.Unlock()
		if drop {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		api.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cfg := sendConfig()
	ds := Generate(cfg)
	st, err := Send(context.Background(), srv.Client(), srv.URL, testKey, ds, cfg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if st.Retries != 2 || st.Acknowledged != ds.TotalEvents {
		t.Fatalf("stats %+v, want 2 retries and %d acknowledged", st, ds.TotalEvents)
	}
}

func TestSendStopsOnCancel(t *testing.T) {
	api := &fakeAPI{t: t, answer: func(int, []string) (int, http.Header, string) {
		return http.StatusServiceUnavailable, http.Header{"Retry-After": {"5"}}, `{}`
	}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	cfg := sendConfig()
	cfg.MaxBackoff = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Send(ctx, srv.Client(), srv.URL, testKey, Generate(cfg), cfg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Send took %s after cancel", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"-1", 0},
		{"soon", 0},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0},
	}
	for _, tc := range tests {
		if got := parseRetryAfter(tc.in); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
