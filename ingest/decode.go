package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/journeys/journeys/schemas"
)

// request is a tracking request as the sender posted it: decoded, not yet
// authenticated, validated or enriched.
type request struct {
	// body is the request's body, which events' raw fields point into.
	body []byte
	// writeKey from the body, when the sender put it there.
	writeKey string
	// sentAt and context of the batch, for events that lack their own.
	sentAt  *time.Time
	context json.RawMessage
	events  []rawEvent
	// agents caches the parse of the user agent the events share.
	agents userAgents
}

// callField is a top-level field of a call that ingest reads. Other fields
// (integrations, _metadata, …) stay only in the call's raw bytes.
type callField uint8

const (
	fieldMessageID callField = iota
	fieldType
	fieldEvent
	fieldName
	fieldAnonymousID
	fieldUserID
	fieldPreviousID
	fieldGroupID
	fieldChannel
	fieldTimestamp
	fieldOriginalTimestamp
	fieldSentAt
	fieldContext
	fieldProperties
	fieldTraits
	fieldWriteKey
	numCallFields
)

var callFieldNames = [numCallFields]string{
	"messageId", "type", "event", "name", "anonymousId", "userId", "previousId", "groupId", "channel",
	"timestamp", "originalTimestamp", "sentAt", "context", "properties", "traits", "writeKey",
}

// callFieldOf finds the field a top-level key names; keys match exactly,
// as they do in a map[string]json.RawMessage.
func callFieldOf(key string) (callField, bool) {
	switch key {
	case "messageId":
		return fieldMessageID, true
	case "type":
		return fieldType, true
	case "event":
		return fieldEvent, true
	case "name":
		return fieldName, true
	case "anonymousId":
		return fieldAnonymousID, true
	case "userId":
		return fieldUserID, true
	case "previousId":
		return fieldPreviousID, true
	case "groupId":
		return fieldGroupID, true
	case "channel":
		return fieldChannel, true
	case "timestamp":
		return fieldTimestamp, true
	case "originalTimestamp":
		return fieldOriginalTimestamp, true
	case "sentAt":
		return fieldSentAt, true
	case "context":
		return fieldContext, true
	case "properties":
		return fieldProperties, true
	case "traits":
		return fieldTraits, true
	case "writeKey":
		return fieldWriteKey, true
	}
	return 0, false
}

// rawEvent is one call of a request. Its known top-level fields are kept
// raw, so that context, properties and traits reach Kafka byte for byte as
// sent, and decoded into the envelope the validator checks.
type rawEvent struct {
	raw []byte
	// object says the call is a JSON object; fields and env describe it
	// only then.
	object bool
	// fields holds the raw JSON of each known field; nil when absent.
	fields [numCallFields][]byte
	env    schemas.Envelope
	// call is the generic value of a call that is not an object, for the
	// validator to word why.
	call any
	// hashed says the configured PII properties of fields are hashed.
	hashed bool
}

// envValue is the envelope's entry for f; nil for writeKey, which the
// envelope does not name.
func (ev *rawEvent) envValue(f callField) *schemas.Value {
	e := &ev.env
	switch f {
	case fieldMessageID:
		return &e.MessageID
	case fieldType:
		return &e.Type
	case fieldEvent:
		return &e.Event
	case fieldName:
		return &e.Name
	case fieldAnonymousID:
		return &e.AnonymousID
	case fieldUserID:
		return &e.UserID
	case fieldPreviousID:
		return &e.PreviousID
	case fieldGroupID:
		return &e.GroupID
	case fieldChannel:
		return &e.Channel
	case fieldTimestamp:
		return &e.Timestamp
	case fieldOriginalTimestamp:
		return &e.OriginalTimestamp
	case fieldSentAt:
		return &e.SentAt
	case fieldContext:
		return &e.Context
	case fieldProperties:
		return &e.Properties
	case fieldTraits:
		return &e.Traits
	}
	return nil
}

