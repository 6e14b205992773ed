package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/journeys/journeys/internal/broker"
	"github.com/journeys/journeys/internal/loadgen"
)

// kafkaEngineGroup is the consumer group of the Kafka engine peer.
const kafkaEngineGroup = "bench-clickhouse-kafka-engine"

// The Kafka engine peer: ClickHouse reads the touchpoints topic itself
// into raw rows, as a team without a processor would. Events are ingest's
// enriched JSON; JSONEachRow skips the fields not declared (properties,
// context). Merge records (no timestamp) are dropped by the view;
// forwarded touchpoints keep mergedFrom so queries can leave them out.
var kafkaEngineDDL = []string{
	`CREATE TABLE peer_raw_events (
    message_id  String,
    customer_id String,
    type        String,
    event       String,
    channel     String,
    ts          DateTime,
    merged_from String
) ENGINE = MergeTree ORDER BY (customer_id, ts)`,
	`CREATE TABLE peer_kafka_queue (
    messageId   String,
    type        String,
    event       String,
    channel     String,
    userId      String,
    anonymousId String,
    timestamp   String,
    mergedFrom  String
) ENGINE = Kafka SETTINGS kafka_broker_list = '{brokers}', kafka_topic_list = '{topic}',
    kafka_group_name = '{group}', kafka_format = 'JSONEachRow'`,
	`CREATE MATERIALIZED VIEW peer_raw_events_mv TO peer_raw_events AS
SELECT messageId AS message_id, if(userId != '', userId, anonymousId) AS customer_id, type, event, channel,
       parseDateTimeBestEffort(timestamp) AS ts, mergedFrom AS merged_from
FROM peer_kafka_queue WHERE timestamp != ''`,
}

// kafkaEngineResult is the peer's load of the topic.
type kafkaEngineResult struct {
	Rows    uint64  `json:"rows"`
	Seconds float64 `json:"seconds"`
	RowsPS  float64 `json:"rows_per_s"`
}

// runKafkaEngine starts ClickHouse's Kafka engine on the touchpoints topic
// from its first offset (the engine starts new groups at the end, so the
// group's offsets are committed at 0 first) and waits for want rows.
func runKafkaEngine(ctx context.Context, c driver.Conn, brokers []string, want uint64, timeout time.Duration) (kafkaEngineResult, error) {
	if err := commitOffsetsAtStart(ctx, brokers, broker.TopicTouchpoints, kafkaEngineGroup); err != nil {
		return kafkaEngineResult{}, err
	}
	r := strings.NewReplacer("{brokers}", strings.Join(brokers, ","), "{topic}", broker.TopicTouchpoints, "{group}", kafkaEngineGroup)
	start := time.Now()
	for _, q := range kafkaEngineDDL {
		if err := c.Exec(ctx, r.Replace(q)); err != nil {
			return kafkaEngineResult{}, fmt.Errorf("kafka engine peer: %w", err)
		}
	}
	done, err := waitCount(ctx, c, "SELECT count() FROM peer_raw_events", want, timeout)
	if err != nil {
		return kafkaEngineResult{}, fmt.Errorf("kafka engine peer: %w", err)
	}
	// Stop consuming: the peer must not take CPU from what follows.
	if err := c.Exec(ctx, "DROP TABLE peer_raw_events_mv"); err != nil {
		return kafkaEngineResult{}, fmt.Errorf("kafka engine peer: %w", err)
	}
	if err := c.Exec(ctx, "DROP TABLE peer_kafka_queue"); err != nil {
		return kafkaEngineResult{}, fmt.Errorf("kafka engine peer: %w", err)
	}
	rows, err := count(ctx, c, "SELECT count() FROM peer_raw_events")
	if err != nil {
		return kafkaEngineResult{}, err
	}
	s := done.Sub(start).Seconds()
	return kafkaEngineResult{Rows: rows, Seconds: s, RowsPS: float64(want) / s}, nil
}

