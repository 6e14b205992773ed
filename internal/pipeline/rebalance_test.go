package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/broker"
	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/simulate"
	"github.com/journeys/journeys/store"
)

// buildJourneys builds the binary, so that a processor can be killed with
// SIGKILL like a crashing process: no graceful shutdown, no leaving the
// consumer group.
func buildJourneys(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "journeys")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/journeys/journeys/cmd/journeys")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startProcess runs `journeys process` as a child process.
func startProcess(t *testing.T, bin string, b *broker.Embedded, cfg store.Config) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "process",
		"--kafka", strings.Join(b.Addrs(), ","),
		"--clickhouse", cfg.Addr, "--database", cfg.Database,
		"--metrics-listen", "", "--batch-size", "500", "--batch-wait", "20ms")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if !testing.Verbose() {
		cmd.Stdout, cmd.Stderr = nil, nil
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

func TestKilledProcessorInAGroupOfTwoChangesNoRow(t *testing.T) {
	bin := buildJourneys(t)
	cfg := simulate.Config{Customers: 300, Seed: 11, BatchSize: 50}.WithDefaults()
	ds := simulate.Generate(cfg)
	send := func(url string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, err := simulate.Send(ctx, http.DefaultClient, url, "test-key", ds, cfg)
		return err
	}
	journeys := 0
	for _, e := range ds.PerCustomer {
		journeys += e.Journeys
	}
	settled := func(s *store.Store) {
		waitTouchpoints(t, s, uint64(ds.TotalEvents))
		eventually(t, 90*time.Second, "every journey and flag written", func() (bool, string) {
			j := count(t, s, "SELECT count() FROM journeys FINAL WHERE retracted = 0")
			f := count(t, s, "SELECT count() FROM friction_flags FINAL WHERE rule = 'repeated_calls_before_purchase' AND retracted = 0")
			return j == uint64(journeys) && f == uint64(ds.ExpectedFlags),
				fmt.Sprintf("%d journeys (want %d), %d repeated-calls flags (want %d)", j, journeys, f, ds.ExpectedFlags)
		})
	}

	// The reference: one processor, never interrupted.
	ref := chtest.NewDatabase(t)
	refStore, err := store.Open(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	defer refStore.Close()
	{
		b := startBroker(t)
		url := startIngest(t, b)
		p := startProcess(t, bin, b, ref)
		if err := send(url); err != nil {
			t.Fatalf("simulate: %v", err)
		}
		settled(refStore)
		p.Process.Kill()
		p.Wait()
	}

	// Two processors share the partitions; one is killed mid-stream.
	db := chtest.NewDatabase(t)
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := startBroker(t)
	url := startIngest(t, b)
	victim := startProcess(t, bin, b, db)
	startProcess(t, bin, b, db)
	sent := make(chan error, 1)
	go func() { sent <- send(url) }()
	eventually(t, 60*time.Second, "a third of the events processed", func() (bool, string) {
		n := count(t, s, "SELECT count() FROM touchpoints")
		return n >= uint64(ds.TotalEvents/3), ""
	})
	if err := victim.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	victim.Wait()
	if err := <-sent; err != nil {
		t.Fatalf("simulate: %v", err)
	}
	settled(s)
	if got, want := structure(t, s), structure(t, refStore); got != want {
		t.Errorf("rows differ from the uninterrupted run's:\n%s", lineDiff(got, want))
	}
}

// lineDiff lists the lines only one side has.
func lineDiff(got, want string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range splitLines(s) {
			m[l] = true
		}
		return m
	}
	g, w := in(got), in(want)
	var out []string
	for l := range g {
		if !w[l] {
			out = append(out, "+ "+l)
		}
	}
	for l := range w {
		if !g[l] {
			out = append(out, "- "+l)
		}
	}
	if len(out) > 40 {
		out = append(out[:40], "…")
	}
	return strings.Join(out, "\n")
}
