package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// count runs a query returning one UInt64.
func count(ctx context.Context, c driver.Conn, q string) (uint64, error) {
	var n uint64
	if err := c.QueryRow(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: %w", q, err)
	}
	return n, nil
}

// waitCount polls q every 50 ms until it returns at least want, and
// returns when it first did.
func waitCount(ctx context.Context, c driver.Conn, q string, want uint64, timeout time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last uint64
	for {
		n, err := count(ctx, c, q)
		if err == nil && n >= want {
			return time.Now(), nil
		}
		if err == nil {
			last = n
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("waited %s for %d rows of %q, have %d (last error: %v)", timeout, want, q, last, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// insertedRows is the server's count of rows inserted since it started.
func insertedRows(ctx context.Context, c driver.Conn) (uint64, error) {
	return count(ctx, c, "SELECT sum(value) FROM system.events WHERE event = 'InsertedRows'")
}

// visibility polls ClickHouse for marked events until each one's
// touchpoint row is visible, and records the time from its
// acknowledgement to then. A row found by a poll counts as visible at the
// poll's start, so the figures are at most the poll interval plus one
// query late.
type visibility struct {
	conn      driver.Conn
	marks     chan mark
	latencies []time.Duration
	done      chan error
}

// pollInterval is the time between two polls for marked events.
const pollInterval = 100 * time.Millisecond

func watchVisibility(ctx context.Context, c driver.Conn) *visibility {
	v := &visibility{conn: c, marks: make(chan mark, 1<<16), done: make(chan error, 1)}
	go func() { v.done <- v.run(ctx) }()
	return v
}

// wait closes the marks and returns once every mark is visible.
func (v *visibility) wait() ([]time.Duration, error) {
	close(v.marks)
	err := <-v.done
	return v.latencies, err
}

func (v *visibility) run(ctx context.Context) error {
	pending := map[string]time.Time{}
	open := true
	for open || len(pending) > 0 {
		deadline := time.After(pollInterval)
	collect:
		for open {
			select {
			case m, ok := <-v.marks:
				if !ok {
					open = false
					break collect
				}
				pending[m.id] = m.acked
			case <-deadline:
				break collect
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if !open {
			select {
			case <-deadline:
			case <-ctx.Done():
				return fmt.Errorf("%d marked events not visible: %w", len(pending), ctx.Err())
			}
		}
		if len(pending) == 0 {
			continue
		}
		ids := make([]string, 0, len(pending))
		for id := range pending {
			ids = append(ids, quote(id))
		}
		at := time.Now()
		// 18.16 takes no array parameter on the right of IN: literals.
		rows, err := v.conn.Query(ctx, "SELECT DISTINCT message_id FROM touchpoints WHERE message_id IN ("+strings.Join(ids, ",")+")")
		if err != nil {
			return fmt.Errorf("poll for marked events: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("poll for marked events: %w", err)
			}
			if acked, ok := pending[id]; ok {
				v.latencies = append(v.latencies, max(0, at.Sub(acked)))
				delete(pending, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("poll for marked events: %w", err)
		}
	}
	return nil
}

// quote is s as a ClickHouse string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
