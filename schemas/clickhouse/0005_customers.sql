-- The per-customer profile the Engagement dashboard reads: what a customer
-- bought, answered and contributed, and the engagement tier that follows
-- (processor/profile). The processor derives each row from the customer's
-- touchpoints in ClickHouse (touchpoints FINAL, late ones included) after
-- every batch that wrote one of them, so a replay writes the same row again.
-- version is the highest version of those touchpoints (Kafka offsets, which
-- only grow); a customer id merged into a user is written with
-- retracted = 1 and bit 62 of version set, as its journeys are.
-- last_nps is -1 when the customer never answered an NPS survey.

CREATE TABLE IF NOT EXISTS customers (
    customer_id       String,
    first_seen        DateTime,
    last_seen         DateTime,
    touchpoints       UInt32,
    purchases         UInt32,
    revenue           Float64,
    surveys           UInt32,
    positive_surveys  UInt32,
    last_nps          Int16,
    last_survey_positive UInt8,
    reviews           UInt32,
    referrals         UInt32,
    ideas             UInt32,
    community_answers UInt32,
    tier              String,
    tier_since        DateTime,
    retracted         UInt8,
    version           UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY customer_id;
