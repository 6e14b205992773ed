package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/processor/journey"
	"github.com/journeys/journeys/schemas"
)

// Sink is where the processor writes results and reads back what it needs
// to recover. *store.Store implements it.
type Sink interface {
	InsertTouchpoints(ctx context.Context, rows []schemas.Touchpoint) error
	InsertJourneys(ctx context.Context, rows []schemas.Journey) error
	InsertFlags(ctx context.Context, rows []schemas.FrictionFlag) error
	// StoredMessageIDs maps those of ids already stored to their journey.
	StoredMessageIDs(ctx context.Context, ids []string) (map[string]string, error)
	// JourneyHistory loads the touchpoints of the customers' latest
	// journeys and of the listed journeys, in event-time order.
	JourneyHistory(ctx context.Context, customerIDs, journeyIDs []string) (map[string][]schemas.Touchpoint, error)
}

// FlagPublisher hands friction flags to alerting and to systems that act on
// them. Nil disables publishing.
type FlagPublisher interface {
	PublishFlags(ctx context.Context, flags []schemas.FrictionFlag) error
}

// Processor runs the consumer group.
type Processor struct {
	cfg     Config
	sink    Sink
	flags   FlagPublisher
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time
	engine  *journey.Engine
}

// New builds a processor; Run starts it.
func New(cfg Config, sink Sink, flags FlagPublisher, reg prometheus.Registerer, log *slog.Logger) (*Processor, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	p := &Processor{cfg: cfg, sink: sink, flags: flags, log: log, metrics: m, now: time.Now}
	p.engine = journey.New(cfg.Journey, func() time.Time { return p.now() })
	return p, nil
}

// Run consumes until ctx is cancelled. Each consumer-group generation starts
// from the committed offsets with empty customer state; state is rebuilt from
// ClickHouse as customers show up.
func (p *Processor) Run(ctx context.Context) error {
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                p.cfg.GroupID,
		Brokers:           p.cfg.Brokers,
		Topics:            []string{p.cfg.Topic},
		StartOffset:       kafka.FirstOffset,
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  10 * time.Second,
		JoinGroupBackoff:  time.Second,
	})
	if err != nil {
		return fmt.Errorf("join consumer group %s: %w", p.cfg.GroupID, err)
	}
	defer group.Close()
	// Closing the group ends the current generation, whose context every
	// fetcher and the batch loop watch.
	stop := context.AfterFunc(ctx, func() { group.Close() })
	defer stop()
	for {
		gen, err := group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, kafka.ErrGroupClosed) {
				return nil
			}
			p.log.Warn("consumer group generation failed; retrying", "group", p.cfg.GroupID, "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		p.runGeneration(gen)
	}
}

// runGeneration fetches the assigned partitions and processes batches until
// the generation ends (a rebalance or shutdown).
func (p *Processor) runGeneration(gen *kafka.Generation) {
	p.engine.Reset()
	p.metrics.customers.Set(0)
	records := make(chan kafka.Message, p.cfg.BatchSize)
	assigned := gen.Assignments[p.cfg.Topic]
	p.log.Info("consumer group generation started", "generation", gen.ID, "partitions", len(assigned))
	for _, a := range assigned {
		a := a
		gen.Start(func(ctx context.Context) { p.fetch(ctx, a, records) })
	}
	done := make(chan struct{})
	gen.Start(func(ctx context.Context) {
		defer close(done)
		p.consume(ctx, gen, records)
	})
	<-done
}

// fetch reads one partition from the committed offset into records.
func (p *Processor) fetch(ctx context.Context, a kafka.PartitionAssignment, records chan<- kafka.Message) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   p.cfg.Brokers,
		Topic:     p.cfg.Topic,
		Partition: a.ID,
		MinBytes:  1,
		MaxBytes:  16 << 20,
		MaxWait:   100 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(a.Offset); err != nil {
		p.log.Error("set partition offset", "partition", a.ID, "offset", a.Offset, "err", err)
		return
	}
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("fetch failed", "partition", a.ID, "err", err)
			}
			return
		}
		select {
		case records <- m:
		case <-ctx.Done():
			return
		}
	}
}

// consume gathers records into batches and processes each to the commit.
func (p *Processor) consume(ctx context.Context, gen *kafka.Generation, records <-chan kafka.Message) {
	batch := make([]kafka.Message, 0, p.cfg.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
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
		}
		timer.Stop()
		if len(batch) == 0 {
			continue
		}
		if err := p.processBatch(ctx, gen, batch); err != nil {
			// Only cancellation ends processBatch with an error: the
			// generation is over and the next owner reads the batch again.
			p.log.Info("batch abandoned at end of generation", "records", len(batch), "err", err)
			return
		}
		batch = batch[:0]
	}
}

// processBatch applies one batch and writes it; it returns only once the
// batch's offsets are committed, or with an error when ctx ends first.
func (p *Processor) processBatch(ctx context.Context, gen *kafka.Generation, batch []kafka.Message) error {
	start := time.Now()
	out, err := p.apply(ctx, batch)
	if err != nil {
		return err
	}
	if err := p.write(ctx, out); err != nil {
		return err
	}
	offsets := map[int]int64{}
	for _, m := range batch {
		if m.Offset+1 > offsets[m.Partition] {
			offsets[m.Partition] = m.Offset + 1
		}
	}
	if err := p.retry(ctx, "commit", func() error {
		return gen.CommitOffsets(map[string]map[int]int64{p.cfg.Topic: offsets})
	}); err != nil {
		return err
	}
	p.metrics.batches.Inc()
	p.metrics.batchDuration.Observe(time.Since(start).Seconds())
	p.metrics.customers.Set(float64(p.engine.Len()))
	return nil
}

