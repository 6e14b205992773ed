package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// request is a tracking request as the sender posted it: decoded, not yet
// authenticated, validated or enriched.
type request struct {
	// writeKey from the body, when the sender put it there.
	writeKey string
	// sentAt and context of the batch, for events that lack their own.
	sentAt  *time.Time
	context json.RawMessage
	events  []rawEvent
	// agents caches the parse of the user agent the events share.
	agents userAgents
}

// rawEvent is one call of a request, kept twice: as generic JSON values for
// the schema validator, and as raw fields so that context, properties and
// traits reach Kafka byte for byte as sent.
type rawEvent struct {
	raw    []byte
	call   any
	fields map[string]json.RawMessage
	// hashed says the configured PII properties of fields are hashed.
	hashed bool
}

// batchBody is the outside of a batch request. Events stay raw here and
// are decoded one by one, so that a bad one is reported by its index.
type batchBody struct {
	Batch    *[]json.RawMessage `json:"batch"`
	SentAt   json.RawMessage    `json:"sentAt"`
	Context  json.RawMessage    `json:"context"`
	WriteKey json.RawMessage    `json:"writeKey"`
}

// decodeRequest parses a request body. callType is the type implied by a
// single-call endpoint ("track", …), or "" for a batch. It fails only when
// the body as a whole is unusable; a malformed call inside a batch is left
// to the validator so that the sender learns its index.
func decodeRequest(body []byte, callType string) (*request, *rejection) {
	if callType != "" {
		ev, err := decodeEvent(body)
		if err != nil {
			return nil, reject(ReasonInvalidJSON, "body is not valid JSON: "+err.Error())
		}
		if ev.fields == nil {
			return nil, reject(ReasonInvalidJSON, "body is not a JSON object")
		}
		// The path names the type, whatever the body says.
		ev.fields["type"] = json.RawMessage(`"` + callType + `"`)
		ev.call.(map[string]any)["type"] = callType
		return &request{writeKey: stringField(ev.fields, "writeKey"), events: []rawEvent{ev}}, nil
	}

	var top batchBody
	if err := json.Unmarshal(body, &top); err != nil {
		if typeErr, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			if typeErr.Field == "batch" {
				return nil, reject(ReasonInvalidJSON, `"batch" is not an array`)
			}
			return nil, reject(ReasonInvalidJSON, "body is not a JSON object")
		}
		return nil, reject(ReasonInvalidJSON, "body is not valid JSON: "+err.Error())
	}
	if top.Batch == nil {
		return nil, reject(ReasonInvalidJSON, `body has no "batch" array`)
	}
	items := *top.Batch
	req := &request{events: make([]rawEvent, 0, len(items))}
	_ = json.Unmarshal(top.WriteKey, &req.writeKey) // not a string: no key
	if len(top.SentAt) > 0 && !isNull(top.SentAt) {
		t, err := parseTime(top.SentAt)
		if err != nil {
			return nil, reject(ReasonSchema, "sentAt: expected an RFC 3339 date-time")
		}
		req.sentAt = &t
	}
	if len(top.Context) > 0 && !isNull(top.Context) {
		if top.Context[0] != '{' {
			return nil, reject(ReasonSchema, "context: expected object")
		}
		req.context = top.Context
	}
	for _, item := range items {
		ev, err := decodeEvent(item)
		if err != nil { // cannot happen: item was parsed as part of body
			return nil, reject(ReasonInvalidJSON, "body is not valid JSON: "+err.Error())
		}
		req.events = append(req.events, ev)
	}
	return req, nil
}

// emptyObject stands in, for the validator, for objects whose inside the
// envelope does not check (context, traits): they need not be decoded.
// Nothing writes to it.
var emptyObject = map[string]any{}

// decodeEvent parses one call: its top-level fields raw, and as generic
// values for the validator. fields is nil when the call is valid JSON but
// not an object; the validator then says so.
func decodeEvent(b []byte) (rawEvent, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		if _, ok := errors.AsType[*json.UnmarshalTypeError](err); !ok {
			return rawEvent{}, err
		}
		call, err := generic(b) // valid JSON, not an object
		return rawEvent{raw: b, call: call}, err
	}
	if fields == nil { // null
		return rawEvent{raw: b}, nil
	}
	call := make(map[string]any, len(fields))
	for k, raw := range fields {
		if (k == "context" || k == "traits") && raw[0] == '{' {
			call[k] = emptyObject
			continue
		}
		v, err := generic(raw)
		if err != nil {
			return rawEvent{}, fmt.Errorf("%s: %w", k, err)
		}
		call[k] = v
	}
	return rawEvent{raw: b, call: call, fields: fields}, nil
}

// generic decodes one valid JSON value as the validator wants it, with
// numbers kept as json.Number. Plain strings, the bulk of a call's
// fields, skip the decoder.
func generic(raw []byte) (any, error) {
	switch raw[0] {
	case '"':
		inner := raw[1 : len(raw)-1]
		if plainString(inner) {
			return string(inner), nil
		}
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	case '{', '[':
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		err := dec.Decode(&v)
		return v, err
	default:
		return json.Number(raw), nil
	}
}

// plainString says a JSON string's inside needs no unescaping: no
// backslash, no control character, only ASCII.
func plainString(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}

// stringField reads a string field; absent, null and non-strings are "".
func stringField(fields map[string]json.RawMessage, name string) string {
	var s string
	if raw, ok := fields[name]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

// timeField reads an RFC 3339 field; nil when absent or null.
func timeField(fields map[string]json.RawMessage, name string) (*time.Time, error) {
	raw, ok := fields[name]
	if !ok || isNull(raw) {
		return nil, nil
	}
	t, err := parseTime(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: expected an RFC 3339 date-time", name)
	}
	return &t, nil
}

func parseTime(raw json.RawMessage) (time.Time, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, s)
}

// objectField returns an object field as sent; nil when absent or null.
func objectField(fields map[string]json.RawMessage, name string) json.RawMessage {
	raw, ok := fields[name]
	if !ok || isNull(raw) {
		return nil
	}
	return raw
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}
