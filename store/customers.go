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

// ProfileTouchpoints returns, per customer, every touchpoint stored under
// the customers (latest version of each message, late ones included) with
// only what a profile reads: message id, event, event time, version, and
// the properties of the listed events (empty for the others, which are
// most of them). A touchpoint forwarded to a user counts under the user.
func (s *Store) ProfileTouchpoints(ctx context.Context, customerIDs []string, events []string) (map[string][]schemas.Touchpoint, error) {
	out := make(map[string][]schemas.Touchpoint)
	if len(customerIDs) == 0 {
		return out, nil
	}
	want := stringSet(customerIDs)
	// FINAL on the keys first, the customer filter in Go: see
	// CustomerTouchpoints.
	rows, err := s.conn.Query(ctx, `SELECT message_id, customer_id, event, timestamp_ms, if(event IN ?, properties, ''), version
FROM touchpoints FINAL
WHERE message_id IN (SELECT message_id FROM touchpoints_by_customer WHERE customer_id IN ?)`, set(events), set(customerIDs))
	if err != nil {
		return nil, fmt.Errorf("load profile touchpoints of %d customers: %w", len(customerIDs), err)
	}
	defer rows.Close()
	for rows.Next() {
		var tp schemas.Touchpoint
		var ms int64
		if err := rows.Scan(&tp.MessageID, &tp.CustomerID, &tp.Event, &ms, &tp.Properties, &tp.Version); err != nil {
			return nil, fmt.Errorf("scan profile touchpoint: %w", err)
		}
		if want[tp.CustomerID] {
			tp.Timestamp = time.UnixMilli(ms).UTC()
			out[tp.CustomerID] = append(out[tp.CustomerID], tp)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load profile touchpoints of %d customers: %w", len(customerIDs), err)
	}
	return out, nil
}
