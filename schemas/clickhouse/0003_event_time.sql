-- Event time: a touchpoint later than the allowed lateness is stored but
-- marked late and kept out of journeys; a journey or flag that a late (but
-- allowed) touchpoint or an identity merge undid is rewritten with a higher
-- version and retracted = 1. Queries that count journeys or flags filter on
-- retracted = 0.

ALTER TABLE touchpoints ADD COLUMN late UInt8 DEFAULT 0 AFTER session_id;
ALTER TABLE journeys ADD COLUMN retracted UInt8 DEFAULT 0 AFTER revenue;
ALTER TABLE friction_flags ADD COLUMN retracted UInt8 DEFAULT 0 AFTER details;
