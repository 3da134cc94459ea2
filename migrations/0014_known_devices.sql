-- Browsers in which a user completed a sign-in (docs/security.md, "Throttling"): a correct
-- sign-in from one of them is not held by its address's block, so an attacker who gets an
-- address blocked cannot lock out everyone behind it. Only the token's hash is stored.
CREATE TABLE known_devices (
    token_hash    bytea       NOT NULL,
    user_id       uuid        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT known_devices_pkey PRIMARY KEY (token_hash),
    CONSTRAINT known_devices_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX known_devices_user_idx ON known_devices (user_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON known_devices TO pledge_app;
