package forget

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// List is the suppression list as one instance read it from the forget
// topic. Run follows the topic; Forgotten answers from memory.
type List struct {
	brokers []string
	topic   string
	log     *slog.Logger

	mu    sync.RWMutex
	set   map[string]struct{}
	added []string // hashes in the order they were read
	// size mirrors len(set) so that the empty list costs no lock and no
	// hash per event.
	size atomic.Int64

	loaded     chan struct{}
	loadedOnce sync.Once

	ids    prometheus.Gauge
	errors prometheus.Counter
}

// followRetry is the wait after a failure to read the topic.
const followRetry = time.Second

// NewList returns a list that Run fills from topic ("" means forget) on
// brokers. It registers its metrics on reg (nil: not exported) and logs
// to log (nil: discarded).
func NewList(brokers []string, topic string, reg prometheus.Registerer, log *slog.Logger) (*List, error) {
	if len(brokers) == 0 {
		return nil, errors.New("forget list: no Kafka brokers")
	}
	if topic == "" {
		topic = DefaultTopic
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &List{brokers: brokers, topic: topic, log: log, set: map[string]struct{}{}, loaded: make(chan struct{}),
		ids: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "journeys_forget_suppressed_ids",
			Help: "Ids (of forgotten customers and their linked ids) on the suppression list as this instance read it.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "journeys_forget_follow_errors_total",
			Help: "Failures reading the forget topic; the list keeps what it read and reading is retried.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{l.ids, l.errors} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register forget metrics: %w", err)
			}
		}
	}
	return l, nil
}

// Forgotten reports whether any of the non-empty ids is on the list.
func (l *List) Forgotten(ids ...string) bool {
	if l == nil || l.size.Load() == 0 {
		return false
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, id := range ids {
		if id == "" {
			continue
		}
		if _, ok := l.set[Hash(id)]; ok {
			return true
		}
	}
	return false
}

// Added returns the hashes read since position from (0: all of them) and
// the position to ask from next time.
func (l *List) Added(from int) (hashes []string, next int) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if from >= len(l.added) {
		return nil, len(l.added)
	}
	return append([]string(nil), l.added[from:]...), len(l.added)
}

// Len is the number of ids on the list.
func (l *List) Len() int { return int(l.size.Load()) }

// add puts a hash on the list.
func (l *List) add(h string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.set[h]; ok {
		return
	}
	l.set[h] = struct{}{}
	l.added = append(l.added, h)
	l.size.Store(int64(len(l.set)))
	l.ids.Set(float64(len(l.set)))
}

// Loaded is closed once the list holds every record the topic had when
// Run started.
func (l *List) Loaded() <-chan struct{} { return l.loaded }

// WaitLoaded waits until the list holds every record the topic had when
// Run started, or ctx ends. A service must not take events before: it
// would let a forgotten customer's through.
func (l *List) WaitLoaded(ctx context.Context) error {
	select {
	case <-l.loaded:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("load the forget list from topic %s: %w", l.topic, ctx.Err())
	}
}

// Run reads the topic from its start and follows it until ctx ends. It
// retries when the broker fails; it returns nil when ctx ends.
func (l *List) Run(ctx context.Context) error {
	for {
		err := l.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		l.errors.Inc()
		l.log.Warn("following the forget topic failed; retrying", "topic", l.topic, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followRetry):
		}
	}
}

// follow reads every partition of the topic from its first offset. It
// marks the list loaded once each partition was read up to the end it had
// when follow began.
func (l *List) follow(ctx context.Context) error {
	ends, err := l.partitionEnds(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var remaining atomic.Int64
	remaining.Store(int64(len(ends)))
	caughtUp := func() {
		if remaining.Add(-1) == 0 {
			l.loadedOnce.Do(func() { close(l.loaded) })
		}
	}
	errs := make(chan error, len(ends))
	for part, end := range ends {
		go func() { errs <- l.followPartition(ctx, part, end, caughtUp) }()
	}
	err = <-errs
	cancel()
	for range len(ends) - 1 {
		<-errs
	}
	return err
}

// span is where a partition's records start and end.
type span struct{ first, end int64 }

// partitionEnds maps each partition of the topic to its offsets now.
func (l *List) partitionEnds(ctx context.Context) (map[int]span, error) {
	var errs []error
	for _, addr := range l.brokers {
		ends, err := partitionEndsAt(ctx, addr, l.topic)
		if err == nil {
			return ends, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func partitionEndsAt(ctx context.Context, addr, topic string) (map[int]span, error) {
	conn, err := kafka.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial kafka %s: %w", addr, err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return nil, fmt.Errorf("partitions of topic %s: %w", topic, err)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions", topic)
	}
	ends := make(map[int]span, len(parts))
	for _, p := range parts {
		lc, err := kafka.DialLeader(ctx, "tcp", addr, topic, p.ID)
		if err != nil {
			return nil, fmt.Errorf("dial leader of %s/%d: %w", topic, p.ID, err)
		}
		first, end, err := lc.ReadOffsets()
		lc.Close()
		if err != nil {
			return nil, fmt.Errorf("offsets of %s/%d: %w", topic, p.ID, err)
		}
		ends[p.ID] = span{first, end}
	}
	return ends, nil
}

// followPartition reads one partition from its start; caughtUp is called
// once the records before end are read.
func (l *List) followPartition(ctx context.Context, part int, s span, caughtUp func()) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   l.brokers,
		Topic:     l.topic,
		Partition: part,
		MinBytes:  1,
		MaxBytes:  1 << 20,
		MaxWait:   500 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(kafka.FirstOffset); err != nil {
		return fmt.Errorf("read %s/%d from its start: %w", l.topic, part, err)
	}
	var once sync.Once
	if s.first >= s.end {
		once.Do(caughtUp)
	}
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return fmt.Errorf("read %s/%d: %w", l.topic, part, err)
		}
		rec, err := parseRecord(m.Value)
		if err != nil {
			l.errors.Inc()
			l.log.Error("forget record skipped", "partition", part, "offset", m.Offset, "err", err)
		} else {
			l.add(rec.IDHash)
		}
		if m.Offset+1 >= s.end {
			once.Do(caughtUp)
		}
	}
}
