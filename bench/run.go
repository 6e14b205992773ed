package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/journeys/journeys/internal/broker"
	"github.com/journeys/journeys/internal/chserver"
	"github.com/journeys/journeys/internal/loadgen"
	"github.com/journeys/journeys/processor"
	"github.com/journeys/journeys/simulate"
	"github.com/journeys/journeys/store"
)

// run holds a bench run's processes and connections.
type run struct {
	cfg       Config
	res       *Result
	comps     []*component // measured: clickhouse, broker, ingest, processor, driver
	brokers   []string
	chAddr    string
	ingest    string // host:port of the pipeline's ingest
	ingestM   string // its metrics
	processor *component
	procM     string
	stopList  []func()
	sample    []simulate.Event // bodies of the ingest stage
}

// Run runs the bench: the pipeline at a fixed and at the maximum rate,
// the Kafka engine and query-time friction peers, and the ingest stage
// against Redpanda Connect. It stops every process it started.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("bench work folder: %w", err)
	}
	r := &run{cfg: cfg, res: &Result{
		Date: time.Now().UTC().Format(time.RFC3339), Cores: runtime.NumCPU(), LoadStart: loadAverage(),
		Customers: cfg.Customers, BatchSize: cfg.BatchSize, Senders: cfg.Senders,
	}}
	defer r.stopAll()
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	if err := r.pipeline(ctx); err != nil {
		return nil, err
	}
	if err := r.peers(ctx); err != nil {
		return nil, err
	}
	if cfg.IngestFor > 0 {
		if err := r.ingestStage(ctx); err != nil {
			return nil, err
		}
	}
	if err := r.scaleRun(ctx); err != nil {
		return nil, err
	}
	r.res.LoadEnd = loadAverage()
	r.res.Targets = targets(r.res)
	return r.res, nil
}

func (r *run) onStop(f func()) { r.stopList = append(r.stopList, f) }

func (r *run) stopAll() {
	for _, f := range slices.Backward(r.stopList) {
		f()
	}
}

// start starts ClickHouse, the broker, ingest and the processor.
func (r *run) start(ctx context.Context) error {
	cfg := r.cfg
	chComp := &component{name: "clickhouse", pid: -1}
	r.chAddr = cfg.ClickHouse
	if r.chAddr == "" {
		srv, err := chserver.Start(ctx, chserver.Config{Dir: filepath.Join(cfg.WorkDir, "clickhouse")})
		if err != nil {
			return fmt.Errorf("start throwaway clickhouse: %w", err)
		}
		r.onStop(func() { srv.Stop() })
		r.chAddr, chComp.pid = srv.Addr(), srv.Pid()
	} else {
		r.res.Notes = append(r.res.Notes, "ClickHouse at "+r.chAddr+" was given, not started: its CPU and memory are not measured and include other work")
	}
	admin, err := store.Open(ctx, store.Config{Addr: r.chAddr, Database: "default"})
	if err != nil {
		return err
	}
	defer admin.Close()
	if err := admin.Conn().Exec(ctx, "DROP DATABASE IF EXISTS "+cfg.Database); err != nil {
		return fmt.Errorf("drop the bench database: %w", err)
	}

	addrFile := filepath.Join(cfg.WorkDir, "broker.addr")
	os.Remove(addrFile)
	br, err := r.startComponent("broker", nil, "bench", "broker", "--addr-file", addrFile)
	if err != nil {
		return err
	}
	if err := br.waitFor(ctx, 30*time.Second, fileWritten(addrFile)); err != nil {
		return err
	}
	b, err := os.ReadFile(addrFile)
	if err != nil {
		return err
	}
	r.brokers = strings.Split(string(b), ",")

	ing, listen, metrics, err := r.startIngest(ctx, "ingest", broker.TopicTouchpoints)
	if err != nil {
		return err
	}
	r.ingest, r.ingestM = listen, metrics
	if r.procM, err = freeAddr(); err != nil {
		return err
	}
	r.processor, err = r.startComponent("processor", r.profileEnv("processor"), "process", "--kafka", strings.Join(r.brokers, ","),
		"--clickhouse", r.chAddr, "--database", cfg.Database, "--metrics-listen", r.procM)
	if err != nil {
		return err
	}
	if err := r.processor.waitFor(ctx, 2*time.Minute, httpOK("http://"+r.procM+"/metrics")); err != nil {
		return err
	}
	r.comps = []*component{chComp, br, ing, r.processor, {name: "driver", pid: os.Getpid()}}
	return nil
}

// startComponent starts the journeys binary with args.
func (r *run) startComponent(name string, env []string, args ...string) (*component, error) {
	c, err := startComponent(r.cfg.WorkDir, name, env, append([]string{r.cfg.Binary}, args...)...)
	if err != nil {
		return nil, err
	}
	r.onStop(c.stop)
	return c, nil
}

