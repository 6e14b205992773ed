package pipeline_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/internal/chtest"
)

// A processor taking over rebuilds only the customers active within the
// rules' horizon of the partition's latest event. A customer whose own
// stream lags behind that (their next touchpoint comes after the others
// moved on) is rebuilt when they show up, so a rule window reaching back to
// their earlier touchpoints still sees them.
func TestCustomerLeftOutOfATakeOverIsRebuiltWhenTheyReturn(t *testing.T) {
	t0 := time.Now().UTC().Add(-50 * 24 * time.Hour).Truncate(time.Second)
	// Another customer on the same partition, 40 days ahead.
	same := func(a, b string) bool {
		h := &kafka.Hash{}
		parts := []int{0, 1, 2}
		return h.Balance(kafka.Message{Key: []byte(a)}, parts...) == h.Balance(kafka.Message{Key: []byte(b)}, parts...)
	}
	other := ""
	for i := 0; other == ""; i++ {
		if c := fmt.Sprintf("ahead-%d", i); same("lagging", c) {
			other = c
		}
	}
	topic := map[string]any{"topic": "billing"}

	b := startBroker(t)
	s := chtest.Open(t)
	url := startIngest(t, b)
	stop := runProcessor(t, b, s)
	send(t, url, ev("x1", "lagging", "track", "call", t0, topic))
	send(t, url, page("y1", other, t0.Add(40*24*time.Hour)))
	waitTouchpoints(t, s, 2)
	stop()

	runProcessor(t, b, s)
	send(t, url, ev("x2", "lagging", "track", "call", t0.Add(2*24*time.Hour), topic))
	eventually(t, 30*time.Second, "the repeat contact flagged", func() (bool, string) {
		got := render(t, s, `SELECT concat(rule, ' ', arrayStringConcat(evidence, ',')) FROM friction_flags FINAL WHERE customer_id = 'lagging' AND retracted = 0`)
		return got == "repeat_contact_same_topic x1,x2", got
	})
}
