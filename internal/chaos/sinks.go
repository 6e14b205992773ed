package chaos

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/journeys/journeys/processor"
	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

// KillPoint is where in a batch's writes a KillingSink kills the processor.
type KillPoint int

const (
	// BeforeInsert: the batch's first insert (touchpoints) never starts.
	BeforeInsert KillPoint = iota
	// AfterInsert: the touchpoints are in ClickHouse, nothing else is.
	AfterInsert
	// BeforeCommit: every insert is done (customers last), the offsets are
	// not committed.
	BeforeCommit
)

func (k KillPoint) String() string {
	return [...]string{"before the insert", "after the touchpoints insert", "before the offset commit"}[k]
}

// ErrKilled is what a killed processor's sink answers from then on.
var ErrKilled = errors.New("processor killed by fault injection")

// KillingSink passes writes through until the processor's Batch-th batch
// (counted by touchpoint inserts, from 1) reaches Point; then it calls Kill,
// which must end the processor without a graceful flush (cancel its
// context), and refuses every write from then on. The processor never
// commits that batch.
type KillingSink struct {
	processor.Sink
	Point  KillPoint
	Batch  int32
	Kill   func()
	n      atomic.Int32
	killed atomic.Bool
}

// Killed reports whether the kill happened.
func (k *KillingSink) Killed() bool { return k.killed.Load() }

func (k *KillingSink) kill() error {
	k.killed.Store(true)
	k.Kill()
	return ErrKilled
}

func (k *KillingSink) InsertTouchpoints(ctx context.Context, rows []schemas.Touchpoint) error {
	if k.killed.Load() {
		return ErrKilled
	}
	last := k.n.Add(1) == k.Batch
	if last && k.Point == BeforeInsert {
		return k.kill()
	}
	if err := k.Sink.InsertTouchpoints(ctx, rows); err != nil {
		return err
	}
	if last && k.Point == AfterInsert {
		return k.kill()
	}
	return nil
}

func (k *KillingSink) InsertJourneys(ctx context.Context, rows []schemas.Journey) error {
	if k.killed.Load() {
		return ErrKilled
	}
	return k.Sink.InsertJourneys(ctx, rows)
}

func (k *KillingSink) InsertFlags(ctx context.Context, rows []schemas.FrictionFlag) error {
	if k.killed.Load() {
		return ErrKilled
	}
	return k.Sink.InsertFlags(ctx, rows)
}

func (k *KillingSink) InsertSessions(ctx context.Context, rows []schemas.Session) error {
	if k.killed.Load() {
		return ErrKilled
	}
	return k.Sink.InsertSessions(ctx, rows)
}

func (k *KillingSink) InsertCustomers(ctx context.Context, rows []schemas.Customer) error {
	if k.killed.Load() {
		return ErrKilled
	}
	if err := k.Sink.InsertCustomers(ctx, rows); err != nil {
		return err
	}
	if k.Point == BeforeCommit && k.n.Load() >= k.Batch {
		return k.kill()
	}
	return nil
}

// TimeoutSink makes every Every-th insert (of any table) time out after
// ClickHouse committed it: the rows are written, and the processor is told
// the insert timed out, so it writes them again.
type TimeoutSink struct {
	processor.Sink
	Every    int32
	n        atomic.Int32
	injected atomic.Int32
}

// Injected is how many timeouts were reported.
func (s *TimeoutSink) Injected() int { return int(s.injected.Load()) }

func (s *TimeoutSink) after(err error, table string) error {
	if err != nil || s.n.Add(1)%s.Every != 0 {
		return err
	}
	s.injected.Add(1)
	return fmt.Errorf("insert %s: reading the answer: %w (fault injected after the insert committed)", table, context.DeadlineExceeded)
}

func (s *TimeoutSink) InsertTouchpoints(ctx context.Context, rows []schemas.Touchpoint) error {
	return s.after(s.Sink.InsertTouchpoints(ctx, rows), "touchpoints")
}

func (s *TimeoutSink) InsertJourneys(ctx context.Context, rows []schemas.Journey) error {
	return s.after(s.Sink.InsertJourneys(ctx, rows), "journeys")
}

func (s *TimeoutSink) InsertFlags(ctx context.Context, rows []schemas.FrictionFlag) error {
	return s.after(s.Sink.InsertFlags(ctx, rows), "friction_flags")
}

func (s *TimeoutSink) InsertSessions(ctx context.Context, rows []schemas.Session) error {
	return s.after(s.Sink.InsertSessions(ctx, rows), "sessions")
}

func (s *TimeoutSink) InsertCustomers(ctx context.Context, rows []schemas.Customer) error {
	return s.after(s.Sink.InsertCustomers(ctx, rows), "customers")
}

// LateLandingSink makes touchpoints inserts end with their generation:
// the first Abandon inserts wait for their context to end whatever comes
// first (so the fault happens however fast the machine is), and every
// later one is held for Pause before it starts (so generations often end
// with one under way). An insert the processor abandons (its context ends
// first: the generation ended) is not lost: like an insert whose last
// block reached ClickHouse before the client gave up, it commits later,
// right after the next take-over reads how far the partitions were
// written (WrittenOffsets), the moment a new owner is most likely to miss
// it. Land commits what is still held.
type LateLandingSink struct {
	processor.Sink
	Abandon int
	Pause   time.Duration
	mu      sync.Mutex
	waited  int
	held    [][]schemas.Touchpoint
	landed  int
}

// Landed is how many abandoned inserts committed late.
func (s *LateLandingSink) Landed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.landed
}

func (s *LateLandingSink) InsertTouchpoints(ctx context.Context, rows []schemas.Touchpoint) error {
	s.mu.Lock()
	wait := s.waited < s.Abandon
	if wait {
		s.waited++
	}
	s.mu.Unlock()
	var paused <-chan time.Time // nil: wait for the context alone
	if !wait {
		paused = time.After(s.Pause)
	}
	select {
	case <-paused:
		return s.Sink.InsertTouchpoints(ctx, rows)
	case <-ctx.Done():
	}
	s.mu.Lock()
	s.held = append(s.held, rows)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *LateLandingSink) WrittenOffsets(ctx context.Context, partitions []int32) (map[int32]store.Progress, error) {
	written, err := s.Sink.WrittenOffsets(ctx, partitions)
	if err != nil {
		return nil, err
	}
	return written, s.Land(ctx)
}

// Land commits the abandoned inserts held.
func (s *LateLandingSink) Land(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.held) > 0 {
		if err := s.Sink.InsertTouchpoints(ctx, s.held[0]); err != nil {
			return fmt.Errorf("land an abandoned insert: %w", err)
		}
		s.held, s.landed = s.held[1:], s.landed+1
	}
	return nil
}
