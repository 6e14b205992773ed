package bench

// Result is everything one run measured. Durations are in milliseconds,
// memory in MiB.
type Result struct {
	Date      string `json:"date"`
	Cores     int    `json:"cores"`
	LoadStart string `json:"load_average_start"`
	LoadEnd   string `json:"load_average_end"`
	Customers int    `json:"customers"`
	BatchSize int    `json:"batch_size"`
	Senders   int    `json:"senders"`

	Fixed       FixedPhase        `json:"fixed_rate"`
	Max         MaxPhase          `json:"max_rate"`
	Consistency Consistency       `json:"consistency"`
	KafkaEngine kafkaEngineResult `json:"clickhouse_kafka_engine"`
	Friction    frictionResult    `json:"friction"`
	Ingest      []IngestRun       `json:"ingest_stage"`
	Scale       []ScaleStep       `json:"scaling_run,omitempty"`
	Targets     []Target          `json:"targets"`
	Hottest     string            `json:"hottest_component"`
	Profiles    []string          `json:"profiles,omitempty"`
	Notes       []string          `json:"notes,omitempty"`
}

// FixedPhase is the pipeline driven at a fixed rate.
type FixedPhase struct {
	Events         int     `json:"events"`
	TargetPS       float64 `json:"target_events_per_s"`
	AchievedPS     float64 `json:"achieved_events_per_s"`
	IngestP50      float64 `json:"ingest_p50_ms"`
	IngestP99      float64 `json:"ingest_p99_ms"`
	Marked         int     `json:"marked_events"`
	QueryableP50   float64 `json:"event_to_queryable_p50_ms"`
	QueryableP99   float64 `json:"event_to_queryable_p99_ms"`
	QueryableMaxMs float64 `json:"event_to_queryable_max_ms"`
}

// MaxPhase is the pipeline driven as fast as its senders go.
type MaxPhase struct {
	Events      int            `json:"events"`
	Seconds     float64        `json:"seconds"`
	EndToEndPS  float64        `json:"end_to_end_events_per_s"`
	IngestPS    float64        `json:"ingest_events_per_s"`
	IngestP50   float64        `json:"ingest_p50_ms"`
	IngestP99   float64        `json:"ingest_p99_ms"`
	ProcessorPS float64        `json:"processor_events_per_s"`
	CHRowsPS    float64        `json:"clickhouse_rows_per_s"`
	CHRows      uint64         `json:"clickhouse_rows_inserted"`
	Components  []ComponentUse `json:"components"`
}

// ComponentUse is one process's CPU and peak memory over the max-rate
// phase.
type ComponentUse struct {
	Name             string  `json:"name"`
	Measured         bool    `json:"measured"`
	CPUSeconds       float64 `json:"cpu_s"`
	CPUSecPerMillion float64 `json:"cpu_s_per_million_events"`
	PeakRSSMiB       float64 `json:"peak_rss_mib"`
}

// Consistency holds the counts that must agree after the pipeline phases.
type Consistency struct {
	Sent              int    `json:"events_acknowledged"`
	IngestAccepted    uint64 `json:"ingest_accepted"`
	TouchpointRows    uint64 `json:"touchpoint_message_ids"`
	ProcessorConsumed uint64 `json:"processor_touchpoints_consumed"`
	Forwarded         uint64 `json:"processor_forwarded"`
}

// IngestRun is one closed-loop run of the ingest stage.
type IngestRun struct {
	System           string  `json:"system"`
	Shape            string  `json:"shape"`
	Conns            int     `json:"connections"`
	Requests         int     `json:"requests"`
	Events           int     `json:"events_acknowledged"`
	Records          int64   `json:"records_on_topic"`
	EventsPS         float64 `json:"events_per_s"`
	P50              float64 `json:"p50_ms"`
	P99              float64 `json:"p99_ms"`
	CPUSecPerMillion float64 `json:"cpu_s_per_million_events"`
	PeakRSSMiB       float64 `json:"peak_rss_mib"`
}

// Target is one of issue #7's targets and whether this run met it.
type Target struct {
	Name string  `json:"name"`
	Want string  `json:"want"`
	Got  float64 `json:"got"`
	Unit string  `json:"unit"`
	Met  bool    `json:"met"`
	// Measured is false when the run lacked what the target needs (a peer
	// skipped); Met is then false too.
	Measured bool `json:"measured"`
}
