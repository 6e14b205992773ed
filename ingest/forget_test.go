package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/journeys/journeys/forget"
	"github.com/journeys/journeys/internal/broker"
)

const testAdminToken = "admin-token-0123456789"

// recordingForgetter stands for the forget path behind the admin API
// (which internal/pipeline tests against ClickHouse): it remembers the
// user ids asked for and fails when told to.
type recordingForgetter struct {
	asked []string
	err   error
}

func (f *recordingForgetter) Forget(_ context.Context, userID string, wait bool) (forget.Result, error) {
	f.asked = append(f.asked, userID)
	if f.err != nil {
		return forget.Result{}, f.err
	}
	return forget.Result{IDHashes: []string{forget.Hash(userID)}, Deleted: wait}, nil
}

func TestAdminForgetEndpoint(t *testing.T) {
	cases := []struct {
		name      string
		auth      string // Authorization header; "" sends none
		body      string
		fail      error
		status    int
		wantError string // part of the error message
		forgotten string // the user id the forgetter must be asked for
	}{
		{name: "no token", body: `{"userId":"u1"}`, status: 401, wantError: "missing or wrong admin token"},
		{name: "a write key is not the admin token", auth: "Basic d2tfdGVzdF9vbmU6", body: `{"userId":"u1"}`, status: 401, wantError: "missing or wrong admin token"},
		{name: "wrong token", auth: "Bearer admin-token-0123456788", body: `{"userId":"u1"}`, status: 401, wantError: "missing or wrong admin token"},
		{name: "not JSON", auth: "Bearer " + testAdminToken, body: `userId=u1`, status: 400, wantError: `body must be {"userId":"…"}: invalid character 'u'`},
		{name: "unknown field", auth: "Bearer " + testAdminToken, body: `{"user":"u1"}`, status: 400, wantError: `unknown field "user"`},
		{name: "userId not a string", auth: "Bearer " + testAdminToken, body: `{"userId":42}`, status: 400, wantError: "cannot unmarshal number"},
		{name: "empty userId", auth: "Bearer " + testAdminToken, body: `{"userId":""}`, status: 400, wantError: "userId: bad user id: empty"},
		{name: "control character in userId", auth: "Bearer " + testAdminToken, body: `{"userId":"u\u0000"}`, status: 400, wantError: "control character U+0000"},
		{name: "two objects", auth: "Bearer " + testAdminToken, body: `{"userId":"u1"}{"userId":"u2"}`, status: 400, wantError: "one JSON object and nothing after it"},
		{name: "body over 4 KiB", auth: "Bearer " + testAdminToken, body: `{"userId":"` + strings.Repeat("x", 5000) + `"}`, status: 400, wantError: "body exceeds 4 KiB"},
		{name: "Kafka or ClickHouse down", auth: "Bearer " + testAdminToken, body: `{"userId":"u1"}`, fail: errors.New("write 1 ids to the suppression list: broker down"),
			status: 503, wantError: "safe to retry: write 1 ids", forgotten: "u1"},
		{name: "forgotten", auth: "Bearer " + testAdminToken, body: `{"userId":"u1"}`, status: 202, forgotten: "u1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &recordingForgetter{err: tc.fail}
			p := startPipeline(t, func(c *Config) { c.AdminToken, c.Forgetter = testAdminToken, f })
			req, err := http.NewRequest(http.MethodPost, p.srv.URL+"/v1/admin/forget", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := p.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("answer is not JSON: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %v", resp.StatusCode, tc.status, body)
			}
			if msg, _ := body["error"].(string); !strings.Contains(msg, tc.wantError) {
				t.Errorf("error %q, want it to contain %q", msg, tc.wantError)
			}
			if strings.Join(f.asked, ",") != tc.forgotten {
				t.Errorf("forgetter asked for %q, want %q", f.asked, tc.forgotten)
			}
			if tc.status == 202 {
				if hashes, _ := body["idHashes"].([]any); len(hashes) != 1 || hashes[0] != forget.Hash("u1") {
					t.Errorf("answer %v, want the hash of u1", body)
				}
				if strings.Contains(toJSON(t, body), `"u1"`) {
					t.Errorf("answer %v names the id in clear", body)
				}
			}
		})
	}
}

func TestAdminForgetIsOffWithoutAToken(t *testing.T) {
	p := startPipeline(t, func(c *Config) { c.Forgetter = &recordingForgetter{} })
	a := p.do(t, call{path: "/v1/admin/forget", body: `{"userId":"u1"}`, key: "-"})
	if a.status != http.StatusNotFound {
		t.Errorf("status %d, want 404 when no admin token is configured", a.status)
	}
	if err := (Config{WriteKeys: []string{"k"}, AdminToken: "short"}).Validate(); !errors.Is(err, ErrWeakAdminToken) {
		t.Errorf("a 5-character admin token: %v, want ErrWeakAdminToken", err)
	}
}

