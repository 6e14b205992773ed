// Package ingest is the tracking API: it takes Segment-compatible calls over
// HTTP, authenticates them by source write key, validates them against the
// JSON Schemas of package schemas, enriches them into schemas.Event and
// writes them to the touchpoints topic, keyed by customer id. Refused
// events go to touchpoints.rejected with their reason.
//
// # Endpoints
//
//	POST /v1/batch    /v1/b   {"batch":[call…], "sentAt":…, "context":…, "writeKey":…}
//	POST /v1/track    /v1/t   one call; the path sets its type
//	POST /v1/identify /v1/i
//	POST /v1/page     /v1/p
//	POST /v1/screen   /v1/s
//	POST /v1/group    /v1/g
//	POST /v1/alias    /v1/a
//	OPTIONS on each of them: CORS preflight
//	GET  /healthz     the process is up
//	GET  /readyz      a broker answered a metadata request (cached 1 s)
//	POST /v1/admin/forget  {"userId":…} with Authorization: Bearer <AdminToken>:
//	                  forget a customer (package forget); only with Config.AdminToken
//
// # Forgotten customers
//
// With Config.Suppression (the forget list), an event whose userId,
// anonymousId or previousId is forgotten is answered as accepted and
// written nowhere, so that no answer tells a sender the customer asked to
// be forgotten.
//
// The write key is the HTTP Basic user name (empty password), the writeKey
// query parameter, or a writeKey field of the body (navigator.sendBeacon
// cannot set headers). Bodies are JSON sent as application/json or
// text/plain, optionally with Content-Encoding: gzip.
//
// # Sources
//
// Config.Sources (a YAML file, see LoadSources and testdata/sources.yaml)
// names each sender: write key, allowed browser origins, allowed event
// names (or *), a token-bucket rate limit in events per second, and a
// disabled switch. Config.WriteKeys is a shortcut: each key becomes source
// "key-<n>" allowing every origin and event, unlimited. Events carry the
// source's name, never its key.
//
// # Answers and delivery contract
//
// 200 {"success":true} means the broker acknowledged every event of the
// request with all in-sync replicas (acks=all): they are in the log and the
// processor will read them. Nothing else means that.
//
// A batch in which some events are bad is accepted in part: the good
// events are written, each bad one is written to touchpoints.rejected
// (reason, message, source, receivedAt, index, messageId and the event as
// sent), and the answer is 200
//
//	{"success":true,"accepted":2,"rejected":[{"index":1,"messageId":"m2",
//	 "reason":"schema","message":"properties.revenue: expected number, got string"}]}
//
// 200 rather than 207 or 400 because Segment-compatible libraries retry or
// drop a whole batch on any other status: retrying would duplicate the
// accepted events and never fix the rejected ones, which are already kept on
// touchpoints.rejected. When every event of a request is rejected the
// answer is 400 (413 when all were too large) with the same list, and the
// events are on touchpoints.rejected all the same. Lists stop at 100
// entries; "omitted" counts the rest.
//
// 503 with Retry-After means some or all events may not be stored: the
// sender must retry the whole request with the same messageIds, so that
// the pipeline can drop what did arrive twice. Ingest itself does not
// deduplicate; delivery is at least once. 503 comes when the broker does
// not acknowledge within Config.ProduceTimeout, and at once, without
// reading the body, when the request bodies being served would pass
// Config.MaxInFlightBytes (a request of unknown or compressed length
// counts as its full limit).
//
// An event is refused alone (unsafe_json) when it is valid JSON that
// readers downstream cannot hold: bytes that are not UTF-8, half a UTF-16
// surrogate pair, a number beyond a 64-bit float, nesting deeper than 64
// levels, or a control character in an id (safety.go).
//
// Other refusals concern the whole request, store nothing and will fail
// again unchanged: 400 (not JSON, not gzip, over 2,500 events), 408 (the
// body did not arrive within Config.ReadTimeout), 401
// (unknown, missing or disabled key), 403 (a browser origin the source
// does not allow), 413 (a body over 500 KB after decompression, or a
// single call over 32 KB), 415 (another Content-Type or Content-Encoding),
// and 429 with Retry-After (the source's rate limit). Each reason is a
// Reason constant, used as metric label and in the answer.
//
// # Validation
//
// Every call is checked against schemas/events/envelope.json and, for the
// known events (page, call, purchase, email, chat, store_visit, ticket,
// survey_response, review, referral, idea_submitted, idea_status_changed,
// community_answer, promise_made, promise_kept, trial_started, trial_ending,
// subscription_started, subscription_cancelled, checkout_started), the
// event's properties schema. Other custom events pass with the envelope
// checked, unless the source's allowed_events leaves them out. The
// envelope is checked by Go code (schemas.ValidEnvelope) that tests hold to
// envelope.json's verdict; a call it does not accept goes through the JSON
// Schema whole, which words the errors.
//
// Segment's e-commerce names are renamed before validation:
//
//	"Order Completed"  → purchase
//	"Checkout Started" → checkout_started
//
// # Enrichment
//
// receivedAt is ingest's clock; a missing messageId becomes a random UUID;
// timestamp is corrected for the sender's clock skew as receivedAt −
// (sentAt − timestamp), with the event's own sentAt before the batch's, and
// kept as sent when there is no sentAt, or set to receivedAt when missing;
// context.userAgent is parsed (github.com/mileusna/useragent) into
// context.device {type,name}, context.os {name,version} and
// context.browser {name,version}, leaving alone any of them the sender set;
// channel defaults per schemas.DefaultChannel (page → web, call → phone);
// the property paths of Config.HashProperties are replaced by the hex
// HMAC-SHA256 of their value under Config.HashKey before any record,
// accepted or rejected, is written.
//
// # Metrics
//
//	journeys_ingest_requests_total{endpoint,code}            requests by endpoint (long name) and HTTP status
//	journeys_ingest_events_accepted_total{source}            events acknowledged by the broker and answered 200
//	journeys_ingest_events_suppressed_total{source}          events of forgotten customers: answered as accepted, dropped
//	journeys_ingest_events_rejected_total{reason,source}     events refused, by Reason; a body refused before its
//	                                                         events could be counted counts as one; source
//	                                                         "unknown" before authentication
//	journeys_ingest_batch_events                             histogram of events per authenticated request
//	journeys_ingest_produce_duration_seconds{outcome}        time to the broker's acknowledgement (acked|failed)
//	journeys_ingest_in_flight_bytes                          request bytes held, bounded by MaxInFlightBytes
//
// Logs never contain event payloads or write keys.
package ingest
