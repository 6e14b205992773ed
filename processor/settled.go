package processor

import (
	"context"
	"time"

	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

// settledSink is the Sink as the batch being applied sees it while the
// batch before is still being written (pipeline.go): every call, read or
// write, first waits for that write to finish, so the applying batch reads
// what an unpipelined processor would have read and writes after it. A
// batch of in-order touchpoints makes no call, and so never waits.
//
// Every method is spelled out rather than promoted from an embedded Sink,
// so that a method added to Sink fails to compile here instead of slipping
// past the wait.
type settledSink struct {
	s      Sink
	settle func() error
}

func (w settledSink) InsertTouchpoints(ctx context.Context, rows []schemas.Touchpoint) error {
	if err := w.settle(); err != nil {
		return err
	}
	return w.s.InsertTouchpoints(ctx, rows)
}

func (w settledSink) InsertJourneys(ctx context.Context, rows []schemas.Journey) error {
	if err := w.settle(); err != nil {
		return err
	}
	return w.s.InsertJourneys(ctx, rows)
}

func (w settledSink) InsertFlags(ctx context.Context, rows []schemas.FrictionFlag) error {
	if err := w.settle(); err != nil {
		return err
	}
	return w.s.InsertFlags(ctx, rows)
}

func (w settledSink) InsertSessions(ctx context.Context, rows []schemas.Session) error {
	if err := w.settle(); err != nil {
		return err
	}
	return w.s.InsertSessions(ctx, rows)
}

func (w settledSink) InsertCustomers(ctx context.Context, rows []schemas.Customer) error {
	if err := w.settle(); err != nil {
		return err
	}
	return w.s.InsertCustomers(ctx, rows)
}

func (w settledSink) ProfileInputs(ctx context.Context, customerIDs []string, events []string) (map[string]store.ProfileSummary, map[string][]schemas.Touchpoint, error) {
	if err := w.settle(); err != nil {
		return nil, nil, err
	}
	return w.s.ProfileInputs(ctx, customerIDs, events)
}

func (w settledSink) StoredMessageIDs(ctx context.Context, ids []string) (map[string]store.StoredMessage, error) {
	if err := w.settle(); err != nil {
		return nil, err
	}
	return w.s.StoredMessageIDs(ctx, ids)
}

func (w settledSink) JourneySpans(ctx context.Context, customerIDs []string) ([]store.JourneySpan, error) {
	if err := w.settle(); err != nil {
		return nil, err
	}
	return w.s.JourneySpans(ctx, customerIDs)
}

func (w settledSink) PartitionJourneySpans(ctx context.Context, partitions []int32, since time.Time) ([]store.JourneySpan, error) {
	if err := w.settle(); err != nil {
		return nil, err
	}
	return w.s.PartitionJourneySpans(ctx, partitions, since)
}

func (w settledSink) JourneyTouchpoints(ctx context.Context, customerIDs, journeyIDs []string) (map[string][]schemas.Touchpoint, error) {
	if err := w.settle(); err != nil {
		return nil, err
	}
	return w.s.JourneyTouchpoints(ctx, customerIDs, journeyIDs)
}

func (w settledSink) PartitionCustomers(ctx context.Context, partitions []int32) ([]string, error) {
	if err := w.settle(); err != nil {
		return nil, err
	}
	return w.s.PartitionCustomers(ctx, partitions)
}

func (w settledSink) DayHistory(ctx context.Context, days []store.CustomerDay, tz string) (map[string][]schemas.Touchpoint, error) {
	if err := w.settle(); err != nil {
		return nil, err
	}
	return w.s.DayHistory(ctx, days, tz)
}

func (w settledSink) WrittenOffsets(ctx context.Context, partitions []int32) (map[int32]store.Progress, error) {
	if err := w.settle(); err != nil {
		return nil, err
	}
	return w.s.WrittenOffsets(ctx, partitions)
}

func (w settledSink) InsertIdentities(ctx context.Context, rows []schemas.Identity) error {
	if err := w.settle(); err != nil {
		return err
	}
	return w.s.InsertIdentities(ctx, rows)
}

func (w settledSink) MergedIdentities(ctx context.Context, partitions []int32) (map[string]string, error) {
	if err := w.settle(); err != nil {
		return nil, err
	}
	return w.s.MergedIdentities(ctx, partitions)
}

func (w settledSink) CustomerTouchpoints(ctx context.Context, customerIDs []string) (map[string][]schemas.Touchpoint, error) {
	if err := w.settle(); err != nil {
		return nil, err
	}
	return w.s.CustomerTouchpoints(ctx, customerIDs)
}

func (w settledSink) CustomerJourneys(ctx context.Context, customerIDs []string) ([]schemas.Journey, error) {
	if err := w.settle(); err != nil {
		return nil, err
	}
	return w.s.CustomerJourneys(ctx, customerIDs)
}

func (w settledSink) CustomerFlags(ctx context.Context, customerIDs []string) ([]schemas.FrictionFlag, error) {
	if err := w.settle(); err != nil {
		return nil, err
	}
	return w.s.CustomerFlags(ctx, customerIDs)
}