// forgetPipeline is ingest in front of the broker following the
// suppression list on the broker's forget topic.
type forgetPipeline struct {
	*testPipeline
	list *forget.List
}

func startForgetPipeline(t *testing.T) *forgetPipeline {
	t.Helper()
	b, err := broker.Start(broker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	list, err := forget.NewList(b.Addrs(), "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = list.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := list.WaitLoaded(ctx); err != nil {
		t.Fatal(err)
	}
	pub := NewKafkaPublisher(KafkaConfig{Brokers: b.Addrs(), Topic: broker.TopicTouchpoints})
	t.Cleanup(func() { _ = pub.Close() })
	reg := prometheus.NewRegistry()
	h, err := NewHandler(Config{WriteKeys: []string{testKey}, Now: func() time.Time { return testNow }, Suppression: list}, pub, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &forgetPipeline{testPipeline: &testPipeline{broker: b, pub: pub, srv: srv, reg: reg}, list: list}
}

// forgetIDs writes the ids to the suppression list as a forget request
// does, and waits until ingest's copy of the list has them.
func (p *forgetPipeline) forgetIDs(t *testing.T, ids ...string) {
	t.Helper()
	w := forget.NewWriter(p.broker.Addrs(), "")
	defer w.Close()
	f := &forget.Forgetter{Store: noLinks{}, Writer: w}
	for _, id := range ids {
		if _, err := f.Forget(context.Background(), id, false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return p.list.Len() == len(ids) })
}

// noLinks is a ClickHouse with no identities and nothing to delete: the
// ingest side of a forget needs only the suppression list.
type noLinks struct{}

func (noLinks) LinkedIDs(context.Context, string) ([]string, error) { return nil, nil }
func (noLinks) DeleteCustomers(context.Context, []string) error     { return nil }
func (noLinks) WaitMutations(context.Context) error                 { return nil }

func TestEventsOfForgottenCustomersAreAcceptedAndDropped(t *testing.T) {
	p := startForgetPipeline(t)
	p.forgetIDs(t, "gone-user", "gone-anon", "gone-alias")
	a := p.do(t, call{path: "/v1/batch", body: `{"batch":[
		{"type":"track","userId":"gone-user","event":"call","messageId":"m1"},
		{"type":"page","anonymousId":"gone-anon","messageId":"m2"},
		{"type":"alias","previousId":"gone-alias","userId":"new-id","messageId":"m3"},
		{"type":"track","userId":"gone-user","event":"purchase","properties":{"revenue":"not a number"},"messageId":"m4"},
		{"type":"track","userId":"kept","event":"call","messageId":"m5"}]}`})
	if a.status != http.StatusOK || strings.TrimSpace(a.body) != `{"success":true}` {
		t.Fatalf("answer %d %s, want the plain success a sender gets for any batch", a.status, a.body)
	}
	recs := readTopic(t, p.broker.Addrs(), broker.TopicTouchpoints)
	if len(recs) != 1 || recs[0].event.MessageID != "m5" {
		t.Errorf("records on the topic %+v, want only m5 of the customer kept", recs)
	}
	if rej := readValues(t, p.broker.Addrs(), broker.TopicRejected); len(rej) != 0 {
		t.Errorf("a forgotten customer's invalid event went to touchpoints.rejected: %s", rej)
	}
	got := gatherFlat(t, p.testPipeline)
	if got[`journeys_ingest_events_suppressed_total{source="key-1"}`] != 4 || got[`journeys_ingest_events_accepted_total{source="key-1"}`] != 1 {
		t.Errorf("suppressed %v, accepted %v; want 4 and 1", got[`journeys_ingest_events_suppressed_total{source="key-1"}`],
			got[`journeys_ingest_events_accepted_total{source="key-1"}`])
	}

	a = p.do(t, call{path: "/v1/track", body: `{"userId":"gone-user","event":"call","messageId":"m6"}`})
	if a.status != http.StatusOK {
		t.Errorf("single call of a forgotten customer: %d %s, want 200", a.status, a.body)
	}
	if n := len(readTopic(t, p.broker.Addrs(), broker.TopicTouchpoints)); n != 1 {
		t.Errorf("%d records on the topic after a forgotten customer's single call, want 1", n)
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
