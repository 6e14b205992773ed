package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/journeys/journeys/bench"
	"github.com/journeys/journeys/internal/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// TestSmallBenchProducesConsistentNumbers runs the whole bench small (no
// Redpanda Connect: its build is not part of make test) and checks that
// every figure is produced and that the counts agree, never their speed.
func TestSmallBenchProducesConsistentNumbers(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "journeys")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/journeys").CombinedOutput(); err != nil {
		t.Fatalf("build journeys: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := bench.Run(ctx, bench.Config{
		Binary: bin, WorkDir: dir, ClickHouse: chtest.Addr(t), Database: chtest.NewDatabase(t).Database,
		Customers: 300, Rate: 1500, Senders: 4, IngestFor: time.Second, SingleConns: 8, BatchConns: 4,
		Timeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}

	c := res.Consistency
	if c.Sent == 0 || c.Sent != res.Fixed.Events+res.Max.Events {
		t.Errorf("acknowledged %d events, phases sent %d + %d", c.Sent, res.Fixed.Events, res.Max.Events)
	}
	if c.IngestAccepted != uint64(c.Sent) || c.TouchpointRows != uint64(c.Sent) {
		t.Errorf("acknowledged %d events, ingest counted %d, ClickHouse holds %d message ids", c.Sent, c.IngestAccepted, c.TouchpointRows)
	}
	if c.ProcessorConsumed < uint64(c.Sent) {
		t.Errorf("processor consumed %d touchpoints of %d sent", c.ProcessorConsumed, c.Sent)
	}
	if res.KafkaEngine.Rows != uint64(c.Sent)+c.Forwarded {
		t.Errorf("Kafka engine loaded %d rows, want %d events + %d forwarded", res.KafkaEngine.Rows, c.Sent, c.Forwarded)
	}
	f := res.Friction
	if !f.Same || f.Purchases != f.ExpectedByTruth || f.Purchases == 0 {
		t.Errorf("friction: %+v, want the same purchases both ways, as many as the simulator expects", f)
	}

	ordered := map[string][]float64{
		"fixed ingest p50 ≤ p99":          {res.Fixed.IngestP50, res.Fixed.IngestP99},
		"fixed queryable p50 ≤ p99 ≤ max": {res.Fixed.QueryableP50, res.Fixed.QueryableP99, res.Fixed.QueryableMaxMs},
		"max ingest p50 ≤ p99":            {res.Max.IngestP50, res.Max.IngestP99},
	}
	for _, i := range res.Ingest {
		ordered[i.System+" "+i.Shape+" p50 ≤ p99"] = []float64{i.P50, i.P99}
	}
	for name, v := range ordered {
		for k := 1; k < len(v); k++ {
			if v[k-1] > v[k] || v[0] <= 0 {
				t.Errorf("%s: %v", name, v)
			}
		}
	}
	if res.Fixed.Marked == 0 {
		t.Error("no marked event was waited for")
	}
	positive := map[string]float64{
		"end-to-end events/s": res.Max.EndToEndPS, "ingest events/s": res.Max.IngestPS, "processor events/s": res.Max.ProcessorPS,
		"ClickHouse rows/s": res.Max.CHRowsPS, "Kafka engine rows/s": res.KafkaEngine.RowsPS, "query-time friction ms": f.QueryTimeMs,
	}
	if res.Max.CHRows < uint64(res.Max.Events) {
		t.Errorf("ClickHouse counted %d rows inserted for %d events", res.Max.CHRows, res.Max.Events)
	}
	if res.Max.EndToEndPS > res.Max.IngestPS {
		t.Errorf("end to end %.0f events/s, faster than ingest alone %.0f", res.Max.EndToEndPS, res.Max.IngestPS)
	}
	for _, cu := range res.Max.Components {
		if cu.Name == "clickhouse" {
			if cu.Measured {
				t.Error("a ClickHouse the bench did not start was measured")
			}
			continue
		}
		if !cu.Measured || cu.PeakRSSMiB <= 0 {
			t.Errorf("component %s: %+v", cu.Name, cu)
		}
		if cu.Name == "processor" || cu.Name == "ingest" {
			positive[cu.Name+" CPU s"] = cu.CPUSeconds
		}
	}
	if len(res.Ingest) != 2 {
		t.Errorf("ingest stage runs %+v, want journeys single and batch100", res.Ingest)
	}
	for _, i := range res.Ingest {
		positive[i.System+" "+i.Shape+" events/s"] = i.EventsPS
		if i.Records != int64(i.Events) {
			t.Errorf("%s %s: %d events acknowledged, %d records on the topic", i.System, i.Shape, i.Events, i.Records)
		}
	}
	for name, v := range positive {
		if v <= 0 {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}

	var js bytes.Buffer
	if err := res.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back bench.Result
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not parse: %v", err)
	}
	if back.Cores <= 0 || back.Consistency != c || len(back.Targets) != len(res.Targets) {
		t.Errorf("JSON round trip: cores %d, consistency %+v, %d targets", back.Cores, back.Consistency, len(back.Targets))
	}
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, tg := range res.Targets {
		if !strings.Contains(table.String(), tg.Name) {
			t.Errorf("table lacks target %q", tg.Name)
		}
	}
	if t.Failed() {
		t.Log("\n" + table.String())
	}
}