// setField sets a known field to raw, a valid JSON value, and its
// envelope entry to what raw holds.
func (ev *rawEvent) setField(f callField, raw []byte) {
	ev.fields[f] = raw
	v := ev.envValue(f)
	if v == nil {
		return
	}
	switch raw[0] {
	case '"':
		*v = schemas.Value{Kind: schemas.String, Str: stringValue(raw)}
	case '{':
		*v = schemas.Value{Kind: schemas.Object}
	case 'n':
		*v = schemas.Value{Kind: schemas.Null}
	default:
		*v = schemas.Value{Kind: schemas.Other}
	}
}

// str is a string field; absent, null and non-strings are "".
func (ev *rawEvent) str(f callField) string {
	if v := ev.envValue(f); v != nil {
		return v.Str
	}
	if raw := ev.fields[f]; len(raw) > 0 && raw[0] == '"' {
		return stringValue(raw)
	}
	return ""
}

// objectField returns an object field as sent; nil when absent or null.
func (ev *rawEvent) objectField(f callField) json.RawMessage {
	raw := ev.fields[f]
	if len(raw) == 0 || raw[0] == 'n' {
		return nil
	}
	return raw
}

// timeField reads an RFC 3339 field; nil when absent or null.
func (ev *rawEvent) timeField(f callField) (*time.Time, error) {
	v := ev.envValue(f)
	switch v.Kind {
	case schemas.Absent, schemas.Null:
		return nil, nil
	case schemas.String:
		if t, err := time.Parse(time.RFC3339Nano, v.Str); err == nil {
			return &t, nil
		}
	}
	return nil, fmt.Errorf("%s: expected an RFC 3339 date-time", callFieldNames[f])
}

// eventName mirrors schemas.Event.EventName on the call as sent.
func (ev *rawEvent) eventName() string {
	if ev.env.Type.Str == schemas.TypeTrack {
		return ev.env.Event.Str
	}
	return ev.env.Type.Str
}

