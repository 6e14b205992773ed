package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
}

// rawEvent is one call of a request, kept twice: as generic JSON values for
// the schema validator, and as raw fields so that context, properties and
// traits reach Kafka byte for byte as sent.
type rawEvent struct {
	size   int
	call   any
	fields map[string]json.RawMessage
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

	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, reject(ReasonInvalidJSON, "body is not a JSON object")
		}
		return nil, reject(ReasonInvalidJSON, "body is not valid JSON: "+err.Error())
	}
	if top == nil {
		return nil, reject(ReasonInvalidJSON, "body is not a JSON object")
	}
	var items []json.RawMessage
	if raw, ok := top["batch"]; !ok || isNull(raw) {
		return nil, reject(ReasonInvalidJSON, `body has no "batch" array`)
	} else if err := json.Unmarshal(raw, &items); err != nil {
		return nil, reject(ReasonInvalidJSON, `"batch" is not an array`)
	}

	req := &request{writeKey: stringField(top, "writeKey"), events: make([]rawEvent, 0, len(items))}
	if raw, ok := top["sentAt"]; ok && !isNull(raw) {
		t, err := parseTime(raw)
		if err != nil {
			return nil, reject(ReasonSchema, "sentAt: expected an RFC 3339 date-time")
		}
		req.sentAt = &t
	}
	if raw, ok := top["context"]; ok && !isNull(raw) {
		if bytes.TrimSpace(raw)[0] != '{' {
			return nil, reject(ReasonSchema, "context: expected object")
		}
		req.context = raw
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

// decodeEvent parses one call. fields is nil when the call is valid JSON
// but not an object; the validator then says so.
func decodeEvent(b []byte) (rawEvent, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var call any
	if err := dec.Decode(&call); err != nil {
		return rawEvent{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return rawEvent{}, errors.New("unexpected data after the JSON value")
	}
	ev := rawEvent{size: len(b), call: call}
	if _, ok := call.(map[string]any); ok {
		if err := json.Unmarshal(b, &ev.fields); err != nil {
			return rawEvent{}, err
		}
	}
	return ev, nil
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
