-- Delegation teamwork (issue 18, part A): heads invite and manage their members, assign goals
-- of an assessment to them, and every user may subscribe to a calendar of their deadlines.

-- Whether the caller is the head of this participant's delegation.
CREATE FUNCTION pledge_is_head(participant uuid) RETURNS boolean
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT pledge_role() = 'delegation' AND participant = pledge_participant()
        AND current_setting('pledge.delegation_role', true) = 'head'
$$;

-- Heads change their own delegation's contributors and viewers between those two roles; the
-- row must stay a contributor or viewer of the same delegation (never head, never elsewhere).
CREATE POLICY delegation_memberships_head_update ON delegation_memberships FOR UPDATE
    USING (pledge_is_head(participant_id) AND delegation_role IN ('contributor', 'viewer'))
    WITH CHECK (pledge_is_head(participant_id) AND delegation_role IN ('contributor', 'viewer'));

-- An invitation into a delegation: a one-time link (only its SHA-256 is stored) to set a
-- password. Whether the address already had an account is not recorded where a head reads.
CREATE TABLE invitations (
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    participant_id   uuid        NOT NULL,
    email            text        NOT NULL,
    display_name     text        NOT NULL,
    delegation_role  text        NOT NULL,
    language         text        NOT NULL DEFAULT 'en',
    token_hash       bytea       NOT NULL,
    invited_by       uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    accepted_at      timestamptz,
    CONSTRAINT invitations_pkey PRIMARY KEY (id),
    CONSTRAINT invitations_token_hash_key UNIQUE (token_hash),
    CONSTRAINT invitations_participant_fkey FOREIGN KEY (participant_id) REFERENCES participants (id),
    CONSTRAINT invitations_invited_by_fkey FOREIGN KEY (invited_by) REFERENCES users (id),
    CONSTRAINT invitations_role_valid CHECK (delegation_role IN ('contributor', 'viewer')),
    CONSTRAINT invitations_language_valid CHECK (language IN ('en', 'fr')),
    CONSTRAINT invitations_token_is_sha256 CHECK (octet_length(token_hash) = 32),
    CONSTRAINT invitations_email_format CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
    CONSTRAINT invitations_display_name_present CHECK (length(btrim(display_name)) BETWEEN 1 AND 200),
    CONSTRAINT invitations_expiry_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX invitations_participant_idx ON invitations (participant_id, created_at DESC);

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY invitations_access ON invitations FOR ALL
    USING (pledge_is_staff() OR pledge_is_head(participant_id))
    WITH CHECK (pledge_is_staff() OR pledge_is_head(participant_id));

-- Who holds a goal of an assessment (several people per goal). needs_review: carried forward
-- from the previous cycle through the version mapping and not yet confirmed by a head.
CREATE TABLE goal_assignments (
    assessment_id   uuid        NOT NULL,
    participant_id  uuid        NOT NULL,
    goal_id         uuid        NOT NULL,
    user_id         uuid        NOT NULL,
    assigned_by     uuid,
    assigned_at     timestamptz NOT NULL DEFAULT now(),
    needs_review    boolean     NOT NULL DEFAULT false,
    CONSTRAINT goal_assignments_pkey PRIMARY KEY (assessment_id, goal_id, user_id),
    CONSTRAINT goal_assignments_assessment_fkey FOREIGN KEY (assessment_id, participant_id)
        REFERENCES assessments (id, participant_id) ON DELETE CASCADE,
    CONSTRAINT goal_assignments_goal_fkey FOREIGN KEY (goal_id) REFERENCES goals (id),
    CONSTRAINT goal_assignments_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT goal_assignments_assigned_by_fkey FOREIGN KEY (assigned_by) REFERENCES users (id)
);
CREATE INDEX goal_assignments_user_idx ON goal_assignments (user_id);
CREATE INDEX goal_assignments_participant_idx ON goal_assignments (participant_id);

ALTER TABLE goal_assignments ENABLE ROW LEVEL SECURITY;
ALTER TABLE goal_assignments FORCE ROW LEVEL SECURITY;
CREATE POLICY goal_assignments_read ON goal_assignments FOR SELECT
    USING (pledge_may_read(participant_id));
CREATE POLICY goal_assignments_write ON goal_assignments FOR ALL
    USING (pledge_is_staff() OR pledge_is_head(participant_id))
    WITH CHECK (pledge_is_staff() OR pledge_is_head(participant_id));

-- One secret calendar (ICS) feed per user; only the SHA-256 of its token is stored. A new
-- feed replaces the old one; revoking deletes the row.
CREATE TABLE calendar_feeds (
    user_id       uuid        NOT NULL,
    token_hash    bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT calendar_feeds_pkey PRIMARY KEY (user_id),
    CONSTRAINT calendar_feeds_token_hash_key UNIQUE (token_hash),
    CONSTRAINT calendar_feeds_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT calendar_feeds_token_is_sha256 CHECK (octet_length(token_hash) = 32)
);

GRANT SELECT, INSERT, UPDATE ON invitations TO pledge_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON goal_assignments, calendar_feeds TO pledge_app;
