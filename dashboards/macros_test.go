package dashboards

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestExpand(t *testing.T) {
	from := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC) // 1709251200
	to := time.Date(2024, 3, 31, 12, 0, 0, 0, time.UTC) // 1711886400
	r := TimeRange{From: from, To: to, Interval: time.Hour}
	cases := []struct {
		name    string
		sql     string
		r       TimeRange
		want    string
		wantErr error  // errors.Is target, if any
		errHas  string // substring of the error, if any
	}{
		{name: "time filter compares the column with both ends in unix seconds",
			sql:  "SELECT 1 WHERE $__timeFilter(timestamp)",
			want: "SELECT 1 WHERE timestamp >= toDateTime(1709251200) AND timestamp <= toDateTime(1711886400)"},
		{name: "time filter argument is trimmed",
			sql:  "$__timeFilter( started_at )",
			want: "started_at >= toDateTime(1709251200) AND started_at <= toDateTime(1711886400)"},
		{name: "from and to time",
			sql:  "BETWEEN $__fromTime AND $__toTime",
			want: "BETWEEN toDateTime(1709251200) AND toDateTime(1711886400)"},
		{name: "from time with empty parentheses",
			sql:  "$__fromTime()",
			want: "toDateTime(1709251200)"},
		{name: "macro name ends at the first non-identifier character",
			sql:  "x=$__fromTime,y",
			want: "x=toDateTime(1709251200),y"},
		{name: "interval in seconds",
			sql:  "intDiv(toUInt32(t), $__interval_s) * $__interval_s",
			want: "intDiv(toUInt32(t), 3600) * 3600"},
		{name: "interval below a second rounds up to one",
			sql:  "$__interval_s",
			r:    TimeRange{From: from, To: from.Add(time.Minute), Interval: 20 * time.Millisecond},
			want: "1"},
		{name: "fractional interval is truncated",
			sql:  "$__interval_s",
			r:    TimeRange{From: from, To: to, Interval: 2500 * time.Millisecond},
			want: "2"},
		{name: "zero interval derives from the range and max data points",
			sql:  "$__interval_s",
			r:    TimeRange{From: from, To: from.Add(1000 * time.Minute)},
			want: "60"},
		{name: "date filter uses UTC dates",
			sql:  "$__dateFilter(d)",
			r:    TimeRange{From: time.Date(2024, 3, 1, 23, 30, 0, 0, time.FixedZone("X", -2*3600)), To: to},
			want: "d >= toDate('2024-03-02') AND d <= toDate('2024-03-31')"},
		{name: "date time filter and its short name",
			sql: "$__dateTimeFilter(d, t) OR $__dt(d,t)",
			want: "(d >= toDate('2024-03-01') AND d <= toDate('2024-03-31')) AND (t >= toDateTime(1709251200) AND t <= toDateTime(1711886400))" +
				" OR (d >= toDate('2024-03-01') AND d <= toDate('2024-03-31')) AND (t >= toDateTime(1709251200) AND t <= toDateTime(1711886400))"},
		{name: "nested parentheses stay in the argument",
			sql:  "$__timeFilter(toDateTime(ts))",
			want: "toDateTime(ts) >= toDateTime(1709251200) AND toDateTime(ts) <= toDateTime(1711886400)"},
		{name: "SQL without macros is unchanged",
			sql:  "SELECT count() FROM journeys FINAL",
			want: "SELECT count() FROM journeys FINAL"},
		{name: "unknown macro is an error naming it",
			sql: "$__timeGroup(t, 1h)", wantErr: ErrUnknownMacro, errHas: "$__timeGroup"},
		{name: "time interval needs toStartOfInterval that 18.16 lacks",
			sql: "$__timeInterval(t)", wantErr: ErrUnsupportedMacro, errHas: "$__timeInterval"},
		{name: "millisecond filter needs DateTime64 that 18.16 lacks",
			sql: "$__timeFilter_ms(t)", wantErr: ErrUnsupportedMacro, errHas: "$__timeFilter_ms"},
		{name: "time filter without its column",
			sql: "$__timeFilter", errHas: "expected 1 argument"},
		{name: "time filter with two columns",
			sql: "$__timeFilter(a, b)", errHas: "expected 1 argument(s), received 2"},
		{name: "unclosed parenthesis",
			sql: "$__timeFilter(a", errHas: "unclosed parenthesis"},
		{name: "a template variable left in the SQL is an error",
			sql: "channel IN (${channel:singlequote})", wantErr: ErrTemplateVariable, errHas: "${channel:singlequote}"},
		{name: "range ending before it starts",
			sql: "$__fromTime", r: TimeRange{From: to, To: from}, errHas: "before"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rr := c.r
			if rr.From.IsZero() && rr.To.IsZero() {
				rr = r
			}
			got, err := Expand(c.sql, rr)
			if c.wantErr != nil || c.errHas != "" {
				if err == nil {
					t.Fatalf("Expand(%q) = %q, want an error", c.sql, got)
				}
				if c.wantErr != nil && !errors.Is(err, c.wantErr) {
					t.Errorf("error %v, want %v", err, c.wantErr)
				}
				if !strings.Contains(err.Error(), c.errHas) {
					t.Errorf("error %q does not mention %q", err, c.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("Expand(%q): %v", c.sql, err)
			}
			if got != c.want {
				t.Errorf("Expand(%q)\n got %q\nwant %q", c.sql, got, c.want)
			}
		})
	}
}

