package chaos

import (
	"context"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/chserver"
	"github.com/journeys/journeys/store"
)

// ClickHouse stopped for a while and started again on the same folder and
// port while the processor writes: the processor backs off, keeps its
// offsets, and catches up; nothing is lost or shown twice.
func TestClickHouseStoppedAndRestartedProcessorCatchesUp(t *testing.T) {
	customers := traffic(1)
	want := reference(t, "seed 1", customers, nil)
	ctx := context.Background()
	// A ClickHouse of the test's own: the shared one must stay up.
	srv, err := chserver.Start(ctx, chserver.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	cfg := store.Config{Addr: srv.Addr(), Database: "journeys_chaos"}
	if _, err := store.Migrate(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	// Half the customers' traffic is processed, ClickHouse stops, the
	// other half comes while it is down: the processor's inserts must fail
	// and be retried until it is back.
	r := newRigOn(t, st)
	half := len(customers) / 2
	p := r.process(nil, nil)
	l := r.send(driver(r.url), customers[:half])
	waitFor(t, 60*time.Second, "the first half stored", func() bool { return r.stored() >= len(l.Acked) })
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	l = merge(l, r.send(driver(r.url), customers[half:]))
	// The first call to fail may be a read (a message id lookup, a
	// customer's journeys), which no metric counts: the log shows it.
	waitFor(t, 60*time.Second, "the processor retrying while ClickHouse is down", func() bool {
		return p.logged(`msg=retrying`)
	})
	down := scaled(3*time.Second, 30*time.Second)
	time.Sleep(time.Until(stopped.Add(down)))
	if srv, err = chserver.Start(ctx, srv.Config()); err != nil {
		t.Fatalf("start ClickHouse again on the same folder and ports: %v", err)
	}
	res, got := r.settle(l)
	verify(t, "ClickHouse stopped for "+down.String(), 1, res, got, want)
}
