// Command journeys runs the Journeys pipeline: `journeys ingest`,
// `journeys process`, `journeys migrate`, `journeys forget`, `journeys dev`
// (everything in one process), `journeys simulate`, `journeys report`,
// `journeys bench` and `journeys grafana apply`. Each subcommand only
// parses flags and wires packages together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error
}

var commands = []command{
	{"ingest", "serve the tracking API and write events to Kafka", runIngest},
	{"process", "consume touchpoints, build journeys, flag friction, write ClickHouse", runProcess},
	{"migrate", "create the ClickHouse database and tables", runMigrate},
	{"forget", "forget a customer: suppress their events everywhere and delete their rows", runForget},
	{"dev", "everything in one process: embedded broker, ClickHouse, ingest, processor", runDev},
	{"simulate", "send four realistic weeks of omnichannel traffic through the HTTP API", runSimulate},
	{"report", "print the friction report read back from ClickHouse; --html FILE also writes it as a web page", runReport},
	{"bench", "benchmark the whole pipeline on this machine beside Redpanda Connect and ClickHouse's Kafka engine; results as a table and JSON", runBench},
	{"grafana", "grafana apply: push data sources, dashboards and alert rules to a Grafana", runGrafana},
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage(os.Stderr)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands {
		if c.name != os.Args[1] {
			continue
		}
		stopProfile, err := startProfile()
		if err != nil {
			fmt.Fprintf(os.Stderr, "journeys %s: %v\n", c.name, err)
			os.Exit(1)
		}
		err = c.run(ctx, os.Args[2:], os.Stdout, log)
		if perr := stopProfile(); perr != nil {
			log.Error("profile not written", "err", perr)
		}
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "journeys %s: %v\n", c.name, err)
			os.Exit(1)
		}
		return
	}
	fmt.Fprintf(os.Stderr, "journeys: unknown command %q\n\n", os.Args[1])
	usage(os.Stderr)
	os.Exit(2)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: journeys <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'journeys <command> -h' for a command's flags.")
}
