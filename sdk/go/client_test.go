package journeys_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/journeys/journeys/schemas"
	journeys "github.com/journeys/journeys/sdk/go"
	"github.com/journeys/journeys/sdk/internal/sdktest"
)

// failures collects what a client hands to OnFailure.
type failures struct {
	mu     sync.Mutex
	events int
	errs   []error
}

func (f *failures) record(evs []journeys.Event, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events += len(evs)
	f.errs = append(f.errs, err)
}

func (f *failures) count() (int, []error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.events, append([]error(nil), f.errs...)
}

func newClient(t *testing.T, env *sdktest.Env, cfg journeys.Config) (*journeys.Client, *failures) {
	t.Helper()
	f := &failures{}
	cfg.Endpoint, cfg.OnFailure = env.URL, f.record
	if cfg.WriteKey == "" {
		cfg.WriteKey = sdktest.WriteKey
	}
	c, err := journeys.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return c, f
}

func calls(n int) []journeys.Call {
	out := make([]journeys.Call, n)
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range out {
		out[i] = journeys.Call{ID: fmt.Sprintf("c%03d", i), At: at.Add(time.Duration(i) * time.Minute),
			Wait: 30 * time.Second, Duration: 4 * time.Minute, Topic: "billing", Direction: "inbound"}
	}
	return out
}

