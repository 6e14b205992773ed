package chaos

import (
	"strings"
	"testing"
	"time"
)

// Ingest killed with SIGKILL in the middle of requests and started again:
// senders retry the batches that got no answer with the same messageIds;
// every acknowledged event is stored once, and records ingest published for
// a request it never answered are deduplicated.
func TestIngestKilledMidBatchSendersRetryWithTheSameMessageIDs(t *testing.T) {
	customers := traffic(1)
	want := reference(t, "seed 1", customers, nil)
	journeysBin := command(t, "github.com/journeys/journeys/cmd/journeys")
	r := newRig(t)
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	in, err := StartProcess(addr, journeysBin, "ingest", "--listen", addr, "--kafka", strings.Join(r.brokers, ","),
		"--write-keys", writeKey, "--metrics-listen", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Kill)
	r.url = "http://" + addr
	r.process(nil, nil)
	d := driver(r.url)
	d.Concurrency = 8
	// Paced, so that the traffic spans the kills: on a quiet machine the
	// unpaced senders were done before the first kill, and no request met
	// a dead ingest.
	d.Pause = scaled(300*time.Millisecond, 50*time.Millisecond)
	sent := make(chan *Ledger, 1)
	go func() { sent <- r.send(d, customers) }()
	kills := scaled(2, 10)
	for k := range kills {
		at := (k + 1) * events(customers) / (kills + 2)
		waitFor(t, 60*time.Second, "acknowledgements before the kill", func() bool { return d.Acknowledged() >= at })
		failed := d.Failed()
		in.Kill()
		// Down until a sender met it: every kill reaches the senders.
		waitFor(t, 60*time.Second, "a request to fail against the killed ingest", func() bool { return d.Failed() > failed })
		if err := in.Restart(addr); err != nil {
			t.Fatal(err)
		}
	}
	l := <-sent
	if l.Failures == 0 {
		t.Errorf("no request failed across %d kills of ingest: the fault did not reach the senders", kills)
	}
	res, got := r.settle(l)
	verify(t, "ingest killed mid-batch", kills, res, got, want)
}
