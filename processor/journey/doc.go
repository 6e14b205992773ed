// Package journey owns the journey and friction engine: it folds a customer's
// touchpoints, in event-time order, into journeys (open until a purchase
// converts them or the customer goes quiet for longer than the inactivity
// timeout) and runs the friction rules of processor/rules on them (rules are
// data: Config.Rules, by default schemas/friction-rules.yaml), keeping each
// customer's rule state beside their journey.
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
//   - Versions follow the Kafka offsets of a customer's records, which only
//     grow: a row's Version derives from the offset of the record that made
//     the change (the highest the customer's state has applied, for rows
//     that time alone produces): 4*(offset+1) plus 0 (open), 1 (converted)
//     or 2 (abandoned) for journeys, offset+1 for flags and touchpoints. So
//     every later change wins in a ReplacingMergeTree, including a rewrite
//     that a late touchpoint causes (the processor gives those rows the late
//     record's offset), and a replay writes the same versions again.
//   - A touchpoint whose message id the customer's current journey (open or
//     just closed) already holds is a duplicate: nothing changes and no rows
//     are returned. Together with Restore this makes replay after a restart
//     safe as long as the replayed touchpoints belong to the latest journey.
//   - A touchpoint older than the customer's latest touchpoint is not
//     reordered: it is treated as happening at the journey's current time (it
//     is appended to the path, it cannot cause an abandonment, a call counts at
//     that time). The touchpoint row keeps its own timestamp.
//   - Flags attach to the journey of the touchpoint that completed the
//     pattern; an absence (a promise not kept) to the journey of the
//     touchpoint that armed it. It fires when the customer's next touchpoint
//     passes its deadline (in Apply, before the gap may abandon the journey)
//     or when Tick is given a later time. A journey's FrictionCount counts
//     the flags found while it was open; one found by Tick shows in the
//     journey's next row (its next touchpoint or CloseIdle).
//   - Restore folds the touchpoints it is given again. Rule windows reach
//     across journeys (calls of an abandoned journey before a purchase, a
//     promise made in an earlier journey), so to be exact from a time t on
//     it needs every journey that ends within Horizon before t, and it
//     returns only the rows from t on.
//   - Journey rows may share their Path, ChannelSequence and Channels
//     backing arrays with the engine's state and with other rows (Channels
//     with every journey of the same channels; Path and ChannelSequence
//     with the journey's later rows once it is long); their capacity is capped, so appending to them copies, and the
//     engine never changes elements it has already emitted. Do not modify
//     their elements in place. StartedAt and EndedAt are in UTC.
//
// # Memory
//
// The engine holds state for every active customer, so that state is kept
// small (BENCHMARKS.md has the figures): a journey keeps its id as 16
// bytes (the hex is made for rows), its times as Unix seconds and
// nanoseconds, and one word per touchpoint: the high 45 bits of the message
// id's hash (the duplicate check), the touchpoint's channel as its place
// among the journey's channels (3 bits), and the index of the event name in
// the engine's table of interned names. Up to four channels are four such
// indices in one word. Rows get their Path and ChannelSequence built from
// the words (O(length) per row) and their Channels from a table shared by
// journeys with the same channels. A journey the compact form cannot describe (a
// name the table, bounded at 4096 names, has no room for; a fifth channel)
// or whose path is long (64 touchpoints; its rows then share one array, so
// a row costs O(1) again) keeps its path and channels as strings until it
// closes. A closed journey keeps only its hashes, for the duplicate check.
//
// An Engine is not safe for concurrent use: the processor gives each worker
// (which owns a set of customers, e.g. a partition) its own Engine.
package journey
