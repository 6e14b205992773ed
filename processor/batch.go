package processor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/encoding/json"
	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

// consume gathers records into batches and processes each to the commit.
// While no records come, it still closes journeys that went idle.
func (p *Processor) consume(ctx context.Context, gen *kafka.Generation, g *generation, records <-chan kafka.Message) {
	// The next generation starts from ClickHouse: the write in flight ends
	// (written, or abandoned with the generation's context) first.
	defer func() { _ = p.settle() }()
	batch := make([]kafka.Message, 0, p.cfg.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	idle := time.NewTicker(p.cfg.IdleCloseInterval)
	defer idle.Stop()
	for {
		live := false
		select {
		case <-ctx.Done():
			return
		case m := <-records:
			if len(batch) == 0 {
				timer.Reset(p.cfg.BatchWait)
			}
			batch = append(batch, m)
			if len(batch) < p.cfg.BatchSize {
				continue
			}
		case <-timer.C:
			// A batch that did not fill up means the partitions are read
			// to their end: the stream is live.
			live = true
		case <-idle.C:
			if len(batch) > 0 {
				continue
			}
			if err := p.closeIdle(ctx, g); err != nil {
				return
			}
			continue
		}
		timer.Stop()
		if err := p.pipeBatch(ctx, gen, g, batch, live); err != nil {
			// Only cancellation ends a batch with an error: the
			// generation is over and the next owner reads the batch again.
			p.log.Info("batch abandoned at end of generation", "records", len(batch), "err", err)
			return
		}
		batch = batch[:0]
	}
}

// output is what one batch writes.
type output struct {
	touchpoints []schemas.Touchpoint
	journeys    []schemas.Journey
	index       map[string]int // journey id → position in journeys
	flags       []schemas.FrictionFlag
	sessions    map[string]schemas.Session // latest row per session
	// profiles are the customers whose customers row is derived again
	// after the batch's touchpoints are written: those of touchpoints
	// and those of replayed records (profile.go).
	profiles map[string]struct{}
	// derive are those of profiles whose row must be derived from
	// ClickHouse: a touchpoint came out of order, late, or from a replay.
	derive map[string]struct{}
	// memRows are copies of the in-memory rows of profiles not derived,
	// taken before the write starts; fromStore are the others, sorted;
	// derived holds what the write derived for them (nil: no row), for
	// the processor to hold once the write is done (pipeline.go).
	memRows   []schemas.Customer
	fromStore []string
	derived   map[string]*schemas.Customer
}

// deriveProfile marks a customer's profile to be derived from ClickHouse.
func (o *output) deriveProfile(customerID string) {
	if o.derive == nil {
		o.derive = map[string]struct{}{}
	}
	o.derive[customerID] = struct{}{}
}

// touchProfile marks a customer's profile to be derived again.
func (o *output) touchProfile(customerID string) {
	if o.profiles == nil {
		o.profiles = map[string]struct{}{}
	}
	o.profiles[customerID] = struct{}{}
}

// addSession keeps the highest version of each session.
func (o *output) addSession(row schemas.Session) {
	if o.sessions == nil {
		o.sessions = map[string]schemas.Session{}
	}
	if cur, ok := o.sessions[row.SessionID]; !ok || row.Version >= cur.Version {
		o.sessions[row.SessionID] = row
	}
}

// addJourneys keeps the highest version of each journey.
func (o *output) addJourneys(js []schemas.Journey) {
	if o.index == nil {
		o.index = map[string]int{}
	}
	for _, j := range js {
		if i, ok := o.index[j.JourneyID]; ok {
			if j.Version >= o.journeys[i].Version {
				o.journeys[i] = j
			}
			continue
		}
		o.index[j.JourneyID] = len(o.journeys)
		o.journeys = append(o.journeys, j)
	}
}

// prepareBatch applies one batch in memory: what it will write, and the
// offsets to commit once it is written.
func (p *Processor) prepareBatch(ctx context.Context, g *generation, batch []kafka.Message, live bool) (*prepared, error) {
	start := time.Now()
	if err := p.learnForgotten(ctx, g); err != nil {
		return nil, err
	}
	out, refolds, err := p.apply(ctx, g, batch)
	if err != nil {
		return nil, err
	}
	wm := p.watermark(live)
	if err := p.refold(ctx, refolds, wm, out); err != nil {
		return nil, err
	}
	// The rows a take-over left pending go out with this batch; should its
	// write fail, the generation ends and the next take-over finds them
	// again.
	out.addJourneys(g.pending)
	for _, row := range g.pendingSessions {
		out.addSession(row)
	}
	g.pending, g.pendingSessions = nil, nil
	p.expire(wm, out)
	p.session.Evict()
	for i := range out.touchpoints {
		out.touchProfile(out.touchpoints[i].CustomerID)
	}
	offsets := map[int]int64{}
	for _, m := range batch {
		if m.Offset+1 > offsets[m.Partition] {
			offsets[m.Partition] = m.Offset + 1
		}
	}
	return &prepared{out: out, offsets: offsets, start: start}, nil
}

// finishBatch writes a prepared batch and commits its offsets; it returns
// only once they are committed, or with an error when ctx ends first.
func (p *Processor) finishBatch(ctx context.Context, gen *kafka.Generation, b *prepared) error {
	if err := p.write(ctx, b.out); err != nil {
		return err
	}
	if err := p.retry(ctx, "commit", func() error {
		err := gen.CommitOffsets(map[string]map[int]int64{p.cfg.Topic: b.offsets})
		if err != nil {
			p.metrics.commitFailures.Inc()
		}
		return err
	}); err != nil {
		return err
	}
	p.metrics.batches.Inc()
	p.metrics.batchDuration.Observe(time.Since(b.start).Seconds())
	return nil
}

// watermark is the time up to which journeys count as idle: the latest event
// time seen, or the wall clock while the stream is live, so that a quiet
// customer's journey does not stay open forever.
func (p *Processor) watermark(live bool) time.Time {
	if live {
		p.live = true
	}
	wm := p.maxEventTime
	if p.live {
		if now := p.now(); now.After(wm) {
			wm = now
		}
	}
	return wm
}

// closeIdle writes the journeys that went idle while no records came.
func (p *Processor) closeIdle(ctx context.Context, g *generation) error {
	if err := p.settle(); err != nil {
		return err
	}
	if err := p.learnForgotten(ctx, g); err != nil {
		return err
	}
	out := &output{}
	out.addJourneys(g.pending)
	p.expire(p.watermark(false), out)
	if len(out.journeys) == 0 && len(out.flags) == 0 {
		return nil
	}
	if err := p.write(ctx, out); err != nil {
		return err
	}
	g.pending = nil
	return nil
}

// apply decodes a batch and runs the engine in event-time order per
// customer. Records an earlier processor wrote already go to replay;
// touchpoints older than their customer's latest (within the lateness) are
// returned per customer for refold.
func (p *Processor) apply(ctx context.Context, g *generation, batch []kafka.Message) (*output, map[string][]schemas.Touchpoint, error) {
	st := p.beginStitch(batch)
	tps := make([]schemas.Touchpoint, 0, len(batch))
	var replayed []schemas.Touchpoint
	// Touchpoints forwarded from an id merged into their customer came on
	// time under that id: they are placed in event-time order however old.
	merged := map[string]bool{}
	for _, m := range st.records {
		tp, id, err := decode(m.Value)
		if err != nil {
			p.metrics.events.WithLabelValues("invalid").Inc()
			p.log.Error("undecodable record skipped", "partition", m.Partition, "offset", m.Offset, "err", err)
			continue
		}
		tp.KafkaPartition, tp.KafkaOffset = int32(m.Partition), m.Offset
		if p.forgottenRecord(&tp, id) {
			continue // never applied, replayed or forwarded
		}
		if p.route(st, tp, id) {
			continue // its customer was merged into a user
		}
		if w, ok := g.written[m.Partition]; ok && m.Offset <= w {
			replayed = append(replayed, tp)
			continue
		}
		if id.mergedFrom != "" {
			merged[tp.MessageID] = true
		}
		tps = append(tps, tp)
	}
	out := &output{touchpoints: make([]schemas.Touchpoint, 0, len(tps))}
	// A write that ends while this batch applies may tell it which of its
	// customers' profiles to derive again (pipeline.go).
	p.preparing = out
	if err := p.restoreUnknown(ctx, g, tps); err != nil {
		return nil, nil, err
	}
	// A sender that retried re-sends a messageId in a new record. The
	// engine answers for a customer's current journey: every touchpoint
	// stored from its start on is in it. A customer it does not hold has
	// nothing stored (the take-over and restoreUnknown rebuilt everyone who
	// has). Only older records, and those the engine holds, are looked up
	// in ClickHouse: a held one may be this very record (see below).
	var ids []string
	held := map[string]bool{}
	for i := range tps {
		tp := &tps[i]
		if !p.engine.Has(tp.CustomerID) {
			continue
		}
		latest, _ := p.engine.Latest(tp.CustomerID)
		if h, known := p.engine.Holds(tp.CustomerID, tp.MessageID, tp.Timestamp); known && !tp.Timestamp.Before(latest.Add(-p.cfg.Lateness)) {
			if h {
				held[tp.MessageID] = true
				ids = append(ids, tp.MessageID)
			}
			continue
		}
		ids = append(ids, tp.MessageID)
	}
	stored := map[string]store.StoredMessage{}
	if len(ids) > 0 {
		if err := p.retry(ctx, "look up message ids", func() (err error) {
			stored, err = p.sink.StoredMessageIDs(ctx, ids)
			return err
		}); err != nil {
			return nil, nil, err
		}
	}
	tps = inEventOrder(tps)
	// A message stored under another customer is not a duplicate: it is a
	// touchpoint forwarded to the user it was stitched to (identity.go).
	type messageKey struct{ customer, message string }
	seen := make(map[messageKey]struct{}, len(tps))
	fresh := tps[:0]
	landed := 0
	for i := range tps {
		m, isStored := stored[tps[i].MessageID]
		mine := isStored && m.CustomerID == tps[i].CustomerID
		if mine && m.KafkaPartition == tps[i].KafkaPartition && m.KafkaOffset == tps[i].KafkaOffset {
			// Stored from this very record, not from a re-send: the
			// previous owner's insert landed after the take-over read
			// how far the partition was written (an insert the client
			// gave up on as its generation ended, which ClickHouse
			// still committed), and the rest of its batch may be
			// missing. It is replayed like a record below the written
			// offset.
			replayed = append(replayed, tps[i])
			landed++
			continue
		}
		if held[tps[i].MessageID] || mine {
			p.metrics.events.WithLabelValues("duplicate").Inc()
			continue
		}
		key := messageKey{tps[i].CustomerID, tps[i].MessageID}
		if _, dup := seen[key]; dup {
			p.metrics.events.WithLabelValues("duplicate").Inc()
			continue
		}
		seen[key] = struct{}{}
		fresh = append(fresh, tps[i])
	}
	if landed > 0 {
		p.log.Warn("records written by the partitions' previous owner after the take-over read its progress; replaying them",
			"records", landed, "written_offsets", g.written)
	}
	if len(replayed) > 0 {
		if err := p.replay(ctx, replayed, out); err != nil {
			return nil, nil, err
		}
	}
	refolds := map[string][]schemas.Touchpoint{}
	for lo := 0; lo < len(fresh); {
		hi := lo + 1
		for hi < len(fresh) && fresh[hi].CustomerID == fresh[lo].CustomerID {
			hi++
		}
		group := fresh[lo:hi:hi]
		lo = hi
		if latest, held := p.engine.Latest(group[0].CustomerID); held {
			group = p.splitLate(group, latest, merged, out)
			if len(group) > 0 && group[0].Timestamp.Before(latest) {
				// Older than what the customer's journeys already hold:
				// refold places it in event-time order.
				refolds[group[0].CustomerID] = group
				p.metrics.events.WithLabelValues("reordered").Add(float64(len(group)))
				continue
			}
		}
		for i := range group {
			p.applyInOrder(group[i], out)
		}
	}
	if err := p.finishStitch(ctx, st); err != nil {
		return nil, nil, err
	}
	return out, refolds, nil
}

// splitLate stores the touchpoints of one customer that are older than
// their latest by more than the lateness as late (in no journey, seen by no
// rule), except those merged from another id, and returns the others.
func (p *Processor) splitLate(group []schemas.Touchpoint, latest time.Time, merged map[string]bool, out *output) []schemas.Touchpoint {
	cutoff := latest.Add(-p.cfg.Lateness)
	keep := group[:0]
	for _, tp := range group {
		if !tp.Timestamp.Before(cutoff) || merged[tp.MessageID] {
			keep = append(keep, tp)
			continue
		}
		tp.Late, tp.JourneyID, tp.Version = true, "", max(tp.Version, uint64(tp.KafkaOffset)+1)
		out.touchpoints = append(out.touchpoints, tp)
		out.deriveProfile(tp.CustomerID)
		p.metrics.events.WithLabelValues("late").Inc()
		p.metrics.late.Inc()
	}
	return keep
}

// applyInOrder runs one touchpoint that is not older than its customer's
// latest through the engine and the sessions.
func (p *Processor) applyInOrder(tp schemas.Touchpoint, out *output) {
	held := p.engine.Has(tp.CustomerID)
	res := p.engine.Apply(tp)
	if res.Duplicate {
		p.metrics.events.WithLabelValues("duplicate").Inc()
		return
	}
	p.metrics.events.WithLabelValues("applied").Inc()
	if tp.Timestamp.After(p.maxEventTime) {
		p.maxEventTime = tp.Timestamp
	}
	if res.Touchpoint != nil {
		row := *res.Touchpoint
		if s, ok := p.session.Apply(&row); ok {
			out.addSession(s)
		}
		out.touchpoints = append(out.touchpoints, row)
		p.addToProfile(&row, held, out)
	}
	out.addJourneys(res.Journeys)
	out.flags = append(out.flags, res.Flags...)
}

// write inserts touchpoints before journeys and flags: recovery rebuilds
// journeys and flags from stored touchpoints, never the other way round.
// It may run while the next batch is applied (pipeline.go), so it reads
// only out, and writes through the store directly.
func (p *Processor) write(ctx context.Context, out *output) error {
	steps := []struct {
		table string
		rows  int
		fn    func() error
	}{
		{"touchpoints", len(out.touchpoints), func() error { return p.store.InsertTouchpoints(ctx, out.touchpoints) }},
		{"journeys", len(out.journeys), func() error { return p.store.InsertJourneys(ctx, out.journeys) }},
		{"friction_flags", len(out.flags), func() error { return p.store.InsertFlags(ctx, out.flags) }},
		{"sessions", len(out.sessions), func() error { return p.store.InsertSessions(ctx, sessionRows(out.sessions)) }},
		// Last: a profile is derived from the touchpoints as stored.
		{"customers", len(out.profiles), func() error { return p.writeProfiles(ctx, out) }},
	}
	for _, s := range steps {
		if s.rows == 0 {
			continue
		}
		start := time.Now()
		err := p.retry(ctx, "insert "+s.table, func() error {
			err := s.fn()
			if err != nil {
				p.metrics.insertFailures.WithLabelValues(s.table).Inc()
			}
			return err
		})
		if err != nil {
			return err
		}
		p.metrics.insertDuration.WithLabelValues(s.table).Observe(time.Since(start).Seconds())
	}
	if len(out.flags) > 0 && p.flags != nil {
		if err := p.retry(ctx, "publish friction", func() error { return p.flags.PublishFlags(ctx, out.flags) }); err != nil {
			return err
		}
	}
	for _, f := range out.flags {
		p.metrics.flags.WithLabelValues(f.Rule, f.Severity).Inc()
	}
	return nil
}

// decode turns a record of the touchpoints topic into the engine's input,
// and what it says about identities.
func decode(value []byte) (schemas.Touchpoint, recordIdentity, error) {
	var ev schemas.Event
	// segmentio/encoding decodes the same JSON as encoding/json, three to
	// four times faster: decoding was the processor's largest own cost.
	if err := json.Unmarshal(value, &ev); err != nil {
		return schemas.Touchpoint{}, recordIdentity{}, fmt.Errorf("decode event: %w", err)
	}
	if ev.MessageID == "" {
		return schemas.Touchpoint{}, recordIdentity{}, errors.New("decode event: no messageId")
	}
	if ev.CustomerID() == "" {
		return schemas.Touchpoint{}, recordIdentity{}, fmt.Errorf("decode event %s: neither userId nor anonymousId", ev.MessageID)
	}
	props := string(ev.Properties)
	if props == "" {
		props = "{}"
	}
	ctxJSON := string(ev.Context)
	if ctxJSON == "" {
		ctxJSON = "{}"
	}
	tp := schemas.Touchpoint{
		MessageID:   ev.MessageID,
		CustomerID:  ev.CustomerID(),
		AnonymousID: ev.AnonymousID,
		UserID:      ev.UserID,
		Type:        ev.Type,
		Event:       ev.EventName(),
		Channel:     ev.Channel,
		// ClickHouse keeps milliseconds; the engine sees what a restore
		// from ClickHouse will see.
		Timestamp:  ev.Timestamp.UTC().Truncate(time.Millisecond),
		ReceivedAt: ev.ReceivedAt.UTC(),
		Properties: props,
		Context:    ctxJSON,
		Source:     ev.Source,
	}
	id := identityOf(&ev, &tp)
	return tp, id, nil
}

func sessionRows(m map[string]schemas.Session) []schemas.Session {
	rows := make([]schemas.Session, 0, len(m))
	for _, r := range m {
		rows = append(rows, r)
	}
	return rows
}

// inEventOrder sorts touchpoints by customer, then event time, message id
// and log position: a total order, so the result does not depend on the
// order records came in. It sorts positions, not the touchpoints
// themselves, which are a few hundred bytes each: moving those was a tenth
// of a batch's time. The touchpoints are then put in that order in place,
// each moved once along the permutation's cycles: a sorted copy was a
// batch-sized allocation (30 MB for 100,000 touchpoints) every batch.
func inEventOrder(tps []schemas.Touchpoint) []schemas.Touchpoint {
	idx := make([]int32, len(tps))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(i, j int32) int {
		a, b := &tps[i], &tps[j]
		if c := strings.Compare(a.CustomerID, b.CustomerID); c != 0 {
			return c
		}
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		if c := strings.Compare(a.MessageID, b.MessageID); c != 0 {
			return c
		}
		if c := cmp.Compare(a.KafkaPartition, b.KafkaPartition); c != 0 {
			return c
		}
		return cmp.Compare(a.KafkaOffset, b.KafkaOffset)
	})
	// Position i takes the touchpoint at idx[i]; a done position points
	// at itself.
	for start := range idx {
		if idx[start] == int32(start) {
			continue
		}
		held := tps[start]
		at := start
		for {
			from := int(idx[at])
			idx[at] = int32(at)
			if from == start {
				tps[at] = held
				break
			}
			tps[at] = tps[from]
			at = from
		}
	}
	return tps
}
