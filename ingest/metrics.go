package ingest

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the ingest service; doc.go lists them for operators.
type metrics struct {
	requests       *prometheus.CounterVec
	eventsAccepted prometheus.Counter
	eventsRejected *prometheus.CounterVec
	produceSeconds *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "journeys_ingest_requests_total",
			Help: "Tracking API requests by endpoint and HTTP status code.",
		}, []string{"endpoint", "code"}),
		eventsAccepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "journeys_ingest_events_accepted_total",
			Help: "Events the broker acknowledged and the sender was told so.",
		}),
		eventsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "journeys_ingest_events_rejected_total",
			Help: "Events refused, by reason; a body refused before its events could be counted counts as one.",
		}, []string{"reason"}),
		produceSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "journeys_ingest_produce_duration_seconds",
			Help:    "Time from handing a request's events to the broker until it acknowledged them or failed.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1ms … 8s
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.eventsAccepted, m.eventsRejected, m.produceSeconds} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register ingest metrics: %w", err)
		}
	}
	for _, r := range []Reason{ReasonInvalidJSON, ReasonSchema, ReasonInBadBatch, ReasonEventTooLarge,
		ReasonBatchTooLarge, ReasonMediaType, ReasonUnauthorized, ReasonUnavailable} {
		m.eventsRejected.WithLabelValues(string(r))
	}
	return m, nil
}

// Outcome labels of journeys_ingest_produce_duration_seconds.
const (
	outcomeAcked  = "acked"
	outcomeFailed = "failed"
)
