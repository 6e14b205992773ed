package processor

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

// generation is what the processor knows for the current assignment.
type generation struct {
	// written is the highest offset per partition whose touchpoint a
	// processor has written. Records at or below it were applied already;
	// they may not have been committed, and the journeys and flags of
	// their batch may be missing.
	written map[int]int64
	// pending rows go out with the next batch: journeys stored as open
	// that the rebuilt state shows closed (a crash lost their last row),
	// and the sessions rebuilt, which repairs a session row a crash lost.
	pending         []schemas.Journey
	pendingSessions []schemas.Session
}

// takeOver prepares a new assignment: it forgets every customer, reads how
// far each assigned partition was written, and rebuilds the state of the
// customers whose latest journey is open from their touchpoints in
// ClickHouse. A customer whose journeys are all closed needs no state.
func (p *Processor) takeOver(ctx context.Context, assigned []kafka.PartitionAssignment) (*generation, error) {
	p.engine.Reset()
	p.session.Reset()
	parts := make([]int32, len(assigned))
	for i, a := range assigned {
		parts[i] = int32(a.ID)
	}
	g := &generation{written: map[int]int64{}}
	restored := 0
	err := p.retry(ctx, "load state", func() error {
		p.engine.Reset()
		p.session.Reset()
		restored = 0
		written, err := p.sink.WrittenOffsets(ctx, parts)
		if err != nil {
			return err
		}
		for part, pr := range written {
			g.written[int(part)] = pr.Offset
		}
		loc := p.sessionLocation()
		sessions := map[string]schemas.Session{}
		var customer string
		var all, history []schemas.Touchpoint
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
			// The customer's current session lies on their latest day;
			// earlier days of the open journey may hold only the tail of
			// a session that began in the journey before.
			if n := len(all); n > 0 {
				last := dayOf(all[n-1].Timestamp, loc)
				for i := range all {
					if dayOf(all[i].Timestamp, loc) != last {
						continue
					}
					if row, ok := p.session.Apply(&all[i]); ok {
						sessions[row.SessionID] = row
					}
				}
			}
			all, history = all[:0], history[:0]
		}
		err = p.sink.OpenJourneyTouchpoints(ctx, parts, loc.String(), func(tp schemas.Touchpoint, inOpen bool) {
			if tp.CustomerID != customer {
				flush()
				customer = tp.CustomerID
			}
			all = append(all, tp)
			if inOpen {
				history = append(history, tp)
			}
		})
		flush()
		g.pendingSessions = g.pendingSessions[:0]
		for _, row := range sessions {
			g.pendingSessions = append(g.pendingSessions, row)
		}
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
	var history, days map[string][]schemas.Touchpoint
	loc := p.sessionLocation()
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
		if err != nil {
			return err
		}
		var cds []store.CustomerDay
		for i := range tps {
			cds = append(cds, store.CustomerDay{CustomerID: tps[i].CustomerID, Day: dayOf(tps[i].Timestamp, loc)})
		}
		days, err = p.sink.DayHistory(ctx, cds, loc.String())
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
	// The replayed records' sessions are rebuilt from whole days, so that
	// their rows are written again in full.
	for c, h := range days {
		p.session.Forget(c)
		for i := range h {
			if row, ok := p.session.Apply(&h[i]); ok {
				out.addSession(row)
			}
		}
	}
	p.metrics.events.WithLabelValues("replayed").Add(float64(len(tps)))
	return nil
}

func (p *Processor) sessionLocation() *time.Location {
	if p.cfg.Sessions.Location == nil {
		return time.UTC
	}
	return p.cfg.Sessions.Location
}

// dayOf is t's day as YYYYMMDD in loc.
func dayOf(t time.Time, loc *time.Location) uint32 {
	l := t.In(loc)
	return uint32(l.Year()*10000 + int(l.Month())*100 + l.Day())
}
