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
