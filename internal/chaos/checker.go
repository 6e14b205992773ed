package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/ingest"
	"github.com/journeys/journeys/store"
)

// Result is what the checker found, the figures of the README's table.
type Result struct {
	Sent, Acknowledged, Rejected int
	// Attempts and Failures are the senders' requests and those that got
	// no 200 (and were retried).
	Attempts, Failures int
	// Found is the acknowledged events in touchpoints FINAL.
	Found int
	// Duplicates counts message ids with more than one row in touchpoints
	// FINAL, plus touchpoints counted twice by journeys (the journeys'
	// touchpoints beyond the stored touchpoints in a journey).
	Duplicates int
	// Missing are acknowledged ids not stored; Unknown stored ids never
	// sent; RejectedStored rejected ids stored; RejectedNotOnTopic
	// rejected ids missing from touchpoints.rejected. Each lists a few.
	Missing, Unknown, RejectedStored, RejectedNotOnTopic []string
}

// OK reports whether every guarantee held.
func (r Result) OK() bool {
	return r.Duplicates == 0 && len(r.Missing) == 0 && len(r.Unknown) == 0 &&
		len(r.RejectedStored) == 0 && len(r.RejectedNotOnTopic) == 0
}

func (r Result) String() string {
	s := fmt.Sprintf("sent %d, acknowledged %d, rejected %d, found %d, duplicates %d (requests %d, failed and retried %d)",
		r.Sent, r.Acknowledged, r.Rejected, r.Found, r.Duplicates, r.Attempts, r.Failures)
	for _, p := range []struct {
		what string
		ids  []string
	}{{"missing", r.Missing}, {"never sent", r.Unknown}, {"rejected but stored", r.RejectedStored}, {"rejected, not on touchpoints.rejected", r.RejectedNotOnTopic}} {
		if len(p.ids) > 0 {
			s += fmt.Sprintf("; %d %s (e.g. %s)", len(p.ids), p.what, strings.Join(p.ids[:min(len(p.ids), 5)], ", "))
		}
	}
	return s
}

// Check holds ClickHouse and the rejected topic to the ledger: every
// acknowledged event in touchpoints FINAL exactly once, nothing there that
// was never sent, every rejected event on the rejected topic and never in
// touchpoints.
func Check(ctx context.Context, s *store.Store, brokers []string, rejectedTopic string, l *Ledger) (Result, error) {
	r := Result{Sent: len(l.Sent), Acknowledged: len(l.Acked), Rejected: len(l.Rejected), Attempts: l.Attempts, Failures: l.Failures}
	rows, err := s.Conn().Query(ctx, `SELECT message_id, count() FROM touchpoints FINAL GROUP BY message_id`)
	if err != nil {
		return r, fmt.Errorf("read stored message ids: %w", err)
	}
	stored := map[string]bool{}
	for rows.Next() {
		var id string
		var n uint64
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return r, fmt.Errorf("read stored message ids: %w", err)
		}
		stored[id] = true
		if n > 1 {
			r.Duplicates += int(n - 1)
		}
		if !l.Sent[id] {
			r.Unknown = append(r.Unknown, id)
		}
		if l.Rejected[id] {
			r.RejectedStored = append(r.RejectedStored, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("read stored message ids: %w", err)
	}
	for id := range l.Acked {
		if stored[id] {
			r.Found++
		} else {
			r.Missing = append(r.Missing, id)
		}
	}
	var inJourneys, counted uint64
	if err := s.Conn().QueryRow(ctx, `SELECT count() FROM touchpoints FINAL WHERE journey_id != ''`).Scan(&inJourneys); err != nil {
		return r, fmt.Errorf("count touchpoints in journeys: %w", err)
	}
	if err := s.Conn().QueryRow(ctx, `SELECT toUInt64(sum(touchpoints)) FROM journeys FINAL WHERE retracted = 0`).Scan(&counted); err != nil {
		return r, fmt.Errorf("count journeys' touchpoints: %w", err)
	}
	if counted > inJourneys {
		r.Duplicates += int(counted - inJourneys)
	}
	onTopic, err := topicMessageIDs(ctx, brokers, rejectedTopic)
	if err != nil {
		return r, err
	}
	for id := range l.Rejected {
		if !onTopic[id] {
			r.RejectedNotOnTopic = append(r.RejectedNotOnTopic, id)
		}
	}
	for _, ids := range [][]string{r.Missing, r.Unknown, r.RejectedStored, r.RejectedNotOnTopic} {
		sort.Strings(ids)
	}
	return r, nil
}

// topicMessageIDs reads every partition of topic to its end and returns the
// messageIds of the records.
func topicMessageIDs(ctx context.Context, brokers []string, topic string) (map[string]bool, error) {
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", brokers[0], err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	ids := map[string]bool{}
	for _, p := range parts {
		if err := readPartition(ctx, brokers, topic, p.ID, ids); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func readPartition(ctx context.Context, brokers []string, topic string, partition int, ids map[string]bool) error {
	leader, err := kafka.DialLeader(ctx, "tcp", brokers[0], topic, partition)
	if err != nil {
		return fmt.Errorf("dial leader of %s/%d: %w", topic, partition, err)
	}
	first, last, err := leader.ReadOffsets()
	leader.Close()
	if err != nil {
		return fmt.Errorf("offsets of %s/%d: %w", topic, partition, err)
	}
	if last <= first {
		return nil
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: partition, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	if err := r.SetOffset(first); err != nil {
		return fmt.Errorf("seek %s/%d: %w", topic, partition, err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return fmt.Errorf("read %s/%d at offset %d of %d: %w", topic, partition, r.Offset(), last, err)
		}
		var ev ingest.RejectedRecord
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			return fmt.Errorf("decode %s/%d offset %d: %w", topic, partition, m.Offset, err)
		}
		ids[ev.MessageID] = true
		if m.Offset+1 >= last {
			return nil
		}
	}
}

// CaughtUp reports whether the consumer group has committed every record of
// topic: each batch it read is then written to ClickHouse in full (the
// processor commits only after its last insert). state says how far it is.
func CaughtUp(ctx context.Context, brokers []string, group, topic string) (ok bool, state string, err error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second}
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return false, "", fmt.Errorf("dial %s: %w", brokers[0], err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return false, "", fmt.Errorf("partitions of %s: %w", topic, err)
	}
	ids := make([]int, len(parts))
	reqs := make([]kafka.OffsetRequest, len(parts))
	for i, p := range parts {
		ids[i] = p.ID
		reqs[i] = kafka.LastOffsetOf(p.ID)
	}
	ends, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return false, "", fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	committed, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
	if err != nil {
		return false, "", fmt.Errorf("offsets of group %s: %w", group, err)
	}
	at := map[int]int64{}
	for _, p := range committed.Topics[topic] {
		at[p.Partition] = p.CommittedOffset
	}
	ok = true
	for _, p := range ends.Topics[topic] {
		if p.Error != nil {
			return false, "", fmt.Errorf("end offset of %s/%d: %w", topic, p.Partition, p.Error)
		}
		state += fmt.Sprintf(" %d:%d/%d", p.Partition, at[p.Partition], p.LastOffset)
		if at[p.Partition] < p.LastOffset {
			ok = false
		}
	}
	return ok, "committed/end" + state, nil
}
