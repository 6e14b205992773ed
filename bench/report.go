package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// Targets of issue #7 on this 2-core machine.
const (
	targetEndToEndPS      = 50_000
	targetIngestP99Ms     = 25
	targetQueryableP99Ms  = 5_000
	targetRedpandaRatio   = 2
	targetKafkaEngineFrac = 0.5
	targetBytesPerCust    = 512
)

// targets judges a run against the targets.
func targets(r *Result) []Target {
	ts := []Target{
		{Name: "sustained end-to-end events/s", Want: fmt.Sprintf(">= %d", targetEndToEndPS), Got: r.Max.EndToEndPS, Unit: "events/s",
			Met: r.Max.EndToEndPS >= targetEndToEndPS, Measured: true},
		{Name: fmt.Sprintf("ingest p99 at %.0f events/s (the target's rate is %d)", r.Fixed.AchievedPS, targetEndToEndPS),
			Want: fmt.Sprintf("<= %d at >= %d events/s", targetIngestP99Ms, targetEndToEndPS), Got: r.Fixed.IngestP99, Unit: "ms",
			Met: r.Fixed.IngestP99 <= targetIngestP99Ms && r.Fixed.AchievedPS >= targetEndToEndPS, Measured: true},
		{Name: "event-to-queryable p99", Want: fmt.Sprintf("<= %d", targetQueryableP99Ms), Got: r.Fixed.QueryableP99, Unit: "ms",
			Met: r.Fixed.QueryableP99 <= targetQueryableP99Ms, Measured: true},
	}
	for _, shape := range []string{"single", fmt.Sprintf("batch%d", ingestBatch)} {
		j, jok := findIngest(r.Ingest, "journeys", shape)
		p, pok := findIngest(r.Ingest, "redpanda-connect", shape)
		t := Target{Name: "ingest events/s against Redpanda Connect, " + shape, Want: fmt.Sprintf(">= %dx at equal or better p99", targetRedpandaRatio), Unit: "x"}
		if jok && pok && p.EventsPS > 0 {
			t.Measured = true
			t.Got = j.EventsPS / p.EventsPS
			t.Met = t.Got >= targetRedpandaRatio && j.P99 <= p.P99
		}
		ts = append(ts, t)
	}
	ke := Target{Name: "processor events/s against ClickHouse's Kafka engine rows/s", Want: fmt.Sprintf(">= %.0f%%", 100*targetKafkaEngineFrac), Unit: "%"}
	if r.KafkaEngine.RowsPS > 0 {
		ke.Measured = true
		ke.Got = 100 * r.Max.ProcessorPS / r.KafkaEngine.RowsPS
		ke.Met = ke.Got >= 100*targetKafkaEngineFrac
	}
	ts = append(ts, ke,
		Target{Name: "friction: streaming and query-time answers name the same purchases", Want: "same", Got: float64(r.Friction.Purchases), Unit: "purchases",
			Met: r.Friction.Same, Measured: true})
	// Memory per active customer: the scaling step of the most customers
	// (every customer of a step is active: none has bought or gone idle
	// when the topic ends), else the max-rate phase.
	mem := Target{Name: "processor peak memory per active customer", Want: fmt.Sprintf("<= %d at 1,000,000 customers", targetBytesPerCust), Unit: "bytes"}
	if n := len(r.Scale); n > 0 {
		s := r.Scale[n-1]
		mem.Name += fmt.Sprintf(" (scaling run, %d customers)", s.Customers)
		mem.Got, mem.Measured = s.BytesPerCustomer, s.Customers >= 1_000_000
		mem.Met = mem.Got <= targetBytesPerCust
	}
	ts = append(ts, mem)
	return ts
}

func findIngest(runs []IngestRun, system, shape string) (IngestRun, bool) {
	for _, r := range runs {
		if r.System == system && r.Shape == shape {
			return r, true
		}
	}
	return IngestRun{}, false
}

