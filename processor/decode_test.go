package processor

import (
	stdjson "encoding/json"
	"testing"
	"time"

	"github.com/journeys/journeys/schemas"
)

// A record as ingest writes it: a browser track call with its enriched
// context (parsed user agent, page, library).
var benchRecord = []byte(`{"messageId":"ajs-next-1732350000000-8f1c2d3e-4b5a-6789-abcd-ef0123456789","type":"track","event":"purchase","anonymousId":"anon-7f3e9a21-55c4-4d8e-9b1a-0c2d3e4f5a6b","userId":"cust-004211","channel":"web","timestamp":"2026-11-23T14:02:11.532Z","originalTimestamp":"2026-11-23T14:02:11.412Z","sentAt":"2026-11-23T14:02:11.500Z","receivedAt":"2026-11-23T14:02:11.620Z","context":{"library":{"name":"journeys.js","version":"1.2.0"},"page":{"path":"/checkout/complete","referrer":"https://www.example.com/cart","title":"Thank you","url":"https://www.example.com/checkout/complete"},"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36","locale":"de-DE","ip":"203.0.113.7","device":{"type":"desktop"},"os":{"name":"Windows","version":"10"},"browser":{"name":"Chrome","version":"131.0.0.0"}},"properties":{"order_id":"o-99812","revenue":149.9,"currency":"EUR","products":[{"sku":"SKU-1","price":99.9,"quantity":1},{"sku":"SKU-2","price":50,"quantity":1}]},"source":"website"}`)

func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRecord)))
	for b.Loop() {
		if _, _, err := decode(benchRecord); err != nil {
			b.Fatal(err)
		}
	}
}

// decode uses segmentio/encoding for speed; it must read every record as
// encoding/json reads it, including the shapes ingest never writes but a
// hand-made record may hold.
func TestDecodeReadsWhatEncodingJSONReads(t *testing.T) {
	records := []string{
		string(benchRecord),
		`{"messageId":"m1","type":"page","anonymousId":"a1","timestamp":"2026-11-23T14:02:11.5+01:00","receivedAt":"2026-11-23T13:02:11Z","properties":{"path":"/caf\u00e9"}}`,
		`{"messageId":"m2","type":"identify","userId":"u1","anonymousId":"a1","timestamp":"2026-11-23T14:02:11Z","receivedAt":"2026-11-23T14:02:12Z","traits":{"email":"x"},"unknown":[1,{"deep":null}]}`,
		`{"messageId":"m3","type":"track","event":"call","userId":"u\"q","channel":"phone","timestamp":"2026-11-23T14:02:11.123456789Z","receivedAt":"2026-11-23T14:02:12Z","mergedFrom":"a9","mergedVersion":18446744073709551615}`,
		`{"messageId":"m4","type":"track","event":"x","userId":"u","timestamp":"2026-11-23T14:02:11Z","receivedAt":"2026-11-23T14:02:12Z","properties":null,"context":null}`,
	}
	for i, r := range records {
		var want schemas.Event
		if err := stdjson.Unmarshal([]byte(r), &want); err != nil {
			t.Fatalf("record %d: encoding/json: %v", i, err)
		}
		tp, _, err := decode([]byte(r))
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		props := string(want.Properties)
		if props == "" || props == "null" {
			props = "{}"
		}
		if tp.MessageID != want.MessageID || tp.CustomerID != want.CustomerID() || tp.Event != want.EventName() ||
			!tp.Timestamp.Equal(want.Timestamp.Truncate(time.Millisecond)) || !tp.ReceivedAt.Equal(want.ReceivedAt) ||
			tp.Properties != props && !(tp.Properties == "null" && props == "{}") {
			t.Errorf("record %d: decoded %+v\nencoding/json read %+v", i, tp, want)
		}
	}
	for _, bad := range []string{`{"messageId":`, `{"messageId":"m","timestamp":"yesterday"}`, `[]`, "\xff"} {
		if _, _, err := decode([]byte(bad)); err == nil {
			t.Errorf("%q decoded without error", bad)
		}
	}
}
