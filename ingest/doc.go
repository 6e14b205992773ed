// Package ingest is the tracking API: it takes Segment-compatible calls over
// HTTP, authenticates them by write key, validates them against the JSON
// Schemas of package schemas, enriches them into schemas.Event and writes
// them to the touchpoints topic, keyed by customer id.
//
// # Endpoints
//
//	POST /v1/batch    /v1/b   {"batch":[call…], "sentAt":…, "context":…}
//	POST /v1/track    /v1/t   one call; the path sets its type
//	POST /v1/identify /v1/i
//	POST /v1/page     /v1/p
//	POST /v1/screen   /v1/s
//	POST /v1/group    /v1/g
//	POST /v1/alias    /v1/a
//	GET  /healthz
//
// The write key is the HTTP Basic user name (empty password), the writeKey
// query parameter, or a writeKey field of the body. Bodies are JSON, sent
// as application/json or text/plain.
//
// # Delivery contract
//
// 200 {"success":true} means the broker acknowledged every event of the
// request with all in-sync replicas (acks=all): they are in the log and the
// processor will read them. Nothing else means that.
//
// 503 with Retry-After means some or all events may not be stored: the
// sender must retry the whole request, with the same messageIds, so that
// the pipeline can drop what did arrive twice. Ingest itself does not
// deduplicate; delivery is at least once.
//
// 400, 401, 413 and 415 mean nothing of the request was stored and
// retrying it unchanged will fail again. In this version one malformed
// event refuses its whole batch; the body lists every bad event by index,
// messageId, reason and message. Each reason is a Reason constant.
//
// Events are refused above Config.MaxEventBytes each (default 32 KB) and
// requests above Config.MaxBatchBytes (default 500 KB).
//
// # Enrichment
//
// receivedAt is ingest's clock; a missing messageId becomes a random UUID;
// timestamp is corrected for the sender's clock skew as receivedAt −
// (sentAt − timestamp), with the event's own sentAt before the batch's, and
// kept as sent when there is no sentAt, or set to receivedAt when missing;
// channel defaults per schemas.DefaultChannel; source names the write key
// ("key-1" for the first configured key), never the key itself.
//
// # Metrics
//
//	journeys_ingest_requests_total{endpoint,code}          requests by endpoint (long name) and HTTP status
//	journeys_ingest_events_accepted_total                  events acknowledged by the broker and answered 200
//	journeys_ingest_events_rejected_total{reason}          events refused, by Reason; a body refused before
//	                                                       its events could be counted counts as one
//	journeys_ingest_produce_duration_seconds{outcome}      time to the broker's acknowledgement (acked|failed)
//
// Logs never contain event payloads or write keys.
package ingest
