// Package simulate owns synthetic traffic: it generates a realistic period
// (by default four weeks) of omnichannel events for N customers — web visits,
// calls, purchases on the web, in store and by phone, a few emails and
// chats — together with the ground truth the pipeline should find in them,
// and sends the events through the Segment-compatible HTTP API
// (POST /v1/batch). `journeys simulate` uses it to give a newcomer
// real-looking dashboards; tests use the ground truth to check numbers.
//
// # Identity
//
// The generator predates identity stitching in the processor, so every
// event of a customer who ever identifies (logs in, calls, buys, opens an email) carries the
// userId c-000123, including the web visits before the login; web events
// carry the browser's anonymousId as well. Only pure browsers (who never
// identify, call or buy) send anonymous-only events. A customer's key in the
// ground truth is therefore Customer.Key() = Event.CustomerID(): the userId
// when set, else the anonymousId.
//
// # Ground truth
//
// Computed by computeTruth from Dataset.Events alone, for each customer key,
// over that customer's events ordered by timestamp (timestamps are strictly
// increasing per customer, so there are no ties):
//
//   - A call is a track event "call"; a purchase is a track event "purchase".
//   - A purchase's journey is the customer's events after their previous
//     purchase (or from their first event) up to and including the purchase.
//     No customer has a gap of 30 days or more (each customer's activity
//     lies within 28 days), so journeys are exactly these segments; the
//     events after a customer's last purchase (or all events of a customer
//     who never buys) form one further, open journey.
//   - Order.CallsInJourney = the number of calls in the purchase's journey.
//     CallsBeforePurchase[min(CallsInJourney, 5)] counts purchases:
//     index 0..4 = exactly that many calls, index 5 = 5 or more.
//   - Order.CallsIn14Days = the number of those calls with
//     call.timestamp >= purchase.timestamp - 14*24h (inclusive). The purchase
//     is flagged when CallsIn14Days >= 3; ExpectedFlags counts flagged
//     purchases. Calls before the customer's previous purchase never count,
//     and calls after the last purchase belong to no purchase.
//   - Expectation (per customer key): Events, Calls, Purchases, Flags
//     (flagged purchases) and Journeys (Purchases, plus 1 if any event
//     follows the last purchase or the customer never bought).
//
// The generator keeps calls clear of the 14-day edge (recent calls are at
// most 12 days and some hours before a purchase, stale ones at least 15
// calendar days, so over 14 days 11 hours), so an implementation that reads
// "within 14 days" as exclusive finds the same flags.
//
// # Mix
//
// Profiles get exact quotas (see the Profile constants) and variants cycle
// within a profile, so from about 200 customers on every case is present: a
// flagged purchase (3, 4, 5 and 6 calls), purchases with 0, 1 and 2 calls, a
// purchase with a call 15+ days before it besides 2 recent ones (3 in the
// journey, 2 in 14 days: not flagged), calls after a purchase, repeat buyers
// whose 3 calls before the first purchase do not count for the second.
//
// # Engagement
//
// After an identified customer's events are planned, a random stream of
// their own (so every earlier event and truth stays the same) adds: an
// NPS survey (channel email, kind nps, 0–10; frustrated callers score
// low) after 60 % of purchases, a referral after half the promoters'
// answers, a review (channel social) after 30 % of purchases, a survey
// for a fifth of those who never buy, an idea (channel community) for a
// fifth of customers, moved through 0 to 4 of the statuses under review,
// reviewed, coming soon, launched a few days apart, and 1–3 community
// answers for 8 % (half the repeat buyers never contribute). All stay inside the customer's window, at times no
// other event of theirs has. Profiles, IdeaStatus and NPSAnswers are their
// ground truth, computed by computeEngagement from the events alone; the
// tiers (engaged: a review, referral, idea or community answer; loyal: two
// purchases; satisfied: the latest NPS answer 9 or 10; buyer: one
// purchase; prospect) and TierSince follow processor/profile's definition.
//
// # Delivery
//
// Send acknowledges an event when the API answered its batch with 2xx. It
// shards customers over workers, so each customer's events are sent in time
// order by one worker. 429, 5xx and network errors are retried with the same
// message ids, so the pipeline can drop duplicates; 400/413 mean the simulator is
// wrong and stop the run with *RejectedError; 401/403 with ErrUnauthorized.
package simulate
