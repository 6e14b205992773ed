// Package processor consumes touchpoints from Kafka, groups each customer's
// touchpoints into journeys, flags friction, and writes the results to
// ClickHouse.
//
// Delivery contract: at-least-once consumption with idempotent results.
// A batch of records is decoded, applied to the journey engine in event-time
// order per customer, and written to ClickHouse (touchpoints first, then
// journeys and friction flags); only after ClickHouse acknowledged every
// insert are the batch's offsets committed. A failed insert is retried with
// backoff and the offsets stay where they were, so nothing is skipped.
// After a crash or a rebalance the records since the last commit are read
// again: the state of each customer is rebuilt from their touchpoints in
// ClickHouse (recover.go); records a previous owner wrote (at or below the
// partition's highest written offset, or stored from that very record by
// an insert that landed after the take-over read that offset) are not
// applied again but replayed, their customers' rows derived again from
// ClickHouse; a re-sent message id already stored is dropped before the
// engine sees it. So the rows written are the same as those of an
// uninterrupted run (ReplacingMergeTree collapses the rewrites; FINAL shows
// each once).
//
// Pipelining (pipeline.go): a batch is applied in memory while the batch
// before is written; writes stay one at a time and in order, and the batch
// being applied waits for the write in flight before it reads or writes
// ClickHouse or the topic, so it sees what a one-batch-at-a-time run would.
//
// Event time (refold.go): a touchpoint older than its customer's latest but
// within Config.Lateness is placed in event-time order by folding the
// customer's journeys again from ClickHouse; the rows that changed are
// rewritten with a higher version, and journeys and flags that no longer
// hold are rewritten with retracted = 1. An older touchpoint is stored with
// late = 1, in no journey, and counted.
//
// Identity stitching (identity.go): an identify or alias makes the user's
// processor write the link to ClickHouse and produce a merge record keyed
// by the linked id; the linked id's processor forwards the id's touchpoints
// to the topic keyed by the user, retracts its journeys and flags, and
// records the link as merged. All of it happens before the batch that
// caused it is committed, and all of it is idempotent.
//
// Customer profiles (profile.go, package profile): after every batch, once
// its touchpoints are written, the customers row of each customer the batch
// wrote a touchpoint of, or replayed a record of, is derived again from all
// their touchpoints as stored (touchpoints FINAL) and written last. The row
// is a function of the stored touchpoints, so replays, take-overs, refolds
// and forwarded touchpoints leave it exact; its version is the highest
// version of those touchpoints (Kafka offsets), so it only grows. A merge
// writes the linked id's row retracted with bit 62 of the version set. The
// read is one query per batch over the touched customers' histories: its
// cost grows with their length.
//
// Forgotten customers (forget.go, package forget): records of ids on the
// suppression list are dropped before anything else, replays included;
// when the list grows, the state held for those customers is discarded
// and their rows are deleted again before the next batch.
//
// Metrics (registered on the registry passed to New):
//
//	journeys_processor_events_total{result}          applied, reordered, late, duplicate, invalid, replayed, forwarded, merge, forgotten
//	journeys_processor_late_events_total             beyond the lateness: stored marked late
//	journeys_processor_rewritten_rows_total{table,kind} rows a reordered touchpoint changed or retracted
//	journeys_processor_identity_links_total{result}  linked, merged, conflict
//	journeys_processor_batches_total
//	journeys_processor_batch_duration_seconds        decode to commit
//	journeys_processor_insert_failures_total{table}
//	journeys_processor_retries_total{operation}      every failed attempt that is retried (reads too)
//	journeys_processor_insert_duration_seconds{table}
//	journeys_processor_friction_flags_total{rule,severity}
//	journeys_processor_restored_customers_total
//	journeys_processor_forgotten_customers_total     customers held when forgotten, discarded
//	journeys_processor_customers                     customers held in memory
//	journeys_processor_commit_failures_total
//	journeys_processor_consumer_lag_records{partition} records after the last fetched
package processor
