-- The engagement dashboard reads surveys, reviews, referrals, ideas and
-- community answers: a few event names among every touchpoint. Reading them
-- from touchpoints FINAL merges the whole table in the range (seconds at 10
-- million touchpoints, even when none qualifies). This table holds only
-- those touchpoints, copied by a materialized view on every touchpoint row
-- written, with the key (message_id), version and partition of
-- touchpoints, so that FINAL here keeps exactly the rows touchpoints FINAL
-- keeps: what qualifies a touchpoint is its event name, which a rewrite
-- (journey reassignment, identity stitching, replay) never changes
-- (TestRewrittenTouchpointsKeepWhatTheSubsetsSelectOn). The properties are
-- kept whole: these events are few and the panels read several fields.
-- customer_id is kept so that forgetting a customer deletes their rows
-- here too.

CREATE TABLE IF NOT EXISTS engagement_touchpoints (
    message_id   String,
    customer_id  String,
    event        String,
    timestamp    DateTime,
    timestamp_ms Int64,
    properties   String,
    late         UInt8,
    version      UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(timestamp)
ORDER BY message_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS engagement_touchpoints_mv TO engagement_touchpoints AS
SELECT message_id, customer_id, event, timestamp, timestamp_ms, properties, late, version
FROM touchpoints
WHERE event IN ('survey_response', 'review', 'referral', 'idea_submitted', 'idea_status_changed', 'community_answer');

-- Touchpoints written before this migration; one written in between is
-- there twice and collapses.
INSERT INTO engagement_touchpoints (message_id, customer_id, event, timestamp, timestamp_ms, properties, late, version)
SELECT message_id, customer_id, event, timestamp, timestamp_ms, properties, late, version
FROM touchpoints
WHERE event IN ('survey_response', 'review', 'referral', 'idea_submitted', 'idea_status_changed', 'community_answer');
