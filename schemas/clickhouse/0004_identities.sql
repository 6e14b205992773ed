-- Identity stitching. A linked id (the anonymous id of an identify, or the
-- previous id of an alias) belongs to a user. The user's processor writes the
-- link when it sees the identify or alias (merged = 0, kafka_partition = -1);
-- the processor owning the linked id's partition writes it again with
-- merged = 1, its partition and a higher version once it has forwarded the
-- linked id's touchpoints to the user and retracted its journeys. From then
-- on the linked id's records go to the user; a processor taking over a
-- partition loads the merged links of that partition. FINAL shows one row
-- per linked id: the first user it was merged into.

CREATE TABLE IF NOT EXISTS identities (
    linked_id       String,
    user_id         String,
    kind            String,
    linked_at       DateTime,
    message_id      String,
    kafka_partition Int32,
    merged          UInt8,
    version         UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY linked_id;
