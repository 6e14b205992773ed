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
	// dormant are the customers with history in ClickHouse whom the
	// take-over did not rebuild (long inactive): restoreUnknown rebuilds
	// them when they show up, and only them, so a new customer costs no
	// lookup.
	dormant map[string]struct{}
}

// restorePlan is what to read back from ClickHouse to rebuild some
// customers exactly: per customer, the time from which their rows must be
// exact, and the journeys to fold, which reach the engine's Horizon further
// back (friction rules look back across journeys).
type restorePlan struct {
	from      map[string]time.Time
	customers []string
	journeys  []string
}

// planRestore picks, for each customer in spans (customer by customer,
// oldest journey first), the journeys to fold so that everything from the
// earliest journey of interest on (their latest journey always, and those
// interesting says) comes out as an uninterrupted run made it.
func (p *Processor) planRestore(spans []store.JourneySpan, interesting func(store.JourneySpan) bool) restorePlan {
	plan := restorePlan{from: map[string]time.Time{}}
	// Sessions end at midnight, so the fold covers the latest day too.
	depth := max(p.engine.Horizon(), 24*time.Hour)
	for lo := 0; lo < len(spans); {
		hi := lo + 1
		for hi < len(spans) && spans[hi].CustomerID == spans[lo].CustomerID {
			hi++
		}
		customer := spans[lo:hi]
		from := customer[len(customer)-1].Start
		for _, sp := range customer {
			if interesting != nil && interesting(sp) && sp.Start.Before(from) {
				from = sp.Start
			}
		}
		plan.from[customer[0].CustomerID] = from
		plan.customers = append(plan.customers, customer[0].CustomerID)
		// Journeys do not overlap, so those that end after the fold's
		// start are a suffix.
		for _, sp := range customer {
			if !sp.End.Before(from.Add(-depth)) {
				plan.journeys = append(plan.journeys, sp.JourneyID)
			}
		}
		lo = hi
	}
	return plan
}

