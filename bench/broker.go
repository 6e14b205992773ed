package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/journeys/journeys/internal/broker"
)

// Topics the bench's broker seeds besides the pipeline's: kfake does not
// create topics on first use.
const (
	TopicIngestStage   = "bench.ingest"
	TopicRedpandaStage = "bench.redpanda"
)

// DefaultRetentionBytes bounds each partition of the bench's broker. The
// peer phase reads the whole touchpoints topic again, so it must hold every
// event of the pipeline phases; the ingest-stage topics may lose their
// oldest segments (kfake keeps its log in the broker's heap).
const DefaultRetentionBytes = 512 << 20

// ServeBroker runs the embedded broker as a process of its own (`journeys
// bench broker`) until ctx ends, with the pipeline's topics and the ingest
// stage's, and writes its bootstrap addresses to addrFile once it listens.
func ServeBroker(ctx context.Context, addrFile string, retentionBytes int64) error {
	b, err := broker.Start(broker.Config{
		Topics:         slices.Concat(broker.PipelineTopics, []string{TopicIngestStage, TopicRedpandaStage}, scaleTopics),
		RetentionBytes: retentionBytes,
	})
	if err != nil {
		return err
	}
	defer b.Close()
	if err := os.WriteFile(addrFile+".tmp", []byte(strings.Join(b.Addrs(), ",")), 0o644); err != nil {
		return fmt.Errorf("write broker address: %w", err)
	}
	if err := os.Rename(addrFile+".tmp", addrFile); err != nil {
		return fmt.Errorf("write broker address: %w", err)
	}
	<-ctx.Done()
	return nil
}
