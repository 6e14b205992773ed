package journey

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/journeys/journeys/schemas"
)

// RuleRepeatedCallsBeforePurchase is the id of the rule that flags a purchase
// the customer had to call about several times first.
const RuleRepeatedCallsBeforePurchase = "repeated_calls_before_purchase"

// call is a call of a customer since their previous purchase.
type call struct {
	at        time.Time
	messageID string
}

// pruneCalls drops the calls before cutoff; calls are in time order.
func pruneCalls(calls []call, cutoff time.Time) []call {
	i := 0
	for i < len(calls) && calls[i].at.Before(cutoff) {
		i++
	}
	if i == 0 {
		return calls
	}
	n := copy(calls, calls[i:])
	clear(calls[n:]) // release the message ids
	return calls[:n]
}

// repeatedCalls returns the flag for a purchase at the given time when the
// calls (already pruned to the window and all at or before it) qualify.
func (e *Engine) repeatedCalls(customerID, journeyID string, purchase schemas.Touchpoint, at time.Time, orderID string, calls []call) (schemas.FrictionFlag, bool) {
	rc := e.cfg.RepeatedCalls
	if len(calls) < rc.MinCalls {
		return schemas.FrictionFlag{}, false
	}
	severity := schemas.SeverityWarning
	if len(calls) >= rc.CriticalCalls {
		severity = schemas.SeverityCritical
	}
	evidence := make([]string, len(calls))
	for i, c := range calls {
		evidence[i] = c.messageID
	}
	details, _ := json.Marshal(struct {
		Calls       int     `json:"calls"`
		WindowHours float64 `json:"window_hours"`
		OrderID     string  `json:"order_id,omitempty"`
	}{len(calls), rc.Window.Hours(), orderID})
	return schemas.FrictionFlag{
		FlagID:     hashID(RuleRepeatedCallsBeforePurchase, purchase.MessageID),
		Rule:       RuleRepeatedCallsBeforePurchase,
		CustomerID: customerID,
		JourneyID:  journeyID,
		OccurredAt: at,
		DetectedAt: e.now(),
		Severity:   severity,
		Evidence:   evidence,
		Details:    string(details),
		Version:    1,
	}, true
}

// parsePurchase reads revenue and order_id from a purchase's properties. A
// missing or invalid revenue counts as 0; revenue may be a JSON number or a
// numeric string, order_id a string or a number.
func parsePurchase(properties string) (revenue float64, orderID string) {
	if properties == "" {
		return 0, ""
	}
	var p struct {
		Revenue json.RawMessage `json:"revenue"`
		OrderID json.RawMessage `json:"order_id"`
	}
	if json.Unmarshal([]byte(properties), &p) != nil {
		return 0, ""
	}
	return parseNumber(p.Revenue), parseText(p.OrderID)
}

func parseNumber(raw json.RawMessage) float64 {
	s := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return 0
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func parseText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return s
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw)
	}
	return ""
}
