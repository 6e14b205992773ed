// Package rules owns the friction rules: their YAML format, the validation
// that names the rule and field at fault, and their evaluation over one
// customer's touchpoints. It does no I/O besides Load and reads no clock:
// the journey engine (processor/journey) feeds it each customer's
// touchpoints in event-time order with a State per customer, and passes the
// time for deadlines to Expire. The default rules are schemas/friction-rules.yaml
// (Default).
//
// # File format
//
//	version: 1                    # optional
//	rules:
//	  - id: help_page_then_call   # lower-case, digits, _; unique; names the flag
//	    description: >-           # required: what it means for the customer
//	      ...
//	    severity: info            # info, warning or critical
//	    escalate: {at: 5, severity: critical}   # optional, see below
//	    details: [order_id]       # optional: properties of the completing touchpoint copied into the flag's details
//	    custom_events: true       # optional: allow event names outside KnownEvents
//	    sequence:                 # exactly one shape
//	      first: FILTER
//	      then: FILTER
//	      within: 2h
//
// Unknown fields are errors; so are a misspelt or missing shape, a duration
// that does not parse, an event name not in KnownEvents (unless the rule
// says custom_events: true: a typo would otherwise make a rule that never
// fires), and a missing or duplicate id. Durations are Go's (90m, 2h30m)
// plus days and weeks: 7d, 1d12h, 2w.
//
// A FILTER selects touchpoints; it must name an event or a channel, and
// every part given must hold:
//
//	event: call | [call, chat]        # schemas.Touchpoint.Event
//	channel: phone | [phone, chat]
//	properties:                       # top-level keys of the properties JSON
//	  topic: {equals: billing}        # string, number or boolean
//	  queue: {in: [billing, sales]}
//	  direction: {not_in: [outbound]} # a missing property passes not_in
//	  path: {prefix: [/help, /contact]}
//	  wait_seconds: {gte: 300}        # gt, gte, lt, lte; numbers or numeric strings
//
// A missing property fails every condition but not_in.
//
// # Shapes
//
// Times are event times; windows include their ends (a call exactly 14 days
// before the purchase counts, a promise kept exactly at its due time is
// kept).
//
//   - count_before {count, anchor, min, within, count_key}: at an anchor,
//     at least min count events within the window before it, since the
//     previous anchor. Evidence: the counted events; details: {count_key
//     (default "count"), window_hours}. repeated_calls_before_purchase.
//   - repeat_within {match, min, within, same}: at a matching event, at
//     least min matching events (this one included) within the window, with
//     the same value of property same when given (events without it take no
//     part). Every event from the min-th on is a flag of its own: each is a
//     repeat contact. Details: {count, window_hours, <same>}.
//   - sequence {first, then, unless, within}: at a then event, the first
//     events within the window before it (all of them are evidence, then
//     the then event); they are used up, so a second call after one help
//     visit is not flagged again. An unless event in between clears them
//     (a checkout followed by a purchase is not a failed checkout).
//   - threshold {match, property, gt|gte|lt|lte}: a matching event whose
//     numeric property passes the comparison. escalate.at is a property
//     value in the same direction (wait ≥ 900 s is critical).
//   - absence, looking forward {first, then, same, due_property, max_due, within}:
//     a first event arms a deadline: the time in its property due_property
//     (RFC 3339, or Unix seconds or milliseconds), at most max_due after
//     first (default 30d, and never shorter than within: a deadline further
//     out is moved to it, so that state stays bounded in time and a restore
//     knows how far back to read), else first + within; a first event with
//     neither is not tracked. A then event (with the same
//     value of property same, when given; events without it take no part)
//     disarms it. The flag fires when time passes the deadline: at the
//     customer's next touchpoint after it (event time), or when the
//     processor calls Expire with a later watermark or wall-clock time.
//     OccurredAt is the deadline; the flag belongs to the first event's
//     journey; its id comes from the first event.
//   - absence, looking back {first, then, before}: at a first event, a flag
//     unless a then event came within before ahead of it. Evaluated once,
//     at the first event, so it needs no timer: trial_ending is the moment
//     the trial ends, and an outbound contact after it is too late. (A
//     sender that emits trial_ending ahead of the end should move it to the
//     end, or use the forward form with a due time.)
//
// escalate raises the severity at a count (count_before, repeat_within) or a
// value (threshold); sequence and absence rules do not escalate.
//
// # Determinism and state
//
// A Finding's Key is the message id of the touchpoint that completed the
// pattern (the anchor, the repeat, the then event, the threshold event, the
// first event of an absence); the flag id derives from rule id and Key, so
// a replay yields the same rows. A customer's State keeps, per rule that
// needs memory, at most 64 touchpoints (oldest dropped beyond; counts
// saturate there), pruned to the rule's window as time moves, and an entry
// only while it holds something: a customer with nothing pending holds
// nothing. Rebuilding State by folding stored touchpoints again gives the
// same State (see journey.Engine.Restore for what is not stored).
package rules
