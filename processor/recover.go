package processor

import (
	"context"

	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/schemas"
)

// generation is what the processor knows for the current assignment.
type generation struct {
	// written is the highest offset per partition whose touchpoint a
	// processor has written. Records at or below it were applied already;
	// they may not have been committed, and the journeys and flags of
	// their batch may be missing.
	written map[int]int64
	// pending rows go out with the next batch: journeys stored as open
	// that the rebuilt state shows closed (a crash lost their last row).
	pending []schemas.Journey
}

// takeOver prepares a new assignment: it forgets every customer, reads how
// far each assigned partition was written, and rebuilds the state of the
// customers whose latest journey is open from their touchpoints in
// ClickHouse. A customer whose journeys are all closed needs no state.
func (p *Processor) takeOver(ctx context.Context, assigned []kafka.PartitionAssignment) (*generation, error) {
	p.engine.Reset()
	parts := make([]int32, len(assigned))
	for i, a := range assigned {
		parts[i] = int32(a.ID)
	}
	g := &generation{written: map[int]int64{}}
	restored := 0
	err := p.retry(ctx, "load state", func() error {
		p.engine.Reset()
		restored = 0
		written, err := p.sink.WrittenOffsets(ctx, parts)
		if err != nil {
			return err
		}
		for part, off := range written {
			g.written[int(part)] = off
		}
		var customer string
		var history []schemas.Touchpoint
		g.pending = g.pending[:0]
		flush := func() {
			if len(history) > 0 {
				for _, j := range p.engine.Restore(customer, history).Journeys {
					if j.Status != schemas.JourneyOpen {
						g.pending = append(g.pending, j)
					}
				}
				restored++
			}
			history = history[:0]
		}
		err = p.sink.OpenJourneyTouchpoints(ctx, parts, func(tp schemas.Touchpoint) {
			if tp.CustomerID != customer {
				flush()
				customer = tp.CustomerID
			}
			history = append(history, tp)
		})
		flush()
		return err
	})
	if err != nil {
		return nil, err
	}
	p.metrics.restored.Add(float64(restored))
	p.metrics.customers.Set(float64(p.engine.Len()))
	p.log.Info("state loaded", "partitions", parts, "customers", restored, "written_offsets", g.written)
	return g, nil
}

// replay handles records that an earlier processor applied and wrote but
// did not commit. They are not applied again: the customers they belong to
// are rebuilt from ClickHouse (their latest journey and every journey a
// replayed record belongs to), and those journeys' rows and flags are
// written again, which repairs what a crash between inserts left out.
func (p *Processor) replay(ctx context.Context, tps []schemas.Touchpoint, out *output) error {
	ids := make([]string, len(tps))
	for i := range tps {
		ids[i] = tps[i].MessageID
	}
	var history map[string][]schemas.Touchpoint
	err := p.retry(ctx, "recover replayed records", func() error {
		stored, err := p.sink.StoredMessageIDs(ctx, ids)
		if err != nil {
			return err
		}
		touched := make([]string, 0, len(stored))
		customers := make([]string, 0, len(tps))
		seen := map[string]bool{}
		for i := range tps {
			if j, ok := stored[tps[i].MessageID]; ok {
				touched = append(touched, j)
			}
			if c := tps[i].CustomerID; !seen[c] {
				seen[c] = true
				customers = append(customers, c)
			}
		}
		history, err = p.sink.JourneyHistory(ctx, customers, touched)
		return err
	})
	if err != nil {
		return err
	}
	for c, h := range history {
		res := p.engine.Restore(c, h)
		out.addJourneys(res.Journeys)
		out.flags = append(out.flags, res.Flags...)
		p.metrics.restored.Inc()
	}
	p.metrics.events.WithLabelValues("replayed").Add(float64(len(tps)))
	return nil
}
