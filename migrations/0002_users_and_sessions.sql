-- People, their delegation, and how they prove who they are.

CREATE TABLE users (
    id                    uuid        NOT NULL DEFAULT gen_random_uuid(),
    email                 text        NOT NULL,
    display_name          text        NOT NULL,
    -- PHC string (argon2id); the parameters travel with the hash so they can be raised later.
    password_hash         text        NOT NULL,
    must_change_password  boolean     NOT NULL DEFAULT true,
    -- 'delegation' users act through their membership row; admins and analysts have none.
    role                  text        NOT NULL,
    preferred_language    text        NOT NULL DEFAULT 'en',
    totp_secret           bytea,
    totp_enabled_at       timestamptz,
    disabled_at           timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    row_version           bigint      NOT NULL DEFAULT 1,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_id_role_key UNIQUE (id, role),
    CONSTRAINT users_role_valid CHECK (role IN ('admin', 'analyst', 'delegation')),
    CONSTRAINT users_email_format CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
    CONSTRAINT users_display_name_present CHECK (length(btrim(display_name)) BETWEEN 1 AND 200),
    CONSTRAINT users_language_valid CHECK (preferred_language IN ('en', 'fr')),
    CONSTRAINT users_totp_enabled_has_secret CHECK (totp_enabled_at IS NULL OR totp_secret IS NOT NULL)
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- A user belongs to at most one delegation (the primary key), and only a 'delegation' user may
-- (the composite foreign key pins user_role to the user's role).
CREATE TABLE delegation_memberships (
    user_id          uuid        NOT NULL,
    user_role        text        NOT NULL DEFAULT 'delegation',
    participant_id   uuid        NOT NULL,
    delegation_role  text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT delegation_memberships_pkey PRIMARY KEY (user_id),
    CONSTRAINT delegation_memberships_user_fkey FOREIGN KEY (user_id, user_role)
        REFERENCES users (id, role) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT delegation_memberships_participant_fkey FOREIGN KEY (participant_id)
        REFERENCES participants (id),
    CONSTRAINT delegation_memberships_user_role_valid CHECK (user_role = 'delegation'),
    CONSTRAINT delegation_memberships_role_valid CHECK (delegation_role IN ('head', 'contributor', 'viewer'))
);
CREATE INDEX delegation_memberships_participant_idx ON delegation_memberships (participant_id);

-- One-time recovery codes for the second factor, stored hashed.
CREATE TABLE recovery_codes (
    user_id    uuid        NOT NULL,
    code_hash  bytea       NOT NULL,
    used_at    timestamptz,
    CONSTRAINT recovery_codes_pkey PRIMARY KEY (user_id, code_hash),
    CONSTRAINT recovery_codes_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

-- Personal API tokens, stored as a SHA-256 of the secret; never more powerful than their owner.
CREATE TABLE api_tokens (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id       uuid        NOT NULL,
    name          text        NOT NULL,
    token_hash    bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    CONSTRAINT api_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT api_tokens_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT api_tokens_name_present CHECK (length(btrim(name)) BETWEEN 1 AND 100)
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

-- Sessions live here so that any number of service processes share them. The id is stored as a
-- SHA-256 of the cookie value, so a read of this table does not hand out live sessions.
CREATE TABLE sessions (
    id_hash              bytea       NOT NULL,
    user_id              uuid        NOT NULL,
    csrf_token           text        NOT NULL,
    -- false until the second factor has been given (for users who have one)
    fully_authenticated  boolean     NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    last_seen_at         timestamptz NOT NULL DEFAULT now(),
    expires_at           timestamptz NOT NULL,
    client_addr          inet,
    user_agent           text,
    ended_at             timestamptz,
    end_reason           text,
    CONSTRAINT sessions_pkey PRIMARY KEY (id_hash),
    CONSTRAINT sessions_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT sessions_end_reason_valid CHECK (end_reason IN
        ('signed_out', 'idle', 'expired', 'password_changed', 'user_disabled', 'revoked', 'replaced'))
);
CREATE INDEX sessions_user_live_idx ON sessions (user_id) WHERE ended_at IS NULL;

-- Sign-in throttling shared by all processes: one row per account and per client address.
CREATE TABLE sign_in_throttle (
    key              text        NOT NULL,
    failures         integer     NOT NULL DEFAULT 0,
    window_start     timestamptz NOT NULL DEFAULT now(),
    blocked_until    timestamptz,
    CONSTRAINT sign_in_throttle_pkey PRIMARY KEY (key),
    CONSTRAINT sign_in_throttle_failures_nonnegative CHECK (failures >= 0)
);

GRANT SELECT, INSERT, UPDATE ON users TO pledge_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON delegation_memberships, recovery_codes, api_tokens,
    sessions, sign_in_throttle TO pledge_app;
