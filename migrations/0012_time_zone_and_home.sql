-- The time zone each user reads moments in (an IANA name such as 'Europe/Brussels'). The service
-- checks the name against the zone database it carries (web::format::TimeZone::named); the
-- constraint keeps the column to the shape of such a name. Users who chose none read UTC.
ALTER TABLE users
    ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC',
    ADD CONSTRAINT users_time_zone_format
        CHECK (time_zone ~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$' AND length(time_zone) <= 64);

-- Home's "what changed recently" and "waiting for review" read the newest rows first.
CREATE INDEX snapshots_submitted_at_idx ON snapshots (submitted_at DESC);
CREATE INDEX assessment_reviews_accepted_idx ON assessment_reviews (decided_at DESC)
    WHERE decision = 'accepted';
CREATE INDEX assessments_awaiting_review_idx ON assessments (state)
    WHERE state IN ('submitted', 'resubmitted');
