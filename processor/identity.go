package processor

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/schemas"
)

// Identity stitching. An identify (anonymousId and userId) or an alias
// (previousId → userId) links an id to a user. Records are keyed by userId,
// else anonymousId, so the link arrives on the user's partition while the
// linked id's touchpoints sit on the linked id's partition, perhaps owned by
// another processor. Each side does what only it can:
//
//   - The user's processor writes the link to the identities table and
//     produces a merge record keyed by the linked id, which lands on the
//     linked id's partition, before its batch is committed.
//   - The linked id's processor, on the merge record, forwards every
//     touchpoint of the linked id (those stored, and those of the batch) to
//     the user, keyed by the user, then rewrites the linked id's journeys
//     and friction flags with retracted = 1 and a higher version, and last
//     records the link as merged (identities.merged = 1, with its partition).
//     From then on records of the linked id are forwarded, not applied. A
//     processor taking over the partition loads the merged links.
//   - The user's processor applies forwarded touchpoints as the user's and
//     stores them with a version above the linked id's row, so that FINAL
//     shows each touchpoint once, under the user.
//
// Every step is idempotent: a replayed merge record finds its link merged
// and does nothing, a replayed forwarded record is a duplicate under the
// user, a re-sent identify produces a merge record the linked id's processor
// ignores. The first user a linked id is merged into keeps it.

// IdentityStore is what identity stitching reads and writes in ClickHouse.
// *store.Store implements it.
type IdentityStore interface {
	InsertIdentities(ctx context.Context, rows []schemas.Identity) error
	// MergedIdentities maps the merged linked ids of the partitions to
	// their user.
	MergedIdentities(ctx context.Context, partitions []int32) (map[string]string, error)
	// CustomerTouchpoints, CustomerJourneys and CustomerFlags read the
	// latest rows stored under the customers.
	CustomerTouchpoints(ctx context.Context, customerIDs []string) (map[string][]schemas.Touchpoint, error)
	CustomerJourneys(ctx context.Context, customerIDs []string) ([]schemas.Journey, error)
	CustomerFlags(ctx context.Context, customerIDs []string) ([]schemas.FrictionFlag, error)
}

// RecordWriter produces records to the touchpoints topic, partitioned by a
// hash of their key like ingest's, and returns once all in-sync replicas
// acknowledged them. *kafka.Writer implements it.
type RecordWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// headerMerge marks a merge record; its value is a mergeRecord. Ingest
// never writes headers, so a sender cannot forge one.
const headerMerge = "journeys-merge"

// retractedBit raises the version of the rows a merge retracts above any
// version the journey engine gives a journey or flag, so that a journey
// rebuilt and written again (a replay, a take-over) stays retracted.
const retractedBit = 1 << 62

// Identity versions: the user's processor writes a link unmerged, the
// linked id's processor writes it merged, which wins.
const (
	identityLinkedVersion = 1
	identityMergedVersion = 2
)

// link is an identity link made by an identify or an alias.
type link struct {
	From      string    `json:"from"` // the anonymous id or the alias's previous id
	Into      string    `json:"into"` // the user id
	Kind      string    `json:"kind"` // schemas.TypeIdentify or schemas.TypeAlias
	MessageID string    `json:"messageId"`
	At        time.Time `json:"at"`
}

// recordIdentity is what a touchpoint record says about identities.
type recordIdentity struct {
	// link is set for an identify or alias a sender made.
	link *link
	// mergedFrom is the id a forwarded record was stored under before.
	mergedFrom string
}

// identityOf reads the identity link an event makes, and marks a forwarded
// touchpoint: its row must get a version above the one it had under the
// linked id. A forwarded record makes no link: its own link, if any, was
// made when it first arrived.
func identityOf(ev *schemas.Event, tp *schemas.Touchpoint) recordIdentity {
	if ev.MergedFrom != "" {
		tp.Version = ev.MergedVersion + 1
		return recordIdentity{mergedFrom: ev.MergedFrom}
	}
	var from string
	switch ev.Type {
	case schemas.TypeIdentify:
		from = ev.AnonymousID
	case schemas.TypeAlias:
		from = ev.PreviousID
	}
	if from == "" || ev.UserID == "" || from == ev.UserID {
		return recordIdentity{}
	}
	return recordIdentity{link: &link{From: from, Into: ev.UserID, Kind: ev.Type, MessageID: ev.MessageID, At: tp.Timestamp}}
}

