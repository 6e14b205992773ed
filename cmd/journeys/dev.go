package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/journeys/journeys/ingest"
	"github.com/journeys/journeys/internal/broker"
	"github.com/journeys/journeys/internal/chserver"
	"github.com/journeys/journeys/internal/pipeline"
	"github.com/journeys/journeys/processor"
)

func runDev(ctx context.Context, args []string, _ io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	listen := fs.String("listen", env("JOURNEYS_LISTEN", "127.0.0.1:8080"), "HTTP listen address of the tracking API and /metrics (env JOURNEYS_LISTEN)")
	chCfg := clickhouseFlags(fs, "")
	keys := writeKeysFlag(fs, "dev")
	dataDir := fs.String("data", env("JOURNEYS_DATA", "./var"), "folder for the embedded ClickHouse's data and dev.env (env JOURNEYS_DATA)")
	adminToken := fs.String("admin-token", env("JOURNEYS_ADMIN_TOKEN", ""), "enables POST /v1/admin/forget for Authorization: Bearer <token> (env JOURNEYS_ADMIN_TOKEN)")
	kafkaPort := fs.Int("kafka-port", 0, "port of the embedded Kafka broker on 127.0.0.1 (0: a free port)")
	pcfg := processor.DefaultConfig()
	pcfg.Journey.RegisterFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}

	if chCfg.Addr == "" {
		srv, err := chserver.Start(ctx, chserver.Config{Dir: filepath.Join(*dataDir, "clickhouse")})
		if err != nil {
			return fmt.Errorf("start embedded clickhouse (or pass --clickhouse host:port): %w", err)
		}
		defer srv.Stop()
		chCfg.Addr = srv.Addr()
		log.Info("embedded clickhouse started", "addr", srv.Addr(), "dir", srv.Dir())
	}

	b, err := broker.Start(broker.Config{Port: *kafkaPort})
	if err != nil {
		return err
	}
	defer b.Close()
	log.Info("embedded kafka broker started", "addrs", b.Addrs())

	p, err := pipeline.Start(ctx, pipeline.Config{
		Ingest:    ingest.Config{Listen: *listen, WriteKeys: splitList(*keys), AdminToken: *adminToken},
		Processor: pcfg,
		Store:     *chCfg,
		Brokers:   b.Addrs(),
		Registry:  newRegistry(),
		Log:       log,
	})
	if err != nil {
		return err
	}
	envFile := filepath.Join(*dataDir, "dev.env")
	vars := fmt.Sprintf("JOURNEYS_URL=%s\nJOURNEYS_CLICKHOUSE=%s\nJOURNEYS_DATABASE=%s\nJOURNEYS_KAFKA=%s\n",
		p.URL, chCfg.Addr, chCfg.Database, strings.Join(b.Addrs(), ","))
	// Written whole, then renamed: scripts wait for the file to appear.
	if err := os.WriteFile(envFile+".tmp", []byte(vars), 0o644); err != nil {
		p.Close()
		return fmt.Errorf("write %s: %w", envFile, err)
	}
	if err := os.Rename(envFile+".tmp", envFile); err != nil {
		p.Close()
		return fmt.Errorf("write %s: %w", envFile, err)
	}
	defer os.Remove(envFile)
	log.Info("journeys dev is running; Ctrl-C stops it", "api", p.URL, "write_keys", *keys, "metrics", p.URL+"/metrics", "env", envFile)
	<-ctx.Done()
	log.Info("shutting down")
	return p.Close()
}
