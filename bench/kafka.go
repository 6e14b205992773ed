package bench

import (
	"context"
	"fmt"

	"github.com/segmentio/kafka-go"
)

// partitions lists topic's partition ids.
func partitions(ctx context.Context, cl *kafka.Client, topic string) ([]int, error) {
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	var ids []int
	for _, t := range md.Topics {
		for _, p := range t.Partitions {
			ids = append(ids, p.ID)
		}
	}
	return ids, nil
}

// commitOffsetsAtStart commits offset 0 of every partition of topic for
// group, which has no members yet.
func commitOffsetsAtStart(ctx context.Context, brokers []string, topic, group string) error {
	cl := &kafka.Client{Addr: kafka.TCP(brokers...)}
	ids, err := partitions(ctx, cl, topic)
	if err != nil {
		return err
	}
	var offsets []kafka.OffsetCommit
	for _, id := range ids {
		offsets = append(offsets, kafka.OffsetCommit{Partition: id, Offset: 0})
	}
	resp, err := cl.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1, Topics: map[string][]kafka.OffsetCommit{topic: offsets}})
	if err != nil {
		return fmt.Errorf("commit %s's offsets of %s at 0: %w", group, topic, err)
	}
	for _, ps := range resp.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return fmt.Errorf("commit %s's offset of %s/%d at 0: %w", group, topic, p.Partition, p.Error)
			}
		}
	}
	return nil
}

// endOffsets is the end offset of each partition of topic.
func endOffsets(ctx context.Context, cl *kafka.Client, topic string) (map[int]int64, error) {
	ids, err := partitions(ctx, cl, topic)
	if err != nil {
		return nil, err
	}
	var reqs []kafka.OffsetRequest
	for _, id := range ids {
		reqs = append(reqs, kafka.LastOffsetOf(id))
	}
	resp, err := cl.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	ends := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("end offset of %s/%d: %w", topic, p.Partition, p.Error)
		}
		ends[p.Partition] = p.LastOffset
	}
	return ends, nil
}

// records is the number of records ever written to topic.
func records(ctx context.Context, brokers []string, topic string) (int64, error) {
	ends, err := endOffsets(ctx, &kafka.Client{Addr: kafka.TCP(brokers...)}, topic)
	var n int64
	for _, e := range ends {
		n += e
	}
	return n, err
}

// uncommitted is how many records of topic group has not committed yet:
// the processor commits a batch only after all its rows are written, so 0
// means every row, journeys and flags included, is in ClickHouse.
func uncommitted(ctx context.Context, brokers []string, topic, group string) (int64, error) {
	cl := &kafka.Client{Addr: kafka.TCP(brokers...)}
	ends, err := endOffsets(ctx, cl, topic)
	if err != nil {
		return 0, err
	}
	ids := make([]int, 0, len(ends))
	for id := range ends {
		ids = append(ids, id)
	}
	committed, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
	if err != nil {
		return 0, fmt.Errorf("offsets %s committed: %w", group, err)
	}
	if committed.Error != nil {
		return 0, fmt.Errorf("offsets %s committed: %w", group, committed.Error)
	}
	var left int64
	for _, p := range committed.Topics[topic] {
		if p.Error != nil {
			return 0, fmt.Errorf("offset %s committed on %s/%d: %w", group, topic, p.Partition, p.Error)
		}
		left += ends[p.Partition] - max(p.CommittedOffset, 0)
		delete(ends, p.Partition)
	}
	for _, e := range ends { // partitions the group never committed on
		left += e
	}
	return left, nil
}
