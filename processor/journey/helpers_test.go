package journey

import (
	"fmt"
	"time"

	"github.com/journeys/journeys/processor/rules"
	"github.com/journeys/journeys/schemas"
)

// t0 is the start of every hand-built timeline; times are given in days after it.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// detectedAt is what the fake clock says.
var detectedAt = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func fakeClock() time.Time { return detectedAt }

func day(d float64) time.Time { return t0.Add(time.Duration(d * float64(24*time.Hour))) }

// nextOffset numbers hand-built touchpoints like the records of one Kafka
// partition: each gets a higher offset than the one built before.
var nextOffset int64

// touch builds a touchpoint of customer c-1 as the processor would fill it.
func touch(id, event string, d float64) schemas.Touchpoint {
	nextOffset++
	typ := schemas.TypeTrack
	if event == schemas.TypePage {
		typ = schemas.TypePage
	}
	return schemas.Touchpoint{
		MessageID:   id,
		CustomerID:  "c-1",
		UserID:      "c-1",
		Type:        typ,
		Event:       event,
		Channel:     schemas.DefaultChannel(typ, event),
		Timestamp:   day(d),
		ReceivedAt:  day(d).Add(time.Second),
		Properties:  "{}",
		Context:     "{}",
		Source:      "test",
		KafkaOffset: nextOffset,
	}
}

func page(id string, d float64) schemas.Touchpoint      { return touch(id, schemas.TypePage, d) }
func phoneCall(id string, d float64) schemas.Touchpoint { return touch(id, schemas.EventCall, d) }

func purchase(id string, d float64, props string) schemas.Touchpoint {
	tp := touch(id, schemas.EventPurchase, d)
	tp.Properties = props
	return tp
}

func forCustomer(customerID string, tp schemas.Touchpoint) schemas.Touchpoint {
	tp.CustomerID, tp.UserID = customerID, customerID
	return tp
}

func onChannel(channel string, tp schemas.Touchpoint) schemas.Touchpoint {
	tp.Channel = channel
	return tp
}

// fold applies touchpoints to a fresh engine and collects everything returned.
type folded struct {
	touchpoints []schemas.Touchpoint
	journeys    []schemas.Journey // every row, in emission order
	flags       []schemas.FrictionFlag
	duplicates  int
}

func foldAll(e *Engine, tps []schemas.Touchpoint) folded {
	var f folded
	for _, tp := range tps {
		r := e.Apply(tp)
		if r.Duplicate {
			f.duplicates++
			continue
		}
		f.touchpoints = append(f.touchpoints, *r.Touchpoint)
		f.journeys = append(f.journeys, r.Journeys...)
		f.flags = append(f.flags, r.Flags...)
	}
	return f
}

// latest keeps the last row of each journey, in order of first appearance.
func latest(rows []schemas.Journey) []schemas.Journey {
	var out []schemas.Journey
	idx := map[string]int{}
	for _, r := range rows {
		if i, ok := idx[r.JourneyID]; ok {
			out[i] = r
			continue
		}
		idx[r.JourneyID] = len(out)
		out = append(out, r)
	}
	return out
}

// repeatedCallsYAML is a rules file holding only repeated_calls_before_purchase
// with the given thresholds and window.
func repeatedCallsYAML(minCalls, critical int, window string) string {
	return fmt.Sprintf(`rules:
  - id: repeated_calls_before_purchase
    description: Calls before a purchase.
    severity: warning
    escalate: {at: %d, severity: critical}
    details: [order_id]
    count_before:
      count: {event: call}
      anchor: {event: purchase}
      min: %d
      within: %s
      count_key: calls
`, critical, minCalls, window)
}

func repeatedCallsRules(minCalls, critical int, window string) *rules.Set {
	s, err := rules.Parse([]byte(repeatedCallsYAML(minCalls, critical, window)))
	if err != nil {
		panic(err)
	}
	return s
}

// withRules is a set parsed from YAML text, for tests of single rules.
func withRules(yamlText string) *rules.Set {
	s, err := rules.Parse([]byte(yamlText))
	if err != nil {
		panic(err)
	}
	return s
}
