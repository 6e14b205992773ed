// Package store owns Journeys' access to ClickHouse: opening connections,
// applying the versioned DDL from package schemas, inserting the rows of the
// data model in batches, and reading back what the processor needs to
// recover a customer's state after a restart or a rebalance.
//
// Every insert is idempotent by construction: tables are ReplacingMergeTree
// keyed by message_id, journey_id and flag_id with a version, so writing the
// same rows again (a retry after a timeout, a replay after a crash) changes
// nothing that a FINAL query shows.
package store
