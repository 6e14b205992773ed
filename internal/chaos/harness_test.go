package chaos

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/journeys/journeys/ingest"
	"github.com/journeys/journeys/internal/broker"
	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/processor"
	"github.com/journeys/journeys/simulate"
	"github.com/journeys/journeys/store"
)

func TestMain(m *testing.M) { chtest.Main(m) }

const writeKey = "chaos-key"

// long says the suite runs as `make chaos`: more traffic, more faults.
var long = os.Getenv("CHAOS_LONG") != ""

// scaled is short in `go test`, long under make chaos.
func scaled[T any](short, long_ T) T {
	if long {
		return long_
	}
	return short
}

// start is the first simulated day: two weeks ending six days ago, so no
// journey reaches the 30-day inactivity timeout on the wall clock between a
// reference run and a fault run.
var start = time.Now().UTC().AddDate(0, 0, -20).Truncate(24 * time.Hour)

// traffic is the simulated customers of a seed.
func traffic(seed int64) []simulate.Customer {
	cfg := simulate.Config{Customers: scaled(40, 400), Seed: seed, Days: 14, Start: start}.WithDefaults()
	return simulate.Generate(cfg).Customers
}

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelError}))
}

// driver sends to url with the suite's defaults: some malformed events in
// every run, so that every run also checks rejections.
func driver(url string) *Driver {
	return &Driver{URL: url, WriteKey: writeKey, MalformedEvery: 97}
}

// rig is one pipeline under test: a broker, ingest and processors over a
// fresh database.
type rig struct {
	t       *testing.T
	brokers []string
	store   *store.Store
	url     string
	// group is the processors' consumer group, whose commits settle waits
	// for; default the processor's.
	group string
}

// newRig starts an in-process broker and ingest over a fresh database;
// processors are started by the test.
func newRig(t *testing.T) *rig {
	t.Helper()
	return newRigOn(t, chtest.Open(t))
}

