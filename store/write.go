package store

import (
	"context"
	"fmt"
	"time"

	"github.com/journeys/journeys/schemas"
)

// Column lists are explicit: clickhouse-go/v2 needs them with ClickHouse
// 18.16, and they keep inserts working when later migrations add columns.
const (
	insertTouchpoints = `INSERT INTO touchpoints (message_id, customer_id, anonymous_id, user_id, type, event, channel, timestamp, timestamp_ms, received_at, journey_id, session_id, late, properties, context, source, kafka_partition, kafka_offset, version)`
	insertJourneys    = `INSERT INTO journeys (journey_id, customer_id, started_at, ended_at, status, touchpoints, channels, path, channel_sequence, friction_count, revenue, retracted, version)`
	insertSessions    = `INSERT INTO sessions (session_id, customer_id, channel, started_at, ended_at, touchpoints, page_views, entry_page, exit_page, version)`
	insertFlags       = `INSERT INTO friction_flags (flag_id, rule, customer_id, journey_id, occurred_at, detected_at, severity, evidence, details, retracted, version)`
)

// InsertStatements maps each table the store writes to the head of its
// INSERT statement: the explicit column list its batches fill.
// internal/modernch fills them with SELECTs on a modern ClickHouse.
func InsertStatements() map[string]string {
	return map[string]string{
		"touchpoints":    insertTouchpoints,
		"journeys":       insertJourneys,
		"sessions":       insertSessions,
		"friction_flags": insertFlags,
		"customers":      insertCustomers,
		"identities":     insertIdentities,
	}
}

// InsertTouchpoints writes touchpoint rows in one batch. The batch is
// filled column by column: appended row by row, each of a row's nineteen
// values was boxed into an interface and type-switched on, a third of the
// processor's own CPU (BenchmarkInsertTouchpoints compares the two).
func (s *Store) InsertTouchpoints(ctx context.Context, rows []schemas.Touchpoint) error {
	if len(rows) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, insertTouchpoints)
	if err != nil {
		return fmt.Errorf("prepare insert of %d touchpoints: %w", len(rows), err)
	}
	defer b.Abort()
	// In the order of insertTouchpoints' column list.
	cols := []any{
		column(rows, func(r *schemas.Touchpoint) string { return r.MessageID }),
		column(rows, func(r *schemas.Touchpoint) string { return r.CustomerID }),
		column(rows, func(r *schemas.Touchpoint) string { return r.AnonymousID }),
		column(rows, func(r *schemas.Touchpoint) string { return r.UserID }),
		column(rows, func(r *schemas.Touchpoint) string { return r.Type }),
		column(rows, func(r *schemas.Touchpoint) string { return r.Event }),
		column(rows, func(r *schemas.Touchpoint) string { return r.Channel }),
		column(rows, func(r *schemas.Touchpoint) time.Time { return r.Timestamp }),
		column(rows, func(r *schemas.Touchpoint) int64 { return r.Timestamp.UnixMilli() }),
		column(rows, func(r *schemas.Touchpoint) time.Time { return r.ReceivedAt }),
		column(rows, func(r *schemas.Touchpoint) string { return r.JourneyID }),
		column(rows, func(r *schemas.Touchpoint) string { return r.SessionID }),
		column(rows, func(r *schemas.Touchpoint) uint8 { return boolUInt8(r.Late) }),
		column(rows, func(r *schemas.Touchpoint) string { return r.Properties }),
		column(rows, func(r *schemas.Touchpoint) string { return r.Context }),
		column(rows, func(r *schemas.Touchpoint) string { return r.Source }),
		column(rows, func(r *schemas.Touchpoint) int32 { return r.KafkaPartition }),
		column(rows, func(r *schemas.Touchpoint) int64 { return r.KafkaOffset }),
		column(rows, func(r *schemas.Touchpoint) uint64 { return r.Version }),
	}
	for i, col := range cols {
		if err := b.Column(i).Append(col); err != nil {
			return fmt.Errorf("append column %d of %d touchpoints: %w", i, len(rows), err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d touchpoints: %w", len(rows), err)
	}
	return nil
}

// column is one field of every row, in row order: a batch column.
func column[R, T any](rows []R, field func(*R) T) []T {
	col := make([]T, len(rows))
	for i := range rows {
		col[i] = field(&rows[i])
	}
	return col
}

// InsertJourneys writes journey rows in one batch.
func (s *Store) InsertJourneys(ctx context.Context, rows []schemas.Journey) error {
	if len(rows) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, insertJourneys)
	if err != nil {
		return fmt.Errorf("prepare insert of %d journeys: %w", len(rows), err)
	}
	defer b.Abort()
	for i := range rows {
		r := &rows[i]
		if err := b.Append(r.JourneyID, r.CustomerID, r.StartedAt, r.EndedAt, r.Status, r.Touchpoints,
			nonNil(r.Channels), nonNil(r.Path), nonNil(r.ChannelSequence), r.FrictionCount, r.Revenue, boolUInt8(r.Retracted), r.Version); err != nil {
			return fmt.Errorf("append journey %s: %w", r.JourneyID, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d journeys: %w", len(rows), err)
	}
	return nil
}

// InsertFlags writes friction flag rows in one batch.
func (s *Store) InsertFlags(ctx context.Context, rows []schemas.FrictionFlag) error {
	if len(rows) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, insertFlags)
	if err != nil {
		return fmt.Errorf("prepare insert of %d friction flags: %w", len(rows), err)
	}
	defer b.Abort()
	for i := range rows {
		r := &rows[i]
		if err := b.Append(r.FlagID, r.Rule, r.CustomerID, r.JourneyID, r.OccurredAt, r.DetectedAt,
			r.Severity, nonNil(r.Evidence), r.Details, boolUInt8(r.Retracted), r.Version); err != nil {
			return fmt.Errorf("append friction flag %s: %w", r.FlagID, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d friction flags: %w", len(rows), err)
	}
	return nil
}

func boolUInt8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// InsertSessions writes session rows in one batch.
func (s *Store) InsertSessions(ctx context.Context, rows []schemas.Session) error {
	if len(rows) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, insertSessions)
	if err != nil {
		return fmt.Errorf("prepare insert of %d sessions: %w", len(rows), err)
	}
	defer b.Abort()
	for i := range rows {
		r := &rows[i]
		if err := b.Append(r.SessionID, r.CustomerID, r.Channel, r.StartedAt, r.EndedAt, r.Touchpoints, r.PageViews,
			r.EntryPage, r.ExitPage, r.Version); err != nil {
			return fmt.Errorf("append session %s: %w", r.SessionID, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d sessions: %w", len(rows), err)
	}
	return nil
}
