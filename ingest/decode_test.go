package ingest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/journeys/journeys/schemas"
)

// FuzzDecode feeds arbitrary bodies through decoding, validation and
// enrichment, everything a request meets before the broker. None may panic.
func FuzzDecode(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true)
	}
	for _, s := range []string{
		`{"userId":"u1","event":"x","timestamp":"2025-03-01T10:00:00Z","sentAt":"2025-03-01T10:00:01Z"}`,
		`{"batch":[null,1,"s",[],{}],"context":null,"sentAt":null}`,
		`{"batch":{}}`, `[]`, `null`, `{"batch":[{"type":"alias"}]}`, `{} {}`, `{"context":[]}`,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	v, err := schemas.NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	hasher := newPIIHasher("k", []string{"traits.email", "context.traits.email", "properties.phone"})
	f.Fuzz(func(t *testing.T, body []byte, batch bool) {
		callType := schemas.TypeTrack
		if batch {
			callType = ""
		}
		sameGenericValues(t, body)
		req, rej := decodeRequest(body, callType)
		sameAsEncodingJSON(t, body, callType, req, rej)
		if rej != nil {
			if req != nil || rej.message == "" {
				t.Fatalf("refusal %+v with request %v", rej, req)
			}
			return
		}
		for i := range req.events {
			ev := &req.events[i]
			mapEventName(ev)
			errs := validateCall(v, ev)
			if want := v.Validate(ev.genericCall()); !slices.Equal(errs, want) {
				t.Fatalf("call %s: validated as %q, the JSON Schemas say %q", ev.raw, errs, want)
			}
			if len(errs) > 0 {
				continue
			}
			if err := hasher.hashFields(ev); err != nil {
				continue
			}
			out, err := enrich(ev, req, "key-1", now)
			if err != nil {
				continue
			}
			if out.MessageID == "" || out.CustomerID() == "" && out.Type != schemas.TypeAlias {
				t.Fatalf("valid call enriched without id: %+v", out)
			}
			msg, _, err := toMessage(&out, nil)
			if err != nil {
				t.Fatal(err)
			}
			sameAsMarshal(t, &out, msg.Value)
		}
	})
}

// sameAsEncodingJSON checks the one-pass scanner against encoding/json,
// which decodes every body the scanner leaves to it: both must refuse the
// same bodies with the same words, and find the same calls.
func sameAsEncodingJSON(t *testing.T, body []byte, callType string, req *request, rej *rejection) {
	t.Helper()
	var slowReq *request
	var slowRej *rejection
	if callType != "" {
		ev, err := decodeEventSlow(body)
		switch {
		case err != nil:
			slowRej = reject(ReasonInvalidJSON, "body is not valid JSON: "+err.Error())
		case !ev.object:
			slowRej = reject(ReasonInvalidJSON, "body is not a JSON object")
		default:
			ev.setField(fieldType, []byte(`"`+callType+`"`))
			slowReq = &request{writeKey: ev.str(fieldWriteKey), events: []rawEvent{ev}}
		}
	} else {
		parts, r := decodeBatchSlow(body)
		if slowRej = r; r == nil {
			slowReq, slowRej = parts.request()
		}
	}
	if (rej == nil) != (slowRej == nil) || rej != nil && (rej.reason != slowRej.reason || rej.message != slowRej.message) {
		t.Fatalf("body %q: refused %+v, encoding/json refuses %+v", body, rej, slowRej)
	}
	if rej != nil {
		return
	}
	if req.writeKey != slowReq.writeKey || !bytes.Equal(req.context, slowReq.context) ||
		(req.sentAt == nil) != (slowReq.sentAt == nil) || len(req.events) != len(slowReq.events) {
		t.Fatalf("body %q: request %+v, encoding/json reads %+v", body, req, slowReq)
	}
	for i := range req.events {
		got, want := &req.events[i], &slowReq.events[i]
		if got.object != want.object || got.env != want.env || !sameFields(got, want) || !bytes.Equal(got.raw, want.raw) ||
			!reflect.DeepEqual(got.call, want.call) {
			t.Fatalf("body %q, call %d: %+v, encoding/json reads %+v", body, i, got, want)
		}
	}
}

// sameGenericValues checks the scanner's generic values against
// encoding/json's with UseNumber.
func sameGenericValues(t *testing.T, body []byte) {
	t.Helper()
	trimmed := bytes.TrimSpace(body)
	if !json.Valid(trimmed) {
		return
	}
	got, err := generic(trimmed)
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var want any
	if wantErr := dec.Decode(&want); err != nil || wantErr != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("generic(%q) = %#v, %v; encoding/json: %#v, %v", trimmed, got, err, want, wantErr)
	}
}

func sameFields(a, b *rawEvent) bool {
	for f := range a.fields {
		if !bytes.Equal(a.fields[f], b.fields[f]) {
			return false
		}
	}
	return true
}

func TestDecodeTestdata(t *testing.T) {
	tests := []struct {
		file   string
		events int
		reason Reason // "" when the body decodes
	}{
		{file: "batch.json", events: 3},
		{file: "not_json.json", reason: ReasonInvalidJSON},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			req, rej := decodeRequest(b, "")
			switch {
			case tt.reason != "":
				if rej == nil || rej.reason != tt.reason {
					t.Fatalf("refusal %+v, want reason %s", rej, tt.reason)
				}
			case rej != nil:
				t.Fatalf("refused: %s", rej.message)
			case len(req.events) != tt.events:
				t.Errorf("%d events, want %d", len(req.events), tt.events)
			}
		})
	}
}

// Properties the schema does not name are not decoded for it; answers
// are the JSON Schema library's on the whole call all the same.
func TestValidateCallAgreesWithValidator(t *testing.T) {
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []string{
		`{"type":"track","event":"purchase","userId":"u","properties":{"order_id":"o","products":[{"sku":1}],"revenue":"x"}}`,
		`{"type":"track","event":"purchase","userId":"u","properties":{"products":{"deep":[[{"a":null}]]},"order_id":"o","order_id":7}}`,
		`{"type":"track","event":"purchase","userId":"u","properties":{"or\u0064er_id":"o","currency":"EURO"}}`,
		`{"type":"track","event":"purchase","userId":"u","properties":{}}`,
		`{"type":"track","event":"purchase","userId":"u","properties":null}`,
		`{"type":"track","event":"call","userId":"u","properties":{"wait_seconds":-1,"extra":"x"}}`,
		`{"type":"page","userId":"u","properties":{"path":7}}`,
		`{"type":"track","event":"purchase","userId":"","properties":{"order_id":1}}`,
	} {
		ev, err := decodeEvent([]byte(call))
		if err != nil {
			t.Fatal(err)
		}
		got, want := validateCall(v, &ev), v.Validate(ev.genericCall())
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got  %q\n want %q", call, got, want)
		}
	}
}
