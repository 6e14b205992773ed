package ingest

import (
	"os"
	"path/filepath"
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
		req, rej := decodeRequest(body, callType)
		if rej != nil {
			if req != nil || rej.message == "" {
				t.Fatalf("refusal %+v with request %v", rej, req)
			}
			return
		}
		for _, ev := range req.events {
			if ev.fields != nil {
				mapEventName(&ev)
			}
			if len(v.Validate(ev.call)) > 0 {
				continue
			}
			if err := hasher.hashFields(&ev); err != nil {
				continue
			}
			out, err := enrich(ev, req, "key-1", now)
			if err != nil {
				continue
			}
			if out.MessageID == "" || out.CustomerID() == "" && out.Type != schemas.TypeAlias {
				t.Fatalf("valid call enriched without id: %+v", out)
			}
			if _, err := toMessage(&out); err != nil {
				t.Fatal(err)
			}
		}
	})
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
