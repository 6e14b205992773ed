// Package pipeline wires the whole of Journeys into one process: ingest's
// HTTP API in front of Kafka, and the processor from Kafka to ClickHouse.
// `journeys dev` runs it on an embedded broker; the end-to-end tests run it
// exactly as a laptop would.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/journeys/journeys/forget"
	"github.com/journeys/journeys/ingest"
	"github.com/journeys/journeys/processor"
	sdkjs "github.com/journeys/journeys/sdk/js"
	"github.com/journeys/journeys/store"
)

// Config of an all-in-one pipeline.
type Config struct {
	Ingest    ingest.Config
	Processor processor.Config // Brokers are taken from Brokers
	Store     store.Config
	Brokers   []string
	// Registry collects both components' metrics, served at /metrics on
	// the ingest listener. Nil makes a new one.
	Registry *prometheus.Registry
	Log      *slog.Logger
}

// Pipeline is a running ingest and processor.
type Pipeline struct {
	URL      string // base URL of the ingest API
	Registry *prometheus.Registry
	store    *store.Store
	pub      *ingest.KafkaPublisher
	flags    *processor.KafkaFlagPublisher
	forgetW  io.Closer
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	errs     []error
}

// Start migrates ClickHouse, loads the suppression list of forgotten
// customers (package forget), then starts the processor and the ingest
// server, both following the list. It returns once ingest is listening.
func Start(ctx context.Context, cfg Config) (*Pipeline, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if _, err := store.Migrate(ctx, cfg.Store); err != nil {
		return nil, fmt.Errorf("migrate clickhouse: %w", err)
	}
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	listDone := make(chan struct{})
	fail := func(err error) (*Pipeline, error) {
		cancel()
		<-listDone
		st.Close()
		return nil, err
	}
	list, err := forget.NewList(cfg.Brokers, forget.DefaultTopic, cfg.Registry, cfg.Log.With("component", "forget"))
	if err != nil {
		close(listDone)
		return fail(err)
	}
	go func() { defer close(listDone); _ = list.Run(runCtx) }()
	if err := list.WaitLoaded(ctx); err != nil {
		return fail(err)
	}
	forgetW := forget.NewWriter(cfg.Brokers, forget.DefaultTopic)
	cfg.Ingest.Suppression = list
	cfg.Ingest.Forgetter = &forget.Forgetter{Store: st, Writer: forgetW, Log: cfg.Log.With("component", "forget")}

	cfg.Processor.Brokers = cfg.Brokers
	flags := processor.NewKafkaFlagPublisher(cfg.Brokers, cfg.Processor.FrictionTopic)
	proc, err := processor.New(cfg.Processor, st, flags, cfg.Registry, cfg.Log.With("component", "processor"))
	if err != nil {
		return fail(err)
	}
	proc.FollowForgetList(list, st)
	pub := ingest.NewKafkaPublisher(ingest.KafkaConfig{Brokers: cfg.Brokers, Topic: cfg.Ingest.Topic})
	h, err := ingest.NewHandler(cfg.Ingest, pub, cfg.Registry, cfg.Log.With("component", "ingest"))
	if err != nil {
		return fail(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}))
	mux.Handle("/sdk.js", sdkjs.Handler())
	mux.Handle("/", h)

	icfg := cfg.Ingest.WithDefaults()
	ln, err := net.Listen("tcp", icfg.Listen)
	if err != nil {
		return fail(fmt.Errorf("ingest listen on %s: %w", icfg.Listen, err))
	}
	p := &Pipeline{URL: "http://" + ln.Addr().String(), Registry: cfg.Registry, store: st, pub: pub, flags: flags, forgetW: forgetW, cancel: cancel}
	p.wg.Add(1)
	go func() { defer p.wg.Done(); <-listDone }()
	p.goRun(func() error { return proc.Run(runCtx) })
	p.goRun(func() error { return ingest.Serve(runCtx, ln, icfg, mux) })
	return p, nil
}

func (p *Pipeline) goRun(fn func() error) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := fn(); err != nil {
			p.mu.Lock()
			p.errs = append(p.errs, err)
			p.mu.Unlock()
		}
	}()
}

// Store is the pipeline's ClickHouse store.
func (p *Pipeline) Store() *store.Store { return p.store }

// Close shuts ingest down gracefully, stops the processor, and closes the
// writers and the store.
func (p *Pipeline) Close() error {
	p.cancel()
	p.wg.Wait()
	errs := append([]error(nil), p.errs...)
	errs = append(errs, p.pub.Close(), p.flags.Close(), p.forgetW.Close(), p.store.Close())
	return errors.Join(errs...)
}