// output is what one batch writes.
type output struct {
	touchpoints []schemas.Touchpoint
	journeys    []schemas.Journey
	flags       []schemas.FrictionFlag
}

// apply decodes a batch, drops what is stored already, restores customers
// seen for the first time in this generation, and runs the engine in event
// time order per customer.
func (p *Processor) apply(ctx context.Context, batch []kafka.Message) (*output, error) {
	tps := make([]schemas.Touchpoint, 0, len(batch))
	for _, m := range batch {
		tp, err := decode(m.Value)
		if err != nil {
			p.metrics.events.WithLabelValues("invalid").Inc()
			p.log.Error("undecodable record skipped", "partition", m.Partition, "offset", m.Offset, "err", err)
			continue
		}
		tps = append(tps, tp)
	}
	sort.SliceStable(tps, func(i, j int) bool {
		a, b := &tps[i], &tps[j]
		if a.CustomerID != b.CustomerID {
			return a.CustomerID < b.CustomerID
		}
		if !a.Timestamp.Equal(b.Timestamp) {
			return a.Timestamp.Before(b.Timestamp)
		}
		return a.MessageID < b.MessageID
	})

	ids := make([]string, len(tps))
	var unknown []string
	for i := range tps {
		ids[i] = tps[i].MessageID
		if c := tps[i].CustomerID; !p.engine.Has(c) && (len(unknown) == 0 || unknown[len(unknown)-1] != c) {
			unknown = append(unknown, c)
		}
	}
	var stored map[string]string
	var history map[string][]schemas.Touchpoint
	err := p.retry(ctx, "recover", func() (err error) {
		if stored, err = p.sink.StoredMessageIDs(ctx, ids); err != nil {
			return err
		}
		if len(unknown) == 0 {
			return nil
		}
		// Journeys that already hold records of this batch were written
		// by a processor that stopped before committing: load them whole
		// along with the latest ones, so their rows are rewritten in full.
		touched := make([]string, 0, len(stored))
		for _, j := range stored {
			touched = append(touched, j)
		}
		history, err = p.sink.JourneyHistory(ctx, unknown, touched)
		return err
	})
	if err != nil {
		return nil, err
	}

	out := &output{}
	journeys := map[string]int{}
	addJourneys := func(js []schemas.Journey) {
		for _, j := range js {
			if i, ok := journeys[j.JourneyID]; ok {
				if j.Version >= out.journeys[i].Version {
					out.journeys[i] = j
				}
				continue
			}
			journeys[j.JourneyID] = len(out.journeys)
			out.journeys = append(out.journeys, j)
		}
	}
	for _, c := range unknown {
		if h := history[c]; len(h) > 0 {
			// Rewriting the recovered journey and flags repairs rows that a
			// crash between inserts left out; identical rows collapse.
			res := p.engine.Restore(c, h)
			addJourneys(res.Journeys)
			out.flags = append(out.flags, res.Flags...)
			p.metrics.restored.Inc()
		}
	}
	seen := make(map[string]struct{}, len(tps))
	for i := range tps {
		if _, dup := stored[tps[i].MessageID]; dup {
			p.metrics.events.WithLabelValues("duplicate").Inc()
			continue
		}
		if _, dup := seen[tps[i].MessageID]; dup {
			p.metrics.events.WithLabelValues("duplicate").Inc()
			continue
		}
		seen[tps[i].MessageID] = struct{}{}
		res := p.engine.Apply(tps[i])
		if res.Duplicate {
			p.metrics.events.WithLabelValues("duplicate").Inc()
			continue
		}
		p.metrics.events.WithLabelValues("applied").Inc()
		if res.Touchpoint != nil {
			out.touchpoints = append(out.touchpoints, *res.Touchpoint)
		}
		addJourneys(res.Journeys)
		out.flags = append(out.flags, res.Flags...)
	}
	return out, nil
}

// write inserts touchpoints before journeys and flags: recovery rebuilds
// journeys and flags from stored touchpoints, never the other way round.
func (p *Processor) write(ctx context.Context, out *output) error {
	steps := []struct {
		table string
		rows  int
		fn    func() error
	}{
		{"touchpoints", len(out.touchpoints), func() error { return p.sink.InsertTouchpoints(ctx, out.touchpoints) }},
		{"journeys", len(out.journeys), func() error { return p.sink.InsertJourneys(ctx, out.journeys) }},
		{"friction_flags", len(out.flags), func() error { return p.sink.InsertFlags(ctx, out.flags) }},
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

// retry runs fn until it succeeds or ctx ends, backing off exponentially.
func (p *Processor) retry(ctx context.Context, what string, fn func() error) error {
	backoff := p.cfg.RetryBackoff
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
		p.log.Warn("retrying", "what", what, "attempt", attempt, "backoff", backoff, "err", err)
		if what == "commit" {
			p.metrics.commitFailures.Inc()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, p.cfg.MaxRetryBackoff)
	}
}

// decode turns a record of the touchpoints topic into the engine's input.
func decode(value []byte) (schemas.Touchpoint, error) {
	var ev schemas.Event
	if err := json.Unmarshal(value, &ev); err != nil {
		return schemas.Touchpoint{}, fmt.Errorf("decode event: %w", err)
	}
	if ev.MessageID == "" {
		return schemas.Touchpoint{}, errors.New("decode event: no messageId")
	}
	if ev.CustomerID() == "" {
		return schemas.Touchpoint{}, fmt.Errorf("decode event %s: neither userId nor anonymousId", ev.MessageID)
	}
	props := string(ev.Properties)
	if props == "" {
		props = "{}"
	}
	ctxJSON := string(ev.Context)
	if ctxJSON == "" {
		ctxJSON = "{}"
	}
	return schemas.Touchpoint{
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
	}, nil
}
