package simulate

import (
	"encoding/json"
	"testing"

	"github.com/journeys/journeys/schemas"
)

// TestEventsPassIngestSchemas runs every generated event through the JSON
// Schemas ingest validates against, so a simulator bug shows here rather
// than as a 400 from a running ingest.
func TestEventsPassIngestSchemas(t *testing.T) {
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	ds := Generate(Config{Customers: 300, Seed: 11, Start: t0})
	for _, e := range ds.Events {
		raw, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var call any
		if err := json.Unmarshal(raw, &call); err != nil {
			t.Fatal(err)
		}
		if errs := v.Validate(call); len(errs) > 0 {
			t.Fatalf("%s %s/%s: %v", e.MessageID, e.Type, e.Event, errs)
		}
	}
}