// takeOver prepares a new assignment: it forgets every customer, reads how
// far each assigned partition was written, and rebuilds from ClickHouse the
// state of the customers an uninterrupted run would hold: those with an
// open journey, and those active within the rules' horizon or the
// inactivity timeout of the partitions' latest event. Others come back when
// they next show up (restoreUnknown).
func (p *Processor) takeOver(ctx context.Context, assigned []kafka.PartitionAssignment) (*generation, error) {
	parts := make([]int32, len(assigned))
	for i, a := range assigned {
		parts[i] = int32(a.ID)
	}
	g := &generation{written: map[int]int64{}}
	restored := 0
	err := p.retry(ctx, "load state", func() error {
		p.engine.Reset()
		p.session.Reset()
		p.profiles = map[string]*schemas.Customer{}
		restored = 0
		g.pending, g.pendingSessions = g.pending[:0], g.pendingSessions[:0]
		if err := p.loadIdentities(ctx, parts); err != nil {
			return err
		}
		written, err := p.sink.WrittenOffsets(ctx, parts)
		if err != nil {
			return err
		}
		var latest time.Time
		for part, pr := range written {
			g.written[int(part)] = pr.Offset
			if latest.IsZero() || pr.LatestEvent.Before(latest) {
				latest = pr.LatestEvent
			}
		}
		if len(written) == 0 {
			return nil
		}
		since := latest.Add(-max(p.engine.Horizon(), p.engine.Config().InactivityTimeout, 24*time.Hour))
		spans, err := p.sink.PartitionJourneySpans(ctx, parts, since)
		if err != nil {
			return err
		}
		plan := p.planRestore(spans, func(sp store.JourneySpan) bool { return sp.Open })
		history, err := p.sink.JourneyTouchpoints(ctx, plan.customers, plan.journeys)
		if err != nil {
			return err
		}
		loc := p.sessionLocation()
		sessions := map[string]schemas.Session{}
		for customer, h := range history {
			for _, j := range p.engine.Restore(customer, h, plan.from[customer]).Journeys {
				if j.Status != schemas.JourneyOpen {
					g.pending = append(g.pending, j)
				}
			}
			restored++
			// The customer's current session lies on their latest day.
			last := dayOf(h[len(h)-1].Timestamp, loc)
			for i := range h {
				if dayOf(h[i].Timestamp, loc) != last {
					continue
				}
				if row, ok := p.session.Apply(&h[i]); ok {
					sessions[row.SessionID] = row
				}
			}
		}
		for _, row := range sessions {
			g.pendingSessions = append(g.pendingSessions, row)
		}
		all, err := p.sink.PartitionCustomers(ctx, parts)
		if err != nil {
			return err
		}
		g.dormant = make(map[string]struct{})
		for _, c := range all {
			if !p.engine.Has(c) {
				g.dormant[c] = struct{}{}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.metrics.restored.Add(float64(restored))
	p.metrics.customers.Set(float64(p.engine.Len()))
	p.log.Info("state loaded", "partitions", parts, "customers", restored, "written_offsets", g.written)
	return g, nil
}

// restoreUnknown rebuilds, before a batch is applied, the customers of the
// batch that the engine does not hold but ClickHouse knows: the take-over
// left them out as long inactive. Their rows are stored already; only the
// state is needed.
func (p *Processor) restoreUnknown(ctx context.Context, g *generation, tps []schemas.Touchpoint) error {
	var unknown []string
	for i := range tps {
		c := tps[i].CustomerID
		if _, ok := g.dormant[c]; ok && !p.engine.Has(c) {
			delete(g.dormant, c)
			unknown = append(unknown, c)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	var plan restorePlan
	var history map[string][]schemas.Touchpoint
	err := p.retry(ctx, "restore returning customers", func() error {
		spans, err := p.sink.JourneySpans(ctx, unknown)
		if err != nil {
			return err
		}
		plan = p.planRestore(spans, nil)
		history, err = p.sink.JourneyTouchpoints(ctx, plan.customers, plan.journeys)
		return err
	})
	if err != nil {
		return err
	}
	for c, h := range history {
		p.engine.Restore(c, h, plan.from[c])
		p.metrics.restored.Inc()
	}
	return nil
}

// replay handles records that an earlier processor applied and wrote but
// did not commit. They are not applied again: the customers they belong to
// are folded again from ClickHouse, from the earliest journey a replayed
// record belongs to (or their latest), and every row that differs from the
// stored one is written, as refold does. That repairs what a crash between
// inserts left out, including a refold cut short.
func (p *Processor) replay(ctx context.Context, tps []schemas.Touchpoint, out *output) error {
	ids := make([]string, len(tps))
	for i := range tps {
		ids[i] = tps[i].MessageID
	}
	var (
		plan     restorePlan
		scope    map[string][]string
		history  map[string][]schemas.Touchpoint
		days     map[string][]schemas.Touchpoint
		journeys map[string]schemas.Journey
		flags    map[string]schemas.FrictionFlag
	)
	loc := p.sessionLocation()
	err := p.retry(ctx, "recover replayed records", func() error {
		stored, err := p.sink.StoredMessageIDs(ctx, ids)
		if err != nil {
			return err
		}
		touched := map[string]bool{}
		customers := make([]string, 0, len(tps))
		seen := map[string]bool{}
		for i := range tps {
			if m, ok := stored[tps[i].MessageID]; ok && m.CustomerID == tps[i].CustomerID {
				touched[m.JourneyID] = true
			}
			if c := tps[i].CustomerID; !seen[c] {
				seen[c] = true
				customers = append(customers, c)
			}
		}
		spans, err := p.sink.JourneySpans(ctx, customers)
		if err != nil {
			return err
		}
		plan = p.planRestore(spans, func(sp store.JourneySpan) bool { return touched[sp.JourneyID] })
		scope = map[string][]string{}
		for _, sp := range spans {
			if !sp.Start.Before(plan.from[sp.CustomerID]) {
				scope[sp.CustomerID] = append(scope[sp.CustomerID], sp.JourneyID)
			}
		}
		if history, err = p.sink.JourneyTouchpoints(ctx, plan.customers, plan.journeys); err != nil {
			return err
		}
		if journeys, flags, err = p.storedRows(ctx, customers); err != nil {
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
	trigger := map[string]int64{}
	for i := range tps {
		trigger[tps[i].CustomerID] = max(trigger[tps[i].CustomerID], tps[i].KafkaOffset)
		// A crash may have come between the touchpoints and the
		// customers insert.
		out.touchProfile(tps[i].CustomerID)
		out.deriveProfile(tps[i].CustomerID)
	}
	wm := p.watermark(false)
	for c, h := range history {
		// Folded again and compared with what is stored: what a crash
		// between inserts left out, or left half-rewritten, is written.
		p.refoldCustomer(c, plan.from[c], scope[c], h, nil, nil, trigger[c], journeys, flags, wm, out)
		p.metrics.restored.Inc()
	}
	// The replayed records' sessions are rebuilt from whole days, so that
	// their rows are written again in full.
	for c, h := range days {
		p.resessionize(c, h, out)
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
