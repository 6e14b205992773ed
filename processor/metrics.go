package processor

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	events         *prometheus.CounterVec
	batches        prometheus.Counter
	batchDuration  prometheus.Histogram
	insertFailures *prometheus.CounterVec
	insertDuration *prometheus.HistogramVec
	flags          *prometheus.CounterVec
	restored       prometheus.Counter
	forgotten      prometheus.Counter
	customers      prometheus.Gauge
	commitFailures prometheus.Counter
	retries        *prometheus.CounterVec
	consumerLag    *prometheus.GaugeVec
	late           prometheus.Counter
	rewrites       *prometheus.CounterVec
	identity       *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "journeys_processor_events_total",
			Help: "Touchpoint records consumed, by result: applied, reordered (older than the customer's latest, within the lateness: placed in event-time order), late (beyond the lateness: stored marked late, in no journey), duplicate (already stored under the same customer, or re-sent), invalid (undecodable), replayed, forwarded (to the user an id was merged into; counted when produced), merge (merge records), forgotten (of a forgotten customer: dropped).",
		}, []string{"result"}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "journeys_processor_batches_total",
			Help: "Batches written to ClickHouse and committed.",
		}),
		batchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "journeys_processor_batch_duration_seconds",
			Help:    "Time from decoding a batch to committing its offsets.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		insertFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "journeys_processor_insert_failures_total",
			Help: "Failed ClickHouse inserts (each is retried), by table.",
		}, []string{"table"}),
		insertDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "journeys_processor_insert_duration_seconds",
			Help:    "Time to insert one batch into a table, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 14),
		}, []string{"table"}),
		flags: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "journeys_processor_friction_flags_total",
			Help: "Friction flags written, by rule and severity.",
		}, []string{"rule", "severity"}),
		forgotten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "journeys_processor_forgotten_customers_total",
			Help: "Customers whose state the processor held when they were forgotten, and discarded.",
		}),
		restored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "journeys_processor_restored_customers_total",
			Help: "Customers whose state was rebuilt from ClickHouse after a start or rebalance.",
		}),
		customers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "journeys_processor_customers",
			Help: "Customers whose journey state is held in memory.",
		}),
		commitFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "journeys_processor_commit_failures_total",
			Help: "Failed offset commits (each is retried).",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "journeys_processor_retries_total",
			Help: "Failed attempts of an operation on ClickHouse or Kafka that the processor retries with backoff (inserts, reads, commits, produces), by operation: every failure, reads included, counts here.",
		}, []string{"operation"}),
		consumerLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "journeys_processor_consumer_lag_records",
			Help: "Records in a partition after the last one fetched (high watermark - offset - 1), by partition this processor reads.",
		}, []string{"partition"}),
		late: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "journeys_processor_late_events_total",
			Help: "Touchpoints older than their customer's latest by more than the allowed lateness: stored marked late, kept out of journeys and rules.",
		}),
		rewrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "journeys_processor_rewritten_rows_total",
			Help: "Rows rewritten because a reordered touchpoint changed an earlier result, by table and kind (changed, retracted).",
		}, []string{"table", "kind"}),
		identity: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "journeys_processor_identity_links_total",
			Help: "Identity links: linked (an identify or alias seen, merge record produced), merged (a linked id's touchpoints forwarded and journeys retracted), conflict (a linked id already merged into another user).",
		}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.events, m.batches, m.batchDuration, m.insertFailures, m.insertDuration, m.flags, m.restored, m.forgotten, m.customers, m.commitFailures, m.retries, m.consumerLag, m.late, m.rewrites, m.identity} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register processor metrics: %w", err)
		}
	}
	return m, nil
}
