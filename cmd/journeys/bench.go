package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/journeys/journeys/bench"
)

func runBench(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	if len(args) > 0 && args[0] == "broker" {
		return runBenchBroker(ctx, args[1:])
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var cfg bench.Config
	fs.IntVar(&cfg.Customers, "customers", bench.DefaultCustomers, "simulated customers (about 17 events each); half are sent at --rate, half at the maximum rate")
	fs.Int64Var(&cfg.Seed, "seed", 1, "random seed of the simulated traffic")
	fs.IntVar(&cfg.Rate, "rate", bench.DefaultRate, "events/s of the fixed-rate phase")
	fs.IntVar(&cfg.BatchSize, "batch-size", bench.DefaultBatchSize, "events per request in the pipeline phases")
	fs.IntVar(&cfg.Senders, "senders", bench.DefaultSenders, "concurrent senders in the pipeline phases")
	fs.DurationVar(&cfg.IngestFor, "ingest-for", bench.DefaultIngestFor, "length of each ingest-stage run (negative: skip the ingest stage)")
	fs.IntVar(&cfg.SingleConns, "single-conns", bench.DefaultSingleConns, "connections of the ingest-stage runs with one event per request")
	fs.IntVar(&cfg.BatchConns, "batch-conns", bench.DefaultBatchConns, "connections of the ingest-stage runs with batches")
	fs.StringVar(&cfg.ClickHouse, "clickhouse", "", "use this ClickHouse (host:port) instead of starting a throwaway one (its CPU and memory are then not measured)")
	fs.StringVar(&cfg.Database, "database", bench.DefaultDatabase, "database of the bench's tables; dropped and created afresh")
	fs.StringVar(&cfg.WorkDir, "work-dir", "", "folder for logs and the throwaway ClickHouse (default: a new temporary folder)")
	fs.StringVar(&cfg.ProfileDir, "profile-dir", "", "write CPU and allocation profiles of ingest and the processor into this folder")
	fs.DurationVar(&cfg.Timeout, "timeout", bench.DefaultTimeout, "longest wait for rows to appear")
	scale := fs.String("scale", "10000,100000,1000000", "customers of each step of the scaling run, comma-separated (empty: skip it)")
	fs.IntVar(&cfg.ScaleEventsPerCustomer, "scale-events-per-customer", 2, "touchpoints per customer in the scaling run")
	redpandaSrc := fs.String("redpanda-src", "bench/redpanda-connect", "module of the slim Redpanda Connect, built before the run (empty: skip that peer)")
	redpandaBin := fs.String("redpanda-bin", "bin/redpanda-connect", "where the Redpanda Connect binary is built (skipped when newer than --redpanda-src)")
	jsonFile := fs.String("json", "", "also write the results as JSON to this file ('-': stdout, instead of the table)")
	if err := parse(fs, args); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the journeys binary: %w", err)
	}
	cfg.Binary, cfg.Log = exe, log
	if cfg.WorkDir == "" {
		if cfg.WorkDir, err = os.MkdirTemp("", "journeys-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(cfg.WorkDir)
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return fmt.Errorf("profile folder: %w", err)
		}
		if cfg.ProfileDir, err = filepath.Abs(cfg.ProfileDir); err != nil {
			return err
		}
	}
	for _, s := range splitList(*scale) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("--scale %q: %w", *scale, err)
		}
		cfg.Scale = append(cfg.Scale, n)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if *redpandaSrc != "" && cfg.IngestFor > 0 {
		if cfg.Redpanda, err = filepath.Abs(*redpandaBin); err != nil {
			return err
		}
		log.Info("building Redpanda Connect unless it is up to date", "src", *redpandaSrc, "bin", cfg.Redpanda)
		if err := bench.BuildRedpanda(ctx, *redpandaSrc, cfg.Redpanda); err != nil {
			return err
		}
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *jsonFile == "-" {
		return res.WriteJSON(stdout)
	}
	if *jsonFile != "" {
		f, err := os.Create(*jsonFile)
		if err != nil {
			return err
		}
		if err := res.WriteJSON(f); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", *jsonFile, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return res.WriteTable(stdout)
}

// runBenchBroker is the broker process of a bench run.
func runBenchBroker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench broker", flag.ContinueOnError)
	addrFile := fs.String("addr-file", "", "file the bootstrap addresses are written to once the broker listens")
	retention := fs.Int64("retention-bytes", bench.DefaultRetentionBytes, "bound of each partition's log")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *addrFile == "" {
		return fmt.Errorf("--addr-file is required")
	}
	return bench.ServeBroker(ctx, *addrFile, *retention)
}
