// Package forget owns the right to be forgotten (GDPR art. 17): the
// suppression list of forgotten customers that ingest and the processor
// follow, and the forget request that fills it and deletes the customer's
// rows from ClickHouse.
//
// The list lives in the Kafka topic "forget" (compacted, keyed by the id's
// hash): every ingest and processor instance reads it whole at start and
// follows it, so a forget reaches all of them within a second or two, and it
// is as durable as the touchpoints themselves. It holds no id in clear:
// each record names the SHA-256 (lower-case hex) of one id, and ClickHouse
// deletes by the same hash (lower(hex(SHA256(column)))).
//
// A forget request for a user id (Forgetter.Forget):
//  1. looks up the ids identity stitching linked to the user (anonymous ids
//     of identifies, previous ids of aliases, and their own links);
//  2. writes one record per id to the topic and waits for all in-sync
//     replicas: from then on ingest drops their events and the processor
//     drops their records, replays from offset 0 included;
//  3. deletes their rows from every table of store.ForgetTables with
//     ALTER TABLE … DELETE mutations, and optionally waits for ClickHouse
//     to apply them.
//
// A processor that learns of a forgotten id discards what it holds of the
// customer and deletes their rows again, after its batch in flight is
// written, so a batch that raced the request leaves nothing behind.
//
// Metrics (registered on the registry passed in):
//
//	journeys_forget_suppressed_ids          ids on the list as this instance read it
//	journeys_forget_follow_errors_total     failures reading the forget topic (retried)
package forget
