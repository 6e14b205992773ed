package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/journeys/journeys/schemas"
)

// StoredMessage is where a stored message id sits: the customer and
// journey of its latest row, and the Kafka record that row came from.
type StoredMessage struct {
	CustomerID     string
	JourneyID      string
	KafkaPartition int32
	KafkaOffset    int64
}

// StoredMessageIDs returns which of ids are already in the touchpoints table,
// each with the customer and journey of its latest row. The processor drops
// those stored under the record's customer before they reach the journey
// engine: they were applied before a crash or a rebalance, and the
// recovered state has them. (A touchpoint forwarded to a user after
// identity stitching is stored a second time, under the user.)
func (s *Store) StoredMessageIDs(ctx context.Context, ids []string) (map[string]StoredMessage, error) {
	found := make(map[string]StoredMessage)
	// One query per chunk: the ids are sent as literals, and ClickHouse
	// refuses a query over max_query_size (256 KiB by default; Open raises
	// it to 64 MiB, which 20,000 ids of 36 bytes fit in many times over). A
	// round trip per 2,000 ids cost the processor a third of its throughput.
	const chunk = 20000
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		if err := s.storedMessageIDs(ctx, part, found); err != nil {
			return nil, fmt.Errorf("look up %d message ids: %w", len(ids), err)
		}
	}
	return found, nil
}

func (s *Store) storedMessageIDs(ctx context.Context, ids []string, found map[string]StoredMessage) error {
	rows, err := s.conn.Query(ctx, "SELECT message_id, argMax(customer_id, version), argMax(journey_id, version), argMax(kafka_partition, version), argMax(kafka_offset, version) FROM touchpoints WHERE message_id IN ? GROUP BY message_id", set(ids))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var m StoredMessage
		if err := rows.Scan(&id, &m.CustomerID, &m.JourneyID, &m.KafkaPartition, &m.KafkaOffset); err != nil {
			return fmt.Errorf("scan message id: %w", err)
		}
		found[id] = m
	}
	return rows.Err()
}

// touchpointColumns are read back in the order scanTouchpoints expects.
const touchpointColumns = `message_id, customer_id, anonymous_id, user_id, type, event, channel,
       timestamp_ms, received_at, journey_id, session_id, late, properties, context, source, kafka_partition, kafka_offset, version`

// scanTouchpoints runs q and hands each touchpoint row to fn in order.
func (s *Store) scanTouchpoints(ctx context.Context, fn func(schemas.Touchpoint), q string, args ...any) error {
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var tp schemas.Touchpoint
		var ms int64
		var late uint8
		if err := rows.Scan(&tp.MessageID, &tp.CustomerID, &tp.AnonymousID, &tp.UserID, &tp.Type, &tp.Event, &tp.Channel,
			&ms, &tp.ReceivedAt, &tp.JourneyID, &tp.SessionID, &late, &tp.Properties, &tp.Context, &tp.Source, &tp.KafkaPartition, &tp.KafkaOffset, &tp.Version); err != nil {
			return fmt.Errorf("scan touchpoint: %w", err)
		}
		tp.Timestamp = time.UnixMilli(ms).UTC()
		tp.ReceivedAt = tp.ReceivedAt.UTC()
		tp.Late = late == 1
		fn(tp)
	}
	return rows.Err()
}

// JourneySpan is one stored journey of a customer: the event times of its
// first and last touchpoint, and whether its latest row is open.
type JourneySpan struct {
	CustomerID string
	JourneyID  string
	Start, End time.Time
	Open       bool
}

// spanQuery reads the spans of the journeys of the customers that cond
// selects, customer by customer, oldest journey first; the first %s says
// whether a journey is open.
const spanQuery = `SELECT customer_id, journey_id, min(timestamp_ms), max(timestamp_ms), %s
FROM touchpoints_by_customer FINAL
WHERE customer_id IN (%s) AND late = 0
GROUP BY customer_id, journey_id
ORDER BY customer_id, min(timestamp_ms), journey_id`

