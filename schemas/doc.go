// Package schemas owns the shape of the data: the tracking-event envelope that
// travels from ingest through Kafka to the processor, the JSON Schemas events
// are validated against, the rows of the ClickHouse data model, and the
// versioned ClickHouse DDL. It imports nothing else of Journeys, so both sides
// of the pipeline can depend on it.
package schemas
