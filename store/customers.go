package store

import (
	"context"
	"fmt"
	"time"

	"github.com/journeys/journeys/schemas"
)

const insertCustomers = `INSERT INTO customers (customer_id, first_seen, last_seen, touchpoints, purchases, revenue, surveys, positive_surveys, last_nps, last_survey_positive, reviews, referrals, ideas, community_answers, tier, tier_since, retracted, version)`

// InsertCustomers writes customer profile rows in one batch.
func (s *Store) InsertCustomers(ctx context.Context, rows []schemas.Customer) error {
	if len(rows) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, insertCustomers)
	if err != nil {
		return fmt.Errorf("prepare insert of %d customers: %w", len(rows), err)
	}
	defer b.Abort()
	for i := range rows {
		r := &rows[i]
		if err := b.Append(r.CustomerID, r.FirstSeen, r.LastSeen, r.Touchpoints, r.Purchases, r.Revenue, r.Surveys,
			r.PositiveSurveys, r.LastNPS, boolUInt8(r.LastSurveyPositive), r.Reviews, r.Referrals, r.Ideas,
			r.CommunityAnswers, r.Tier, r.TierSince, boolUInt8(r.Retracted), r.Version); err != nil {
			return fmt.Errorf("append customer %s: %w", r.CustomerID, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d customers: %w", len(rows), err)
	}
	return nil
}

// ProfileSummary is what a profile needs of all of a customer's
// touchpoints, computed in ClickHouse.
type ProfileSummary struct {
	First, Last time.Time
	Touchpoints uint32
	Version     uint64
}

// ProfileInputs returns, per customer, the summary of every touchpoint
// stored under them (latest version of each message, late ones included)
// and those touchpoints whose event is one of events, with only what a
// profile reads: message id, event, event time, properties, version. A
// touchpoint forwarded to a user counts under the user. Only the few
// touchpoints of events travel: the rest are counted where they are.
func (s *Store) ProfileInputs(ctx context.Context, customerIDs []string, events []string) (map[string]ProfileSummary, map[string][]schemas.Touchpoint, error) {
	sums := make(map[string]ProfileSummary)
	out := make(map[string][]schemas.Touchpoint)
	if len(customerIDs) == 0 {
		return sums, out, nil
	}
	want := stringSet(customerIDs)
	// FINAL on the keys first, the customer filter after it: a message
	// forwarded to a user keeps a row under the old customer in
	// touchpoints_by_customer.
	rows, err := s.conn.Query(ctx, `SELECT customer_id, min(timestamp_ms), max(timestamp_ms), count(), max(version)
FROM (SELECT customer_id, timestamp_ms, version FROM touchpoints FINAL
      WHERE message_id IN (SELECT message_id FROM touchpoints_by_customer WHERE customer_id IN ?))
WHERE customer_id IN ?
GROUP BY customer_id`, set(customerIDs), set(customerIDs))
	if err != nil {
		return nil, nil, fmt.Errorf("summarize touchpoints of %d customers: %w", len(customerIDs), err)
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		var first, last int64
		var n uint64
		var sum ProfileSummary
		if err := rows.Scan(&c, &first, &last, &n, &sum.Version); err != nil {
			return nil, nil, fmt.Errorf("scan touchpoint summary: %w", err)
		}
		sum.First, sum.Last, sum.Touchpoints = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC(), uint32(n)
		sums[c] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("summarize touchpoints of %d customers: %w", len(customerIDs), err)
	}
	evRows, err := s.conn.Query(ctx, `SELECT message_id, customer_id, event, timestamp_ms, properties, version
FROM touchpoints FINAL
WHERE message_id IN (SELECT message_id FROM touchpoints_by_customer WHERE customer_id IN ?)
  AND event IN ?`, set(customerIDs), set(events))
	if err != nil {
		return nil, nil, fmt.Errorf("load profile touchpoints of %d customers: %w", len(customerIDs), err)
	}
	defer evRows.Close()
	for evRows.Next() {
		var tp schemas.Touchpoint
		var ms int64
		if err := evRows.Scan(&tp.MessageID, &tp.CustomerID, &tp.Event, &ms, &tp.Properties, &tp.Version); err != nil {
			return nil, nil, fmt.Errorf("scan profile touchpoint: %w", err)
		}
		if want[tp.CustomerID] {
			tp.Timestamp = time.UnixMilli(ms).UTC()
			out[tp.CustomerID] = append(out[tp.CustomerID], tp)
		}
	}
	if err := evRows.Err(); err != nil {
		return nil, nil, fmt.Errorf("load profile touchpoints of %d customers: %w", len(customerIDs), err)
	}
	return sums, out, nil
}
