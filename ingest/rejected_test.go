package ingest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestPartialBatch(t *testing.T) {
	big := `{"type":"track","messageId":"too-big","userId":"u1","event":"x","properties":{"pad":"` + strings.Repeat("x", 33*1024) + `"}}`
	p := startPipeline(t, nil)
	a := p.do(t, call{path: "/v1/batch", body: `{"batch":[
		{"type":"track","messageId":"good-1","userId":"u1","event":"signup"},
		{"type":"track","messageId":"bad-revenue","userId":"u1","event":"purchase","properties":{"order_id":"o1","revenue":"12.50"}},
		{"type":"page","messageId":"no-id"},
		` + big + `,
		{"type":"track","messageId":"good-2","userId":"u2","event":"Checkout Started","properties":{"value":10}}]}`})
	if a.status != http.StatusOK {
		t.Fatalf("status %d, want 200 for a partly good batch; body %s", a.status, a.body)
	}
	body := decodePartial(t, a.body)
	if !body.Success || body.Accepted != 2 {
		t.Errorf("success %v accepted %d, want true 2", body.Success, body.Accepted)
	}
	want := []RejectedEvent{
		{Index: 1, MessageID: "bad-revenue", Reason: ReasonSchema, Message: "properties.revenue: expected number, got string"},
		{Index: 2, MessageID: "no-id", Reason: ReasonSchema, Message: "anonymousId or userId is required"},
		{Index: 3, MessageID: "too-big", Reason: ReasonEventTooLarge, Message: "event exceeds 32768 bytes"},
	}
	if len(body.Rejected) != len(want) {
		t.Fatalf("rejected %+v, want %d", body.Rejected, len(want))
	}
	for i, w := range want {
		g := body.Rejected[i]
		if g.Index != w.Index || g.MessageID != w.MessageID || g.Reason != w.Reason || g.Message != w.Message {
			t.Errorf("rejected[%d] = %+v, want %+v", i, g, w)
		}
	}

	got := byMessageID(t, readTopic(t, p.broker.Addrs(), "touchpoints"))
	if len(got) != 2 || got["good-1"].event.Event != "signup" || got["good-2"].event.Event != "checkout_started" {
		t.Errorf("touchpoints hold %v, want good-1 and good-2 (as checkout_started)", got)
	}

	recs := rejectedRecords(t, p.broker.Addrs())
	if len(recs) != len(want) {
		t.Fatalf("%d records on touchpoints.rejected, want %d", len(recs), len(want))
	}
	byID := map[string]RejectedRecord{}
	for _, r := range recs {
		byID[r.MessageID] = r
	}
	for _, w := range want {
		r, ok := byID[w.MessageID]
		if !ok {
			t.Errorf("%s not on touchpoints.rejected", w.MessageID)
			continue
		}
		if r.Reason != w.Reason || r.Message != w.Message || r.Source != "key-1" || !r.ReceivedAt.Equal(testNow) || r.Index != w.Index {
			t.Errorf("%s: rejected record %+v", w.MessageID, r)
		}
		var ev map[string]any
		if err := json.Unmarshal(r.Event, &ev); err != nil || ev["messageId"] != w.MessageID {
			t.Errorf("%s: raw event %.80s not kept (%v)", w.MessageID, r.Event, err)
		}
	}
	if errs := byID["bad-revenue"].Errors; len(errs) != 1 || errs[0].Path != "properties.revenue" {
		t.Errorf("schema errors on the rejected record %+v", errs)
	}

	m := gatherFlat(t, p)
	for k, v := range map[string]float64{
		`journeys_ingest_events_accepted_total{source="key-1"}`:                          2,
		`journeys_ingest_events_rejected_total{reason="schema",source="key-1"}`:          2,
		`journeys_ingest_events_rejected_total{reason="event_too_large",source="key-1"}`: 1,
	} {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
}

// A single call that fails validation is answered 400 and still kept on
// touchpoints.rejected.
func TestRejectedSingleCallReachesRejectedTopic(t *testing.T) {
	p := startPipeline(t, nil)
	a := p.do(t, call{path: "/v1/track", body: `{"messageId":"m1","userId":"u1","event":"idea_status_changed","properties":{"idea_id":"i1","status":"done"}}`})
	if a.status != http.StatusBadRequest {
		t.Fatalf("status %d; body %s", a.status, a.body)
	}
	recs := rejectedRecords(t, p.broker.Addrs())
	if len(recs) != 1 || recs[0].MessageID != "m1" || recs[0].Reason != ReasonSchema ||
		recs[0].Message != "properties.status: expected one of under review, reviewed, coming soon, launched" {
		t.Errorf("rejected records %+v", recs)
	}
}

func TestEdgeEnrichment(t *testing.T) {
	const chromeMac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	const iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
	p := startPipeline(t, func(c *Config) {
		c.HashKey = "pepper"
		c.HashProperties = []string{"traits.email", "properties.phone", "context.traits.email"}
	})
	a := p.do(t, call{path: "/v1/batch", body: `{"context":{"userAgent":"` + chromeMac + `"},"batch":[
		{"type":"page","messageId":"desktop","anonymousId":"a1"},
		{"type":"page","messageId":"phone","anonymousId":"a2","context":{"userAgent":"` + iphone + `","traits":{"email":"x@example.com"}}},
		{"type":"screen","messageId":"app","anonymousId":"a3","context":{"userAgent":"` + iphone + `","device":{"model":"iPhone15,2"},"os":{"name":"iOS","version":"17.2"}}},
		{"type":"identify","messageId":"id","userId":"u1","traits":{"email":"x@example.com","plan":"pro"}},
		{"type":"track","messageId":"call","userId":"u1","event":"call","properties":{"phone":"+49301234","wait_seconds":5}},
		{"type":"identify","messageId":"bad","traits":{"email":"y@example.com"}}]}`})
	if a.status != http.StatusOK {
		t.Fatalf("status %d; body %s", a.status, a.body)
	}
	got := byMessageID(t, readTopic(t, p.broker.Addrs(), "touchpoints"))
	ctx := func(id string) map[string]any {
		m, _ := got[id].fields["context"].(map[string]any)
		return m
	}
	sub := func(m map[string]any, k, f string) any {
		o, _ := m[k].(map[string]any)
		return o[f]
	}
	if c := ctx("desktop"); sub(c, "browser", "name") != "Chrome" || sub(c, "os", "name") != "macOS" || sub(c, "device", "type") != "desktop" {
		t.Errorf("desktop context %v", c)
	}
	if c := ctx("phone"); sub(c, "device", "type") != "mobile" || sub(c, "os", "name") != "iOS" {
		t.Errorf("phone context %v", c)
	}
	if c := ctx("app"); sub(c, "device", "model") != "iPhone15,2" || sub(c, "device", "type") != nil || sub(c, "browser", "name") == nil {
		t.Errorf("an SDK's own device must win: %v", c)
	}

	email := got["id"].fields["traits"].(map[string]any)["email"].(string)
	if len(email) != 64 || strings.Contains(email, "@") {
		t.Errorf("traits.email %q not hashed", email)
	}
	if got["id"].fields["traits"].(map[string]any)["plan"] != "pro" {
		t.Error("other traits must be kept")
	}
	if e := sub(ctx("phone"), "traits", "email"); e != email {
		t.Errorf("context.traits.email %v, want the same hash as traits.email %s", e, email)
	}
	if ph := got["call"].fields["properties"].(map[string]any)["phone"]; ph == "+49301234" {
		t.Error("properties.phone not hashed")
	}
	recs := rejectedRecords(t, p.broker.Addrs())
	if len(recs) != 1 || strings.Contains(string(recs[0].Event), "y@example.com") {
		t.Errorf("the rejected event must be hashed too: %+v", recs)
	}
}
