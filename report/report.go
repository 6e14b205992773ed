// Package report reads the friction summary a CX team asks for first back
// from ClickHouse (journeys by status, friction flags by rule, the
// distribution of calls before purchase) and renders it for a terminal;
// and, for people without Grafana, renders the CX overview and friction
// dashboards over a time range as one self-contained HTML page (Overview),
// with the dashboards' own SQL and hand-drawn SVG charts.
package report

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Summary is the friction report.
type Summary struct {
	Touchpoints      uint64
	Customers        uint64
	JourneysByStatus map[string]uint64
	FlagsByRule      []RuleCount
	// CallsBeforePurchase[i] counts converted journeys with i calls before
	// their purchase; the last bucket is 5 or more.
	CallsBeforePurchase [6]uint64
}

// RuleCount is the number of flags of one rule and severity.
type RuleCount struct {
	Rule     string
	Severity string
	Flags    uint64
}

// Queries of the summary. Exact numbers need FINAL: replays may have
// written a row more than once.
const (
	qTouchpoints = `SELECT count(), uniqExact(customer_id) FROM touchpoints FINAL`
	qJourneys    = `SELECT status, count() FROM journeys FINAL WHERE retracted = 0 GROUP BY status`
	qFlags       = `SELECT rule, severity, count() FROM friction_flags FINAL WHERE retracted = 0 GROUP BY rule, severity ORDER BY rule, severity`
	qCalls       = `SELECT toUInt8(least(arrayCount(e -> e = 'call', path), 5)) AS calls, count()
FROM journeys FINAL WHERE status = 'converted' AND retracted = 0 GROUP BY calls`
)

// Load reads the summary.
func Load(ctx context.Context, conn driver.Conn) (*Summary, error) {
	s := &Summary{JourneysByStatus: map[string]uint64{}}
	if err := conn.QueryRow(ctx, qTouchpoints).Scan(&s.Touchpoints, &s.Customers); err != nil {
		return nil, fmt.Errorf("count touchpoints: %w", err)
	}
	if err := each(ctx, conn, qJourneys, func(scan func(...any) error) error {
		var status string
		var n uint64
		if err := scan(&status, &n); err != nil {
			return err
		}
		s.JourneysByStatus[status] = n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("journeys by status: %w", err)
	}
	if err := each(ctx, conn, qFlags, func(scan func(...any) error) error {
		var rc RuleCount
		if err := scan(&rc.Rule, &rc.Severity, &rc.Flags); err != nil {
			return err
		}
		s.FlagsByRule = append(s.FlagsByRule, rc)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("flags by rule: %w", err)
	}
	if err := each(ctx, conn, qCalls, func(scan func(...any) error) error {
		var calls uint8
		var n uint64
		if err := scan(&calls, &n); err != nil {
			return err
		}
		s.CallsBeforePurchase[calls] = n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("calls before purchase: %w", err)
	}
	return s, nil
}

func each(ctx context.Context, conn driver.Conn, q string, fn func(scan func(...any) error) error) error {
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// WaitForTouchpoints polls until at least n touchpoints are stored or ctx
// ends; it returns the last count seen.
func WaitForTouchpoints(ctx context.Context, conn driver.Conn, n uint64) (uint64, error) {
	var got uint64
	for {
		err := conn.QueryRow(ctx, `SELECT count() FROM touchpoints FINAL`).Scan(&got)
		if err == nil && got >= n {
			return got, nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return got, fmt.Errorf("count touchpoints: %w", err)
			}
			return got, fmt.Errorf("%d of %d touchpoints stored: %w", got, n, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// WriteText renders the summary as aligned plain text.
func (s *Summary) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Touchpoints\t%d\t(%d customers)\n\n", s.Touchpoints, s.Customers)
	fmt.Fprintln(tw, "Journeys by status")
	var total uint64
	for _, st := range []string{"open", "converted", "abandoned"} {
		fmt.Fprintf(tw, "  %s\t%d\n", st, s.JourneysByStatus[st])
		total += s.JourneysByStatus[st]
	}
	if total > 0 {
		fmt.Fprintf(tw, "  converted / all\t%.1f%%\n", 100*float64(s.JourneysByStatus["converted"])/float64(total))
	}
	fmt.Fprintln(tw, "\nFriction flags by rule")
	if len(s.FlagsByRule) == 0 {
		fmt.Fprintln(tw, "  (none)")
	}
	for _, rc := range s.FlagsByRule {
		fmt.Fprintf(tw, "  %s\t%s\t%d\n", rc.Rule, rc.Severity, rc.Flags)
	}
	fmt.Fprintln(tw, "\nCalls before purchase (converted journeys)")
	for i, n := range s.CallsBeforePurchase {
		label := fmt.Sprint(i)
		if i == 5 {
			label = "5+"
		}
		fmt.Fprintf(tw, "  %s\t%d\n", label, n)
	}
	return tw.Flush()
}