func (s *Store) scanSpans(ctx context.Context, q string, args ...any) ([]JourneySpan, error) {
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []JourneySpan
	for rows.Next() {
		var sp JourneySpan
		var start, end int64
		var open uint8
		if err := rows.Scan(&sp.CustomerID, &sp.JourneyID, &start, &end, &open); err != nil {
			return nil, fmt.Errorf("scan journey span: %w", err)
		}
		sp.Start, sp.End, sp.Open = time.UnixMilli(start).UTC(), time.UnixMilli(end).UTC(), open == 1
		out = append(out, sp)
	}
	return out, rows.Err()
}

// openJourney is true for the rows of journeys whose latest row is open.
const openJourney = `journey_id IN (SELECT journey_id FROM journeys FINAL WHERE status = 'open')`

// JourneySpans returns the spans of every stored journey of the customers,
// customer by customer, oldest journey first. Open is not filled in.
func (s *Store) JourneySpans(ctx context.Context, customerIDs []string) ([]JourneySpan, error) {
	if len(customerIDs) == 0 {
		return nil, nil
	}
	spans, err := s.scanSpans(ctx, fmt.Sprintf(spanQuery, "0", "?"), set(customerIDs))
	if err != nil {
		return nil, fmt.Errorf("load journeys of %d customers: %w", len(customerIDs), err)
	}
	return spans, nil
}

// PartitionJourneySpans returns the spans of every stored journey of the
// customers whose touchpoints came from the given Kafka partitions and who
// either have a touchpoint at or after since or have an open journey: the
// customers a processor taking over the partitions must hold state for.
func (s *Store) PartitionJourneySpans(ctx context.Context, partitions []int32, since time.Time) ([]JourneySpan, error) {
	if len(partitions) == 0 {
		return nil, nil
	}
	customers := `SELECT customer_id FROM touchpoints
                  WHERE kafka_partition IN ? AND late = 0
                  GROUP BY customer_id
                  HAVING max(timestamp_ms) >= ?
                      OR max(` + openJourney + `) = 1`
	spans, err := s.scanSpans(ctx, fmt.Sprintf(spanQuery, openJourney, customers), partitionSet(partitions), since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("load journeys of partitions %v: %w", partitions, err)
	}
	return spans, nil
}

// PartitionCustomers returns every customer with touchpoints (not late)
// from the given Kafka partitions.
func (s *Store) PartitionCustomers(ctx context.Context, partitions []int32) ([]string, error) {
	if len(partitions) == 0 {
		return nil, nil
	}
	out, err := s.queryStrings(ctx, "SELECT DISTINCT customer_id FROM touchpoints WHERE kafka_partition IN ? AND late = 0", partitionSet(partitions))
	if err != nil {
		return nil, fmt.Errorf("list customers of partitions %v: %w", partitions, err)
	}
	return out, nil
}

// JourneyTouchpoints returns the touchpoints of the given journeys of the
// customers, customer by customer in event-time order.
func (s *Store) JourneyTouchpoints(ctx context.Context, customerIDs, journeyIDs []string) (map[string][]schemas.Touchpoint, error) {
	out := make(map[string][]schemas.Touchpoint)
	if len(journeyIDs) == 0 || len(customerIDs) == 0 {
		return out, nil
	}
	q := `SELECT ` + touchpointColumns + `
FROM touchpoints FINAL
WHERE message_id IN (SELECT message_id FROM touchpoints_by_customer WHERE customer_id IN ? AND journey_id IN ?)
  AND customer_id IN ? AND journey_id IN ? AND late = 0
ORDER BY customer_id, timestamp_ms, message_id`
	err := s.scanTouchpoints(ctx, func(tp schemas.Touchpoint) {
		out[tp.CustomerID] = append(out[tp.CustomerID], tp)
	}, q, set(customerIDs), set(journeyIDs), set(customerIDs), set(journeyIDs))
	if err != nil {
		return nil, fmt.Errorf("load touchpoints of %d journeys: %w", len(journeyIDs), err)
	}
	return out, nil
}

// CustomerDay names one day of one customer's touchpoints.
type CustomerDay struct {
	CustomerID string
	Day        uint32 // YYYYMMDD in the sessions' time zone
}

