// Package bench owns `journeys bench`: one reproducible run of the whole
// pipeline on this machine, with the alternatives a team would pick instead
// measured in the same run.
//
// It starts every component as a process of its own — the embedded Kafka
// broker (`journeys bench broker`), `journeys ingest`, `journeys process`, a
// throwaway ClickHouse, and Redpanda Connect when it is built — so that the
// CPU time (utime+stime from /proc/<pid>/stat) and the peak resident memory
// (VmHWM, reset at the start of each phase) of each are its own. The
// driver (this process) generates `journeys simulate` traffic, sends it and
// polls ClickHouse; its cost is reported as a component too.
//
// Phases, in order:
//
//  1. pipeline at a fixed rate: ingest latency from each request's
//     scheduled start (a stall counts against every request it delays), and
//     event-to-queryable latency: the first event of every tenth request is
//     marked and ClickHouse is polled for it until its touchpoint row is
//     visible;
//  2. pipeline at maximum rate: end-to-end events/s (first request sent to
//     last touchpoint visible), processor events/s (from its
//     journeys_processor_events_total), ClickHouse rows/s (InsertedRows of
//     system.events), CPU seconds per million events and peak memory per
//     component;
//  3. ClickHouse's own Kafka engine reading the same topic into a
//     MergeTree table through a materialized view (no sessions, no
//     friction), and the friction rule repeated_calls_before_purchase
//     answered at query time over those raw rows, against the streaming
//     answer in friction_flags (both must name the same purchases);
//  4. the ingest stage alone against Redpanda Connect (http_server →
//     kafka_franz into the same broker), one event per request and batches,
//     each closed-loop at the same number of connections;
//  5. a scaling run: for each number of customers, their touchpoints are
//     written straight to a topic of their own, then a fresh processor
//     catches up with it (events/s, CPU, peak memory per customer) and the
//     friction question is answered both ways over what it stored.
//
// Customers of phases 1 and 2 are disjoint, so that neither phase sends a
// customer's events out of order. Targets of issue #7 are printed met or
// missed; nothing here fails on speed.
package bench
