// Package journey owns the journey and friction engine: it folds a customer's
// touchpoints, in event-time order, into journeys (open until a purchase
// converts them or the customer goes quiet for longer than the inactivity
// timeout) and runs the friction rules that need a customer's history (for now
// repeated_calls_before_purchase).
//
// The engine does no I/O and reads no clock of its own: event time comes from
// the touchpoints, the detection time of flags from the injected now function,
// and idle journeys are closed only when the caller passes a time to CloseIdle.
// That keeps it testable with hand-built touchpoint lists.
//
// # Contract
//
//   - Apply returns the rows to write for one touchpoint: the touchpoint with
//     its journey id, every journey row that changed (at most two: a journey
//     abandoned by the gap before this touchpoint, and the journey the
//     touchpoint joined), and any friction flags it completed. Rows are
//     deterministic: replaying the same input from the same state yields the
//     same ids, versions and contents; only FrictionFlag.DetectedAt depends on
//     the clock.
//   - Journey.Version is 4*Touchpoints plus 0 (open), 1 (converted) or
//     2 (abandoned), so every change of a journey row raises its version and
//     the latest row wins in a ReplacingMergeTree.
//   - A touchpoint whose message id the customer's current journey (open or
//     just closed) already holds is a duplicate: nothing changes and no rows
//     are returned. Together with Restore this makes replay after a restart
//     safe as long as the replayed touchpoints belong to the latest journey.
//   - A touchpoint older than the customer's latest touchpoint is not
//     reordered: it is treated as happening at the journey's current time (it
//     is appended to the path, it cannot cause an abandonment, a call counts at
//     that time). The touchpoint row keeps its own timestamp.
//   - Journey rows share the Path and Channels backing arrays with the
//     engine's state; their capacity is capped, so appending to them copies,
//     and the engine never changes elements it has already emitted. Do not
//     modify their elements in place.
//
// An Engine is not safe for concurrent use: the processor gives each worker
// (which owns a set of customers, e.g. a partition) its own Engine.
package journey
