-- The data model of Journeys. Runs on ClickHouse 18.16 and the current LTS:
-- no LowCardinality, DateTime64, Map, JSON type, TTL or window functions.
-- Every table is a ReplacingMergeTree keyed by its natural id, so that a
-- replay after a crash writes the same keys again and FINAL shows each once.

CREATE TABLE IF NOT EXISTS touchpoints (
    message_id   String,
    customer_id  String,
    anonymous_id String,
    user_id      String,
    type         String,
    event        String,
    channel      String,
    timestamp    DateTime,
    timestamp_ms Int64,
    received_at  DateTime,
    journey_id   String,
    properties   String,
    context      String,
    source       String,
    -- The Kafka record the row came from: a processor taking over a
    -- partition reads max(kafka_offset) to know what was written already.
    kafka_partition Int32,
    kafka_offset    Int64,
    version      UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(timestamp)
ORDER BY message_id;

CREATE TABLE IF NOT EXISTS journeys (
    journey_id     String,
    customer_id    String,
    started_at     DateTime,
    ended_at       DateTime,
    status         String,
    touchpoints    UInt32,
    channels       Array(String),
    path           Array(String),
    friction_count UInt32,
    revenue        Float64,
    version        UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY journey_id;

CREATE TABLE IF NOT EXISTS friction_flags (
    flag_id     String,
    rule        String,
    customer_id String,
    journey_id  String,
    occurred_at DateTime,
    detected_at DateTime,
    severity    String,
    evidence    Array(String),
    details     String,
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY flag_id;