// stringValue decodes a JSON string; one that is not valid is "".
// Plain strings, the bulk of a call's fields, skip the decoder.
func stringValue(raw []byte) string {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		if inner := raw[1 : len(raw)-1]; plainString(inner) {
			return internString(inner)
		}
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// internString avoids an allocation for the values that recur in every
// call: its type and the names of known events.
func internString(b []byte) string {
	switch string(b) {
	case schemas.TypeTrack:
		return schemas.TypeTrack
	case schemas.TypePage:
		return schemas.TypePage
	case schemas.TypeIdentify:
		return schemas.TypeIdentify
	case schemas.TypeScreen:
		return schemas.TypeScreen
	case schemas.EventPurchase:
		return schemas.EventPurchase
	case schemas.EventCall:
		return schemas.EventCall
	}
	return string(b)
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

// batchParts is the outside of a batch request. Each event is decoded on
// its own, so that a bad one is reported by its index.
type batchParts struct {
	events                    []rawEvent
	sentAt, context, writeKey []byte // raw; nil when absent
}

// batchBody is the outside of a batch as encoding/json reads it, for
// bodies the scanner leaves to it.
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
	req, rej := decodeBody(body, callType)
	if req != nil {
		req.body = body
	}
	return req, rej
}

func decodeBody(body []byte, callType string) (*request, *rejection) {
	if callType != "" {
		ev, err := decodeEvent(body)
		if err != nil {
			return nil, reject(ReasonInvalidJSON, "body is not valid JSON: "+err.Error())
		}
		if !ev.object {
			return nil, reject(ReasonInvalidJSON, "body is not a JSON object")
		}
		// The path names the type, whatever the body says.
		ev.setField(fieldType, []byte(`"`+callType+`"`))
		return &request{writeKey: ev.str(fieldWriteKey), events: []rawEvent{ev}}, nil
	}
	parts, ok := scanBatch(body)
	if !ok {
		var rej *rejection
		if parts, rej = decodeBatchSlow(body); rej != nil {
			return nil, rej
		}
	}
	return parts.request()
}

// scanBatch reads a batch body in one pass. It says false when the body is
// not valid JSON or not of the plain shape (an object whose batch is an
// array, keys spelled exactly), leaving it to decodeBatchSlow.
func scanBatch(body []byte) (batchParts, bool) {
	s := scanner{b: body}
	s.skipSpace()
	if s.peek() != '{' {
		return batchParts{}, false
	}
	var p batchParts
	err := s.members(1, func(quoted []byte, plain bool) error {
		if !plain {
			return errScan // may fold to a field name; encoding/json decides
		}
		key := quoted[1 : len(quoted)-1]
		var err error
		switch string(key) {
		case "batch":
			if s.peek() != '[' {
				return errScan
			}
			p.events = make([]rawEvent, 0, len(body)/512+1)
			return s.elements(func() error {
				ev, err := s.call(2)
				p.events = append(p.events, ev)
				return err
			})
		case "sentAt":
			p.sentAt, err = s.value(1)
		case "context":
			p.context, err = s.value(1)
		case "writeKey":
			p.writeKey, err = s.value(1)
		default:
			for _, name := range []string{"batch", "sentAt", "context", "writeKey"} {
				if bytes.EqualFold(key, []byte(name)) {
					return errScan // encoding/json matches struct fields case-blind
				}
			}
			err = s.skipValue(1)
		}
		return err
	})
	if err != nil || p.events == nil {
		return batchParts{}, false
	}
	s.skipSpace()
	if s.i != len(body) {
		return batchParts{}, false
	}
	return p, true
}

// decodeBatchSlow reads a batch body with encoding/json, for the bodies
// scanBatch leaves to it, and words why one is refused.
func decodeBatchSlow(body []byte) (batchParts, *rejection) {
	var top batchBody
	if err := json.Unmarshal(body, &top); err != nil {
		if typeErr, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			if typeErr.Field == "batch" {
				return batchParts{}, reject(ReasonInvalidJSON, `"batch" is not an array`)
			}
			return batchParts{}, reject(ReasonInvalidJSON, "body is not a JSON object")
		}
		return batchParts{}, reject(ReasonInvalidJSON, "body is not valid JSON: "+err.Error())
	}
	if top.Batch == nil {
		return batchParts{}, reject(ReasonInvalidJSON, `body has no "batch" array`)
	}
	p := batchParts{events: make([]rawEvent, 0, len(*top.Batch)), sentAt: top.SentAt, context: top.Context, writeKey: top.WriteKey}
	for _, item := range *top.Batch {
		ev, err := decodeEvent(item)
		if err != nil { // cannot happen: item was parsed as part of body
			return batchParts{}, reject(ReasonInvalidJSON, "body is not valid JSON: "+err.Error())
		}
		p.events = append(p.events, ev)
	}
	return p, nil
}

// request checks the batch's own fields and makes the request.
func (p batchParts) request() (*request, *rejection) {
	req := &request{events: p.events}
	_ = json.Unmarshal(p.writeKey, &req.writeKey) // not a string: no key
	if len(p.sentAt) > 0 && !isNull(p.sentAt) {
		t, err := parseTime(p.sentAt)
		if err != nil {
			return nil, reject(ReasonSchema, "sentAt: expected an RFC 3339 date-time")
		}
		req.sentAt = &t
	}
	if len(p.context) > 0 && !isNull(p.context) {
		if p.context[0] != '{' {
			return nil, reject(ReasonSchema, "context: expected object")
		}
		req.context = p.context
	}
	return req, nil
}

// decodeEvent parses one call. A call that is valid JSON but not an
// object is kept as its generic value; the validator then says so.
func decodeEvent(b []byte) (rawEvent, error) {
	s := scanner{b: b}
	s.skipSpace()
	ev, err := s.call(1)
	if s.skipSpace(); err != nil || s.i != len(b) {
		return decodeEventSlow(b)
	}
	ev.raw = b
	return ev, nil
}