// DayHistory returns, customer by customer in event-time order, the
// touchpoints of the listed customer days and of each listed customer's
// latest day, days counted in time zone tz. Sessions end at midnight, so
// these rebuild every session the days hold and each customer's current one.
func (s *Store) DayHistory(ctx context.Context, days []CustomerDay, tz string) (map[string][]schemas.Touchpoint, error) {
	out := make(map[string][]schemas.Touchpoint)
	// The (customer, day) pairs are sent as literals, a few syntax tree
	// nodes each, and ClickHouse refuses a query of more than 50,000
	// (max_ast_elements): a take-over asked for 15,000 days at once and
	// was refused at every retry. A customer's days stay in one query.
	days = slices.Clone(days)
	slices.SortStableFunc(days, func(a, b CustomerDay) int { return strings.Compare(a.CustomerID, b.CustomerID) })
	for len(days) > 0 {
		n := min(len(days), dayHistoryChunk)
		for n < len(days) && days[n].CustomerID == days[n-1].CustomerID {
			n++
		}
		if err := s.dayHistory(ctx, days[:n], tz, out); err != nil {
			return nil, err
		}
		days = days[n:]
	}
	return out, nil
}

// dayHistoryChunk is how many customer days DayHistory asks for at once.
const dayHistoryChunk = 2000

func (s *Store) dayHistory(ctx context.Context, days []CustomerDay, tz string, out map[string][]schemas.Touchpoint) error {
	pairs := make([]clickhouse.GroupSet, len(days))
	customers := make([]string, 0, len(days))
	seen := map[string]bool{}
	for i, d := range days {
		pairs[i] = clickhouse.GroupSet{Value: []any{d.CustomerID, d.Day}}
		if !seen[d.CustomerID] {
			seen[d.CustomerID] = true
			customers = append(customers, d.CustomerID)
		}
	}
	q := `SELECT ` + touchpointColumns + `
FROM touchpoints FINAL
WHERE message_id IN (SELECT message_id FROM touchpoints_by_customer WHERE customer_id IN ?)
  AND customer_id IN ? AND late = 0
  AND ((customer_id, toYYYYMMDD(timestamp, ?)) IN (?)
       OR (customer_id, toYYYYMMDD(timestamp, ?)) IN (
           SELECT customer_id, toYYYYMMDD(toDateTime(intDiv(max(timestamp_ms), 1000)), ?)
           FROM touchpoints_by_customer FINAL WHERE customer_id IN ? AND late = 0 GROUP BY customer_id))
ORDER BY customer_id, timestamp_ms, message_id`
	err := s.scanTouchpoints(ctx, func(tp schemas.Touchpoint) {
		out[tp.CustomerID] = append(out[tp.CustomerID], tp)
	}, q, set(customers), set(customers), tz, pairs, tz, tz, set(customers))
	if err != nil {
		return fmt.Errorf("load %d customer days: %w", len(days), err)
	}
	return nil
}

// Progress is how far a partition was written.
type Progress struct {
	// Offset is the highest Kafka offset whose touchpoint is stored.
	Offset int64
	// LatestEvent is the latest event time among its touchpoints.
	LatestEvent time.Time
}

// WrittenOffsets returns the progress of each of the partitions that has
// touchpoints stored. Records at or below its offset were applied by an
// earlier processor, whether or not it committed them.
func (s *Store) WrittenOffsets(ctx context.Context, partitions []int32) (map[int32]Progress, error) {
	out := make(map[int32]Progress)
	if len(partitions) == 0 {
		return out, nil
	}
	rows, err := s.conn.Query(ctx, "SELECT kafka_partition, max(kafka_offset), max(timestamp_ms) FROM touchpoints WHERE kafka_partition IN ? GROUP BY kafka_partition",
		partitionSet(partitions))
	if err != nil {
		return nil, fmt.Errorf("read written offsets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p int32
		var off, ms int64
		if err := rows.Scan(&p, &off, &ms); err != nil {
			return nil, fmt.Errorf("scan written offset: %w", err)
		}
		out[p] = Progress{Offset: off, LatestEvent: time.UnixMilli(ms).UTC()}
	}
	return out, rows.Err()
}

func partitionSet(partitions []int32) clickhouse.GroupSet {
	v := make([]any, len(partitions))
	for i, p := range partitions {
		v[i] = p
	}
	return clickhouse.GroupSet{Value: v}
}

// set binds a list of strings as an IN (…) set: a plain slice binds as an
// Array, which IN does not take.
func set(vals []string) clickhouse.GroupSet {
	v := make([]any, len(vals))
	for i, s := range vals {
		v[i] = s
	}
	return clickhouse.GroupSet{Value: v}
}
