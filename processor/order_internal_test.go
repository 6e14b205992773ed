package processor

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/journeys/journeys/schemas"
)

// inEventOrder puts touchpoints in place in customer, time, message id and
// log position order, whatever order they came in.
func TestInEventOrderSortsInPlaceByCustomerTimeMessageAndPosition(t *testing.T) {
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	var want []schemas.Touchpoint
	for c := range 7 {
		for s := range 9 {
			for m := range 2 {
				for off := range 2 {
					want = append(want, schemas.Touchpoint{
						CustomerID: fmt.Sprintf("c%d", c), Timestamp: at.Add(time.Duration(s) * time.Minute),
						MessageID: fmt.Sprintf("m%d", m), KafkaPartition: 1, KafkaOffset: int64(off),
					})
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		tps := slices.Clone(want)
		rng.Shuffle(len(tps), func(i, j int) { tps[i], tps[j] = tps[j], tps[i] })
		got := inEventOrder(tps)
		if &got[0] != &tps[0] {
			t.Fatal("inEventOrder returned a copy, want the touchpoints sorted in place")
		}
		if !slices.Equal(got, want) {
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("round %d: position %d holds %+v, want %+v", round, i, got[i], want[i])
				}
			}
		}
	}
	if got := inEventOrder(nil); len(got) != 0 {
		t.Fatalf("inEventOrder(nil) = %v", got)
	}
}
