// Package broker runs an in-process Kafka-protocol broker (franz-go's kfake)
// for tests and for `journeys dev`. It speaks the real wire protocol, so the
// kafka-go clients of ingest and processor run against it exactly as they do
// against Apache Kafka in production.
package broker

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Topic names of the pipeline.
const (
	TopicTouchpoints = "touchpoints"
	TopicRejected    = "touchpoints.rejected"
	TopicFriction    = "friction"
)

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
}

// Embedded is a running in-process broker.
type Embedded struct {
	cluster *kfake.Cluster
}

// Start starts an embedded single-node broker with the configured topics.
func Start(cfg Config) (*Embedded, error) {
	if cfg.Partitions <= 0 {
		cfg.Partitions = 3
	}
	if len(cfg.Topics) == 0 {
		cfg.Topics = []string{TopicTouchpoints, TopicRejected, TopicFriction}
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(cfg.Port),
		kfake.SeedTopics(cfg.Partitions, cfg.Topics...),
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir), kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded kafka broker: %w", err)
	}
	return &Embedded{cluster: c}, nil
}

// Addrs are the host:port addresses clients bootstrap from.
func (e *Embedded) Addrs() []string { return e.cluster.ListenAddrs() }

// Cluster exposes the kfake cluster, for tests that inject faults.
func (e *Embedded) Cluster() *kfake.Cluster { return e.cluster }

// Close stops the broker.
func (e *Embedded) Close() { e.cluster.Close() }
