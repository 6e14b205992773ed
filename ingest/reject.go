package ingest

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/journeys/journeys/schemas"
)

// Reason says why ingest refused events. Each value is both the "reason"
// label of journeys_ingest_events_rejected_total and the "reason" the sender
// reads in the error body.
type Reason string

// Rejection reasons.
const (
	// ReasonInvalidJSON: the body is not one JSON object of the expected shape.
	ReasonInvalidJSON Reason = "invalid_json"
	// ReasonSchema: the event does not match its JSON Schema.
	ReasonSchema Reason = "schema"
	// ReasonInBadBatch: the event was valid but shared its request with an
	// invalid one, and this version refuses such a batch whole.
	ReasonInBadBatch Reason = "invalid_batch"
	// ReasonEventTooLarge: one event's JSON exceeds MaxEventBytes.
	ReasonEventTooLarge Reason = "event_too_large"
	// ReasonBatchTooLarge: the request body exceeds MaxBatchBytes.
	ReasonBatchTooLarge Reason = "batch_too_large"
	// ReasonMediaType: the Content-Type is neither JSON nor text/plain.
	ReasonMediaType Reason = "unsupported_media_type"
	// ReasonUnauthorized: no write key, or one ingest does not know.
	ReasonUnauthorized Reason = "unauthorized"
	// ReasonUnavailable: the broker did not acknowledge in time; retry.
	ReasonUnavailable Reason = "unavailable"
)

// retryAfterSeconds is what a 503 asks senders to wait.
const retryAfterSeconds = 5

// maxRejectedListed bounds the per-event list in an error body.
const maxRejectedListed = 100

// status is the one place a reason becomes an HTTP status code.
func (r Reason) status() int {
	switch r {
	case ReasonEventTooLarge, ReasonBatchTooLarge:
		return http.StatusRequestEntityTooLarge
	case ReasonMediaType:
		return http.StatusUnsupportedMediaType
	case ReasonUnauthorized:
		return http.StatusUnauthorized
	case ReasonUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadRequest
	}
}

// RejectedEvent names one event of a refused request and why.
type RejectedEvent struct {
	Index     int    `json:"index"`
	MessageID string `json:"messageId,omitempty"`
	Reason    Reason `json:"reason"`
	Message   string `json:"message"`
	// Errors lists every schema problem of the event; Message joins them.
	Errors []schemas.FieldError `json:"errors,omitempty"`
}

// errorBody is what a refused request answers.
type errorBody struct {
	Error    string          `json:"error"`
	Reason   Reason          `json:"reason"`
	Rejected []RejectedEvent `json:"rejected,omitempty"`
	// Omitted is how many rejected events did not fit in Rejected.
	Omitted int `json:"omitted,omitempty"`
}

// rejection is a refused request on its way to the sender.
type rejection struct {
	reason   Reason
	message  string
	rejected []RejectedEvent
	// events is how many events the request carried, when known; at least
	// one is counted so that whole-body refusals show in the metric.
	events int
}

func reject(reason Reason, message string) *rejection {
	return &rejection{reason: reason, message: message}
}

// write answers the sender and counts the refused events by reason.
func (rej *rejection) write(w http.ResponseWriter, m *metrics) {
	status := rej.reason.status()
	body := errorBody{Error: rej.message, Reason: rej.reason, Rejected: rej.rejected}
	if len(body.Rejected) > maxRejectedListed {
		body.Omitted = len(body.Rejected) - maxRejectedListed
		body.Rejected = body.Rejected[:maxRejectedListed]
	}

	if len(rej.rejected) > 0 {
		for _, r := range rej.rejected {
			m.eventsRejected.WithLabelValues(string(r.Reason)).Inc()
		}
		if rest := rej.events - len(rej.rejected); rest > 0 {
			m.eventsRejected.WithLabelValues(string(ReasonInBadBatch)).Add(float64(rest))
		}
	} else {
		m.eventsRejected.WithLabelValues(string(rej.reason)).Add(float64(max(rej.events, 1)))
	}

	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="journeys"`)
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
