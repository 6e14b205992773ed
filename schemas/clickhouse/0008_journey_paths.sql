-- What the journey dashboards compute from each journey's arrays, computed
-- once when the row is written instead of on every panel query: the event
-- path with repeats collapsed, the channel path, and the calls before the
-- purchase. They are functions of the row's own path and channels, so a
-- rewritten journey (new version, retraction) carries its own values and
-- FINAL picks them with the row. Rows written before this migration get
-- them computed on read until a merge writes them.
-- No AFTER: ClickHouse 18.16 refuses AFTER path ("cannot find column").

ALTER TABLE journeys ADD COLUMN event_path String MATERIALIZED arrayStringConcat(arrayFilter((e, i) -> i = 1 OR e != path[i - 1], path, arrayEnumerate(path)), ' → ');
ALTER TABLE journeys ADD COLUMN channel_path String MATERIALIZED arrayStringConcat(channels, ' → ');
ALTER TABLE journeys ADD COLUMN calls_before_purchase UInt32 MATERIALIZED if(indexOf(path, 'purchase') = 0, countEqual(path, 'call'), countEqual(arraySlice(path, 1, indexOf(path, 'purchase')), 'call'));
