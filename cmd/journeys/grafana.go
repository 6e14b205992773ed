package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/journeys/journeys/dashboards/grafana"
)

// runGrafana wires `journeys grafana apply`.
func runGrafana(ctx context.Context, args []string, stdout io.Writer, _ *slog.Logger) error {
	if len(args) == 0 || args[0] != "apply" {
		return errors.New("usage: journeys grafana apply --url URL --token TOKEN [--folder TITLE] [--clickhouse-host H] [--clickhouse-port P] [--clickhouse-user U] [--clickhouse-password PW] [--prometheus-url URL] [--dry-run]")
	}
	fs := flag.NewFlagSet("grafana apply", flag.ContinueOnError)
	var cfg grafana.Config
	fs.StringVar(&cfg.URL, "url", env("JOURNEYS_GRAFANA_URL", ""), "Grafana base URL, e.g. http://127.0.0.1:3000 (env JOURNEYS_GRAFANA_URL)")
	fs.StringVar(&cfg.Token, "token", env("JOURNEYS_GRAFANA_TOKEN", ""), "Grafana service account token (env JOURNEYS_GRAFANA_TOKEN)")
	fs.StringVar(&cfg.Folder, "folder", grafana.DefaultFolder, "folder title for the dashboards and alert rules")
	fs.BoolVar(&cfg.DryRun, "dry-run", false, "print the plan (create/update/unchanged per object) and write nothing")
	ds := &cfg.DataSources
	fs.StringVar(&ds.ClickHouseHost, "clickhouse-host", "", "ClickHouse host as Grafana reaches it (default: the provisioned clickhouse, compose's)")
	fs.IntVar(&ds.ClickHousePort, "clickhouse-port", 0, "ClickHouse native-protocol port (default: the provisioned 9000)")
	fs.StringVar(&ds.ClickHouseUser, "clickhouse-user", "", "ClickHouse user of the data source (default: the provisioned default)")
	fs.StringVar(&ds.ClickHousePassword, "clickhouse-password", env("JOURNEYS_GRAFANA_CLICKHOUSE_PASSWORD", ""),
		"ClickHouse password; given, the data source is always updated, since Grafana never returns it (env JOURNEYS_GRAFANA_CLICKHOUSE_PASSWORD)")
	fs.StringVar(&ds.PrometheusURL, "prometheus-url", "", "Prometheus URL as Grafana reaches it (default: the provisioned http://prometheus:9090)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	plan, err := grafana.Apply(ctx, cfg)
	if err != nil {
		// What was done before the failure, then the failure.
		for _, c := range plan {
			fmt.Fprintln(stdout, c)
		}
		return fmt.Errorf("apply to %s: %w", cfg.URL, err)
	}
	return plan.WriteText(stdout, cfg.DryRun)
}
