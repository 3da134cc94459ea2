-- The audit log: append-only and hash-chained. Each entry's hash covers the previous entry's
-- hash and the entry's own fields, so an edited or deleted entry breaks the chain
-- (`pledge audit verify` recomputes it). The service role may only insert and read, and a
-- trigger refuses updates and deletes from anyone.

CREATE TABLE audit_log (
    seq             bigint      NOT NULL GENERATED ALWAYS AS IDENTITY,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    actor_id        uuid,
    -- who acted when there is no user: 'system', 'cli', 'anonymous'
    actor_label     text        NOT NULL,
    action          text        NOT NULL,
    participant_id  uuid,
    entity_type     text,
    entity_id       text,
    details         jsonb       NOT NULL DEFAULT '{}',
    client_addr     inet,
    request_id      text,
    prev_hash       bytea       NOT NULL,
    entry_hash      bytea       NOT NULL,
    CONSTRAINT audit_log_pkey PRIMARY KEY (seq),
    CONSTRAINT audit_log_action_format CHECK (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
    CONSTRAINT audit_log_hashes_are_sha256 CHECK (octet_length(prev_hash) = 32 AND octet_length(entry_hash) = 32)
);
CREATE INDEX audit_log_participant_idx ON audit_log (participant_id, seq) WHERE participant_id IS NOT NULL;
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, seq) WHERE actor_id IS NOT NULL;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_immutable_row();

GRANT SELECT, INSERT ON audit_log TO pledge_app;