// WriteJSON writes r as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes r as text tables.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	p("journeys bench\t%s\tcores %d\tload %s → %s\t\n", r.Date, r.Cores, r.LoadStart, r.LoadEnd)
	p("customers %d\tbatch %d\tsenders %d\t\n\n", r.Customers, r.BatchSize, r.Senders)

	p("pipeline\tevents\tevents/s\tingest p50 ms\tingest p99 ms\tqueryable p50 ms\tqueryable p99 ms\t\n")
	f := r.Fixed
	p("fixed rate (%.0f/s)\t%d\t%.0f\t%.1f\t%.1f\t%.0f\t%.0f\t\n", f.TargetPS, f.Events, f.AchievedPS, f.IngestP50, f.IngestP99, f.QueryableP50, f.QueryableP99)
	m := r.Max
	p("max rate, end to end\t%d\t%.0f\t%.1f\t%.1f\t\t\t\n", m.Events, m.EndToEndPS, m.IngestP50, m.IngestP99)
	p("max rate, ingest\t\t%.0f\t\t\t\t\t\n", m.IngestPS)
	p("max rate, processor\t\t%.0f\t\t\t\t\t\n", m.ProcessorPS)
	p("max rate, ClickHouse rows\t%d\t%.0f\t\t\t\t\t\n\n", m.CHRows, m.CHRowsPS)

	p("component (max rate)\tCPU s\tCPU s / M events\tpeak RSS MiB\t\n")
	for _, c := range m.Components {
		if !c.Measured {
			p("%s\tnot measured\t\t\t\n", c.Name)
			continue
		}
		p("%s\t%.1f\t%.1f\t%.0f\t\n", c.Name, c.CPUSeconds, c.CPUSecPerMillion, c.PeakRSSMiB)
	}
	p("\npeer\tvalue\t\t\t\n")
	p("ClickHouse Kafka engine → MergeTree\t%.0f rows/s\t%d rows\t%.1f s\t\n", r.KafkaEngine.RowsPS, r.KafkaEngine.Rows, r.KafkaEngine.Seconds)
	fr := r.Friction
	p("friction at query time (raw rows)\t%.0f ms\t%d purchases\t\t\n", fr.QueryTimeMs, fr.Purchases+fr.OnlyQueryTime-fr.OnlyStreaming)
	p("friction streamed (friction_flags)\t%.0f ms\t%d purchases\tsame: %v (simulator: %d)\t\n\n", fr.StreamingMs, fr.Purchases, fr.Same, fr.ExpectedByTruth)

	if len(r.Ingest) > 0 {
		p("ingest stage\tshape\tconns\tevents/s\tp50 ms\tp99 ms\tCPU s / M events\tpeak RSS MiB\tevents acked\trecords on topic\t\n")
		for _, i := range r.Ingest {
			p("%s\t%s\t%d\t%.0f\t%.1f\t%.1f\t%.1f\t%.0f\t%d\t%d\t\n", i.System, i.Shape, i.Conns, i.EventsPS, i.P50, i.P99, i.CPUSecPerMillion, i.PeakRSSMiB, i.Events, i.Records)
		}
		p("\n")
	}
	if len(r.Scale) > 0 {
		p("scaling run (processor catch-up)\tevents\tevents/s\tCPU s / M events\tpeak RSS MiB\tbytes / customer\tfriction at query time ms\tstreamed ms\tsame\t\n")
		for _, s := range r.Scale {
			p("%d customers\t%d\t%.0f\t%.1f\t%.0f\t%.0f\t%.0f\t%.0f\t%v\t\n", s.Customers, s.Events, s.ProcessorPS, s.CPUSecPerMillion, s.PeakRSSMiB, s.BytesPerCustomer, s.QueryTimeMs, s.StreamingMs, s.SameFriction)
		}
		p("\n")
	}
	p("target\twant\tgot\tverdict\t\n")
	for _, t := range r.Targets {
		verdict := "missed"
		switch {
		case !t.Measured:
			verdict = "not measured"
		case t.Met:
			verdict = "met"
		}
		p("%s\t%s\t%.1f %s\t%s\t\n", t.Name, t.Want, t.Got, t.Unit, verdict)
	}
	if r.Hottest != "" {
		p("\nhottest component (CPU, max rate): %s\t\n", r.Hottest)
	}
	for _, f := range r.Profiles {
		p("profile: %s\t\n", f)
	}
	for _, n := range r.Notes {
		p("note: %s\t\n", n)
	}
	return tw.Flush()
}
