package ingest

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// unknownSource labels metrics of requests refused before their source
// was known.
const unknownSource = "unknown"

// metrics of the ingest service; doc.go lists them for operators.
type metrics struct {
	requests       *prometheus.CounterVec
	eventsAccepted *prometheus.CounterVec
	eventsRejected *prometheus.CounterVec
	// eventsSuppressed are events of forgotten customers: answered as
	// accepted, written nowhere.
	eventsSuppressed *prometheus.CounterVec
	batchEvents      prometheus.Histogram
	produceSeconds   *prometheus.HistogramVec
	inFlightBytes    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, sourceNames []string) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "journeys_ingest_requests_total",
			Help: "Tracking API requests by endpoint and HTTP status code.",
		}, []string{"endpoint", "code"}),
		eventsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "journeys_ingest_events_accepted_total",
			Help: "Events the broker acknowledged on the touchpoints topic and the sender was told so, by source.",
		}, []string{"source"}),
		eventsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "journeys_ingest_events_rejected_total",
			Help: "Events refused, by reason and source; a body refused before its events could be counted counts as one.",
		}, []string{"reason", "source"}),
		eventsSuppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "journeys_ingest_events_suppressed_total",
			Help: "Events of forgotten customers (GDPR erasure): answered as accepted and written nowhere, by source.",
		}, []string{"source"}),
		batchEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "journeys_ingest_batch_events",
			Help:    "Events per authenticated request.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 2500},
		}),
		produceSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "journeys_ingest_produce_duration_seconds",
			Help:    "Time from handing a request's events to the broker until it acknowledged them or failed.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5ms … 16s
		}, []string{"outcome"}),
		inFlightBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "journeys_ingest_in_flight_bytes",
			Help: "Bytes of request bodies being served, bounded by max_in_flight_bytes.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.eventsAccepted, m.eventsRejected, m.eventsSuppressed,
		m.batchEvents, m.produceSeconds, m.inFlightBytes} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register ingest metrics: %w", err)
		}
	}
	for _, s := range sourceNames {
		m.eventsAccepted.WithLabelValues(s)
	}
	return m, nil
}

func (m *metrics) rejected(r Reason, source string, n int) {
	if source == "" {
		source = unknownSource
	}
	m.eventsRejected.WithLabelValues(string(r), source).Add(float64(n))
}

// Outcome labels of journeys_ingest_produce_duration_seconds.
const (
	outcomeAcked  = "acked"
	outcomeFailed = "failed"
)
