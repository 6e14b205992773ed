package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/journeys/journeys/report"
	"github.com/journeys/journeys/simulate"
	"github.com/journeys/journeys/store"
)

func runSimulate(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	url := fs.String("url", env("JOURNEYS_URL", "http://127.0.0.1:8080"), "base URL of the tracking API (env JOURNEYS_URL)")
	key := fs.String("write-key", env("JOURNEYS_WRITE_KEY", "dev"), "write key to send with (env JOURNEYS_WRITE_KEY)")
	var cfg simulate.Config
	fs.IntVar(&cfg.Customers, "customers", 1000, "number of simulated customers")
	fs.Int64Var(&cfg.Seed, "seed", 1, "random seed; the same seed and start day send the same events")
	fs.IntVar(&cfg.Days, "days", simulate.DefaultDays, "length of the simulated period in days, ending today")
	fs.IntVar(&cfg.BatchSize, "batch-size", simulate.DefaultBatchSize, "events per request")
	fs.IntVar(&cfg.Concurrency, "concurrency", simulate.DefaultConcurrency, "concurrent senders")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	ds := simulate.Generate(cfg)
	start := time.Now()
	stats, err := simulate.Send(ctx, &http.Client{Timeout: 30 * time.Second}, *url, *key, ds, cfg)
	if err != nil {
		return fmt.Errorf("send: %w (acknowledged %d of %d events)", err, stats.Acknowledged, ds.TotalEvents)
	}
	fmt.Fprintf(stdout, "simulated %d customers from %s: %d events acknowledged in %d batches (%d retries) in %s\n",
		cfg.Customers, cfg.Start.Format("2006-01-02"), stats.Acknowledged, stats.Batches, stats.Retries, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "expected: %d purchases, %d repeated-calls flags, calls before purchase %v (0,1,2,3,4,5+)\n",
		ds.Purchases, ds.ExpectedFlags, ds.CallsBeforePurchase)
	return nil
}

func runReport(ctx context.Context, args []string, stdout io.Writer, _ *slog.Logger) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	chCfg := clickhouseFlags(fs, "127.0.0.1:9000")
	wait := fs.Uint64("wait-touchpoints", 0, "first wait until this many touchpoints are stored")
	timeout := fs.Duration("timeout", 2*time.Minute, "longest wait for --wait-touchpoints")
	htmlFile := fs.String("html", "", "also write the HTML report (CX overview and friction, self-contained) to this file")
	from := fs.String("from", "", "start of the HTML report's range: a day (2006-01-02, UTC) or an RFC 3339 time; default the first touchpoint's day, or 30 days before --to")
	to := fs.String("to", "", "end of the HTML report's range, included: a day or an RFC 3339 time; default the last touchpoint, or now")
	if err := parse(fs, args); err != nil {
		return err
	}
	st, err := store.Open(ctx, *chCfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if *wait > 0 {
		wctx, cancel := context.WithTimeout(ctx, *timeout)
		_, err := report.WaitForTouchpoints(wctx, st.Conn(), *wait)
		cancel()
		if err != nil {
			return err
		}
	}
	s, err := report.Load(ctx, st.Conn())
	if err != nil {
		return err
	}
	if err := s.WriteText(stdout); err != nil {
		return err
	}
	if *htmlFile == "" {
		return nil
	}
	r, err := report.ResolveRange(ctx, st.Conn(), *from, *to, time.Now())
	if err != nil {
		return err
	}
	o, err := report.LoadOverview(ctx, st.Conn(), r)
	if err != nil {
		return err
	}
	f, err := os.Create(*htmlFile)
	if err != nil {
		return err
	}
	if err := o.WriteHTML(f, time.Now()); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", *htmlFile, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nHTML report (%s to %s): %s\n", r.From.Format("2006-01-02"), r.To.Format("2006-01-02"), *htmlFile)
	return nil
}
