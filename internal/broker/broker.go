// Package broker runs an in-process Kafka-protocol broker (franz-go's kfake)
// for tests and for `journeys dev`. It speaks the real wire protocol, so the
// kafka-go clients of ingest and processor run against it exactly as they do
// against Apache Kafka in production.
package broker

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Topic names of the pipeline.
const (
	TopicTouchpoints = "touchpoints"
	TopicRejected    = "touchpoints.rejected"
	TopicFriction    = "friction"
	// TopicForget is the suppression list of forgotten customers (package
	// forget); kfake keeps every record, Apache Kafka compacts it.
	TopicForget = "forget"
)

// PipelineTopics are the topics ingest and the processor need: a broker for
// them must create them all (kfake does not create a topic on first use).
var PipelineTopics = []string{TopicTouchpoints, TopicRejected, TopicFriction, TopicForget}

// Config says which topics the embedded broker starts with.
type Config struct {
	// Partitions per seeded topic; default 3.
	Partitions int32
	// Topics to create at start; default the pipeline's topics. kfake does
	// not create topics on first use, so every topic a client writes to must
	// be here.
	Topics []string
	// Port to listen on (127.0.0.1); 0 picks a free one.
	Port int
	// DataDir, when set, persists the log so that a restart keeps it.
	DataDir string
	// RetentionBytes, when positive, bounds each partition's log: the
	// broker deletes its oldest segments (of a quarter of this size) once a
	// second. Without it the broker keeps every record in memory,
	// which a long load test turns into gigabytes of fresh memory.
	RetentionBytes int64
}

// retentionInterval is how often the broker applies RetentionBytes.
const retentionInterval = time.Second

// Embedded is a running in-process broker.
type Embedded struct {
	cluster       *kfake.Cluster
	stop, stopped chan struct{}
	closeOnce     sync.Once
}

// Start starts an embedded single-node broker with the configured topics.
func Start(cfg Config) (*Embedded, error) {
	if cfg.Partitions <= 0 {
		cfg.Partitions = 3
	}
	if len(cfg.Topics) == 0 {
		cfg.Topics = slices.Clone(PipelineTopics)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(cfg.Port),
		kfake.SeedTopics(cfg.Partitions, cfg.Topics...),
	}
	if cfg.RetentionBytes > 0 {
		opts = append(opts, kfake.BrokerConfigs(map[string]string{
			"log.retention.bytes": strconv.FormatInt(cfg.RetentionBytes, 10),
			"log.segment.bytes":   strconv.FormatInt(max(cfg.RetentionBytes/4, 1), 10),
		}))
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir), kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded kafka broker: %w", err)
	}
	e := &Embedded{cluster: c, stop: make(chan struct{}), stopped: make(chan struct{})}
	if cfg.RetentionBytes > 0 {
		go e.applyRetention()
	} else {
		close(e.stopped)
	}
	return e, nil
}

// applyRetention deletes segments past the retention limit until Close.
// kfake applies broker-wide retention only when asked.
func (e *Embedded) applyRetention() {
	defer close(e.stopped)
	t := time.NewTicker(retentionInterval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.cluster.ApplyRetention()
		}
	}
}

// Addrs are the host:port addresses clients bootstrap from.
func (e *Embedded) Addrs() []string { return e.cluster.ListenAddrs() }

// Cluster exposes the kfake cluster, for tests that inject faults.
func (e *Embedded) Cluster() *kfake.Cluster { return e.cluster }

// Close stops the broker.
func (e *Embedded) Close() {
	e.closeOnce.Do(func() {
		close(e.stop)
		<-e.stopped
		e.cluster.Close()
	})
}
