-- The friction dashboard's rates divide flags by base counts over
-- touchpoints: web sessions with a help page, and inbound contacts. Reading
-- them from touchpoints FINAL parses the properties of every touchpoint in
-- the range (seconds at 10 million). These tables hold only the touchpoints
-- that qualify, copied by materialized views on every touchpoint row
-- written, with the same key (message_id), version and partition as
-- touchpoints, so that FINAL here keeps exactly the rows touchpoints FINAL
-- keeps. That holds because whether a touchpoint qualifies depends only on
-- channel, event and properties, which a rewrite (journey reassignment,
-- identity stitching, replay) never changes
-- (TestRewrittenTouchpointsKeepWhatTheSubsetsSelectOn); journey_id,
-- session_id, late and customer_id may change and are read from the latest
-- version, as from touchpoints. customer_id is kept so that forgetting a
-- customer deletes their rows here too.

CREATE TABLE IF NOT EXISTS help_page_views (
    message_id  String,
    customer_id String,
    session_id  String,
    timestamp   DateTime,
    late        UInt8,
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(timestamp)
ORDER BY message_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS help_page_views_mv TO help_page_views AS
SELECT message_id, customer_id, session_id, timestamp, late, version
FROM touchpoints
WHERE channel = 'web' AND event = 'page'
  AND (startsWith(visitParamExtractString(properties, 'path'), '/help')
       OR startsWith(visitParamExtractString(properties, 'path'), '/contact')
       OR startsWith(visitParamExtractString(properties, 'path'), '/support')
       OR startsWith(visitParamExtractString(properties, 'path'), '/faq'));

CREATE TABLE IF NOT EXISTS inbound_contact_touchpoints (
    message_id  String,
    customer_id String,
    timestamp   DateTime,
    late        UInt8,
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(timestamp)
ORDER BY message_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS inbound_contact_touchpoints_mv TO inbound_contact_touchpoints AS
SELECT message_id, customer_id, timestamp, late, version
FROM touchpoints
WHERE event IN ('call', 'chat', 'email', 'ticket')
  AND visitParamExtractString(properties, 'direction') != 'outbound';

-- Touchpoints written before this migration; one written in between is
-- there twice and collapses.
INSERT INTO help_page_views (message_id, customer_id, session_id, timestamp, late, version)
SELECT message_id, customer_id, session_id, timestamp, late, version
FROM touchpoints
WHERE channel = 'web' AND event = 'page'
  AND (startsWith(visitParamExtractString(properties, 'path'), '/help')
       OR startsWith(visitParamExtractString(properties, 'path'), '/contact')
       OR startsWith(visitParamExtractString(properties, 'path'), '/support')
       OR startsWith(visitParamExtractString(properties, 'path'), '/faq'));

INSERT INTO inbound_contact_touchpoints (message_id, customer_id, timestamp, late, version)
SELECT message_id, customer_id, timestamp, late, version
FROM touchpoints
WHERE event IN ('call', 'chat', 'email', 'ticket')
  AND visitParamExtractString(properties, 'direction') != 'outbound';
