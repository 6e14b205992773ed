package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/internal/loadgen"
	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

// ScaleStep is the processor catching up with a topic of Customers
// customers' touchpoints, written straight to the broker beforehand.
type ScaleStep struct {
	Customers        int     `json:"customers"`
	Events           int     `json:"events"`
	ProcessorPS      float64 `json:"processor_events_per_s"`
	CPUSecPerMillion float64 `json:"processor_cpu_s_per_million_events"`
	PeakRSSMiB       float64 `json:"processor_peak_rss_mib"`
	BytesPerCustomer float64 `json:"processor_peak_rss_bytes_per_customer"`
	QueryTimeMs      float64 `json:"query_time_friction_ms"`
	StreamingMs      float64 `json:"streaming_friction_ms"`
	SameFriction     bool    `json:"same_friction"`
}

// scaleTopics are seeded for the scaling run, one per step.
var scaleTopics = []string{"bench.scale.1", "bench.scale.2", "bench.scale.3", "bench.scale.4"}

// scaleRun runs one processor per step, each on its own topic, group and
// database, and measures its catch-up.
func (r *run) scaleRun(ctx context.Context) error {
	if len(r.cfg.Scale) > len(scaleTopics) {
		return fmt.Errorf("bench: at most %d scaling steps", len(scaleTopics))
	}
	admin, err := store.Open(ctx, store.Config{Addr: r.chAddr, Database: "default"})
	if err != nil {
		return err
	}
	defer admin.Close()
	for i, customers := range r.cfg.Scale {
		step, err := r.scaleStep(ctx, admin, i, customers)
		if err != nil {
			return fmt.Errorf("scaling step of %d customers: %w", customers, err)
		}
		r.res.Scale = append(r.res.Scale, step)
	}
	return nil
}

func (r *run) scaleStep(ctx context.Context, admin *store.Store, i, customers int) (ScaleStep, error) {
	topic, group := scaleTopics[i], fmt.Sprintf("bench-scale-%d", i+1)
	db := fmt.Sprintf("%s_scale%d", r.cfg.Database, i+1)
	events := customers * r.cfg.ScaleEventsPerCustomer
	r.cfg.Log.Info("scaling run: writing touchpoints to the broker", "customers", customers, "events", events)
	if err := admin.Conn().Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
		return ScaleStep{}, err
	}
	if err := produceScale(ctx, r.brokers, topic, customers, r.cfg.ScaleEventsPerCustomer); err != nil {
		return ScaleStep{}, err
	}
	metrics, err := freeAddr()
	if err != nil {
		return ScaleStep{}, err
	}
	name := fmt.Sprintf("processor-scale-%d", customers)
	r.cfg.Log.Info("scaling run: processor catching up", "customers", customers)
	p, err := r.startComponent(name, nil, "process", "--kafka", strings.Join(r.brokers, ","), "--topic", topic, "--group", group,
		"--clickhouse", r.chAddr, "--database", db, "--metrics-listen", metrics)
	if err != nil {
		return ScaleStep{}, err
	}
	defer p.stop()
	url := "http://" + metrics + "/metrics"
	// The sampler starts before the processor serves metrics (it migrates
	// first); its rate counts from the first record applied.
	sampler := startRateSampler(url, "journeys_processor_events_total", result("applied", "reordered", "late", "duplicate", "invalid"))
	cpu0, err := loadgen.ProcCPU(p.pid)
	if err != nil {
		sampler.stop()
		return ScaleStep{}, err
	}
	err = p.waitFor(ctx, r.cfg.Timeout, func() error {
		left, err := uncommitted(ctx, r.brokers, topic, group)
		if err == nil && left > 0 {
			err = fmt.Errorf("%d records not committed", left)
		}
		return err
	})
	ps := sampler.stop()
	if err != nil {
		return ScaleStep{}, err
	}
	cpu1, err := loadgen.ProcCPU(p.pid)
	if err != nil {
		return ScaleStep{}, err
	}
	rss, err := loadgen.PeakRSS(p.pid)
	if err != nil {
		return ScaleStep{}, err
	}
	p.stop()
	st, err := store.Open(ctx, store.Config{Addr: r.chAddr, Database: db})
	if err != nil {
		return ScaleStep{}, err
	}
	defer st.Close()
	fr, err := compareFriction(ctx, st.Conn(), frictionOverTouchpoints, 0)
	if err != nil {
		return ScaleStep{}, err
	}
	if err := admin.Conn().Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
		return ScaleStep{}, err
	}
	return ScaleStep{
		Customers: customers, Events: events, ProcessorPS: ps,
		CPUSecPerMillion: (cpu1 - cpu0).Seconds() * 1e6 / float64(events),
		PeakRSSMiB:       float64(rss) / (1 << 20), BytesPerCustomer: float64(rss) / float64(customers),
		QueryTimeMs: fr.QueryTimeMs, StreamingMs: fr.StreamingMs, SameFriction: fr.Same,
	}, nil
}

// produceScale writes perCustomer touchpoints of each of customers to
// topic, keyed by customer, round by round (every customer's first, then
// every customer's second…), so that all of them are active at once and
// each one's touchpoints are in time order. A customer's touchpoints are
// page views and calls, 5 hours apart, and every fourth customer's last is
// a purchase.
func produceScale(ctx context.Context, brokers []string, topic string, customers, perCustomer int) error {
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchSize: 5000, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	start := time.Now().UTC().Add(-time.Duration(perCustomer+1) * 5 * time.Hour).Truncate(time.Hour)
	const chunk = 5000
	msgs := make([]kafka.Message, 0, chunk)
	flush := func() error {
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			return fmt.Errorf("write scaling touchpoints to %s: %w", topic, err)
		}
		msgs = msgs[:0]
		return nil
	}
	for j := range perCustomer {
		for c := range customers {
			ev := scaleEvent(c, j, perCustomer, start)
			v, err := json.Marshal(ev)
			if err != nil {
				return fmt.Errorf("encode a scaling touchpoint: %w", err)
			}
			msgs = append(msgs, kafka.Message{Key: []byte(ev.UserID), Value: v})
			if len(msgs) == chunk {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if len(msgs) > 0 {
		return flush()
	}
	return nil
}

func scaleEvent(c, j, perCustomer int, start time.Time) schemas.Event {
	at := start.Add(time.Duration(j)*5*time.Hour + time.Duration(c%3600)*time.Second)
	ev := schemas.Event{MessageID: fmt.Sprintf("s-%d-%d", c, j), UserID: fmt.Sprintf("sc-%07d", c), Timestamp: at, ReceivedAt: at}
	switch {
	case j == perCustomer-1 && c%4 == 0:
		ev.Type, ev.Event, ev.Channel = schemas.TypeTrack, schemas.EventPurchase, schemas.ChannelWeb
		ev.Properties = json.RawMessage(fmt.Sprintf(`{"order_id":"o-%d","revenue":49.5,"currency":"EUR"}`, c))
	case (c+j)%3 == 0:
		ev.Type, ev.Event, ev.Channel = schemas.TypeTrack, schemas.EventCall, schemas.ChannelPhone
		ev.Properties = json.RawMessage(`{"wait_seconds":42,"duration_seconds":300,"topic":"billing","direction":"inbound"}`)
	default:
		ev.Type, ev.Channel = schemas.TypePage, schemas.ChannelWeb
		ev.Properties = json.RawMessage(`{"path":"/pricing","title":"Pricing"}`)
	}
	return ev
}
