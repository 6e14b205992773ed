package schemas

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call string
		want []string // messages, in order; nil means valid
	}{
		{
			name: "track of a custom event needs only the envelope",
			call: `{"type":"track","event":"newsletter_signup","anonymousId":"a1","properties":{"anything":[1,2]}}`,
		},
		{
			name: "identify with a user id",
			call: `{"type":"identify","userId":"u1","traits":{"email":"x@example.com"},"messageId":"m1","timestamp":"2025-03-01T10:00:00.123Z"}`,
		},
		{
			name: "null user id from a browser is fine when the anonymous id is set",
			call: `{"type":"page","anonymousId":"a1","userId":null,"properties":{"path":"/"}}`,
		},
		{
			name: "valid purchase",
			call: `{"type":"track","event":"purchase","userId":"u1","properties":{"order_id":"o1","revenue":12.5,"currency":"EUR"}}`,
		},
		{
			name: "valid call",
			call: `{"type":"track","event":"call","userId":"u1","properties":{"wait_seconds":30,"duration_seconds":240.5,"topic":"billing","direction":"inbound","transfers":2}}`,
		},
		{
			name: "alias with previous and user id",
			call: `{"type":"alias","previousId":"a1","userId":"u1"}`,
		},
		{
			name: "revenue as a string",
			call: `{"type":"track","event":"purchase","userId":"u1","properties":{"order_id":"o1","revenue":"12.50"}}`,
			want: []string{"properties.revenue: expected number, got string"},
		},
		{
			name: "purchase without properties misses the order id",
			call: `{"type":"track","event":"purchase","userId":"u1"}`,
			want: []string{"properties.order_id: required"},
		},
		{
			name: "currency is three letters",
			call: `{"type":"track","event":"purchase","userId":"u1","properties":{"order_id":"o1","currency":"EURO"}}`,
			want: []string{"properties.currency: does not match ^[A-Za-z]{3}$"},
		},
		{
			name: "call durations are non-negative and transfers whole",
			call: `{"type":"track","event":"call","userId":"u1","properties":{"wait_seconds":-1,"direction":"sideways","transfers":1.5}}`,
			want: []string{
				"properties.direction: expected one of inbound, outbound",
				"properties.transfers: expected integer, got number",
				"properties.wait_seconds: must be at least 0",
			},
		},
		{
			name: "neither anonymous nor user id",
			call: `{"type":"track","event":"x"}`,
			want: []string{"anonymousId or userId is required"},
		},
		{
			name: "empty anonymous id and null user id count as missing",
			call: `{"type":"page","anonymousId":"","userId":null}`,
			want: []string{"anonymousId or userId is required"},
		},
		{
			name: "alias needs a previous id",
			call: `{"type":"alias","userId":"u1"}`,
			want: []string{"previousId: required"},
		},
		{
			name: "track needs an event name",
			call: `{"type":"track","userId":"u1"}`,
			want: []string{"event: required"},
		},
		{
			name: "group needs a group id",
			call: `{"type":"group","userId":"u1"}`,
			want: []string{"groupId: required"},
		},
		{
			name: "unknown type",
			call: `{"type":"pageview","userId":"u1"}`,
			want: []string{"type: expected one of track, page, identify, screen, group, alias"},
		},
		{
			name: "message id of 100 characters",
			call: `{"type":"identify","userId":"u1","messageId":"` + strings.Repeat("m", 100) + `"}`,
			want: []string{"messageId: longer than 99 characters"},
		},
		{
			name: "timestamp not RFC 3339",
			call: `{"type":"identify","userId":"u1","timestamp":"03/01/2025 10:00"}`,
			want: []string{"timestamp: expected an RFC 3339 date-time"},
		},
		{
			name: "properties not an object",
			call: `{"type":"track","event":"purchase","userId":"u1","properties":"o1"}`,
			want: []string{"properties: expected null or object, got string"},
		},
		{
			name: "not an object",
			call: `["track"]`,
			want: []string{"expected object, got array"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var call any
			if err := json.Unmarshal([]byte(tt.call), &call); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, fe := range v.Validate(call) {
				got = append(got, fe.Message)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Validate:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestValidateFieldPath(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	var call any
	_ = json.Unmarshal([]byte(`{"type":"track","event":"purchase","userId":"u","properties":{"order_id":"o","revenue":"1"}}`), &call)
	errs := v.Validate(call)
	if len(errs) != 1 || errs[0].Path != "properties.revenue" {
		t.Fatalf("errors %+v, want one at properties.revenue", errs)
	}
}

func TestValidateKnownEvents(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		event string
		props string
		want  []string
	}{
		{name: "e-mail opened", event: "email", props: `{"campaign":"spring","action":"opened","direction":"outbound"}`},
		{name: "e-mail with an unknown action", event: "email", props: `{"action":"read"}`,
			want: []string{"properties.action: expected one of sent, delivered, opened, clicked, replied, bounced, unsubscribed"}},
		{name: "chat with a bot", event: "chat", props: `{"wait_seconds":3,"agent":"bot","messages":12,"resolved":true}`},
		{name: "chat wait is a number", event: "chat", props: `{"wait_seconds":"3"}`,
			want: []string{"properties.wait_seconds: expected number, got string"}},
		{name: "store visit", event: "store_visit", props: `{"store_id":"berlin-1","duration_seconds":600}`},
		{name: "store visit names its store", event: "store_visit", props: `{}`, want: []string{"properties.store_id: required"}},
		{name: "ticket solved", event: "ticket", props: `{"ticket_id":"T-1","status":"solved","priority":"high"}`},
		{name: "ticket needs an id", event: "ticket", props: `{"status":"opened"}`, want: []string{"properties.ticket_id: required"}},
		{name: "NPS answer", event: "survey_response", props: `{"survey":"nps-q1","kind":"nps","score":9,"scale_max":10}`},
		{name: "survey answer names its survey", event: "survey_response", props: `{"score":9}`, want: []string{"properties.survey: required"}},
		{name: "review of four stars", event: "review", props: `{"rating":4,"platform":"trustpilot"}`},
		{name: "review needs a rating", event: "review", props: `{"text":"fine"}`, want: []string{"properties.rating: required"}},
		{name: "referral", event: "referral", props: `{"referrer_id":"u1","code":"FRIEND"}`},
		{name: "idea submitted", event: "idea_submitted", props: `{"idea_id":"i1","title":"Dark mode"}`},
		{name: "idea coming soon", event: "idea_status_changed", props: `{"idea_id":"i1","status":"coming soon","previous_status":"reviewed"}`},
		{name: "idea status outside the four", event: "idea_status_changed", props: `{"idea_id":"i1","status":"done"}`,
			want: []string{"properties.status: expected one of under review, reviewed, coming soon, launched"}},
		{name: "community answer", event: "community_answer", props: `{"question_id":"q1","answer_id":"a1","accepted":true}`},
		{name: "community answer names its question", event: "community_answer", props: `{"accepted":true}`, want: []string{"properties.question_id: required"}},
		{name: "promise made with a due date", event: "promise_made", props: `{"promise_id":"p1","due_at":"2025-03-08T00:00:00Z","what":"call back"}`},
		{name: "promise without a due date", event: "promise_made", props: `{"promise_id":"p1"}`, want: []string{"properties.due_at: required"}},
		{name: "promise due date not a date", event: "promise_made", props: `{"promise_id":"p1","due_at":"next week"}`,
			want: []string{"properties.due_at: expected an RFC 3339 date-time"}},
		{name: "promise kept", event: "promise_kept", props: `{"promise_id":"p1"}`},
		{name: "trial started", event: "trial_started", props: `{"plan":"pro","trial_days":14}`},
		{name: "trial ending", event: "trial_ending", props: `{"plan":"pro","days_left":3}`},
		{name: "subscription started", event: "subscription_started", props: `{"plan":"pro","mrr":49,"currency":"EUR","interval":"month"}`},
		{name: "subscription names its plan", event: "subscription_started", props: `{"mrr":49}`, want: []string{"properties.plan: required"}},
		{name: "subscription cancelled", event: "subscription_cancelled", props: `{"plan":"pro","reason":"too expensive"}`},
		{name: "checkout started", event: "checkout_started", props: `{"cart_id":"c1","value":99.5,"currency":"USD","products":[{"sku":"a"}]}`},
		{name: "checkout value is a number", event: "checkout_started", props: `{"value":"99.5"}`,
			want: []string{"properties.value: expected number, got string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var call any
			body := `{"type":"track","userId":"u1","event":"` + tt.event + `","properties":` + tt.props + `}`
			if err := json.Unmarshal([]byte(body), &call); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, fe := range v.Validate(call) {
				got = append(got, fe.Message)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Validate:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}