// call scans one call of a request, standing at its first byte.
func (s *scanner) call(depth int) (rawEvent, error) {
	if s.peek() != '{' {
		raw, err := s.value(depth)
		if err != nil {
			return rawEvent{}, err
		}
		call, err := generic(raw)
		return rawEvent{raw: raw, call: call}, err
	}
	start := s.i
	ev := rawEvent{object: true}
	err := s.members(depth, func(key []byte, plain bool) error {
		name := string(key[1 : len(key)-1]) // no allocation: only compared
		if !plain {
			name = stringValue(key)
		}
		f, known := callFieldOf(name)
		if !known {
			return s.skipValue(depth)
		}
		raw, err := s.value(depth)
		if err == nil {
			ev.setField(f, raw)
		}
		return err
	})
	ev.raw = s.b[start:s.i]
	return ev, err
}

// decodeEventSlow parses one call with encoding/json: for calls the
// scanner leaves to it, and to word why a body is not JSON.
func decodeEventSlow(b []byte) (rawEvent, error) {
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
	ev := rawEvent{raw: b, object: true}
	for k, raw := range fields {
		if f, ok := callFieldOf(k); ok {
			ev.setField(f, raw)
		}
	}
	return ev, nil
}

// emptyObject stands in, for the validator, for objects whose inside the
// envelope does not check (context, traits): they need not be decoded.
// Nothing writes to it.
var emptyObject = map[string]any{}

// genericCall is the call as generic values, for the JSON Schema
// validator: the call as sent, with the fields ingest changed (the type a
// path implies, a renamed event) as changed.
func (ev *rawEvent) genericCall() any {
	if !ev.object {
		return ev.call
	}
	fields := ev.fieldMap()
	call := make(map[string]any, len(fields))
	for k, raw := range fields {
		if (k == "context" || k == "traits") && raw[0] == '{' {
			call[k] = emptyObject
			continue
		}
		call[k], _ = generic(raw)
	}
	return call
}

// fieldMap is the call's top-level fields as sent, with the fields ingest
// changed (the type a path implies, a renamed event, hashed properties)
// as changed.
func (ev *rawEvent) fieldMap() map[string]json.RawMessage {
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(ev.raw, &fields) // ev.raw was scanned as an object
	if fields == nil {
		fields = make(map[string]json.RawMessage, numCallFields)
	}
	for f, raw := range ev.fields {
		if raw != nil {
			fields[callFieldNames[f]] = raw
		}
	}
	return fields
}

// properties is the call's properties object as generic values, for the
// event's properties schema; nil when absent or null. When the schema looks
// only at some names, only those are decoded.
func (ev *rawEvent) properties(v *schemas.Validator, event string) (map[string]any, error) {
	raw := ev.objectField(fieldProperties)
	if raw == nil {
		return nil, nil
	}
	names, ok := v.CheckedProperties(event)
	if !ok {
		g, err := generic(raw)
		obj, _ := g.(map[string]any)
		return obj, err
	}
	s := scanner{b: raw}
	obj := make(map[string]any, len(names))
	err := s.members(1, func(key []byte, plain bool) error {
		name := string(key[1 : len(key)-1]) // no allocation: only looked up
		if !plain {
			name = stringValue(key)
		}
		if !names[name] {
			return s.skipValue(1)
		}
		g, err := s.generic(1)
		obj[stringValue(key)] = g
		return err
	})
	return obj, err
}

// generic decodes one valid JSON value as the validator wants it, with
// numbers kept as json.Number.
func generic(raw []byte) (any, error) {
	switch raw[0] {
	case '"':
		return stringValue(raw), nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	case '{', '[':
		s := scanner{b: raw}
		if v, err := s.generic(0); err == nil && s.i == len(raw) {
			return v, nil
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		err := dec.Decode(&v)
		return v, err
	default:
		return json.Number(raw), nil
	}
}

func parseTime(raw json.RawMessage) (time.Time, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, s)
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}
