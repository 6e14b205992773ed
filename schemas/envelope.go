package schemas

import (
	"unicode/utf8"
)

// Kind is the JSON type of one top-level field of a tracking call.
type Kind uint8

// Kinds of JSON value; Absent is a field the call does not have.
const (
	Absent Kind = iota
	Null
	String
	Object
	Other // number, boolean or array
)

// Value is one top-level field of a tracking call: its kind and, for a
// string, the string.
type Value struct {
	Kind Kind
	Str  string
}

// Envelope is the top level of one tracking call (a JSON object), field by
// field, as events/envelope.json describes it. Fields the envelope does not
// name are not held: the schema lets them be anything.
type Envelope struct {
	MessageID, Type, Event, Name                      Value
	AnonymousID, UserID, PreviousID, GroupID, Channel Value
	Timestamp, OriginalTimestamp, SentAt              Value
	Context, Properties, Traits                       Value
}

// Limits of events/envelope.json, checked by ValidEnvelope.
const (
	maxMessageIDLen = 99
	maxEventLen     = 200
	maxNameLen      = 1000
	maxIDLen        = 255
	maxChannelLen   = 32
)

// ValidEnvelope says whether a call passes events/envelope.json, without
// the JSON Schema library: it is the hot path of ingest, which validates
// every call. It never calls a call valid that the schema refuses; when it
// says false, Validate with the JSON Schema is the judge and words the
// errors. envelope_test.go holds both to the same verdict on a corpus of
// good and bad calls, so the schema file stays the source of truth.
func ValidEnvelope(e *Envelope) bool {
	switch {
	case !validType(e.Type),
		!strLen(e.MessageID, 1, maxMessageIDLen, false),
		!strLen(e.Event, 1, maxEventLen, false),
		!strLen(e.Name, 0, maxNameLen, true),
		!strLen(e.AnonymousID, 0, maxIDLen, true),
		!strLen(e.UserID, 0, maxIDLen, true),
		!strLen(e.PreviousID, 0, maxIDLen, true),
		!strLen(e.GroupID, 0, maxIDLen, true),
		!strLen(e.Channel, 0, maxChannelLen, true),
		!dateTime(e.Timestamp), !dateTime(e.OriginalTimestamp), !dateTime(e.SentAt),
		!objectOrNull(e.Context), !objectOrNull(e.Properties), !objectOrNull(e.Traits):
		return false
	}
	switch e.Type.Str {
	case TypeAlias:
		return id(e.PreviousID) && id(e.UserID)
	case TypeTrack:
		if e.Event.Kind == Absent {
			return false
		}
	case TypeGroup:
		if !id(e.GroupID) {
			return false
		}
	}
	return id(e.AnonymousID) || id(e.UserID)
}

func validType(v Value) bool {
	if v.Kind != String {
		return false
	}
	switch v.Str {
	case TypeTrack, TypePage, TypeIdentify, TypeScreen, TypeGroup, TypeAlias:
		return true
	}
	return false
}

// strLen accepts an absent field, null when nullable, and a string of
// min to max characters (code points, as JSON Schema counts them).
func strLen(v Value, min, max int, nullable bool) bool {
	switch v.Kind {
	case Absent:
		return true
	case Null:
		return nullable
	case String:
		n := len(v.Str)
		if n > max || n < min { // bytes bound characters from above
			n = utf8.RuneCountInString(v.Str)
		}
		return min <= n && n <= max
	}
	return false
}

// id is the envelope's $defs/id: present, a string of 1 to 255 characters.
func id(v Value) bool { return v.Kind == String && strLen(v, 1, maxIDLen, false) }

func objectOrNull(v Value) bool { return v.Kind == Absent || v.Kind == Null || v.Kind == Object }

// dateTime accepts absent, null and the common shape of RFC 3339 date-times,
// 2006-01-02T15:04:05[.fraction](Z|±hh:mm), with real calendar dates. It is
// stricter than the schema's date-time format (which also takes a lower
// case t or z and leap seconds); those rarer forms go to the schema.
func dateTime(v Value) bool {
	switch v.Kind {
	case Absent, Null:
		return true
	case String:
		return rfc3339(v.Str)
	}
	return false
}

func rfc3339(s string) bool {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return false
	}
	rest := s[19:]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	if rest == "Z" {
		return true
	}
	if len(rest) != 6 || rest[0] != '+' && rest[0] != '-' || rest[3] != ':' {
		return false
	}
	zh, ok1 := digits(rest[1:3])
	zm, ok2 := digits(rest[4:6])
	return ok1 && ok2 && zh <= 23 && zm <= 59
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// HasPropertiesSchema says whether the event has a schema for its
// properties; name is as Event.EventName gives it.
func (v *Validator) HasPropertiesSchema(name string) bool {
	_, ok := v.properties[name]
	return ok
}

// ValidateProperties checks the properties of an event whose envelope is
// valid against the event's properties schema, if it has one. props is the
// decoded properties object, or nil when the call has none. Errors are
// worded as Validate words them.
func (v *Validator) ValidateProperties(name string, props map[string]any) []FieldError {
	sch, ok := v.properties[name]
	if !ok {
		return nil
	}
	if props == nil {
		props = map[string]any{} // absent properties still have required fields
	}
	if err := sch.Validate(props); err != nil {
		return appendFieldErrors(nil, "properties", err)
	}
	return nil
}
