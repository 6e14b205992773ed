package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/journeys/journeys/internal/loadgen"
)

// ingestSample is how many simulated events the ingest-stage bodies are
// made of.
const ingestSample = 20_000

// ingestBatch is the events per request of the batch shape.
const ingestBatch = 100

// ingestStage measures `journeys ingest` and Redpanda Connect alone, each
// into a topic of its own on the same broker, one event per request and
// batches, closed-loop at the same connections.
func (r *run) ingestStage(ctx context.Context) error {
	single, batches, err := ingestBodies(r.sample, ingestSample, ingestBatch)
	if err != nil {
		return err
	}
	broker := r.comps[1]
	r.cfg.Log.Info("phase 4: ingest stage: journeys ingest")
	ing, listen, _, err := r.startIngest(ctx, "ingest-stage", TopicIngestStage)
	if err != nil {
		return err
	}
	for _, shape := range r.shapes(single, batches) {
		url := "http://" + listen + shape.path
		run, err := r.measureIngest(ctx, "journeys", shape, ing, broker, url, TopicIngestStage, true)
		if err != nil {
			return err
		}
		r.res.Ingest = append(r.res.Ingest, run)
	}
	ing.stop()
	if r.cfg.Redpanda == "" {
		r.res.Notes = append(r.res.Notes, "Redpanda Connect was not run (no binary given)")
		return nil
	}
	for _, shape := range r.shapes(single, batches) {
		r.cfg.Log.Info("phase 4: ingest stage: Redpanda Connect", "shape", shape.name)
		rp, listen, err := r.startRedpanda(ctx, shape)
		if err != nil {
			return err
		}
		run, err := r.measureIngest(ctx, "redpanda-connect", shape, rp, broker, "http://"+listen+shape.path, TopicRedpandaStage, false)
		rp.stop()
		if err != nil {
			return err
		}
		r.res.Ingest = append(r.res.Ingest, run)
	}
	return nil
}

// shape is one request shape of the ingest stage.
type shape struct {
	name   string
	path   string
	bodies [][]byte
	events int
	conns  int
}

func (r *run) shapes(single, batches [][]byte) []shape {
	return []shape{
		{"single", "/v1/track", single, 1, r.cfg.SingleConns},
		{fmt.Sprintf("batch%d", ingestBatch), "/v1/batch", batches, ingestBatch, r.cfg.BatchConns},
	}
}

// measureIngest drives server closed-loop for IngestFor, takes its CPU
// and peak memory over the run, and counts the records topic gained.
func (r *run) measureIngest(ctx context.Context, system string, s shape, server, broker *component, url, topic string, auth bool) (IngestRun, error) {
	cl := newClient(s.conns, auth)
	defer cl.close()
	// One request first: connections and producers warm.
	if err := cl.post(url, s.bodies[0]); err != nil {
		return IngestRun{}, fmt.Errorf("%s %s: %w", system, s.name, err)
	}
	m, err := startMeter([]*component{server, broker})
	if err != nil {
		return IngestRun{}, err
	}
	before, err := records(ctx, r.brokers, topic)
	if err != nil {
		return IngestRun{}, err
	}
	lat, events, elapsed, err := closedLoop(cl, url, s.bodies, s.events, s.conns, r.cfg.IngestFor)
	if err != nil {
		return IngestRun{}, fmt.Errorf("%s %s: %w", system, s.name, err)
	}
	use, err := m.read()
	if err != nil {
		return IngestRun{}, err
	}
	after, err := records(ctx, r.brokers, topic)
	if err != nil {
		return IngestRun{}, err
	}
	u := use[server.name]
	return IngestRun{
		System: system, Shape: s.name, Conns: s.conns, Requests: len(lat), Events: events, Records: after - before,
		EventsPS: float64(events) / elapsed.Seconds(),
		P50:      loadgen.Ms(loadgen.Percentile(lat, 0.5)), P99: loadgen.Ms(loadgen.Percentile(lat, 0.99)),
		CPUSecPerMillion: u.CPU.Seconds() * 1e6 / float64(max(events, 1)), PeakRSSMiB: float64(u.PeakRSS) / (1 << 20),
	}, nil
}

// redpandaConfig is Redpanda Connect as a team would set it up in front of
// Kafka: http_server on the tracking path, kafka_franz into the same
// broker, keyed by customer like ingest, acks from all replicas (the
// default), as many produce requests in flight as there are connections.
// http_server answers a request once the output acknowledged its messages.
// It takes one message per request; a Segment batch is one JSON document,
// split into its events by a mapping and unarchive (json_array).
const redpandaConfig = `http:
  enabled: false
logger:
  level: WARN
input:
  http_server:
    address: {listen}
    path: {path}
    allowed_verbs: [POST]
    timeout: 30s{processors}
output:
  kafka_franz:
    seed_brokers: [{brokers}]
    topic: {topic}
    key: '${! json("userId").or(json("anonymousId")).or("") }'
    max_in_flight: {inflight}
`

const redpandaSplitBatch = `
  processors:
    - mapping: 'root = this.batch'
    - unarchive:
        format: json_array`

// startRedpanda starts Redpanda Connect for shape and waits until it
// listens.
func (r *run) startRedpanda(ctx context.Context, s shape) (*component, string, error) {
	listen, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	procs := ""
	if s.events > 1 {
		procs = redpandaSplitBatch
	}
	conf := strings.NewReplacer("{listen}", listen, "{path}", s.path, "{processors}", procs,
		"{brokers}", strings.Join(r.brokers, ", "), "{topic}", TopicRedpandaStage, "{inflight}", fmt.Sprint(s.conns)).Replace(redpandaConfig)
	path := filepath.Join(r.cfg.WorkDir, "redpanda-"+s.name+".yaml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, "", fmt.Errorf("write redpanda connect config: %w", err)
	}
	c, err := startComponent(r.cfg.WorkDir, "redpanda-connect-"+s.name, nil, r.cfg.Redpanda, "run", path)
	if err != nil {
		return nil, "", err
	}
	r.onStop(c.stop)
	err = c.waitFor(ctx, time.Minute, func() error {
		conn, err := net.DialTimeout("tcp", listen, time.Second)
		if err == nil {
			conn.Close()
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return c, listen, nil
}
