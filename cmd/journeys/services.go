package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/journeys/journeys/forget"
	"github.com/journeys/journeys/ingest"
	"github.com/journeys/journeys/processor"
	sdkjs "github.com/journeys/journeys/sdk/js"
	"github.com/journeys/journeys/store"
)

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// serveMetrics serves /metrics on addr until ctx ends; "" disables it.
func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry, log *slog.Logger) {
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Addr: addr, Handler: mux}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "addr", addr, "err", err)
		}
	}()
}

func runIngest(ctx context.Context, args []string, _ io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	listen := fs.String("listen", env("JOURNEYS_LISTEN", ingest.DefaultListen), "HTTP listen address (env JOURNEYS_LISTEN)")
	brokers := kafkaFlag(fs)
	keys := writeKeysFlag(fs, "")
	sourcesFile := fs.String("sources", env("JOURNEYS_SOURCES", ""), "YAML file of sources: write keys, origins, events, rate limits (env JOURNEYS_SOURCES)")
	hashKey := fs.String("hash-key", env("JOURNEYS_HASH_KEY", ""), "secret of the keyed hash of --hash-properties (env JOURNEYS_HASH_KEY)")
	hashProps := fs.String("hash-properties", env("JOURNEYS_HASH_PROPERTIES", ""), "comma-separated paths hashed before writing, e.g. traits.email,properties.phone (env JOURNEYS_HASH_PROPERTIES)")
	metrics := fs.String("metrics-listen", env("JOURNEYS_METRICS_LISTEN", "127.0.0.1:9464"), "Prometheus /metrics listen address, empty to disable (env JOURNEYS_METRICS_LISTEN)")
	topic := fs.String("topic", ingest.DefaultTopic, "Kafka topic accepted events are written to")
	forgetTopic := forgetTopicFlag(fs)
	adminToken := fs.String("admin-token", env("JOURNEYS_ADMIN_TOKEN", ""), "enables POST /v1/admin/forget for Authorization: Bearer <token>; needs --clickhouse (env JOURNEYS_ADMIN_TOKEN)")
	chCfg := clickhouseFlags(fs, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg := ingest.Config{Listen: *listen, WriteKeys: splitList(*keys), HashKey: *hashKey, HashProperties: splitList(*hashProps), AdminToken: *adminToken, Topic: *topic}
	if *adminToken != "" && chCfg.Addr == "" {
		return errors.New("--admin-token needs --clickhouse: the forget endpoint deletes rows there")
	}
	if *sourcesFile != "" {
		sources, err := ingest.LoadSources(*sourcesFile)
		if err != nil {
			return err
		}
		cfg.Sources = sources
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	kcfg := ingest.KafkaConfig{Brokers: splitList(*brokers), Topic: cfg.WithDefaults().Topic}
	if err := kcfg.Validate(); err != nil {
		return err
	}
	reg := newRegistry()
	list, err := followForgetList(ctx, kcfg.Brokers, *forgetTopic, reg, log)
	if err != nil {
		return err
	}
	cfg.Suppression = list
	if *adminToken != "" {
		st, err := store.Open(ctx, *chCfg)
		if err != nil {
			return err
		}
		defer st.Close()
		w := forget.NewWriter(kcfg.Brokers, *forgetTopic)
		defer w.Close()
		cfg.Forgetter = &forget.Forgetter{Store: st, Writer: w, Log: log.With("component", "forget")}
	}
	pub := ingest.NewKafkaPublisher(kcfg)
	defer pub.Close()
	h, err := ingest.NewHandler(cfg, pub, reg, log)
	if err != nil {
		return err
	}
	serveMetrics(ctx, *metrics, reg, log)
	log.Info("ingest listening", "addr", cfg.Listen, "kafka", kcfg.Brokers, "sources", len(cfg.AllSources()))
	mux := http.NewServeMux()
	mux.Handle("/sdk.js", sdkjs.Handler())
	mux.Handle("/", h)
	return ingest.Run(ctx, cfg, mux)
}

func runProcess(ctx context.Context, args []string, _ io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("process", flag.ContinueOnError)
	brokers := kafkaFlag(fs)
	chCfg := clickhouseFlags(fs, "127.0.0.1:9000")
	cfg := processor.DefaultConfig()
	fs.StringVar(&cfg.GroupID, "group", cfg.GroupID, "Kafka consumer group")
	fs.StringVar(&cfg.Topic, "topic", cfg.Topic, "Kafka topic of touchpoints")
	fs.IntVar(&cfg.BatchSize, "batch-size", cfg.BatchSize, "records per ClickHouse insert batch")
	fs.DurationVar(&cfg.BatchWait, "batch-wait", cfg.BatchWait, "longest wait for a batch to fill")
	fs.IntVar(&cfg.FetchMaxBytes, "fetch-max-bytes", cfg.FetchMaxBytes, "bytes asked per partition per fetch (a larger record batch still arrives whole)")
	fs.DurationVar(&cfg.Lateness, "lateness", cfg.Lateness, "how much older than a customer's latest touchpoint a touchpoint may be and still be placed in event-time order; older ones are stored marked late")
	cfg.Journey.RegisterFlags(fs)
	migrate := fs.Bool("migrate", true, "apply ClickHouse migrations at start")
	forgetTopic := forgetTopicFlag(fs)
	metrics := fs.String("metrics-listen", env("JOURNEYS_METRICS_LISTEN", "127.0.0.1:9465"), "Prometheus /metrics listen address, empty to disable (env JOURNEYS_METRICS_LISTEN)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg.Brokers = splitList(*brokers)
	if err := cfg.Validate(); err != nil {
		return err
	}
	if *migrate {
		if _, err := store.Migrate(ctx, *chCfg); err != nil {
			return err
		}
	}
	st, err := store.Open(ctx, *chCfg)
	if err != nil {
		return err
	}
	defer st.Close()
	flags := processor.NewKafkaFlagPublisher(cfg.Brokers, cfg.FrictionTopic)
	defer flags.Close()
	reg := newRegistry()
	p, err := processor.New(cfg, st, flags, reg, log)
	if err != nil {
		return err
	}
	list, err := followForgetList(ctx, cfg.Brokers, *forgetTopic, reg, log)
	if err != nil {
		return err
	}
	p.FollowForgetList(list, st)
	serveMetrics(ctx, *metrics, reg, log)
	log.Info("processor consuming", "topic", cfg.Topic, "group", cfg.GroupID, "clickhouse", chCfg.Addr, "database", chCfg.Database)
	return p.Run(ctx)
}

func runMigrate(ctx context.Context, args []string, stdout io.Writer, _ *slog.Logger) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	chCfg := clickhouseFlags(fs, "127.0.0.1:9000")
	if err := parse(fs, args); err != nil {
		return err
	}
	applied, err := store.Migrate(ctx, *chCfg)
	if err != nil {
		return err
	}
	for _, m := range applied {
		fmt.Fprintf(stdout, "applied %04d_%s\n", m.Version, m.Name)
	}
	fmt.Fprintf(stdout, "database %s is up to date (%d migrations applied now)\n", chCfg.Database, len(applied))
	return nil
}
