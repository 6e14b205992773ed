package ingest

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/journeys/journeys/schemas"
)

// appendEvent appends the JSON of an enriched event to dst: what
// json.Marshal writes for a schemas.Event, field for field, without
// reflection. Strings are escaped as encoding/json escapes them; context,
// properties and traits are copied as sent (encoding/json would compact
// them and escape <, > and &; the JSON value is the same). A time that
// JSON cannot hold (a year outside 0 to 9999) fails as json.Marshal fails.
func appendEvent(dst []byte, ev *schemas.Event) ([]byte, error) {
	for _, t := range []*time.Time{&ev.Timestamp, ev.OriginalTimestamp, ev.SentAt, &ev.ReceivedAt} {
		if t != nil && (t.Year() < 0 || t.Year() > 9999) {
			_, err := json.Marshal(ev)
			return dst, err
		}
	}
	dst = append(dst, `{"messageId":`...)
	dst = appendString(dst, ev.MessageID)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, ev.Type)
	dst = appendOptional(dst, `,"event":`, ev.Event)
	dst = appendOptional(dst, `,"name":`, ev.Name)
	dst = appendOptional(dst, `,"anonymousId":`, ev.AnonymousID)
	dst = appendOptional(dst, `,"userId":`, ev.UserID)
	dst = appendOptional(dst, `,"previousId":`, ev.PreviousID)
	dst = appendOptional(dst, `,"groupId":`, ev.GroupID)
	dst = appendOptional(dst, `,"channel":`, ev.Channel)
	dst = appendTime(append(dst, `,"timestamp":`...), ev.Timestamp)
	if ev.OriginalTimestamp != nil {
		dst = appendTime(append(dst, `,"originalTimestamp":`...), *ev.OriginalTimestamp)
	}
	if ev.SentAt != nil {
		dst = appendTime(append(dst, `,"sentAt":`...), *ev.SentAt)
	}
	dst = appendTime(append(dst, `,"receivedAt":`...), ev.ReceivedAt)
	dst = appendRaw(dst, `,"context":`, ev.Context)
	dst = appendRaw(dst, `,"properties":`, ev.Properties)
	dst = appendRaw(dst, `,"traits":`, ev.Traits)
	dst = appendOptional(dst, `,"source":`, ev.Source)
	return append(dst, '}'), nil
}

// appendOptional writes an omitempty string field.
func appendOptional(dst []byte, key, s string) []byte {
	if s == "" {
		return dst
	}
	return appendString(append(dst, key...), s)
}

// appendRaw writes an omitempty json.RawMessage field.
func appendRaw(dst []byte, key string, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return dst
	}
	return append(append(dst, key...), raw...)
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string, escaped as encoding/json escapes
// it: quote, backslash and control characters; <, > and & as \u003c, \u003e
// and \u0026; U+2028 and U+2029; invalid UTF-8 as \ufffd.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			switch r {
			case utf8.RuneError:
				dst = append(dst, `\ufffd`...)
			default:
				dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// toMessage encodes an event as a Kafka record keyed by its customer,
// appending key and value to arena (which may grow; records already cut
// from it stay valid). It returns the record and the arena.
func toMessage(ev *schemas.Event, arena []byte) (Message, []byte, error) {
	start := len(arena)
	arena = append(arena, ev.CustomerID()...)
	valueStart := len(arena)
	arena, err := appendEvent(arena, ev)
	if err != nil {
		return Message{}, arena[:start], fmt.Errorf("encode event %s: %w", ev.MessageID, err)
	}
	end := len(arena)
	return Message{Key: arena[start:valueStart:valueStart], Value: arena[valueStart:end:end]}, arena, nil
}
