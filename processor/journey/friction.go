package journey

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/journeys/journeys/processor/rules"
	"github.com/journeys/journeys/schemas"
)

// RuleRepeatedCallsBeforePurchase is the id of the default rule that flags a
// purchase the customer had to call about several times first (#2 gave it
// its meaning; schemas/friction-rules.yaml keeps it).
const RuleRepeatedCallsBeforePurchase = "repeated_calls_before_purchase"

// flag turns a rule's finding into a friction_flags row. Its id derives
// from the rule and the touchpoint that completed the pattern, so a replay
// writes the same row again.
func (e *Engine) flag(customerID, journeyID string, f rules.Finding, cause int64) schemas.FrictionFlag {
	return schemas.FrictionFlag{
		FlagID:     hashID(f.Rule.ID, f.Key),
		Rule:       f.Rule.ID,
		CustomerID: customerID,
		JourneyID:  journeyID,
		OccurredAt: f.At,
		DetectedAt: e.now(),
		Severity:   f.Severity,
		Evidence:   f.Evidence,
		Details:    f.Details,
		Version:    uint64(cause) + 1,
	}
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
