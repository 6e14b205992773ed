-- The journeys dashboard's channel switches (a change of channel between
-- consecutive touchpoints of a journey) sorted every journey's touchpoints
-- by time on each query (about 30 s at 10 million touchpoints). The
-- processor now writes each journey's channel sequence with the row: the
-- channels of its touchpoints in path order, a repeat of the previous one
-- left out, '' for a touchpoint without a channel (schemas.Journey
-- ChannelSequence), so a switch is a pair of neighbours. Every version of a
-- journey carries its own, so FINAL picks it with the row.
-- No AFTER: ClickHouse 18.16 refuses AFTER path ("cannot find column").

ALTER TABLE journeys ADD COLUMN channel_sequence Array(String);

-- Journeys written before this migration: their latest row again with the
-- sequence read from their touchpoints (not late, in event-time order, as
-- the panel read them), at the same version. ReplacingMergeTree keeps the
-- last row inserted among rows of equal version, so these replace the rows
-- they copy; a row the processor writes meanwhile has a higher version and
-- wins. A retracted journey has no touchpoints left and keeps an empty
-- sequence. The subqueries are named: ClickHouse 25.8 refuses a JOIN of
-- unnamed ones (joined_subquery_requires_alias).
INSERT INTO journeys (journey_id, customer_id, started_at, ended_at, status, touchpoints, channels, path,
    channel_sequence, friction_count, revenue, retracted, version)
SELECT journey_id, customer_id, started_at, ended_at, status, touchpoints, channels, path,
    sequence, friction_count, revenue, retracted, version
FROM (SELECT * FROM journeys FINAL) AS latest
ANY LEFT JOIN
(
    SELECT
        journey_id,
        arrayMap(t -> t.3, arraySort(groupArray((timestamp_ms, message_id, channel)))) AS all_channels,
        arrayFilter((c, i) -> i = 1 OR c != all_channels[i - 1], all_channels, arrayEnumerate(all_channels)) AS sequence
    FROM touchpoints FINAL
    WHERE late = 0 AND journey_id != ''
    GROUP BY journey_id
) AS sequences USING journey_id;