// startIngest starts `journeys ingest` writing to topic and waits until it
// answers; it returns its API and metrics addresses.
func (r *run) startIngest(ctx context.Context, name, topic string) (c *component, listen, metrics string, err error) {
	if listen, err = freeAddr(); err != nil {
		return nil, "", "", err
	}
	if metrics, err = freeAddr(); err != nil {
		return nil, "", "", err
	}
	c, err = r.startComponent(name, r.profileEnv(name), "ingest", "--listen", listen, "--kafka", strings.Join(r.brokers, ","),
		"--write-keys", writeKey, "--metrics-listen", metrics, "--topic", topic)
	if err != nil {
		return nil, "", "", err
	}
	if err := c.waitFor(ctx, 30*time.Second, httpOK("http://"+listen+"/healthz")); err != nil {
		return nil, "", "", err
	}
	return c, listen, metrics, nil
}

// profileEnv makes a component write its profiles into ProfileDir.
func (r *run) profileEnv(name string) []string {
	if r.cfg.ProfileDir == "" {
		return nil
	}
	return []string{"JOURNEYS_PROFILE=" + filepath.Join(r.cfg.ProfileDir, name)}
}

// pipeline runs phases 1 and 2.
func (r *run) pipeline(ctx context.Context) error {
	cfg := r.cfg
	cfg.Log.Info("generating simulated traffic", "customers", cfg.Customers)
	ds := simulate.Generate(simulate.Config{Customers: cfg.Customers, Seed: cfg.Seed})
	r.sample = slices.Clone(ds.Events[:min(len(ds.Events), ingestSample)])
	r.res.Friction.ExpectedByTruth = ds.ExpectedFlags
	half := len(ds.Customers) / 2
	fixed, fixedN, err := senderStreams(ds.Customers[:half], cfg.Senders, cfg.BatchSize)
	if err != nil {
		return err
	}
	maxStreams, maxN, err := senderStreams(ds.Customers[half:], cfg.Senders, cfg.BatchSize)
	if err != nil {
		return err
	}
	// The driver is measured too: only the request bodies stay.
	ds = nil
	debug.FreeOSMemory()
	st, err := store.Open(ctx, store.Config{Addr: r.chAddr, Database: cfg.Database})
	if err != nil {
		return err
	}
	defer st.Close()
	conn := st.Conn()
	cl := newClient(cfg.Senders, true)
	defer cl.close()
	url := "http://" + r.ingest + "/v1/batch"
	const stored = "SELECT uniqExact(message_id) FROM touchpoints"

	// Phase 1: fixed rate.
	cfg.Log.Info("phase 1: pipeline at a fixed rate", "events", fixedN, "events_per_s", cfg.Rate)
	avg := float64(fixedN) / float64(countRequests(fixed))
	interval := time.Duration(float64(time.Second) * avg * float64(cfg.Senders) / float64(cfg.Rate))
	wctx, cancel := context.WithTimeout(ctx, cfg.Timeout+time.Duration(fixedN/cfg.Rate)*time.Second)
	vis := watchVisibility(wctx, conn)
	sent, sendErr := sendStreams(cl, url, fixed, interval, vis.marks)
	visible, visErr := vis.wait()
	cancel()
	if sendErr != nil {
		return fmt.Errorf("phase 1: %w", sendErr)
	}
	if visErr != nil {
		return fmt.Errorf("phase 1: %w", visErr)
	}
	if _, err := r.caughtUp(ctx); err != nil {
		return fmt.Errorf("phase 1: %w", err)
	}
	r.res.Fixed = FixedPhase{
		Events: sent.events, TargetPS: float64(cfg.Rate), AchievedPS: float64(sent.events) / sent.lastAck.Sub(sent.start).Seconds(),
		IngestP50: loadgen.Ms(loadgen.Percentile(sent.latencies, 0.5)), IngestP99: loadgen.Ms(loadgen.Percentile(sent.latencies, 0.99)),
		Marked: len(visible), QueryableP50: loadgen.Ms(loadgen.Percentile(visible, 0.5)),
		QueryableP99: loadgen.Ms(loadgen.Percentile(visible, 0.99)), QueryableMaxMs: loadgen.Ms(loadgen.Percentile(visible, 1)),
	}

	// Phase 2: maximum rate.
	cfg.Log.Info("phase 2: pipeline at the maximum rate", "events", maxN)
	m, err := startMeter(r.comps)
	if err != nil {
		return err
	}
	rows0, err := insertedRows(ctx, conn)
	if err != nil {
		return err
	}
	procURL := "http://" + r.procM + "/metrics"
	consumed := result("applied", "reordered", "late", "duplicate", "invalid")
	rate := startRateSampler(procURL, "journeys_processor_events_total", consumed)
	sent2, err := sendStreams(cl, url, maxStreams, 0, nil)
	if err != nil {
		rate.stop()
		return fmt.Errorf("phase 2: %w", err)
	}
	done, err := r.caughtUp(ctx)
	procPS := rate.stop()
	if err != nil {
		return fmt.Errorf("phase 2: %w", err)
	}
	use, err := m.read()
	if err != nil {
		return err
	}
	rows1, err := insertedRows(ctx, conn)
	if err != nil {
		return err
	}
	secs := done.Sub(sent2.start).Seconds()
	mp := MaxPhase{
		Events: sent2.events, Seconds: secs, EndToEndPS: float64(sent2.events) / secs,
		IngestPS:  float64(sent2.events) / sent2.lastAck.Sub(sent2.start).Seconds(),
		IngestP50: loadgen.Ms(loadgen.Percentile(sent2.latencies, 0.5)), IngestP99: loadgen.Ms(loadgen.Percentile(sent2.latencies, 0.99)),
		ProcessorPS: procPS, CHRows: rows1 - rows0, CHRowsPS: float64(rows1-rows0) / secs,
	}
	var hottest time.Duration
	for _, c := range r.comps {
		u := use[c.name]
		mp.Components = append(mp.Components, ComponentUse{
			Name: c.name, Measured: u.Measured, CPUSeconds: u.CPU.Seconds(),
			CPUSecPerMillion: u.CPU.Seconds() * 1e6 / float64(sent2.events), PeakRSSMiB: float64(u.PeakRSS) / (1 << 20),
		})
		if c.name != "driver" && u.CPU > hottest {
			hottest, r.res.Hottest = u.CPU, c.name
		}
	}
	r.res.Max = mp

	// Stop the processor so that it writes its profile and leaves the
	// cores to the peers.
	c := Consistency{Sent: sent.events + sent2.events}
	var errs []error
	scrapeInto := func(dst *uint64, url, name string, keep func(map[string]string) bool) {
		v, err := scrape(url, name, keep)
		errs = append(errs, err)
		*dst = uint64(v)
	}
	scrapeInto(&c.IngestAccepted, "http://"+r.ingestM+"/metrics", "journeys_ingest_events_accepted_total", nil)
	scrapeInto(&c.ProcessorConsumed, procURL, "journeys_processor_events_total", consumed)
	scrapeInto(&c.Forwarded, procURL, "journeys_processor_events_total", result("forwarded"))
	if c.TouchpointRows, err = count(ctx, conn, stored); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	r.res.Consistency = c
	for _, c := range r.comps[2:4] {
		c.stop()
	}
	if r.cfg.ProfileDir != "" {
		r.res.Profiles = append(r.res.Profiles, filepath.Join(r.cfg.ProfileDir, "processor.cpu.pprof"), filepath.Join(r.cfg.ProfileDir, "processor.allocs.pprof"),
			filepath.Join(r.cfg.ProfileDir, "ingest.cpu.pprof"), filepath.Join(r.cfg.ProfileDir, "ingest.allocs.pprof"))
	}
	return nil
}

