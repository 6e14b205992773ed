package bench

import (
	"encoding/json"
	"fmt"

	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/simulate"
)

// request is one prebuilt POST body.
type request struct {
	body   []byte
	events int
	// first is the message id of the body's first event.
	first string
}

// senderStreams shards customers over n senders, as `journeys simulate`
// does: each sender owns a disjoint set of customers and sends their events
// in time order, batch events per request, so a customer's events reach the
// API in order whatever the concurrency. Bodies carry no sentAt: the
// timestamps are kept as generated.
func senderStreams(customers []simulate.Customer, n, batch int) ([][]request, int, error) {
	streams := make([][]request, n)
	total := 0
	for s := range n {
		var events []simulate.Event
		for i := s; i < len(customers); i += n {
			events = append(events, customers[i].Events...)
		}
		for i := 0; i < len(events); i += batch {
			chunk := events[i:min(i+batch, len(events))]
			body, err := json.Marshal(struct {
				Batch []simulate.Event `json:"batch"`
			}{chunk})
			if err != nil {
				return nil, 0, fmt.Errorf("encode a batch of simulated events: %w", err)
			}
			streams[s] = append(streams[s], request{body: body, events: len(chunk), first: chunk[0].MessageID})
			total += len(chunk)
		}
	}
	return streams, total, nil
}

// ingestBodies are the request bodies of the ingest-stage runs: the track
// calls among the first n events, one per body (for /v1/track), and
// batches of batch events of every type (for /v1/batch). Message ids
// repeat between runs; the ingest-stage topics are read by nobody.
func ingestBodies(events []simulate.Event, n, batch int) (single, batches [][]byte, err error) {
	for i := range min(n, len(events)) {
		if events[i].Type != schemas.TypeTrack {
			continue
		}
		b, err := json.Marshal(events[i])
		if err != nil {
			return nil, nil, fmt.Errorf("encode a simulated event: %w", err)
		}
		single = append(single, b)
	}
	for i := 0; i+batch <= min(n, len(events)); i += batch {
		b, err := json.Marshal(struct {
			Batch []simulate.Event `json:"batch"`
		}{events[i : i+batch]})
		if err != nil {
			return nil, nil, fmt.Errorf("encode a batch of simulated events: %w", err)
		}
		batches = append(batches, b)
	}
	return single, batches, nil
}
