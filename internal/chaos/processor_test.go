package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/journeys/journeys/processor"
	"github.com/journeys/journeys/simulate"
)

// A processor killed before its batch's insert, after the touchpoints
// insert, or after every insert but before the offset commit, then started
// again, leaves the rows of an uninterrupted run.
func TestProcessorKilledAtEachPointOfABatchThenRestarted(t *testing.T) {
	customers := traffic(1)
	want := reference(t, "seed 1", customers, nil)
	for _, point := range []KillPoint{BeforeInsert, AfterInsert, BeforeCommit} {
		t.Run(point.String(), func(t *testing.T) {
			r := newRig(t)
			kills := scaled(1, 6)
			var p *running
			var sink *KillingSink
			// Each processor is killed at its second batch of 50 records;
			// the next one takes over from the committed offsets.
			small := func(c *processor.Config) { c.BatchSize = 50 }
			startKillable := func() {
				sink = &KillingSink{Sink: r.store, Point: point, Batch: 2}
				run := r.process(sink, small)
				sink.Kill = run.cancel
				p = run
			}
			startKillable()
			sent := make(chan *Ledger, 1)
			go func() { sent <- r.send(driver(r.url), customers) }()
			for k := range kills {
				waitFor(t, 60*time.Second, fmt.Sprintf("kill %d", k+1), sink.Killed)
				p.stop()
				if k < kills-1 {
					startKillable()
				}
			}
			r.process(nil, small)
			l := <-sent
			res, got := r.settle(l)
			verify(t, "processor killed "+point.String(), kills, res, got, want)
		})
	}
}

// An insert that ClickHouse committed but whose answer timed out is
// written again by the processor's retry; nothing shows twice.
func TestInsertTimingOutAfterClickHouseCommittedShowsNothingTwice(t *testing.T) {
	customers := traffic(1)
	want := reference(t, "seed 1", customers, nil)
	r := newRig(t)
	sink := &TimeoutSink{Sink: r.store, Every: 3}
	p := r.process(sink, nil)
	l := r.send(driver(r.url), customers)
	res, got := r.settle(l)
	if sink.Injected() == 0 {
		t.Fatal("no timeout was injected")
	}
	// Not all: the inserts of an identity merge retry without counting.
	if n := p.metric("journeys_processor_insert_failures_total"); n == 0 {
		t.Errorf("insert failures metric is 0 after %d injected timeouts", sink.Injected())
	}
	verify(t, "insert timing out after commit", sink.Injected(), res, got, want)
}

// A second consumer group reading the topic from offset 0 into the same
// ClickHouse (a full replay) changes no row.
func TestFullReplayFromOffsetZeroChangesNoRow(t *testing.T) {
	customers := traffic(1)
	want := reference(t, "seed 1", customers, nil)
	r := newRig(t)
	first := r.process(nil, nil)
	l := r.send(driver(r.url), customers)
	r.settle(l)
	first.stop()
	r.group = "chaos-replay"
	replay := r.process(nil, func(c *processor.Config) { c.GroupID = r.group })
	waitFor(t, 60*time.Second, "the replay to read every record", func() bool {
		return replay.metric("journeys_processor_events_total") >= float64(len(l.Acked))
	})
	res, got := r.settle(l)
	verify(t, "full replay from offset 0", 1, res, got, want)
}

// Two processors in a group while a third joins and leaves again and
// again: every rebalance moves partitions mid-stream.
func TestRepeatedRebalancesOfTwoProcessorsChangeNoRow(t *testing.T) {
	customers := traffic(1)
	want := reference(t, "seed 1", customers, nil)
	r := newRig(t)
	l, rebalances := r.rebalanceWhileSending(nil, customers)
	res, got := r.settle(l)
	verify(t, "repeated rebalances", rebalances, res, got, want)
}

// rebalanceWhileSending runs two processors over sink (nil: the rig's
// store) while a third joins and leaves again and again, until the
// customers' traffic is sent and at least scaled(4, 20) rebalances
// happened. The senders pace themselves so that the traffic spans the
// rebalances: partitions change owner while customers are mid-journey,
// and only a take-over that rebuilds their state gives the same rows.
func (r *rig) rebalanceWhileSending(sink processor.Sink, customers []simulate.Customer) (*Ledger, int) {
	r.process(sink, nil)
	r.process(sink, nil)
	sent := make(chan *Ledger, 1)
	d := driver(r.url)
	d.Pause = scaled(1200*time.Millisecond, 0)
	go func() { sent <- r.send(d, customers) }()
	rebalances := 0
	for done := false; !done; {
		third := r.process(sink, nil)
		time.Sleep(scaled(1500*time.Millisecond, 3*time.Second))
		third.stop()
		rebalances += 2
		select {
		case l := <-sent:
			sent <- l
			done = rebalances >= scaled(4, 20)
		default:
		}
	}
	return <-sent, rebalances
}

// Rebalances while touchpoints inserts are under way: an insert abandoned
// as its generation ends commits in ClickHouse after the next owner took
// over the partitions.
func TestInsertsLandingAfterTheTakeOverChangeNoRow(t *testing.T) {
	customers := traffic(1)
	want := reference(t, "seed 1", customers, nil)
	r := newRig(t)
	// The first inserts wait for the rebalance that ends their generation:
	// the senders start at once and the rebalances go on for seconds
	// after, so each of them is abandoned, on a quiet machine too.
	sink := &LateLandingSink{Sink: r.store, Abandon: 2, Pause: scaled(500*time.Millisecond, 100*time.Millisecond)}
	l, _ := r.rebalanceWhileSending(sink, customers)
	// An insert abandoned by the last generation to end commits now.
	if err := sink.Land(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, got := r.settle(l)
	if sink.Landed() < sink.Abandon {
		t.Fatalf("%d inserts abandoned at the end of a generation landed, want at least %d: the fault was not injected", sink.Landed(), sink.Abandon)
	}
	verify(t, "inserts landing after the take-over", sink.Landed(), res, got, want)
}

// waitFor polls cond until it holds, or fails the test.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