func TestGoSDK(t *testing.T) {
	ctx := context.Background()

	t.Run("full batches go at once, the rest on Flush", func(t *testing.T) {
		env := sdktest.Start(t)
		c, f := newClient(t, env, journeys.Config{BatchSize: 10, FlushInterval: time.Hour})
		for _, call := range calls(25) {
			if err := c.Call(ctx, "cust-1", call); err != nil {
				t.Fatal(err)
			}
		}
		env.WaitEvents(t, 10*time.Second, "two full batches", func(evs []schemas.Event) bool { return len(evs) == 20 })
		if err := c.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		evs := env.WaitEvents(t, 10*time.Second, "all 25 calls", func(evs []schemas.Event) bool { return len(evs) == 25 })
		if got := env.Gate.Count(0); got != 3 {
			t.Errorf("requests = %d, want 3 (10 + 10 + 5)", got)
		}
		for _, ev := range evs {
			if ev.Event != "call" || ev.Channel != "phone" || ev.UserID != "cust-1" {
				t.Fatalf("unexpected event %+v", ev)
			}
		}
		if n, errs := f.count(); n != 0 {
			t.Errorf("failures: %d %v", n, errs)
		}
	})

	t.Run("a partial batch goes after the flush interval", func(t *testing.T) {
		env := sdktest.Start(t)
		c, _ := newClient(t, env, journeys.Config{FlushInterval: 100 * time.Millisecond})
		if err := c.Purchase(ctx, "cust-2", journeys.Purchase{OrderID: "o-1", Revenue: 49.5, Currency: "EUR"}); err != nil {
			t.Fatal(err)
		}
		evs := env.WaitEvents(t, 5*time.Second, "the purchase", func(evs []schemas.Event) bool { return len(evs) == 1 })
		if evs[0].MessageID != "purchase-o-1" || evs[0].Event != "purchase" {
			t.Errorf("got %+v", evs[0])
		}
	})

	t.Run("retries after 503 with the same messageIds, honouring Retry-After", func(t *testing.T) {
		env := sdktest.Start(t)
		env.Gate.FailNext(2, "1")
		c, f := newClient(t, env, journeys.Config{FlushInterval: time.Hour, RetryMin: 10 * time.Millisecond})
		for _, call := range calls(5) {
			c.Call(ctx, "cust-3", call)
		}
		start := time.Now()
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := c.Flush(fctx); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < 2*time.Second {
			t.Errorf("two 503s with Retry-After: 1 were retried within %s", took)
		}
		evs := env.WaitEvents(t, 5*time.Second, "5 calls", func(evs []schemas.Event) bool { return len(evs) >= 5 })
		if dup := sdktest.Duplicates(evs); len(dup) > 0 || len(evs) != 5 {
			t.Errorf("%d events, duplicates %v", len(evs), dup)
		}
		reqs := env.Gate.Requests()
		if len(reqs) != 3 || reqs[0].Status != 503 || reqs[2].Status != 200 {
			t.Fatalf("requests %+v, want 503, 503, 200", reqs)
		}
		for _, r := range reqs[1:] {
			if fmt.Sprint(r.IDs) != fmt.Sprint(reqs[0].IDs) {
				t.Errorf("retry sent ids %v, first attempt %v", r.IDs, reqs[0].IDs)
			}
		}
		if n, _ := f.count(); n != 0 {
			t.Errorf("%d events failed", n)
		}
	})

	t.Run("a 4xx other than 429 is not retried and goes to OnFailure", func(t *testing.T) {
		env := sdktest.Start(t)
		c, f := newClient(t, env, journeys.Config{WriteKey: "wrong-key", FlushInterval: time.Hour, RetryMin: 10 * time.Millisecond})
		c.Track(ctx, "cust-4", "email", time.Now(), nil)
		if err := c.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		n, errs := f.count()
		var st *journeys.StatusError
		if n != 1 || len(errs) != 1 || !errors.As(errs[0], &st) || st.Code != 401 {
			t.Fatalf("failures %d %v, want one 401", n, errs)
		}
		if got := env.Gate.Count(0); got != 1 {
			t.Errorf("requests = %d, want 1", got)
		}
	})

	t.Run("Close flushes what is queued", func(t *testing.T) {
		env := sdktest.Start(t)
		c, err := journeys.New(journeys.Config{Endpoint: env.URL, WriteKey: sdktest.WriteKey, FlushInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		c.PromiseMade(ctx, "cust-5", journeys.Promise{ID: "p1", At: time.Now(), Due: time.Now().Add(72 * time.Hour), What: "send two issues"})
		c.Identify(ctx, "cust-5", map[string]any{"plan": "trial"})
		c.PromiseKept(ctx, "cust-5", journeys.Promise{ID: "p1", At: time.Now()})
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Enqueue(ctx, journeys.Event{Type: "track", Event: "late", UserID: "x"}); !errors.Is(err, journeys.ErrClosed) {
			t.Errorf("Enqueue after Close = %v, want ErrClosed", err)
		}
		env.WaitEvents(t, 5*time.Second, "3 events sent by Close", func(evs []schemas.Event) bool { return len(evs) == 3 })
	})

	t.Run("memory stays bounded while the endpoint is down", func(t *testing.T) {
		env := sdktest.Start(t)
		env.Gate.SetDown(true, "")
		const max = 100
		c, f := newClient(t, env, journeys.Config{MaxQueue: max, BatchSize: 50, DropWhenFull: true,
			FlushInterval: 10 * time.Millisecond, RetryMin: 20 * time.Millisecond, RetryMax: 50 * time.Millisecond, MaxAttempts: 1000})
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		const sent = 20000
		full := 0
		for i := range sent {
			err := c.Track(ctx, "cust-6", "email", time.Now(), map[string]any{"campaign": fmt.Sprintf("c-%d", i), "subject": "a subject line of ordinary length"})
			if errors.Is(err, journeys.ErrQueueFull) {
				full++
			} else if err != nil {
				t.Fatal(err)
			}
			if n := c.Len(); n > max {
				t.Fatalf("client holds %d events, bound is %d", n, max)
			}
		}
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		// The bound itself is checked by Len above; the heap figure is for
		// the reader (the broker's readers allocate beside it).
		t.Logf("heap grew by %d bytes enqueueing %d events, %d held at most", int64(after.HeapAlloc)-int64(before.HeapAlloc), sent, max)
		if full < sent-max {
			t.Errorf("%d of %d refused as queue full, want at least %d", full, sent, sent-max)
		}
		if n, _ := f.count(); n != full {
			t.Errorf("OnFailure got %d events, Enqueue refused %d", n, full)
		}
		// Waiting Enqueue gives up when its context ends.
		c2, _ := newClient(t, env, journeys.Config{MaxQueue: 1, FlushInterval: time.Hour})
		c2.Track(ctx, "cust-7", "email", time.Now(), nil)
		wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := c2.Track(wctx, "cust-7", "email", time.Now(), nil); !errors.Is(err, journeys.ErrQueueFull) {
			t.Errorf("Enqueue on a full queue = %v, want ErrQueueFull", err)
		}
		// Once ingest is back the held events drain.
		env.Gate.SetDown(false, "")
		if err := c.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if env.Gate.Count(503) == 0 {
			t.Error("the gate never answered 503")
		}
	})

	t.Run("invalid events are refused by Enqueue", func(t *testing.T) {
		env := sdktest.Start(t)
		c, _ := newClient(t, env, journeys.Config{})
		for _, e := range []journeys.Event{{}, {Type: "track", UserID: "u"}, {Type: "page"}} {
			if err := c.Enqueue(ctx, e); !errors.Is(err, journeys.ErrInvalidEvent) {
				t.Errorf("Enqueue(%+v) = %v, want ErrInvalidEvent", e, err)
			}
		}
	})
}