// newRigOn is newRig over the given store.
func newRigOn(t *testing.T, s *store.Store) *rig {
	t.Helper()
	b, err := broker.Start(broker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	r := &rig{t: t, brokers: b.Addrs(), store: s, group: processor.DefaultConfig().GroupID}
	r.url = r.startIngest()
	return r
}

// startIngest serves the real ingest handler in front of the rig's broker.
func (r *rig) startIngest() string {
	pub := ingest.NewKafkaPublisher(ingest.KafkaConfig{Brokers: r.brokers})
	h, err := ingest.NewHandler(ingest.Config{WriteKeys: []string{writeKey}}, pub, nil, quietLog())
	if err != nil {
		r.t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	r.t.Cleanup(func() { srv.Close(); pub.Close() })
	return srv.URL
}

// running is a processor run in-process.
type running struct {
	cancel context.CancelFunc
	done   chan error
	reg    *prometheus.Registry
	once   sync.Once
	err    error // what Run returned
	log    syncBuffer
}

// syncBuffer is a processor's log, written and read concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// logged reports whether the processor logged a line containing s
// (warnings and errors only).
func (p *running) logged(s string) bool {
	p.log.mu.Lock()
	defer p.log.mu.Unlock()
	return bytes.Contains(p.log.b.Bytes(), []byte(s))
}

// stop ends the processor (a kill, for a KillingSink's Kill: nothing is
// flushed or committed after it) and waits for it.
func (p *running) stop() {
	p.once.Do(func() {
		p.cancel()
		if err := <-p.done; err != nil {
			p.err = err
		}
	})
}

// metric sums the samples of a metric of the processor's registry.
func (p *running) metric(name string) float64 {
	mfs, _ := p.reg.Gather()
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// process runs a processor over sink (nil: the rig's store) with config
// changes applied; it stops when the test ends.
func (r *rig) process(sink processor.Sink, change func(*processor.Config)) *running {
	r.t.Helper()
	if sink == nil {
		sink = r.store
	}
	cfg := processor.DefaultConfig()
	cfg.Brokers = r.brokers
	cfg.BatchSize = 200
	cfg.BatchWait = 20 * time.Millisecond
	cfg.RetryBackoff = 20 * time.Millisecond
	cfg.MaxRetryBackoff = time.Second
	if change != nil {
		change(&cfg)
	}
	run := &running{done: make(chan error, 1), reg: prometheus.NewRegistry()}
	log := slog.New(slog.NewTextHandler(&run.log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p, err := processor.New(cfg, sink, nil, run.reg, log)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run.cancel = cancel
	go func() { run.done <- p.Run(ctx) }()
	r.t.Cleanup(func() {
		run.stop()
		if run.err != nil {
			r.t.Errorf("processor: %v", run.err)
		}
	})
	return run
}

// send drives the customers' traffic and fails the test unless every
// batch was acknowledged.
func (r *rig) send(d *Driver, customers []simulate.Customer) *Ledger {
	r.t.Helper()
	l, err := d.Send(context.Background(), customers)
	if err != nil {
		r.t.Fatalf("send: %v", err)
	}
	return l
}

// settle waits until the checker finds every acknowledged event, the
// processors' group committed every record, and the rows stop changing, then returns the check and the rows' structure.
func (r *rig) settle(l *Ledger) (Result, string) {
	r.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(scaled(90*time.Second, 10*time.Minute))
	var res Result
	var err error
	for {
		res, err = Check(ctx, r.store, r.brokers, broker.TopicRejected, l)
		if err == nil && len(res.Missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("acknowledged events not all stored in time: %v %v", res, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for {
		ok, state, err := CaughtUp(ctx, r.brokers, r.group, broker.TopicTouchpoints)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("group %s did not commit every record in time: %s %v", r.group, state, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	prev := ""
	for {
		cur := chtest.Structure(r.t, r.store)
		if cur == prev {
			res, err = Check(ctx, r.store, r.brokers, broker.TopicRejected, l)
			if err != nil {
				r.t.Fatal(err)
			}
			return res, cur
		}
		if time.Now().After(deadline) {
			r.t.Fatal("rows kept changing")
		}
		prev = cur
		time.Sleep(scaled(500*time.Millisecond, time.Second))
	}
}

var (
	refMu sync.Mutex
	refs  = map[string]string{}
)

// reference is the structure of a fault-free run of the customers' traffic
// sent by d's settings (one processor, never interrupted), computed once
// per key.
func reference(t *testing.T, key string, customers []simulate.Customer, configure func(*Driver)) string {
	t.Helper()
	refMu.Lock()
	defer refMu.Unlock()
	if s, ok := refs[key]; ok {
		return s
	}
	r := newRig(t)
	r.process(nil, nil)
	d := driver(r.url)
	if configure != nil {
		configure(d)
	}
	res, s := r.settle(r.send(d, customers))
	if !res.OK() {
		t.Fatalf("fault-free reference run broke a guarantee: %v", res)
	}
	refs[key] = s
	return s
}

// verify checks the run's guarantees and compares its rows with the
// reference's, and logs the figures for the README's table.
func verify(t *testing.T, fault string, faults int, res Result, got, want string) {
	t.Helper()
	t.Logf("CHAOS %s | faults %d | %v", fault, faults, res)
	if !res.OK() {
		t.Errorf("%s broke a guarantee: %v", fault, res)
	}
	if got != want {
		t.Errorf("%s: rows differ from a fault-free run's:\n%s", fault, chtest.LineDiff(got, want))
	}
}

// events counts the customers' events.
func events(customers []simulate.Customer) int {
	n := 0
	for _, c := range customers {
		n += len(c.Events)
	}
	return n
}

// stored counts the rows of touchpoints (FINAL).
func (r *rig) stored() int {
	var n uint64
	if err := r.store.Conn().QueryRow(context.Background(), "SELECT count() FROM touchpoints FINAL").Scan(&n); err != nil {
		r.t.Logf("count touchpoints: %v", err)
	}
	return int(n)
}