func TestInterpolate(t *testing.T) {
	channel := Variable{Name: "channel", Type: "custom", Multi: true, IncludeAll: true,
		Options: []string{AllSelected, "web", "phone"}}
	withAll := func(v Variable, allValue string, current ...string) Variable {
		v.AllValue, v.Current = allValue, current
		return v
	}
	cases := []struct {
		name   string
		sql    string
		v      Variable
		want   string
		errHas string
	}{
		{name: "All with a custom all value inserts it verbatim, unformatted",
			sql: "'__all' IN (${channel:singlequote})", v: withAll(channel, "'__all'", AllSelected),
			want: "'__all' IN ('__all')"},
		{name: "All without a custom all value stands for every option",
			sql: "channel IN (${channel:singlequote})", v: withAll(channel, "", AllSelected),
			want: "channel IN ('web','phone')"},
		{name: "chosen values are single-quoted",
			sql: "channel IN (${channel:singlequote})", v: withAll(channel, "'__all'", "web", "it's"),
			want: `channel IN ('web','it\'s')`},
		{name: "plain reference joins with commas",
			sql: "$channel and [[channel]] and ${channel}", v: withAll(channel, "", "web", "phone"),
			want: "web,phone and web,phone and web,phone"},
		{name: "plugin macros are left for Expand",
			sql: "$__timeFilter(t) $__interval_s", v: withAll(channel, "", "web"),
			want: "$__timeFilter(t) $__interval_s"},
		{name: "undefined variable is an error",
			sql: "$region", v: channel, errHas: `"region" is not defined`},
		{name: "unsupported format is an error",
			sql: "${channel:regex}", v: withAll(channel, "", "web"), errHas: `format "regex"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Interpolate(c.sql, []Variable{c.v})
			checkRewrite(t, "Interpolate", c.sql, got, err, c.want, c.errHas)
		})
	}
}

// checkRewrite checks what a function rewriting SQL (named fn) made of sql:
// an error containing errHas when that is set, else want.
func checkRewrite(t *testing.T, fn, sql, got string, err error, want, errHas string) {
	t.Helper()
	if errHas != "" {
		if err == nil || !strings.Contains(err.Error(), errHas) {
			t.Fatalf("%s(%q) = %q, %v; want error with %q", fn, sql, got, err, errHas)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("%s(%q)\n got %q\nwant %q", fn, sql, got, want)
	}
}

func TestConditionalAll(t *testing.T) {
	channel := Variable{Name: "channel", Type: "custom", Multi: true, IncludeAll: true, AllValue: "'__all'",
		Options: []string{AllSelected, "web", "phone"}}
	selecting := func(current ...string) []Variable {
		v := channel
		v.Current = current
		return []Variable{v}
	}
	const filter = "hasAny(channels, [${channel:singlequote}])"
	cases := []struct {
		name   string
		sql    string
		vars   []Variable
		want   string
		errHas string
	}{
		{name: "All makes the filter 1=1",
			sql: "WHERE x AND $__conditionalAll(" + filter + ", $channel)", vars: selecting(AllSelected),
			want: "WHERE x AND 1=1"},
		{name: "nothing selected counts as All",
			sql: "$__conditionalAll(" + filter + ", $channel)", vars: selecting(),
			want: "1=1"},
		{name: "a selection keeps the condition, for Interpolate to fill in",
			sql: "WHERE $__conditionalAll(" + filter + ", ${channel}) AND y", vars: selecting("web", "phone"),
			want: "WHERE " + filter + " AND y"},
		{name: "every use is expanded",
			sql: "$__conditionalAll(a, $channel) OR $__conditionalAll(b(1, 2), $channel)", vars: selecting("web"),
			want: "a OR b(1, 2)"},
		{name: "an undefined variable is an error",
			sql: "$__conditionalAll(a, $region)", vars: selecting("web"), errHas: `"region" is not defined`},
		{name: "a second argument that is no variable is an error",
			sql: "$__conditionalAll(a, channel)", vars: selecting("web"), errHas: "not a template variable"},
		{name: "one argument is an error",
			sql: "$__conditionalAll(a)", vars: selecting("web"), errHas: "expected 2 arguments"},
		{name: "an unclosed call is an error",
			sql: "$__conditionalAll(a, $channel", vars: selecting("web"), errHas: "unclosed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ConditionalAll(c.sql, c.vars)
			checkRewrite(t, "ConditionalAll", c.sql, got, err, c.want, c.errHas)
		})
	}
}
