package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

// process is a `journeys process` child process and what it logged.
type process struct {
	*exec.Cmd
	mu  sync.Mutex
	log bytes.Buffer
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if testing.Verbose() {
		os.Stderr.Write(b)
	}
	return p.log.Write(b)
}

// assigned reports the generation this process last started with
// partitions assigned, or 0.
func (p *process) assigned() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	gen := 0
	for _, l := range strings.Split(p.log.String(), "\n") {
		if !strings.Contains(l, `msg="consumer group generation started"`) {
			continue
		}
		var g, n int
		for _, f := range strings.Fields(l) {
			fmt.Sscanf(f, "generation=%d", &g)
			fmt.Sscanf(f, "partitions=%d", &n)
		}
		gen = 0
		if n > 0 {
			gen = g
		}
	}
	return gen
}

// startProcess runs `journeys process` as a child process.
func startProcess(t *testing.T, bin string, b *broker.Embedded, cfg store.Config) *process {
	t.Helper()
	p := &process{Cmd: exec.Command(bin, "process",
		"--kafka", strings.Join(b.Addrs(), ","),
		"--clickhouse", cfg.Addr, "--database", cfg.Database,
		"--metrics-listen", "", "--batch-size", "500", "--batch-wait", "20ms")}
	p.Stdout, p.Stderr = p, p
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.ProcessState == nil {
			p.Process.Kill()
			p.Wait()
		}
	})
	return p
}

func TestKilledProcessorInAGroupOfTwoChangesNoRow(t *testing.T) {
	bin := buildJourneys(t)
	// Two weeks ending six days ago: no journey reaches the 30-day
	// inactivity timeout on the wall clock between the two runs, which
	// would close it in one run and not the other.
	cfg := simulate.Config{Customers: 300, Seed: 11, BatchSize: 50, Days: 14,
		Start: time.Now().UTC().AddDate(0, 0, -20).Truncate(24 * time.Hour)}.WithDefaults()
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
		eventually(t, 60*time.Second, "every customers row written", func() (bool, string) {
			c := count(t, s, "SELECT count() FROM customers FINAL WHERE retracted = 0")
			return c == uint64(len(ds.Profiles)), fmt.Sprintf("%d customers (want %d)", c, len(ds.Profiles))
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
	other := startProcess(t, bin, b, db)
	sent := make(chan error, 1)
	go func() { sent <- send(url) }()
	// The kill comes once both processors hold partitions of the same
	// generation: the in-process broker (kfake) sometimes never expires a
	// member killed in the middle of a rebalance, leaving its partitions
	// unowned, which Apache Kafka's session timeout would not.
	eventually(t, 60*time.Second, "a third of the events processed by two processors", func() (bool, string) {
		n := count(t, s, "SELECT count() FROM touchpoints")
		g1, g2 := victim.assigned(), other.assigned()
		return n >= uint64(ds.TotalEvents/3) && g1 > 0 && g1 == g2, fmt.Sprintf("%d touchpoints, generations %d and %d", n, g1, g2)
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
		t.Errorf("rows differ from the uninterrupted run's:\n%s", chtest.LineDiff(got, want))
	}
}
