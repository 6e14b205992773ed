package processor

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"
)

// A batch is applied in memory while the batch before it is written to
// ClickHouse: applying is the processor's own CPU, writing mostly
// ClickHouse's, and on a box that runs both the two overlap instead of
// taking turns. The rules that keep the rows those of one batch at a time:
//   - one write at a time, in batch order, each committing its offsets
//     after its rows;
//   - the batch being applied reaches ClickHouse or the touchpoints topic
//     only through settledSink and writeRecords, which wait for the write
//     in flight first; a batch of in-order touchpoints reaches neither;
//   - a write reads only its batch's output: the profile rows held in
//     memory are copied before it starts (snapshotProfiles), and what it
//     derives is held once it is done (adoptProfiles);
//   - a generation's end waits for its write in flight, so the next
//     take-over reads what it wrote.

// prepared is a batch applied in memory, to be written.
type prepared struct {
	out     *output
	offsets map[int]int64
	start   time.Time
}

// inflight is the write of a batch, running.
type inflight struct {
	out  *output
	done chan error
}

// pipeBatch applies batch, waits for the batch before to be written, and
// starts writing this one. An error means the generation is over.
func (p *Processor) pipeBatch(ctx context.Context, gen *kafka.Generation, g *generation, batch []kafka.Message, live bool) error {
	defer func() { p.preparing = nil }()
	b, err := p.prepareBatch(ctx, g, batch, live)
	if err != nil {
		return err
	}
	if err := p.settle(); err != nil {
		return err
	}
	p.snapshotProfiles(b.out)
	p.metrics.customers.Set(float64(p.engine.Len()))
	w := &inflight{out: b.out, done: make(chan error, 1)}
	p.writing = w
	go func() { w.done <- p.finishBatch(ctx, gen, b) }()
	return nil
}

// settle waits for the write in flight, if any, and holds what it derived.
// It runs on the batch loop's goroutine only.
func (p *Processor) settle() error {
	w := p.writing
	if w == nil {
		return nil
	}
	p.writing = nil
	if err := <-w.done; err != nil {
		return err
	}
	p.adoptProfiles(w.out)
	return nil
}