// mergeMessage is the merge record of l, keyed by the linked id so that it
// lands on the linked id's partition.
func mergeMessage(l link) (kafka.Message, error) {
	v, err := json.Marshal(l)
	if err != nil {
		return kafka.Message{}, fmt.Errorf("encode merge of %s: %w", l.MessageID, err)
	}
	return kafka.Message{Key: []byte(l.From), Value: v, Headers: []kafka.Header{{Key: headerMerge, Value: []byte("1")}}}, nil
}

func isMerge(m kafka.Message) bool {
	for _, h := range m.Headers {
		if h.Key == headerMerge {
			return true
		}
	}
	return false
}

func parseMerge(m kafka.Message) (link, error) {
	var l link
	if err := json.Unmarshal(m.Value, &l); err != nil {
		return link{}, fmt.Errorf("decode merge record: %w", err)
	}
	if l.From == "" || l.Into == "" || l.From == l.Into {
		return link{}, fmt.Errorf("decode merge record: from %q into %q", l.From, l.Into)
	}
	return l, nil
}

// forwardedMessage is tp as an event of the user into, keyed by into. It
// carries what decode reads, so the user's processor sees the touchpoint
// the linked id's processor stored, under the user.
func forwardedMessage(tp schemas.Touchpoint, into, from string) (kafka.Message, error) {
	ev := schemas.Event{
		MessageID:   tp.MessageID,
		Type:        tp.Type,
		AnonymousID: tp.AnonymousID,
		UserID:      into,
		Channel:     tp.Channel,
		Timestamp:   tp.Timestamp,
		ReceivedAt:  tp.ReceivedAt,
		Context:     json.RawMessage(tp.Context),
		Properties:  json.RawMessage(tp.Properties),
		Source:      tp.Source,
		MergedFrom:  from,
		// A touchpoint of the batch that was never stored gets a
		// version above the engine's first one all the same.
		MergedVersion: max(tp.Version, 1),
	}
	if tp.Type == schemas.TypeTrack {
		ev.Event = tp.Event
	}
	v, err := json.Marshal(ev)
	if err != nil {
		return kafka.Message{}, fmt.Errorf("encode forwarded touchpoint %s: %w", tp.MessageID, err)
	}
	return kafka.Message{Key: []byte(into), Value: v}, nil
}

// retractJourney and retractFlag are the rows that say a journey or flag of
// a merged id no longer exists.
func retractJourney(j schemas.Journey) schemas.Journey {
	j.Retracted = true
	j.Version |= retractedBit
	return j
}

func retractFlag(f schemas.FrictionFlag) schemas.FrictionFlag {
	f.Retracted = true
	f.Version |= retractedBit
	return f
}

// identities is what the processor knows of identities in the current
// generation.
type identities struct {
	// redirects maps the merged linked ids of the assigned partitions to
	// their user: their records are forwarded.
	redirects map[string]string
	// produced are the links this processor produced a merge record for,
	// so that a user who identifies on every page view costs one.
	produced map[string]string
}

func (ids *identities) reset(redirects map[string]string) {
	ids.redirects = redirects
	ids.produced = map[string]string{}
}

// stitch is the identity work of one batch.
type stitch struct {
	// records are the batch without its merge records.
	records []kafka.Message
	// merges are the merge records of the batch that take effect, in
	// order; pending maps their linked id to the user.
	merges  []merge
	pending map[string]string
	// forward are touchpoints of the batch that belong to another user.
	forward []forwarded
	// links are identities made in the batch, for the user's side.
	links []link
}

type merge struct {
	link
	partition int32
}

type forwarded struct {
	tp       schemas.Touchpoint
	from, to string
}

