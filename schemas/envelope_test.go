package schemas

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// envelopeOf builds the Envelope of a call decoded into generic values,
// as ingest builds it from the call's raw fields.
func envelopeOf(call map[string]any) Envelope {
	val := func(k string) Value {
		v, ok := call[k]
		switch v := v.(type) {
		case nil:
			if ok {
				return Value{Kind: Null}
			}
			return Value{}
		case string:
			return Value{Kind: String, Str: v}
		case map[string]any:
			return Value{Kind: Object}
		}
		return Value{Kind: Other}
	}
	return Envelope{
		MessageID: val("messageId"), Type: val("type"), Event: val("event"), Name: val("name"),
		AnonymousID: val("anonymousId"), UserID: val("userId"), PreviousID: val("previousId"),
		GroupID: val("groupId"), Channel: val("channel"),
		Timestamp: val("timestamp"), OriginalTimestamp: val("originalTimestamp"), SentAt: val("sentAt"),
		Context: val("context"), Properties: val("properties"), Traits: val("traits"),
	}
}

// verdicts says what the Go check and envelope.json make of one call.
func verdicts(t *testing.T, v *Validator, call string) (goValid, schemaValid bool) {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal([]byte(call), &obj); err != nil {
		t.Fatalf("%s: %v", call, err)
	}
	e := envelopeOf(obj)
	return ValidEnvelope(&e), v.envelope.Validate(obj) == nil
}

