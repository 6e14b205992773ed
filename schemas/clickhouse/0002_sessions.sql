-- Web and app sessions, and the session of each touchpoint. ClickHouse 18.16
-- has no ADD COLUMN IF NOT EXISTS: the migration runner skips an ADD COLUMN
-- whose column exists, so a migration that stopped halfway can run again.

ALTER TABLE touchpoints ADD COLUMN session_id String AFTER journey_id;

CREATE TABLE IF NOT EXISTS sessions (
    session_id  String,
    customer_id String,
    channel     String,
    started_at  DateTime,
    ended_at    DateTime,
    touchpoints UInt32,
    page_views  UInt32,
    entry_page  String,
    exit_page   String,
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY session_id;