// beginStitch takes the merge records out of a batch. A merge takes effect
// unless the linked id was merged into another user already (the first
// user keeps it) or into the same one (a replay: nothing to do).
func (p *Processor) beginStitch(batch []kafka.Message) *stitch {
	st := &stitch{records: batch}
	for i := range batch {
		if isMerge(batch[i]) {
			// The batch itself stays whole: its offsets are committed.
			st.records = make([]kafka.Message, 0, len(batch))
			break
		}
	}
	if len(st.records) == len(batch) {
		return st
	}
	for _, m := range batch {
		if !isMerge(m) {
			st.records = append(st.records, m)
			continue
		}
		l, err := parseMerge(m)
		if err != nil {
			p.metrics.events.WithLabelValues("invalid").Inc()
			p.log.Error("undecodable merge record skipped", "partition", m.Partition, "offset", m.Offset, "err", err)
			continue
		}
		if p.forgottenLink(l) {
			continue
		}
		p.metrics.events.WithLabelValues("merge").Inc()
		cur, ok := p.ids.redirects[l.From]
		if !ok {
			cur, ok = st.pending[l.From]
		}
		if ok {
			if cur != l.Into {
				p.metrics.identity.WithLabelValues("conflict").Inc()
				p.log.Warn("linked id already merged into another user; link ignored", "linked", l.From, "message_id", l.MessageID)
			}
			continue
		}
		if st.pending == nil {
			st.pending = map[string]string{}
		}
		st.pending[l.From] = l.Into
		st.merges = append(st.merges, merge{link: l, partition: int32(m.Partition)})
	}
	return st
}

// route notes the link a decoded touchpoint record makes and decides
// whether it is one to forward (its customer was merged into a user; true)
// or one to apply here.
func (p *Processor) route(st *stitch, tp schemas.Touchpoint, id recordIdentity) bool {
	// The link is this processor's to make even when the user was merged
	// further: the linked id's touchpoints then follow the chain.
	if id.link != nil {
		st.links = append(st.links, *id.link)
	}
	to, ok := st.pending[tp.CustomerID]
	if !ok {
		to, ok = p.ids.redirects[tp.CustomerID]
	}
	if ok {
		if to == id.mergedFrom {
			// Two ids merged into each other: keep the touchpoint
			// rather than send it round for ever.
			p.log.Warn("identity cycle; touchpoint kept", "customer", tp.CustomerID, "message_id", tp.MessageID)
		} else {
			st.forward = append(st.forward, forwarded{tp: tp, from: tp.CustomerID, to: to})
			return true
		}
	}
	return false
}

// finishStitch does the batch's identity work before the batch is written
// and committed: the user's side of new links, then the merges and the
// forwarding.
func (p *Processor) finishStitch(ctx context.Context, st *stitch) error {
	if err := p.linkIdentities(ctx, st.links); err != nil {
		return err
	}
	if len(st.merges) == 0 {
		return p.forward(ctx, st.forward)
	}
	return p.mergeIdentities(ctx, st.merges, st.forward)
}

