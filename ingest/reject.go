package ingest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/journeys/journeys/schemas"
)

// Reason says why ingest refused events. Each value is both the "reason"
// label of journeys_ingest_events_rejected_total and the "reason" the sender
// reads in the answer and the touchpoints.rejected topic holds.
type Reason string

// Rejection reasons. Those marked per event refuse one event of a batch
// and let the others through; the rest refuse the whole request.
const (
	// ReasonInvalidJSON: the body is not one JSON object of the expected shape.
	ReasonInvalidJSON Reason = "invalid_json"
	// ReasonBadEncoding: Content-Encoding says gzip but the body is not.
	ReasonBadEncoding Reason = "invalid_encoding"
	// ReasonSchema (per event): the event does not match its JSON Schema.
	ReasonSchema Reason = "schema"
	// ReasonUnsafeJSON (per event): valid JSON that readers downstream
	// cannot hold: not UTF-8, half a surrogate pair, a number beyond a
	// 64-bit float, nesting deeper than 64 levels, a control character in
	// an id (safety.go).
	ReasonUnsafeJSON Reason = "unsafe_json"
	// ReasonEventNotAllowed (per event): the source may not send this event.
	ReasonEventNotAllowed Reason = "event_not_allowed"
	// ReasonEventTooLarge (per event in a batch): one event's JSON exceeds
	// MaxEventBytes.
	ReasonEventTooLarge Reason = "event_too_large"
	// ReasonBatchTooLarge: the request body exceeds its byte limit.
	ReasonBatchTooLarge Reason = "batch_too_large"
	// ReasonTooManyEvents: the batch holds more than MaxBatchEvents.
	ReasonTooManyEvents Reason = "too_many_events"
	// ReasonBodyTimeout: the body did not arrive within ReadTimeout.
	ReasonBodyTimeout Reason = "body_timeout"
	// ReasonMediaType: the Content-Type is neither JSON nor text/plain, or
	// the Content-Encoding is not gzip.
	ReasonMediaType Reason = "unsupported_media_type"
	// ReasonUnauthorized: no write key, one ingest does not know, or a
	// disabled source's.
	ReasonUnauthorized Reason = "unauthorized"
	// ReasonOriginNotAllowed: a browser sent from an origin the source does
	// not allow.
	ReasonOriginNotAllowed Reason = "origin_not_allowed"
	// ReasonRateLimited: the source is over its rate limit; retry after
	// the Retry-After seconds.
	ReasonRateLimited Reason = "rate_limited"
	// ReasonOverloaded: ingest holds as many request bytes as it may;
	// retry after Retry-After.
	ReasonOverloaded Reason = "overloaded"
	// ReasonUnavailable: the broker did not acknowledge in time; retry.
	ReasonUnavailable Reason = "unavailable"
)

var allReasons = []Reason{ReasonInvalidJSON, ReasonBadEncoding, ReasonSchema, ReasonUnsafeJSON, ReasonEventNotAllowed,
	ReasonEventTooLarge, ReasonBatchTooLarge, ReasonTooManyEvents, ReasonBodyTimeout, ReasonMediaType, ReasonUnauthorized,
	ReasonOriginNotAllowed, ReasonRateLimited, ReasonOverloaded, ReasonUnavailable}

// retryAfterSeconds is what a 503 asks senders to wait.
const retryAfterSeconds = 5

// overloadRetryAfterSeconds is what a 503 for too many bytes in flight
// asks; the pressure is usually gone within a second.
const overloadRetryAfterSeconds = 1

// maxRejectedListed bounds the per-event list in an answer.
const maxRejectedListed = 100

// status is the one place a reason becomes an HTTP status code.
func (r Reason) status() int {
	switch r {
	case ReasonEventTooLarge, ReasonBatchTooLarge:
		return http.StatusRequestEntityTooLarge
	case ReasonMediaType:
		return http.StatusUnsupportedMediaType
	case ReasonBodyTimeout:
		return http.StatusRequestTimeout
	case ReasonUnauthorized:
		return http.StatusUnauthorized
	case ReasonOriginNotAllowed:
		return http.StatusForbidden
	case ReasonRateLimited:
		return http.StatusTooManyRequests
	case ReasonUnavailable, ReasonOverloaded:
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadRequest
	}
}

// RejectedEvent names one refused event of a request and why.
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

// partialBody is the 200 answer of a batch of which some events were
// accepted and some rejected.
type partialBody struct {
	Success  bool            `json:"success"`
	Accepted int             `json:"accepted"`
	Rejected []RejectedEvent `json:"rejected"`
	Omitted  int             `json:"omitted,omitempty"`
}

// RejectedRecord is the value of a record on touchpoints.rejected: a
// refused event as sent (with hashed properties already hashed) and why.
type RejectedRecord struct {
	Reason     Reason               `json:"reason"`
	Message    string               `json:"message"`
	Errors     []schemas.FieldError `json:"errors,omitempty"`
	Source     string               `json:"source"`
	ReceivedAt time.Time            `json:"receivedAt"`
	Index      int                  `json:"index"`
	MessageID  string               `json:"messageId,omitempty"`
	Event      json.RawMessage      `json:"event"`
}

// rejection is a refused request on its way to the sender.
type rejection struct {
	reason   Reason
	message  string
	rejected []RejectedEvent
	// events is how many events the request carried, when known; at least
	// one is counted so that whole-body refusals show in the metric.
	events     int
	retryAfter int // seconds; 0 means the reason's default
}

func reject(reason Reason, message string) *rejection {
	return &rejection{reason: reason, message: message}
}

// write answers the sender and counts the refused events by reason.
// Events listed one by one were counted when they were rejected.
func (rej *rejection) write(w http.ResponseWriter, m *metrics, source string) {
	status := rej.reason.status()
	body := errorBody{Error: rej.message, Reason: rej.reason}
	body.Rejected, body.Omitted = listed(rej.rejected)
	if len(rej.rejected) == 0 {
		m.rejected(rej.reason, source, max(rej.events, 1))
	}
	switch status {
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		ra := rej.retryAfter
		if ra == 0 {
			ra = retryAfterSeconds
		}
		w.Header().Set("Retry-After", strconv.Itoa(ra))
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="journeys"`)
	}
	writeJSON(w, status, body)
}

func listed(all []RejectedEvent) ([]RejectedEvent, int) {
	if len(all) > maxRejectedListed {
		return all[:maxRejectedListed], len(all) - maxRejectedListed
	}
	return all, 0
}

var successBody = []byte(`{"success":true}` + "\n")

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