// frictionAtQueryTime answers repeated_calls_before_purchase
// (schemas/friction-rules.yaml: 3 or more calls in the 14 days before a
// purchase, counting only calls since the customer's previous purchase,
// window ends included) over raw rows at query time, on ClickHouse 18.16
// (no window functions): each customer's calls and purchases gathered in
// arrays, each purchase's calls counted. {table}, {ts} and {filter} name
// the rows.
const frictionAtQueryTime = `
SELECT cust AS customer_id, toUnixTimestamp(p) AS purchase_at
FROM (
    SELECT cust,
           arraySort(groupArrayIf(t, ev = 'purchase')) AS purchases,
           groupArrayIf(t, ev = 'call') AS calls
    FROM (SELECT any(customer_id) AS cust, any(event) AS ev, any({ts}) AS t
          FROM {table}
          WHERE type = 'track' AND event IN ('call', 'purchase') AND {filter}
          GROUP BY message_id)
    GROUP BY cust
    HAVING length(purchases) > 0 AND length(calls) >= 3
)
ARRAY JOIN purchases AS p, arrayEnumerate(purchases) AS i
WHERE arrayCount(c -> c <= p AND c >= p - 14 * 86400 AND (i = 1 OR c > purchases[i - 1]), calls) >= 3`

// frictionOverRaw is the query over the Kafka engine's raw rows, without
// forwarded copies: the raw rows hold each event as it was sent.
var frictionOverRaw = strings.NewReplacer("{table}", "peer_raw_events", "{ts}", "ts", "{filter}", "merged_from = ''").Replace(frictionAtQueryTime)

// frictionOverTouchpoints is the query over the processor's own
// touchpoints, leaving out those it stored late (in no journey, seen by no
// rule).
var frictionOverTouchpoints = strings.NewReplacer("{table}", "touchpoints", "{ts}", "timestamp", "{filter}", "late = 0").Replace(frictionAtQueryTime)

// streamingFriction is the same question answered from the processor's
// flags.
const streamingFriction = `
SELECT customer_id, toUnixTimestamp(occurred_at) AS purchase_at
FROM friction_flags FINAL
WHERE rule = 'repeated_calls_before_purchase' AND retracted = 0`

// frictionResult compares the two answers.
type frictionResult struct {
	QueryTimeMs     float64 `json:"query_time_ms"`
	StreamingMs     float64 `json:"streaming_ms"`
	Purchases       int     `json:"purchases_flagged"`
	Same            bool    `json:"same_purchases"`
	OnlyQueryTime   int     `json:"only_query_time"`
	OnlyStreaming   int     `json:"only_streaming"`
	ExpectedByTruth int     `json:"expected_by_simulator"`
}

// compareFriction runs the query-time answer atQueryTime and the
// streaming one, and compares them.
func compareFriction(ctx context.Context, c driver.Conn, atQueryTime string, expected int) (frictionResult, error) {
	q, qt, err := purchaseSet(ctx, c, atQueryTime)
	if err != nil {
		return frictionResult{}, fmt.Errorf("query-time friction: %w", err)
	}
	s, st, err := purchaseSet(ctx, c, streamingFriction)
	if err != nil {
		return frictionResult{}, fmt.Errorf("streaming friction: %w", err)
	}
	r := frictionResult{QueryTimeMs: loadgen.Ms(qt), StreamingMs: loadgen.Ms(st), Purchases: len(s), ExpectedByTruth: expected}
	for k := range q {
		if !s[k] {
			r.OnlyQueryTime++
		}
	}
	for k := range s {
		if !q[k] {
			r.OnlyStreaming++
		}
	}
	r.Same = r.OnlyQueryTime == 0 && r.OnlyStreaming == 0
	return r, nil
}

// purchaseSet runs q (customer_id, purchase_at) and returns its rows as a
// set and the query's time.
func purchaseSet(ctx context.Context, c driver.Conn, q string) (map[string]bool, time.Duration, error) {
	start := time.Now()
	rows, err := c.Query(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var cust string
		var at uint32
		if err := rows.Scan(&cust, &at); err != nil {
			return nil, 0, err
		}
		set[fmt.Sprintf("%s@%d", cust, at)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	return set, time.Since(start), nil
}