// linkIdentities is the user's side: the link goes to the identities table
// and a merge record to the linked id's partition.
func (p *Processor) linkIdentities(ctx context.Context, links []link) error {
	var rows []schemas.Identity
	var msgs []kafka.Message
	for _, l := range links {
		if p.ids.produced[l.From] == l.Into {
			continue
		}
		m, err := mergeMessage(l)
		if err != nil {
			return err
		}
		rows = append(rows, schemas.Identity{LinkedID: l.From, UserID: l.Into, Kind: l.Kind, LinkedAt: l.At,
			MessageID: l.MessageID, KafkaPartition: -1, Version: identityLinkedVersion})
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := p.retry(ctx, "insert identities", func() error { return p.sink.InsertIdentities(ctx, rows) }); err != nil {
		return err
	}
	if err := p.retry(ctx, "produce merge records", func() error { return p.writeRecords(ctx, msgs) }); err != nil {
		return err
	}
	for _, l := range links {
		p.ids.produced[l.From] = l.Into
	}
	p.metrics.identity.WithLabelValues("linked").Add(float64(len(msgs)))
	return nil
}

// mergeIdentities is the linked id's side of the batch's merges: it
// forwards the linked ids' stored touchpoints with inBatch (the batch's
// records to forward), retracts their journeys and flags, and last records
// the links as merged, so that a redirect a take-over loads means the merge
// was carried out.
func (p *Processor) mergeIdentities(ctx context.Context, merges []merge, inBatch []forwarded) error {
	from := make([]string, len(merges))
	into := make(map[string]string, len(merges))
	for i, m := range merges {
		from[i] = m.From
		into[m.From] = m.Into
	}
	var fwd []forwarded
	var journeys []schemas.Journey
	var flags []schemas.FrictionFlag
	var customers []schemas.Customer
	err := p.retry(ctx, "load merged ids' rows", func() error {
		fwd, journeys, flags = nil, nil, nil
		var err error
		if customers, err = p.retractedProfiles(ctx, from); err != nil {
			return err
		}
		tps, err := p.sink.CustomerTouchpoints(ctx, from)
		if err != nil {
			return err
		}
		for _, c := range from {
			for _, tp := range tps[c] {
				// A late touchpoint is in no journey: it stays where
				// it is.
				if !tp.Late {
					fwd = append(fwd, forwarded{tp: tp, from: c, to: into[c]})
				}
			}
		}
		js, err := p.sink.CustomerJourneys(ctx, from)
		if err != nil {
			return err
		}
		for _, j := range js {
			if !j.Retracted {
				journeys = append(journeys, retractJourney(j))
			}
		}
		fs, err := p.sink.CustomerFlags(ctx, from)
		if err != nil {
			return err
		}
		for _, f := range fs {
			if !f.Retracted {
				flags = append(flags, retractFlag(f))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Forward before retracting: a crash in between leaves the merge to be
	// done again, never journeys retracted whose touchpoints went nowhere.
	// Stored rows come first: a record of the batch that is stored too
	// is forwarded with its stored version.
	if err := p.forward(ctx, append(fwd, inBatch...)); err != nil {
		return err
	}
	if len(journeys) > 0 {
		if err := p.retry(ctx, "insert retracted journeys", func() error { return p.sink.InsertJourneys(ctx, journeys) }); err != nil {
			return err
		}
	}
	if len(flags) > 0 {
		if err := p.retry(ctx, "insert retracted friction flags", func() error { return p.sink.InsertFlags(ctx, flags) }); err != nil {
			return err
		}
	}
	if err := p.retry(ctx, "insert retracted customers", func() error { return p.sink.InsertCustomers(ctx, customers) }); err != nil {
		return err
	}
	rows := make([]schemas.Identity, len(merges))
	for i, m := range merges {
		rows[i] = schemas.Identity{LinkedID: m.From, UserID: m.Into, Kind: m.Kind, LinkedAt: m.At, MessageID: m.MessageID,
			KafkaPartition: m.partition, Merged: true, Version: identityMergedVersion}
	}
	if err := p.retry(ctx, "insert merged identities", func() error { return p.sink.InsertIdentities(ctx, rows) }); err != nil {
		return err
	}
	for _, m := range merges {
		p.ids.redirects[m.From] = m.Into
		// What the engine holds of the linked id must not produce rows
		// again (an idle close, an absence).
		p.engine.Forget(m.From)
		p.session.Forget(m.From)
	}
	p.metrics.identity.WithLabelValues("merged").Add(float64(len(merges)))
	return nil
}

// forward produces touchpoints to their user, each message once, in event
// time order.
func (p *Processor) forward(ctx context.Context, fwd []forwarded) error {
	if len(fwd) == 0 {
		return nil
	}
	sort.SliceStable(fwd, func(i, j int) bool {
		a, b := &fwd[i].tp, &fwd[j].tp
		if !a.Timestamp.Equal(b.Timestamp) {
			return a.Timestamp.Before(b.Timestamp)
		}
		return a.MessageID < b.MessageID
	})
	seen := make(map[string]bool, len(fwd))
	msgs := make([]kafka.Message, 0, len(fwd))
	for _, f := range fwd {
		if seen[f.tp.MessageID] {
			continue
		}
		seen[f.tp.MessageID] = true
		m, err := forwardedMessage(f.tp, f.to, f.from)
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	if err := p.retry(ctx, "forward touchpoints", func() error { return p.writeRecords(ctx, msgs) }); err != nil {
		return err
	}
	p.metrics.events.WithLabelValues("forwarded").Add(float64(len(msgs)))
	return nil
}

func (p *Processor) writeRecords(ctx context.Context, msgs []kafka.Message) error {
	if p.records == nil {
		return fmt.Errorf("produce %d records: no record writer", len(msgs))
	}
	// Forwarded touchpoints follow the rows of the batch before
	// (pipeline.go).
	if err := p.settle(); err != nil {
		return err
	}
	if err := p.records.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("produce %d records: %w", len(msgs), err)
	}
	return nil
}

// loadIdentities starts a generation's identities from the merged links of
// the assigned partitions.
func (p *Processor) loadIdentities(ctx context.Context, partitions []int32) error {
	redirects, err := p.sink.MergedIdentities(ctx, partitions)
	if err != nil {
		return err
	}
	p.ids.reset(redirects)
	return nil
}
