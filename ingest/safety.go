package ingest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON that parses is not yet JSON every reader downstream can hold. An
// event is refused (ReasonUnsafeJSON) when it has
//   - bytes that are not UTF-8, or a \u escape of half a UTF-16 surrogate
//     pair: decoders replace them with U+FFFD, so a customer id would come
//     out of the processor other than it went into Kafka;
//   - a number beyond a 64-bit float (1e400, a 400-digit integer): the
//     processor and ClickHouse read numbers as float64, and one +Inf
//     revenue makes every revenue panel infinite;
//   - objects and arrays nested deeper than maxEventDepth;
//   - a control character (U+0000–U+001F, U+007F) in an id: ids are Kafka
//     keys, ClickHouse keys and dashboard links.
// The scanner has checked the event's syntax already; this pass only looks
// at what syntax allows.

// maxEventDepth bounds the nesting of one event. Tracking calls nest a few
// levels (context.traits.address); encoding/json allows 10,000.
const maxEventDepth = 64

// maxShownPath bounds the path named in a refusal.
const maxShownPath = 8

// jsonFrame is one open object or array on the way to a value.
type jsonFrame struct {
	array bool
	key   []byte // raw, escapes as sent; a slice of the event
	index int
}

func jsonPath(stack []jsonFrame) string {
	var b strings.Builder
	for i, f := range stack {
		if i == maxShownPath {
			b.WriteString("…")
			break
		}
		switch {
		case f.array:
			fmt.Fprintf(&b, "[%d]", f.index)
		case len(f.key) > 0:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.Write(f.key)
		}
	}
	if b.Len() == 0 {
		return "event"
	}
	return b.String()
}

// unsafeJSON says what in a syntactically valid event downstream readers
// cannot hold, naming where; nil when nothing.
func unsafeJSON(raw []byte) error {
	stack := make([]jsonFrame, 0, 8)
	expectKey := false
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '{' || c == '[':
			if len(stack) == maxEventDepth {
				return fmt.Errorf("%s: objects and arrays nested deeper than %d levels", jsonPath(stack), maxEventDepth)
			}
			stack = append(stack, jsonFrame{array: c == '['})
			expectKey = c == '{'
			i++
		case c == '}' || c == ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			expectKey = false
			i++
		case c == ',':
			if n := len(stack); n > 0 {
				if stack[n-1].array {
					stack[n-1].index++
				} else {
					expectKey = true
				}
			}
			i++
		case c == '"':
			end, err := checkString(raw, i)
			if err != nil {
				return fmt.Errorf("%s: %w", jsonPath(stack), err)
			}
			if expectKey && len(stack) > 0 {
				stack[len(stack)-1].key = raw[i+1 : end-1]
				expectKey = false
			}
			i = end
		case c == '-' || c >= '0' && c <= '9':
			j := i + 1
			for j < len(raw) && strings.IndexByte("+-.eE0123456789", raw[j]) >= 0 {
				j++
			}
			if err := checkNumber(raw[i:j]); err != nil {
				return fmt.Errorf("%s: %w", jsonPath(stack), err)
			}
			i = j
		default: // whitespace, ':', true, false, null
			i++
		}
	}
	return nil
}

// checkNumber refuses a number a float64 cannot hold. Numbers of up to 15
// digits without an exponent always fit and are not parsed.
func checkNumber(n []byte) error {
	if len(n) <= 15 && bytes.IndexAny(n, "eE") < 0 {
		return nil
	}
	if _, err := strconv.ParseFloat(string(n), 64); err != nil {
		shown := string(n)
		if len(shown) > 24 {
			shown = shown[:20] + fmt.Sprintf("… (%d digits)", len(n))
		}
		return fmt.Errorf("number %s is out of the range of a 64-bit float", shown)
	}
	return nil
}

// checkString reads the string starting at raw[start] (its opening quote)
// and returns the index after its closing quote. It jumps from escape to
// escape with IndexByte and checks the runs between them with utf8.Valid,
// both of which go a word or more at a time.
func checkString(raw []byte, start int) (int, error) {
	for i := start + 1; i < len(raw); {
		q := bytes.IndexByte(raw[i:], '"')
		if q < 0 {
			break
		}
		run := raw[i : i+q]
		if e := bytes.IndexByte(run, '\\'); e >= 0 {
			run = run[:e]
		}
		if !utf8.Valid(run) {
			off := i + invalidUTF8At(run)
			return 0, fmt.Errorf("byte 0x%02x at offset %d is not UTF-8", raw[off], off)
		}
		i += len(run)
		if raw[i] == '"' {
			return i + 1, nil
		}
		// A backslash: \u escapes are checked, the others are two bytes.
		if i+1 < len(raw) && raw[i+1] == 'u' {
			n, err := checkEscape(raw, i)
			if err != nil {
				return 0, err
			}
			i += n
			continue
		}
		i += 2
	}
	return 0, fmt.Errorf("string at offset %d does not end", start)
}

// invalidUTF8At is the offset of the first byte of b that is not UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return 0
}

// checkEscape checks the \u escape at raw[i] and returns its length: 6, or
// 12 for a surrogate pair.
func checkEscape(raw []byte, i int) (int, error) {
	r, ok := hex4(raw, i+2)
	if !ok {
		return 0, fmt.Errorf("bad \\u escape at offset %d", i)
	}
	switch {
	case r >= 0xD800 && r <= 0xDBFF:
		if lo, ok := hex4(raw, i+8); ok && raw[i+6] == '\\' && raw[i+7] == 'u' && lo >= 0xDC00 && lo <= 0xDFFF {
			return 12, nil
		}
		return 0, fmt.Errorf("\\u%04X at offset %d is half a UTF-16 surrogate pair", r, i)
	case r >= 0xDC00 && r <= 0xDFFF:
		return 0, fmt.Errorf("\\u%04X at offset %d is half a UTF-16 surrogate pair", r, i)
	}
	return 6, nil
}

func hex4(raw []byte, at int) (rune, bool) {
	if at+4 > len(raw) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(raw[at:at+4]), 16, 32)
	return rune(v), err == nil
}

// controlInID names an id field of the envelope holding a control
// character; nil when none does.
func controlInID(ev *rawEvent) error {
	ids := [...]struct {
		name, value string
	}{
		{"userId", ev.env.UserID.Str}, {"anonymousId", ev.env.AnonymousID.Str},
		{"previousId", ev.env.PreviousID.Str}, {"groupId", ev.env.GroupID.Str},
		{"messageId", ev.env.MessageID.Str},
	}
	for _, id := range ids {
		for _, r := range id.value {
			if r < 0x20 || r == 0x7f {
				return fmt.Errorf("%s: holds the control character %U", id.name, r)
			}
		}
	}
	return nil
}
