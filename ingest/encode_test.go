package ingest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/journeys/journeys/schemas"
)

// sameAsMarshal checks that the hand-written encoding of ev holds what
// json.Marshal writes: byte for byte when the raw fields are compact and
// free of characters encoding/json escapes, the same JSON value always.
func sameAsMarshal(t *testing.T, ev *schemas.Event, got []byte) {
	t.Helper()
	want, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	plain := true
	for _, raw := range [][]byte{ev.Context, ev.Properties, ev.Traits} {
		var compact bytes.Buffer
		_ = json.Compact(&compact, raw)
		plain = plain && bytes.Equal(compact.Bytes(), raw) && !bytes.ContainsAny(raw, "<>&\u2028\u2029")
	}
	if plain && !bytes.Equal(got, want) {
		t.Fatalf("encoded\n %s\njson.Marshal\n %s", got, want)
	}
	g, err := generic(got)
	if err != nil {
		t.Fatalf("encoded %s: %v", got, err)
	}
	if w, _ := generic(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("encoded\n %s\njson.Marshal\n %s", got, want)
	}
}

func TestAppendEventMatchesMarshal(t *testing.T) {
	ts := time.Date(2025, 3, 1, 11, 59, 58, 123000000, time.UTC)
	sent := time.Date(2025, 3, 1, 13, 0, 0, 0, time.FixedZone("", 3600))
	tests := []struct {
		name string
		ev   schemas.Event
	}{
		{name: "every field", ev: schemas.Event{MessageID: "m1", Type: "track", Event: "purchase", Name: "n", AnonymousID: "a",
			UserID: "u", PreviousID: "p", GroupID: "g", Channel: "web", Timestamp: ts, OriginalTimestamp: &sent, SentAt: &sent,
			ReceivedAt: ts, Context: json.RawMessage(`{"a":1}`), Properties: json.RawMessage(`{"b":[1,2]}`),
			Traits: json.RawMessage(`{}`), Source: "web"}},
		{name: "only what is required", ev: schemas.Event{MessageID: "m", Type: "page"}},
		{name: "strings encoding/json escapes", ev: schemas.Event{MessageID: "q\"b\\s/\b\f\n\r\t\x00\x1f", Type: "track",
			Event: "<script>&amp;</script>", UserID: "line\u2028para\u2029end", AnonymousID: "bad \xff utf-8 \xe2\x82", Name: "ünïcødé ✓ 😀"}},
		{name: "raw fields with space and markup", ev: schemas.Event{MessageID: "m", Type: "identify",
			Traits: json.RawMessage(`{ "html": "<b>&</b>" }`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := appendEvent(nil, &tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			sameAsMarshal(t, &tt.ev, got)
		})
	}
}

func TestAppendEventRefusesYearsJSONCannotHold(t *testing.T) {
	ev := schemas.Event{MessageID: "m", Type: "page", Timestamp: time.Date(-1, 12, 31, 23, 0, 0, 0, time.UTC)}
	_, want := json.Marshal(&ev)
	_, _, err := toMessage(&ev, nil)
	if err == nil || want == nil || !strings.HasSuffix(err.Error(), want.Error()) {
		t.Fatalf("error %v, want one ending in %v", err, want)
	}
}