// The Go check of the envelope and envelope.json agree on every call of a
// corpus of good and bad envelopes.
func TestValidEnvelopeAgreesWithSchema(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name  string
		call  string
		valid bool
	}{
		{"track with user id", `{"type":"track","event":"x","userId":"u"}`, true},
		{"page with anonymous id and null user id", `{"type":"page","anonymousId":"a","userId":null}`, true},
		{"identify with every optional field", `{"type":"identify","userId":"u","messageId":"m","name":"n","channel":"web","previousId":null,"groupId":null,
			"timestamp":"2025-03-01T10:00:00.123456789Z","originalTimestamp":"2025-03-01T10:00:00+02:00","sentAt":null,
			"context":{},"properties":null,"traits":{"a":1},"integrations":{"All":true},"writeKey":"k"}`, true},
		{"alias", `{"type":"alias","previousId":"a","userId":"u"}`, true},
		{"group", `{"type":"group","groupId":"g","anonymousId":"a"}`, true},
		{"screen", `{"type":"screen","userId":"u"}`, true},
		{"ids at their longest", `{"type":"track","event":"` + long(200) + `","userId":"` + long(255) + `","messageId":"` + long(99) + `","channel":"` + long(32) + `","name":"` + long(1000) + `"}`, true},
		{"multi-byte ids count characters", `{"type":"page","userId":"` + strings.Repeat("é", 255) + `","messageId":"` + strings.Repeat("ü", 99) + `"}`, true},
		{"29 February of a leap year", `{"type":"page","userId":"u","timestamp":"2024-02-29T23:59:59-23:59"}`, true},
		{"unknown fields are anything", `{"type":"page","userId":"u","_metadata":[1,2],"extra":null}`, true},

		{"no type", `{"userId":"u"}`, false},
		{"unknown type", `{"type":"pageview","userId":"u"}`, false},
		{"type not a string", `{"type":1,"userId":"u"}`, false},
		{"type null", `{"type":null,"userId":"u"}`, false},
		{"no id", `{"type":"page"}`, false},
		{"empty anonymous id and null user id", `{"type":"page","anonymousId":"","userId":null}`, false},
		{"user id a number", `{"type":"page","userId":1}`, false},
		{"user id too long", `{"type":"page","userId":"` + long(256) + `"}`, false},
		{"multi-byte user id too long", `{"type":"page","userId":"` + strings.Repeat("é", 256) + `"}`, false},
		{"anonymous id too long beside a good user id", `{"type":"page","userId":"u","anonymousId":"` + long(256) + `"}`, false},
		{"track without event", `{"type":"track","userId":"u"}`, false},
		{"track with null event", `{"type":"track","event":null,"userId":"u"}`, false},
		{"empty event", `{"type":"track","event":"","userId":"u"}`, false},
		{"event too long", `{"type":"track","event":"` + long(201) + `","userId":"u"}`, false},
		{"empty message id", `{"type":"page","userId":"u","messageId":""}`, false},
		{"null message id", `{"type":"page","userId":"u","messageId":null}`, false},
		{"message id too long", `{"type":"page","userId":"u","messageId":"` + long(100) + `"}`, false},
		{"name too long", `{"type":"page","userId":"u","name":"` + long(1001) + `"}`, false},
		{"channel too long", `{"type":"page","userId":"u","channel":"` + long(33) + `"}`, false},
		{"channel a number", `{"type":"page","userId":"u","channel":7}`, false},
		{"alias without previous id", `{"type":"alias","userId":"u"}`, false},
		{"alias with null previous id", `{"type":"alias","previousId":null,"userId":"u"}`, false},
		{"alias with only an anonymous id", `{"type":"alias","previousId":"p","anonymousId":"a"}`, false},
		{"group without group id", `{"type":"group","userId":"u"}`, false},
		{"group with empty group id", `{"type":"group","groupId":"","userId":"u"}`, false},
		{"timestamp without zone", `{"type":"page","userId":"u","timestamp":"2025-03-01T10:00:00"}`, false},
		{"timestamp as a date", `{"type":"page","userId":"u","timestamp":"2025-03-01"}`, false},
		{"timestamp 30 February", `{"type":"page","userId":"u","timestamp":"2025-02-30T10:00:00Z"}`, false},
		{"timestamp 29 February of a common year", `{"type":"page","userId":"u","sentAt":"2025-02-29T10:00:00Z"}`, false},
		{"timestamp hour 24", `{"type":"page","userId":"u","originalTimestamp":"2025-03-01T24:00:00Z"}`, false},
		{"timestamp with an empty fraction", `{"type":"page","userId":"u","timestamp":"2025-03-01T10:00:00.Z"}`, false},
		{"timestamp offset without colon", `{"type":"page","userId":"u","timestamp":"2025-03-01T10:00:00+0100"}`, false},
		{"timestamp a number", `{"type":"page","userId":"u","timestamp":1740823200}`, false},
		{"context an array", `{"type":"page","userId":"u","context":[]}`, false},
		{"properties a string", `{"type":"page","userId":"u","properties":"x"}`, false},
		{"traits a number", `{"type":"identify","userId":"u","traits":1}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			goValid, schemaValid := verdicts(t, v, tt.call)
			if schemaValid != tt.valid {
				t.Fatalf("envelope.json says valid=%v, the corpus says %v: fix the corpus", schemaValid, tt.valid)
			}
			if goValid != schemaValid {
				t.Errorf("ValidEnvelope says %v, envelope.json says %v", goValid, schemaValid)
			}
		})
	}
}

// Date-times the schema's format takes but the Go check leaves to it: the
// Go check must say false, so that the schema decides.
func TestValidEnvelopeDefersRareDateTimes(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range []string{"2025-03-01t10:00:00Z", "2025-03-01T10:00:00z", "2016-12-31T23:59:60Z"} {
		goValid, schemaValid := verdicts(t, v, `{"type":"page","userId":"u","timestamp":"`+ts+`"}`)
		if goValid || !schemaValid {
			t.Errorf("%s: ValidEnvelope %v (want false), envelope.json %v (want true)", ts, goValid, schemaValid)
		}
	}
}

type field struct{ good, bad []string }

// Random calls built from a palette of values per field: the Go check
// and envelope.json give the same verdict on each.
func TestValidEnvelopeAgreesOnGeneratedCalls(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	// Each field's values: those the envelope may take first, then from
	// bad on those it may not ("" leaves the field out).
	ids := field{good: []string{"", `null`, `"u"`, `"` + strings.Repeat("i", 255) + `"`, `"` + strings.Repeat("ß", 255) + `"`},
		bad: []string{`""`, `1`, `"` + strings.Repeat("i", 256) + `"`}}
	texts := field{good: []string{"", `null`, `""`, `"t"`}, bad: []string{`true`, `"` + strings.Repeat("t", 1001) + `"`}}
	times := field{good: []string{"", `null`, `"2025-03-01T10:00:00Z"`, `"2025-03-01T10:00:00.5+01:00"`},
		bad: []string{`"2025-13-01T10:00:00Z"`, `"2025-03-01 10:00:00Z"`, `"yesterday"`, `0`, `"2025-03-01T10:00:00+24:00"`, `"2025-03-01T10:60:00Z"`}}
	objects := field{good: []string{"", `null`, `{}`, `{"a":1}`}, bad: []string{`[]`, `"o"`}}
	palette := []struct {
		key string
		field
	}{
		{"type", field{good: []string{`"track"`, `"page"`, `"identify"`, `"screen"`, `"group"`, `"alias"`}, bad: []string{"", `null`, `"Track"`, `7`}}},
		{"messageId", field{good: []string{"", `"m"`, `"` + strings.Repeat("m", 99) + `"`}, bad: []string{`null`, `""`, `"` + strings.Repeat("m", 100) + `"`, `{}`}}},
		{"event", field{good: []string{"", `"purchase"`, `"` + strings.Repeat("e", 200) + `"`}, bad: []string{`null`, `""`, `"` + strings.Repeat("e", 201) + `"`, `[]`}}},
		{"name", texts}, {"channel", field{good: texts.good, bad: []string{`true`, `"` + strings.Repeat("t", 33) + `"`}}},
		{"anonymousId", ids}, {"userId", ids}, {"previousId", ids}, {"groupId", ids},
		{"timestamp", times}, {"originalTimestamp", times}, {"sentAt", times},
		{"context", objects}, {"properties", objects}, {"traits", objects},
	}
	r := rand.New(rand.NewPCG(1, 2))
	var valid, invalid int
	for range 20000 {
		var b strings.Builder
		b.WriteString(`{"x":0`)
		for _, p := range palette {
			values := p.good
			if r.IntN(20) == 0 {
				values = p.bad
			}
			if val := values[r.IntN(len(values))]; val != "" {
				b.WriteString(`,"` + p.key + `":` + val)
			}
		}
		b.WriteString("}")
		goValid, schemaValid := verdicts(t, v, b.String())
		if goValid != schemaValid {
			t.Fatalf("%s: ValidEnvelope says %v, envelope.json says %v", b.String(), goValid, schemaValid)
		}
		if schemaValid {
			valid++
		} else {
			invalid++
		}
	}
	t.Logf("%d valid, %d invalid calls", valid, invalid)
	if valid < 100 || invalid < 100 {
		t.Errorf("palette too one-sided: %d valid, %d invalid calls", valid, invalid)
	}
}

func TestCheckedNames(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		want   []string // nil: the schema may look at any property
	}{
		{name: "properties and required", schema: `{"type":"object","title":"t","required":["a"],"properties":{"b":{"type":"string"}}}`, want: []string{"a", "b"}},
		{name: "additional properties look at every name", schema: `{"type":"object","properties":{"a":{}},"additionalProperties":false}`},
		{name: "pattern properties look at every name", schema: `{"type":"object","patternProperties":{"^x":{}}}`},
		{name: "a reference may look anywhere", schema: `{"type":"object","$ref":"other.json"}`},
		{name: "not an object schema", schema: `{"type":["object","null"],"properties":{"a":{}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc any
			if err := json.Unmarshal([]byte(tt.schema), &doc); err != nil {
				t.Fatal(err)
			}
			got, ok := checkedNames(doc)
			if ok != (tt.want != nil) || len(got) != len(tt.want) {
				t.Fatalf("checkedNames = %v, %v; want %v", got, ok, tt.want)
			}
			for _, n := range tt.want {
				if !got[n] {
					t.Errorf("%s missing from %v", n, got)
				}
			}
		})
	}
}

// Every properties schema of ours is plain, so that ingest decodes only
// the properties it checks; a schema that is not still works, slower.
func TestEveryPropertiesSchemaNamesWhatItChecks(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for name := range v.properties {
		if _, ok := v.CheckedProperties(name); !ok {
			t.Errorf("%s.json: ingest decodes all its properties", name)
		}
	}
}
