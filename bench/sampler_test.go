package bench

import (
	"testing"
	"time"
)

func TestCounterRate(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		samples []float64 // one every 200 ms
		want    float64
	}{
		{"counts from the last sample before growth to the first at the final value", []float64{10, 10, 10, 110, 210, 210, 210}, 200 / 0.4},
		{"a counter that never grew has no rate", []float64{5, 5, 5}, 0},
		{"a single sample has no rate", []float64{5}, 0},
		{"growth from the first sample on", []float64{0, 100, 200}, 200 / 0.4},
	} {
		t.Run(c.name, func(t *testing.T) {
			at := func(i int) (time.Time, float64) {
				return t0.Add(time.Duration(i) * 200 * time.Millisecond), c.samples[i]
			}
			if got := counterRate(at, len(c.samples)); got < c.want*0.999 || got > c.want*1.001 {
				t.Errorf("rate %v, want %v", got, c.want)
			}
		})
	}
}

func TestTargetsJudgeEachFigure(t *testing.T) {
	r := &Result{
		Customers: 1000,
		Fixed:     FixedPhase{AchievedPS: 60_000, IngestP99: 20, QueryableP99: 6_000},
		Max:       MaxPhase{EndToEndPS: 55_000, ProcessorPS: 100, Components: []ComponentUse{{Name: "processor", Measured: true, PeakRSSMiB: 100}}},
		Ingest: []IngestRun{
			{System: "journeys", Shape: "single", EventsPS: 30_000, P99: 10},
			{System: "redpanda-connect", Shape: "single", EventsPS: 10_000, P99: 20},
			{System: "journeys", Shape: "batch100", EventsPS: 30_000, P99: 30},
			{System: "redpanda-connect", Shape: "batch100", EventsPS: 10_000, P99: 20},
		},
		Friction: frictionResult{Same: true, Purchases: 3},
		Scale:    []ScaleStep{{Customers: 1_000_000, BytesPerCustomer: 400}},
	}
	want := []struct {
		met, measured bool
	}{
		{true, true},   // end to end above 50,000
		{true, true},   // p99 20 ms at 60,000 events/s
		{false, true},  // queryable p99 6 s
		{true, true},   // 3x Redpanda at a better p99
		{false, true},  // 3x Redpanda but a worse p99
		{false, false}, // no Kafka engine figure
		{true, true},   // same friction answers
		{true, true},   // 400 bytes per customer at 1 M
	}
	got := targets(r)
	if len(got) != len(want) {
		t.Fatalf("%d targets, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Met != w.met || got[i].Measured != w.measured {
			t.Errorf("%s: met %v measured %v, want met %v measured %v", got[i].Name, got[i].Met, got[i].Measured, w.met, w.measured)
		}
	}
}
