package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ResolveRange is the range of the flags --from and --to (either may be
// empty): what is not given comes from the span of the stored touchpoints,
// else (nothing stored) from the 30 days up to now.
func ResolveRange(ctx context.Context, conn driver.Conn, from, to string, now time.Time) (Range, error) {
	var r Range
	var err error
	if from != "" {
		if r.From, err = ParseTime(from, false); err != nil {
			return r, fmt.Errorf("--from: %w", err)
		}
	}
	if to != "" {
		if r.To, err = ParseTime(to, true); err != nil {
			return r, fmt.Errorf("--to: %w", err)
		}
	}
	if r.From.IsZero() || r.To.IsZero() {
		span, ok, err := DataSpan(ctx, conn)
		if err != nil {
			return r, err
		}
		if !ok {
			span = Range{To: now.UTC()}
			if !r.To.IsZero() {
				span.To = r.To
			}
			span.From = span.To.Truncate(Day).AddDate(0, 0, -30)
		}
		if r.From.IsZero() {
			r.From = span.From
		}
		if r.To.IsZero() {
			r.To = span.To
		}
	}
	if r.To.Before(r.From) {
		return r, fmt.Errorf("--to %s is before --from %s", r.To.Format(time.RFC3339), r.From.Format(time.RFC3339))
	}
	return r, nil
}

// DataSpan is the range from the first to the last stored touchpoint, the
// first widened to the start of its UTC day; ok is false when none is
// stored.
func DataSpan(ctx context.Context, conn driver.Conn) (r Range, ok bool, err error) {
	var n uint64
	var from, to time.Time
	if err := conn.QueryRow(ctx, `SELECT count(), min(timestamp), max(timestamp) FROM touchpoints FINAL`).Scan(&n, &from, &to); err != nil {
		return Range{}, false, fmt.Errorf("span of touchpoints: %w", err)
	}
	if n == 0 {
		return Range{}, false, nil
	}
	return Range{From: from.UTC().Truncate(Day), To: to.UTC()}, true, nil
}

// ParseTime reads a --from or --to value: a day (2006-01-02, UTC) or an
// RFC 3339 time. A day given as the end of a range means its end: pass
// endOfDay.
func ParseTime(s string, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a day (2006-01-02) nor an RFC 3339 time", s)
	}
	if endOfDay {
		t = t.Add(Day - time.Second)
	}
	return t, nil
}
