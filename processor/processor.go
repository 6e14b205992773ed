package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/processor/journey"
	"github.com/journeys/journeys/processor/session"
	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

// Sink is where the processor writes results and reads back what it needs
// to recover. *store.Store implements it.
type Sink interface {
	InsertTouchpoints(ctx context.Context, rows []schemas.Touchpoint) error
	InsertJourneys(ctx context.Context, rows []schemas.Journey) error
	InsertFlags(ctx context.Context, rows []schemas.FrictionFlag) error
	InsertSessions(ctx context.Context, rows []schemas.Session) error
	InsertCustomers(ctx context.Context, rows []schemas.Customer) error
	// ProfileTouchpoints loads every touchpoint stored under the
	// customers with the properties of the listed events only.
	ProfileInputs(ctx context.Context, customerIDs []string, events []string) (map[string]store.ProfileSummary, map[string][]schemas.Touchpoint, error)
	// StoredMessageIDs maps those of ids already stored to the customer
	// and journey of their latest row.
	StoredMessageIDs(ctx context.Context, ids []string) (map[string]store.StoredMessage, error)
	// JourneySpans lists the stored journeys of the customers, customer
	// by customer, oldest first.
	JourneySpans(ctx context.Context, customerIDs []string) ([]store.JourneySpan, error)
	// PartitionJourneySpans lists the stored journeys of the customers of
	// the partitions that have a touchpoint at or after since or an open
	// journey, customer by customer, oldest first.
	PartitionJourneySpans(ctx context.Context, partitions []int32, since time.Time) ([]store.JourneySpan, error)
	// JourneyTouchpoints loads the touchpoints of the journeys, per
	// customer in event-time order.
	JourneyTouchpoints(ctx context.Context, customerIDs, journeyIDs []string) (map[string][]schemas.Touchpoint, error)
	// PartitionCustomers lists the customers with touchpoints stored from
	// the partitions.
	PartitionCustomers(ctx context.Context, partitions []int32) ([]string, error)
	// DayHistory loads the touchpoints of the listed customer days and of
	// each customer's latest day, in event-time order.
	DayHistory(ctx context.Context, days []store.CustomerDay, tz string) (map[string][]schemas.Touchpoint, error)
	// WrittenOffsets is how far each partition was written.
	WrittenOffsets(ctx context.Context, partitions []int32) (map[int32]store.Progress, error)
	IdentityStore
}

// FlagPublisher hands friction flags to alerting and to systems that act on
// them. Nil disables publishing.
type FlagPublisher interface {
	PublishFlags(ctx context.Context, flags []schemas.FrictionFlag) error
}

// Processor runs the consumer group.
type Processor struct {
	cfg Config
	// store is the Sink as given, which a batch's write uses; sink is the
	// same behind settledSink, which everything else uses (pipeline.go).
	store   Sink
	sink    Sink
	flags   FlagPublisher
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time
	engine  *journey.Engine
	session *session.Sessionizer
	// profiles are the customers rows as the touchpoints applied in order
	// left them (profile.go); reset with each generation.
	profiles map[string]*schemas.Customer
	// ids and records serve identity stitching (identity.go): records
	// produces merge records and forwarded touchpoints.
	ids     identities
	records RecordWriter
	// maxEventTime is the latest event time applied; live turns true once
	// a batch found the partitions read to their end. Both drive CloseIdle.
	maxEventTime time.Time
	live         bool
	// writing is the write in flight; preparing the output of the batch
	// being applied (pipeline.go).
	writing   *inflight
	preparing *output
	// forgotten is the suppression list of forgotten customers, deleter
	// deletes their rows, and forgetPos is how much of the list the
	// processor has taken in (forget.go).
	forgotten ForgetList
	deleter   CustomerDeleter
	forgetPos int
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
	p := &Processor{cfg: cfg, store: sink, flags: flags, log: log, metrics: m, now: time.Now, profiles: map[string]*schemas.Customer{}}
	p.sink = settledSink{s: sink, settle: p.settle}
	p.engine = journey.New(cfg.Journey, func() time.Time { return p.now() })
	p.session = session.New(cfg.Sessions, func() time.Time { return p.now() })
	p.ids.reset(map[string]string{})
	return p, nil
}

// expire adds what time passing at wm produces without a touchpoint: the
// absence rules whose deadline passed (a promise not kept), then the
// journeys that went idle, so that a journey closed here carries the flags
// counted on it.
func (p *Processor) expire(wm time.Time, out *output) {
	out.flags = append(out.flags, p.engine.Tick(wm)...)
	out.addJourneys(p.engine.CloseIdle(wm))
}

// Run consumes until ctx is cancelled. Each consumer-group generation starts
// from the committed offsets with empty customer state; state is rebuilt from
// ClickHouse as customers show up.
func (p *Processor) Run(ctx context.Context) error {
	if err := p.loadForgetList(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
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
	if p.records == nil {
		w := &kafka.Writer{
			Addr:         kafka.TCP(p.cfg.Brokers...),
			Topic:        p.cfg.Topic,
			Balancer:     &kafka.Hash{}, // as ingest's: a key maps to the same partition
			RequiredAcks: kafka.RequireAll,
			BatchTimeout: 2 * time.Millisecond,
			BatchSize:    2500,
			WriteTimeout: 10 * time.Second,
		}
		defer w.Close()
		p.records = w
	}
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

// runGeneration rebuilds the state of the assigned partitions' customers,
// then fetches the partitions and processes batches until the generation
// ends (a rebalance or shutdown).
func (p *Processor) runGeneration(gen *kafka.Generation) {
	assigned := gen.Assignments[p.cfg.Topic]
	p.log.Info("consumer group generation started", "generation", gen.ID, "partitions", len(assigned))
	records := make(chan kafka.Message, p.cfg.BatchSize)
	done := make(chan struct{})
	gen.Start(func(ctx context.Context) {
		defer close(done)
		g, err := p.takeOver(ctx, assigned)
		if err != nil {
			p.log.Info("generation ended before its state was loaded", "err", err)
			return
		}
		for _, a := range assigned {
			a := a
			gen.Start(func(ctx context.Context) { p.fetch(ctx, a, records) })
		}
		p.consume(ctx, gen, g, records)
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
		MaxBytes:  p.cfg.FetchMaxBytes,
		MaxWait:   100 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(a.Offset); err != nil {
		p.log.Error("set partition offset", "partition", a.ID, "offset", a.Offset, "err", err)
		return
	}
	// A partition that moves to another processor stops being reported here.
	lag := p.metrics.consumerLag.WithLabelValues(strconv.Itoa(a.ID))
	defer p.metrics.consumerLag.DeleteLabelValues(strconv.Itoa(a.ID))
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("fetch failed", "partition", a.ID, "err", err)
			}
			return
		}
		lag.Set(float64(m.HighWaterMark - m.Offset - 1))
		select {
		case records <- m:
		case <-ctx.Done():
			return
		}
	}
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
		p.metrics.retries.WithLabelValues(what).Inc()
		p.log.Warn("retrying", "what", what, "attempt", attempt, "backoff", backoff, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, p.cfg.MaxRetryBackoff)
	}
}
