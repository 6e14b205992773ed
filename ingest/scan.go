package ingest

import (
	"encoding/json"
	"errors"
)

// A scanner checks JSON syntax in one pass and hands out the raw spans of
// values, so that a request body is read once: the batch's items and each
// call's top-level fields are found without decoding what ingest passes on
// as sent. It accepts exactly what encoding/json accepts (invalid UTF-8
// inside strings included); where it finds fault, callers fall back to
// encoding/json, so that the sender reads the same error message as ever.

// errScan says the input is not JSON the fast path reads; the caller
// falls back to encoding/json, which says why.
var errScan = errors.New("not valid JSON")

// maxScanDepth bounds nesting, as encoding/json does (it allows 10,000).
const maxScanDepth = 10000

type scanner struct {
	b []byte
	i int
	// spaced says insignificant whitespace was skipped inside the value
	// scanned last.
	spaced bool
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *scanner) skipSpace() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

// skipInnerSpace skips whitespace inside a value and remembers that it did.
func (s *scanner) skipInnerSpace() {
	if s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.spaced = true
		s.skipSpace()
	}
}

// peek is the next byte, 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str scans a string starting at its opening quote and returns its
// inside. plain says the inside needs no unescaping: no backslash, no
// byte outside ASCII.
func (s *scanner) str() (inner []byte, plain bool, err error) {
	start := s.i + 1
	plain = true
	for i := start; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '"':
			s.i = i + 1
			return s.b[start:i], plain, nil
		case c == '\\':
			plain = false
			i++
			if i >= len(s.b) {
				return nil, false, errScan
			}
			switch s.b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s.b) {
					return nil, false, errScan
				}
				for _, h := range s.b[i+1 : i+5] {
					if !isHex(h) {
						return nil, false, errScan
					}
				}
				i += 4
			default:
				return nil, false, errScan
			}
		case c < 0x20:
			return nil, false, errScan
		case c >= 0x80:
			plain = false
		}
	}
	return nil, false, errScan
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// value scans one value starting at a non-space byte and returns its span.
func (s *scanner) value(depth int) ([]byte, error) {
	start := s.i
	if err := s.skipValue(depth); err != nil {
		return nil, err
	}
	return s.b[start:s.i], nil
}

func (s *scanner) skipValue(depth int) error {
	switch c := s.peek(); {
	case c == '"':
		_, _, err := s.str()
		return err
	case c == '{':
		return s.skipObject(depth + 1)
	case c == '[':
		return s.skipArray(depth + 1)
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	}
	return errScan
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return errScan
	}
	s.i += len(lit)
	return nil
}

// number scans a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return errScan
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			return errScan
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			return errScan
		}
	}
	s.i = i
	return nil
}

func (s *scanner) skipObject(depth int) error {
	if depth > maxScanDepth {
		return errScan
	}
	return s.members(depth, func([]byte, bool) error { return s.skipValue(depth) })
}

// members walks an object starting at its opening brace, calling member
// with each key, quotes included (plain as str reports), while the scanner
// stands at the member's value; member must scan that value.
func (s *scanner) members(depth int, member func(key []byte, plain bool) error) error {
	s.i++ // {
	s.skipInnerSpace()
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		if s.peek() != '"' {
			return errScan
		}
		start := s.i
		_, plain, err := s.str()
		if err != nil {
			return err
		}
		key := s.b[start:s.i]
		s.skipInnerSpace()
		if s.peek() != ':' {
			return errScan
		}
		s.i++
		s.skipInnerSpace()
		if err := member(key, plain); err != nil {
			return err
		}
		s.skipInnerSpace()
		switch s.peek() {
		case ',':
			s.i++
			s.skipInnerSpace()
		case '}':
			s.i++
			return nil
		default:
			return errScan
		}
	}
}

func (s *scanner) skipArray(depth int) error {
	if depth > maxScanDepth {
		return errScan
	}
	return s.elements(func() error { return s.skipValue(depth) })
}

// elements walks an array starting at its opening bracket, calling
// element while the scanner stands at each element, which it must scan.
func (s *scanner) elements(element func() error) error {
	s.i++ // [
	s.skipInnerSpace()
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := element(); err != nil {
			return err
		}
		s.skipInnerSpace()
		switch s.peek() {
		case ',':
			s.i++
			s.skipInnerSpace()
		case ']':
			s.i++
			return nil
		default:
			return errScan
		}
	}
}

// generic scans one value into the generic values the JSON Schema
// validator takes (map[string]any, []any, string, json.Number, bool, nil),
// as encoding/json with UseNumber decodes them.
func (s *scanner) generic(depth int) (any, error) {
	switch c := s.peek(); c {
	case '"':
		start := s.i
		_, _, err := s.str()
		return stringValue(s.b[start:s.i]), err
	case '{':
		if depth > maxScanDepth {
			return nil, errScan
		}
		obj := map[string]any{}
		err := s.members(depth+1, func(key []byte, _ bool) error {
			v, err := s.generic(depth + 1)
			obj[stringValue(key)] = v
			return err
		})
		return obj, err
	case '[':
		if depth > maxScanDepth {
			return nil, errScan
		}
		arr := []any{}
		err := s.elements(func() error {
			v, err := s.generic(depth + 1)
			arr = append(arr, v)
			return err
		})
		return arr, err
	case 't', 'f', 'n':
		start := s.i
		err := s.skipValue(depth)
		switch s.b[start] {
		case 't':
			return true, err
		case 'f':
			return false, err
		}
		return nil, err
	}
	raw, err := s.value(depth)
	return json.Number(raw), err
}
