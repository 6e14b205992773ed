-- The processor reads a customer's touchpoints back to restore and refold
-- them (processor/recover.go, refold.go) and to forward a merged id's
-- (identity.go). touchpoints is keyed by message_id, so a read by customer
-- would scan the whole table. This table, fed by a materialized view of
-- every touchpoint row written, is keyed by customer: reads pick the message
-- ids here and then read touchpoints FINAL by its key. A row of a message
-- that was rewritten under another customer (identity stitching) stays
-- here under the old one: readers filter what touchpoints FINAL says.

CREATE TABLE IF NOT EXISTS touchpoints_by_customer (
    customer_id  String,
    message_id   String,
    journey_id   String,
    timestamp_ms Int64,
    late         UInt8,
    version      UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (customer_id, message_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS touchpoints_by_customer_mv TO touchpoints_by_customer AS
SELECT customer_id, message_id, journey_id, timestamp_ms, late, version FROM touchpoints;

-- Touchpoints written before this migration; one written in between is
-- there twice and collapses.
INSERT INTO touchpoints_by_customer (customer_id, message_id, journey_id, timestamp_ms, late, version)
SELECT customer_id, message_id, journey_id, timestamp_ms, late, version FROM touchpoints;