// caughtUp waits until the processor has committed every record of the
// touchpoints topic, and returns when. It commits a batch only once its
// touchpoints, journeys, sessions and flags are written, so from then on
// every acknowledged event is queryable.
func (r *run) caughtUp(ctx context.Context) (time.Time, error) {
	err := r.processor.waitFor(ctx, r.cfg.Timeout, func() error {
		left, err := uncommitted(ctx, r.brokers, broker.TopicTouchpoints, processor.DefaultConfig().GroupID)
		if err == nil && left > 0 {
			err = fmt.Errorf("%d records not committed by the processor", left)
		}
		return err
	})
	return time.Now(), err
}

func countRequests(streams [][]request) int {
	n := 0
	for _, s := range streams {
		n += len(s)
	}
	return max(n, 1)
}

// peers runs the Kafka engine peer on the same topic and compares the
// friction answers.
func (r *run) peers(ctx context.Context) error {
	st, err := store.Open(ctx, store.Config{Addr: r.chAddr, Database: r.cfg.Database})
	if err != nil {
		return err
	}
	defer st.Close()
	want := uint64(r.res.Consistency.Sent) + r.res.Consistency.Forwarded
	r.cfg.Log.Info("phase 3: ClickHouse Kafka engine on the same topic", "rows", want)
	ke, err := runKafkaEngine(ctx, st.Conn(), r.brokers, want, r.cfg.Timeout)
	if err != nil {
		return err
	}
	r.res.KafkaEngine = ke
	expected := r.res.Friction.ExpectedByTruth
	fr, err := compareFriction(ctx, st.Conn(), frictionOverRaw, expected)
	if err != nil {
		return err
	}
	r.res.Friction = fr
	return nil
}

// loadAverage is /proc/loadavg's first three fields.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}
