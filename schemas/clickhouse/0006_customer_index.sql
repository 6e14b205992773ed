-- An index of journeys by customer. journeys is ordered by journey_id, so a
-- filter on customer_id reads the whole table through FINAL (seconds at a
-- million journeys). This table, fed by a materialized view on every
-- insert, lists which journeys a customer has ever had; readers (the
-- customer dashboard, the processor's reads of a customer's journeys)
-- narrow the real table to those ids by its primary key and keep their own
-- customer_id filter under FINAL. A journey rewritten to another customer
-- (identity stitching) leaves its old pair here: the index is a superset,
-- never the answer. Touchpoints have the same kind of index in
-- touchpoints_by_customer (0007). The backfill may run again if the
-- migration stops halfway; a pair written twice changes nothing.

CREATE TABLE IF NOT EXISTS journey_customers (
    customer_id String,
    journey_id  String
) ENGINE = ReplacingMergeTree()
ORDER BY (customer_id, journey_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS journey_customers_mv TO journey_customers
AS SELECT customer_id, journey_id FROM journeys;

INSERT INTO journey_customers (customer_id, journey_id)
SELECT customer_id, journey_id FROM journeys;
