package rules

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// props reads top-level properties from a touchpoint's JSON text without
// decoding the whole object: most touchpoints are page views that a rule
// asks one property of, and a full decode would cost more than the rest of
// the engine together.
type props struct {
	json string
}

// get returns the raw JSON value of a top-level key, or "" when the key is
// missing, null, or the text is not a JSON object. The first occurrence of a
// repeated key wins.
func (p *props) get(key string) string {
	s := p.json
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return ""
	}
	i++
	for {
		i = skipSpace(s, i)
		if i >= len(s) || s[i] != '"' {
			return ""
		}
		end, escaped := scanString(s, i)
		if end < 0 {
			return ""
		}
		var match bool
		if escaped {
			k, ok := text(s[i:end])
			match = ok && k == key
		} else {
			match = s[i+1:end-1] == key
		}
		i = skipSpace(s, end)
		if i >= len(s) || s[i] != ':' {
			return ""
		}
		i = skipSpace(s, i+1)
		vend := skipValue(s, i)
		if vend < 0 {
			return ""
		}
		if match {
			if v := s[i:vend]; v != "null" {
				return v
			}
			return ""
		}
		i = skipSpace(s, vend)
		if i >= len(s) || s[i] != ',' {
			return ""
		}
		i++
	}
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index after the string starting at s[i] == '"'
// and whether it holds escapes; -1 if it does not end.
func scanString(s string, i int) (int, bool) {
	escaped := false
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return -1, false
}

// skipValue returns the index after the JSON value at s[i], or -1.
func skipValue(s string, i int) int {
	if i >= len(s) {
		return -1
	}
	switch s[i] {
	case '"':
		end, _ := scanString(s, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				end, _ := scanString(s, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ']' && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' && s[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// text is a scalar's value as text: a string unquoted, a number or boolean
// as written. Objects and arrays have none.
func text(raw string) (string, bool) {
	if raw == "" {
		return "", false
	}
	switch raw[0] {
	case '"':
		if !strings.ContainsRune(raw, '\\') {
			return raw[1 : len(raw)-1], true
		}
		var s string
		if json.Unmarshal([]byte(raw), &s) != nil {
			return "", false
		}
		return s, true
	case '{', '[':
		return "", false
	}
	return raw, true
}

// number is a JSON number, or a string holding one, as a finite float.
func number(raw string) (float64, bool) {
	t, ok := text(raw)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// timeValue is an RFC 3339 string, or a number of Unix seconds (or
// milliseconds, when it is too large to be seconds).
func timeValue(raw string) (time.Time, bool) {
	if raw == "" {
		return time.Time{}, false
	}
	if raw[0] == '"' {
		t, ok := text(raw)
		if !ok {
			return time.Time{}, false
		}
		at, err := time.Parse(time.RFC3339Nano, t)
		return at, err == nil
	}
	n, ok := number(raw)
	if !ok || n < 0 {
		return time.Time{}, false
	}
	if n >= 1e12 {
		return time.UnixMilli(int64(n)).UTC(), true
	}
	sec, frac := math.Modf(n)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}
