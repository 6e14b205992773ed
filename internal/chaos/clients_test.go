package chaos

import (
	"testing"
)

// Clients that post every batch twice (same messageIds) must leave exactly
// the rows of clients that post once.
func TestClientsRetryingEveryBatchTwiceShowNothingTwice(t *testing.T) {
	customers := traffic(1)
	want := reference(t, "seed 1", customers, nil)

	r := newRig(t)
	r.process(nil, nil)
	d := driver(r.url)
	d.SendTwice = true
	l := r.send(d, customers)
	res, got := r.settle(l)
	verify(t, "clients retrying every batch twice", l.Attempts/2, res, got, want)
}
