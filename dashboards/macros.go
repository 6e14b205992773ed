package dashboards

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// TimeRange is what Grafana hands the plugin with each query: the
// dashboard's time range and the panel's interval.
type TimeRange struct {
	From, To time.Time
	// Interval is Grafana's $__interval for the panel. Zero means
	// (To-From)/DefaultMaxDataPoints.
	Interval time.Duration
}

// DefaultMaxDataPoints stands in for a panel's width when TimeRange.Interval
// is zero.
const DefaultMaxDataPoints = 1000

// ErrUnknownMacro is wrapped by Expand's error for a $__ macro the plugin
// does not have.
var ErrUnknownMacro = errors.New("unknown macro")

// ErrUnsupportedMacro is wrapped by Expand's error for a plugin macro whose
// expansion ClickHouse 18.16 cannot run (toStartOfInterval, DateTime64).
var ErrUnsupportedMacro = errors.New("macro not supported on ClickHouse 18.16")

// ErrTemplateVariable is wrapped by Expand's error when the SQL still holds
// a dashboard template variable; Query.Expand or Interpolate fill them in.
var ErrTemplateVariable = errors.New("template variable not interpolated")

// Expand expands the macros of the grafana-clickhouse-datasource plugin the
// way its backend does (pkg/macros in grafana/clickhouse-datasource):
//
//	$__timeFilter(col)        col >= toDateTime(<from>) AND col <= toDateTime(<to>)
//	$__fromTime, $__toTime    toDateTime(<unix seconds>)
//	$__dateFilter(col)        col >= toDate('<from date>') AND col <= toDate('<to date>')
//	$__dateTimeFilter(d, t)   (date filter on d) AND (time filter on t); $__dt is the same
//	$__interval_s             the interval in whole seconds, at least 1
//
// An unknown $__ macro is an error naming it, and so are the plugin's
// _ms macros and $__timeInterval, which need DateTime64 or
// toStartOfInterval that ClickHouse 18.16 lacks.
func Expand(sql string, r TimeRange) (string, error) {
	if r.To.Before(r.From) {
		return "", fmt.Errorf("time range: to %s is before from %s", r.To.Format(time.RFC3339), r.From.Format(time.RFC3339))
	}
	var b strings.Builder
	rest := sql
	for {
		i := strings.Index(rest, "$__")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		rest = rest[i+3:]
		n := 0
		for n < len(rest) && isIdent(rest[n]) {
			n++
		}
		name := rest[:n]
		rest = rest[n:]
		var args []string
		hasArgs := false
		if strings.HasPrefix(rest, "(") {
			inner, after, err := parenthesized(rest)
			if err != nil {
				return "", fmt.Errorf("macro $__%s: %w", name, err)
			}
			args, hasArgs, rest = splitArgs(inner), true, after
		}
		out, err := expandMacro(name, args, hasArgs, r)
		if err != nil {
			return "", fmt.Errorf("macro $__%s: %w", name, err)
		}
		b.WriteString(out)
	}
	out := b.String()
	if m := templateVarRE.FindString(out); m != "" {
		return "", fmt.Errorf("%w: %s", ErrTemplateVariable, m)
	}
	return out, nil
}

// templateVarRE finds Grafana template variable references ($name,
// ${name…}, [[name]]) left in SQL after macros are expanded.
var templateVarRE = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[A-Za-z_][A-Za-z0-9_]*(:[^\]]*)?\]\]`)

func expandMacro(name string, args []string, hasArgs bool, r TimeRange) (string, error) {
	wantArgs := func(n int) error {
		if len(args) != n {
			return fmt.Errorf("expected %d argument(s), received %d", n, len(args))
		}
		return nil
	}
	from, to := r.From.UTC(), r.To.UTC()
	switch name {
	case "fromTime", "toTime", "interval_s":
		if hasArgs && len(args) != 0 {
			return "", wantArgs(0)
		}
		switch name {
		case "fromTime":
			return dateTime(from), nil
		case "toTime":
			return dateTime(to), nil
		default:
			return fmt.Sprintf("%d", IntervalSeconds(r)), nil
		}
	case "timeFilter":
		if err := wantArgs(1); err != nil {
			return "", err
		}
		c := args[0]
		return fmt.Sprintf("%s >= %s AND %s <= %s", c, dateTime(from), c, dateTime(to)), nil
	case "dateFilter":
		if err := wantArgs(1); err != nil {
			return "", err
		}
		c := args[0]
		return fmt.Sprintf("%s >= %s AND %s <= %s", c, date(from), c, date(to)), nil
	case "dateTimeFilter", "dt":
		if err := wantArgs(2); err != nil {
			return "", err
		}
		d, t := args[0], args[1]
		return fmt.Sprintf("(%s >= %s AND %s <= %s) AND (%s >= %s AND %s <= %s)",
			d, date(from), d, date(to), t, dateTime(from), t, dateTime(to)), nil
	case "fromTime_ms", "toTime_ms", "timeFilter_ms":
		return "", fmt.Errorf("%w: it expands to fromUnixTimestamp64Milli (DateTime64)", ErrUnsupportedMacro)
	case "timeInterval", "timeInterval_ms":
		return "", fmt.Errorf("%w: it expands to toStartOfInterval; bucket with intDiv(toUInt32(col), $__interval_s) * $__interval_s", ErrUnsupportedMacro)
	}
	return "", ErrUnknownMacro
}

// IntervalSeconds is what $__interval_s expands to for r: the interval in
// whole seconds, truncated, at least 1, as the plugin computes it.
func IntervalSeconds(r TimeRange) int64 {
	iv := r.Interval
	if iv == 0 {
		iv = r.To.Sub(r.From) / DefaultMaxDataPoints
	}
	return int64(math.Max(iv.Seconds(), 1))
}

func dateTime(t time.Time) string { return fmt.Sprintf("toDateTime(%d)", t.Unix()) }

func date(t time.Time) string { return fmt.Sprintf("toDate('%s')", t.Format("2006-01-02")) }

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// parenthesized returns the text inside the parentheses s starts with and
// what follows the closing one, honouring nesting and quoted strings.
func parenthesized(s string) (inner, after string, err error) {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return s[1:i], s[i+1:], nil
			}
		}
	}
	return "", "", errors.New("unclosed parenthesis")
}

// splitArgs splits macro arguments on top-level commas and trims them.
func splitArgs(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var args []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == ',' && depth == 0:
			args = append(args, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(args, strings.TrimSpace(s[start:]))
}
