package store

import (
	"context"
	"fmt"
	"time"

	"github.com/journeys/journeys/schemas"
)

const insertIdentities = `INSERT INTO identities (linked_id, user_id, kind, linked_at, message_id, kafka_partition, merged, version)`

// InsertIdentities writes identity links in one batch.
func (s *Store) InsertIdentities(ctx context.Context, rows []schemas.Identity) error {
	if len(rows) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, insertIdentities)
	if err != nil {
		return fmt.Errorf("prepare insert of %d identities: %w", len(rows), err)
	}
	defer b.Abort()
	for i := range rows {
		r := &rows[i]
		if err := b.Append(r.LinkedID, r.UserID, r.Kind, r.LinkedAt, r.MessageID, r.KafkaPartition, boolUInt8(r.Merged), r.Version); err != nil {
			return fmt.Errorf("append identity %s: %w", r.LinkedID, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d identities: %w", len(rows), err)
	}
	return nil
}

// MergedIdentities maps each linked id whose records are in one of the
// partitions and that was merged into a user to that user: the redirects a
// processor taking over the partitions must apply.
func (s *Store) MergedIdentities(ctx context.Context, partitions []int32) (map[string]string, error) {
	out := make(map[string]string)
	if len(partitions) == 0 {
		return out, nil
	}
	rows, err := s.conn.Query(ctx, `SELECT linked_id, user_id, merged, kafka_partition FROM identities FINAL
WHERE linked_id IN (SELECT linked_id FROM identities WHERE kafka_partition IN ? AND merged = 1)`, partitionSet(partitions))
	if err != nil {
		return nil, fmt.Errorf("load merged identities of partitions %v: %w", partitions, err)
	}
	defer rows.Close()
	for rows.Next() {
		var linked, user string
		var merged uint8
		var part int32
		if err := rows.Scan(&linked, &user, &merged, &part); err != nil {
			return nil, fmt.Errorf("scan identity: %w", err)
		}
		if merged == 1 {
			out[linked] = user
		}
	}
	return out, rows.Err()
}

// The reads below select rows by a column that is not the table's key.
// They pick the keys first and apply FINAL to those keys only, then filter
// the collapsed rows in Go: a condition on a non-key column placed beside
// FINAL may be evaluated before the collapse (PREWHERE) and return a row a
// newer version replaced.

// CustomerTouchpoints returns the touchpoints stored under the customers
// (latest version of each message, late ones included), customer by
// customer in event-time order.
func (s *Store) CustomerTouchpoints(ctx context.Context, customerIDs []string) (map[string][]schemas.Touchpoint, error) {
	out := make(map[string][]schemas.Touchpoint)
	if len(customerIDs) == 0 {
		return out, nil
	}
	want := stringSet(customerIDs)
	q := `SELECT ` + touchpointColumns + `
FROM touchpoints FINAL
WHERE message_id IN (SELECT message_id FROM touchpoints_by_customer WHERE customer_id IN ?)
ORDER BY customer_id, timestamp_ms, message_id`
	err := s.scanTouchpoints(ctx, func(tp schemas.Touchpoint) {
		if want[tp.CustomerID] {
			out[tp.CustomerID] = append(out[tp.CustomerID], tp)
		}
	}, q, set(customerIDs))
	if err != nil {
		return nil, fmt.Errorf("load touchpoints of %d customers: %w", len(customerIDs), err)
	}
	return out, nil
}

// CustomerJourneys returns the latest row of every journey stored under
// the customers, retracted ones included.
func (s *Store) CustomerJourneys(ctx context.Context, customerIDs []string) ([]schemas.Journey, error) {
	if len(customerIDs) == 0 {
		return nil, nil
	}
	want := stringSet(customerIDs)
	rows, err := s.conn.Query(ctx, `SELECT journey_id, customer_id, started_at, ended_at, status, touchpoints, channels, path, channel_sequence, friction_count, revenue, retracted, version
FROM journeys FINAL
WHERE journey_id IN (SELECT journey_id FROM journey_customers WHERE customer_id IN ?)
ORDER BY journey_id`, set(customerIDs))
	if err != nil {
		return nil, fmt.Errorf("load journeys of %d customers: %w", len(customerIDs), err)
	}
	defer rows.Close()
	var out []schemas.Journey
	for rows.Next() {
		var j schemas.Journey
		var retracted uint8
		if err := rows.Scan(&j.JourneyID, &j.CustomerID, &j.StartedAt, &j.EndedAt, &j.Status, &j.Touchpoints, &j.Channels, &j.Path, &j.ChannelSequence,
			&j.FrictionCount, &j.Revenue, &retracted, &j.Version); err != nil {
			return nil, fmt.Errorf("scan journey: %w", err)
		}
		if !want[j.CustomerID] {
			continue
		}
		j.StartedAt, j.EndedAt, j.Retracted = j.StartedAt.UTC(), j.EndedAt.UTC(), retracted == 1
		out = append(out, j)
	}
	return out, rows.Err()
}

// CustomerFlags returns the latest row of every friction flag stored under
// the customers, retracted ones included.
func (s *Store) CustomerFlags(ctx context.Context, customerIDs []string) ([]schemas.FrictionFlag, error) {
	if len(customerIDs) == 0 {
		return nil, nil
	}
	want := stringSet(customerIDs)
	rows, err := s.conn.Query(ctx, `SELECT flag_id, rule, customer_id, journey_id, occurred_at, detected_at, severity, evidence, details, retracted, version
FROM friction_flags FINAL
WHERE flag_id IN (SELECT flag_id FROM friction_flags WHERE customer_id IN ?)
ORDER BY flag_id`, set(customerIDs))
	if err != nil {
		return nil, fmt.Errorf("load friction flags of %d customers: %w", len(customerIDs), err)
	}
	defer rows.Close()
	var out []schemas.FrictionFlag
	for rows.Next() {
		var f schemas.FrictionFlag
		var retracted uint8
		var occurred, detected time.Time
		if err := rows.Scan(&f.FlagID, &f.Rule, &f.CustomerID, &f.JourneyID, &occurred, &detected, &f.Severity, &f.Evidence,
			&f.Details, &retracted, &f.Version); err != nil {
			return nil, fmt.Errorf("scan friction flag: %w", err)
		}
		if !want[f.CustomerID] {
			continue
		}
		f.OccurredAt, f.DetectedAt, f.Retracted = occurred.UTC(), detected.UTC(), retracted == 1
		out = append(out, f)
	}
	return out, rows.Err()
}

func stringSet(vals []string) map[string]bool {
	m := make(map[string]bool, len(vals))
	for _, v := range vals {
		m[v] = true
	}
	return m
}
