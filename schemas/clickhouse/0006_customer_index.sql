-- Indexes by customer for the customer dashboard. touchpoints and journeys
-- are ordered by their own ids, so a filter on customer_id reads the whole
-- table through FINAL (seconds at 10 million touchpoints). These tables,
-- fed by materialized views on every insert, list which ids a customer has
-- ever had; a panel reads them to narrow the real table to those ids by its
-- primary key and keeps its own customer_id filter under FINAL. A row
-- rewritten to another customer (identity stitching) leaves its old pair
-- here: the index is a superset, never the answer, so the panels' numbers
-- are those of the plain FINAL query. The backfill at the end may run again
-- if the migration stops halfway; a pair written twice changes nothing.

CREATE TABLE IF NOT EXISTS touchpoint_customers (
    customer_id String,
    message_id  String
) ENGINE = ReplacingMergeTree()
ORDER BY (customer_id, message_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS touchpoint_customers_mv TO touchpoint_customers
AS SELECT customer_id, message_id FROM touchpoints;

CREATE TABLE IF NOT EXISTS journey_customers (
    customer_id String,
    journey_id  String
) ENGINE = ReplacingMergeTree()
ORDER BY (customer_id, journey_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS journey_customers_mv TO journey_customers
AS SELECT customer_id, journey_id FROM journeys;

INSERT INTO touchpoint_customers (customer_id, message_id)
SELECT customer_id, message_id FROM touchpoints;

INSERT INTO journey_customers (customer_id, journey_id)
SELECT customer_id, journey_id FROM journeys;
