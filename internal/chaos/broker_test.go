package chaos

import (
	"net"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/processor"
)

// command builds the command of package pkg for a test.
func command(t *testing.T, pkg string) string {
	t.Helper()
	bin, err := Build(t.TempDir(), pkg)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// The broker killed with SIGKILL and started again on the same log, while
// senders are being acknowledged and while the processor consumes: no
// acknowledged event is lost, nothing shows twice.
func TestBrokerKilledAndRestartedLosesNoAcknowledgedEvent(t *testing.T) {
	customers := traffic(1)
	want := reference(t, "seed 1", customers, nil)
	brokerBin := command(t, "github.com/journeys/journeys/internal/broker/cmd/broker")
	for _, during := range []string{"ingest", "processing"} {
		t.Run("during "+during, func(t *testing.T) {
			addr, err := FreeAddr()
			if err != nil {
				t.Fatal(err)
			}
			_, port, _ := net.SplitHostPort(addr)
			b, err := StartProcess(addr, brokerBin, "--port", port, "--data-dir", t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Kill)
			r := &rig{t: t, brokers: []string{addr}, store: chtest.Open(t), group: processor.DefaultConfig().GroupID}
			r.url = r.startIngest()
			d := driver(r.url)
			kills := scaled(1, 4)
			restart := func(downUntil func() bool) {
				b.Kill()
				time.Sleep(500 * time.Millisecond)
				waitFor(t, 60*time.Second, "the killed broker to reach the senders", downUntil)
				if err := b.Restart(addr); err != nil {
					t.Fatal(err)
				}
			}
			var l *Ledger
			if during == "ingest" {
				r.process(nil, nil)
				// Paced, and the broker down until a request failed
				// against it: unpaced, the senders could be done before
				// the kill on a quiet machine.
				d.Pause = scaled(300*time.Millisecond, 50*time.Millisecond)
				sent := make(chan *Ledger, 1)
				go func() { sent <- r.send(d, customers) }()
				for k := range kills {
					at := (k + 1) * events(customers) / (kills + 2)
					waitFor(t, 60*time.Second, "acknowledgements before the kill", func() bool { return d.Acknowledged() >= at })
					failed := d.Failed()
					restart(func() bool { return d.Failed() > failed })
				}
				l = <-sent
			} else {
				l = r.send(d, customers)
				r.process(nil, func(c *processor.Config) { c.BatchSize = 50 })
				for k := range kills {
					at := (k + 1) * len(l.Acked) / (kills + 2)
					waitFor(t, 60*time.Second, "touchpoints stored before the kill", func() bool { return r.stored() >= at })
					restart(func() bool { return true })
				}
			}
			res, got := r.settle(l)
			verify(t, "broker killed during "+during, kills, res, got, want)
			if t.Failed() {
				t.Logf("broker log:\n%s", b.Log())
			}
		})
	}
}
