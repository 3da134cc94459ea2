-- Bulk imports by the secretariat (issue 17): the record of each cycle import (file name and
-- SHA-256), the snapshots a historical import created, and the mark on answers entered on a
-- delegation's behalf.

CREATE TABLE cycle_imports (
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    cycle_id     uuid        NOT NULL,
    purpose      text        NOT NULL,
    file_name    text        NOT NULL,
    file_sha256  text        NOT NULL,
    imported_by  uuid,
    imported_at  timestamptz NOT NULL DEFAULT now(),
    participants integer     NOT NULL,
    answers      integer     NOT NULL,
    CONSTRAINT cycle_imports_pkey PRIMARY KEY (id),
    CONSTRAINT cycle_imports_cycle_fkey FOREIGN KEY (cycle_id) REFERENCES cycles (id),
    CONSTRAINT cycle_imports_imported_by_fkey FOREIGN KEY (imported_by) REFERENCES users (id),
    CONSTRAINT cycle_imports_purpose_valid CHECK (purpose IN ('historical', 'on_behalf')),
    CONSTRAINT cycle_imports_file_name_length CHECK (length(file_name) BETWEEN 1 AND 255),
    CONSTRAINT cycle_imports_sha256_hex CHECK (file_sha256 ~ '^[0-9a-f]{64}$')
);
CREATE INDEX cycle_imports_cycle_idx ON cycle_imports (cycle_id);

-- The snapshots a historical import made: "imported by the secretariat from this file".
CREATE TABLE snapshot_imports (
    snapshot_id    uuid NOT NULL,
    import_id      uuid NOT NULL,
    participant_id uuid NOT NULL,
    CONSTRAINT snapshot_imports_pkey PRIMARY KEY (snapshot_id),
    CONSTRAINT snapshot_imports_snapshot_fkey FOREIGN KEY (snapshot_id) REFERENCES snapshots (id),
    CONSTRAINT snapshot_imports_import_fkey FOREIGN KEY (import_id) REFERENCES cycle_imports (id)
        DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT snapshot_imports_participant_fkey FOREIGN KEY (participant_id) REFERENCES participants (id)
);
CREATE INDEX snapshot_imports_import_idx ON snapshot_imports (import_id);

-- Records of what happened: never changed.
CREATE TRIGGER cycle_imports_immutable BEFORE UPDATE OR DELETE ON cycle_imports
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_immutable_row();
CREATE TRIGGER snapshot_imports_immutable BEFORE UPDATE OR DELETE ON snapshot_imports
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_immutable_row();

-- The import record names no participant's data: every signed-in role reads it (the report
-- shows it); the link to a snapshot is read like the snapshot. Only staff write them.
ALTER TABLE cycle_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE cycle_imports FORCE ROW LEVEL SECURITY;
CREATE POLICY cycle_imports_read ON cycle_imports FOR SELECT
    USING (pledge_role() IN ('admin', 'system', 'analyst', 'delegation'));
CREATE POLICY cycle_imports_insert ON cycle_imports FOR INSERT WITH CHECK (pledge_is_staff());

ALTER TABLE snapshot_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE snapshot_imports FORCE ROW LEVEL SECURITY;
CREATE POLICY snapshot_imports_read ON snapshot_imports FOR SELECT
    USING (pledge_may_read(participant_id));
CREATE POLICY snapshot_imports_insert ON snapshot_imports FOR INSERT WITH CHECK (pledge_is_staff());

GRANT SELECT, INSERT ON cycle_imports, snapshot_imports TO pledge_app;

-- An answer the secretariat entered on the delegation's behalf (always unconfirmed). The mark
-- goes when the answer is confirmed: any save by the delegation sets unconfirmed = false.
ALTER TABLE answers ADD COLUMN entered_on_behalf boolean NOT NULL DEFAULT false;
ALTER TABLE answers ADD CONSTRAINT answers_on_behalf_unconfirmed
    CHECK (NOT entered_on_behalf OR unconfirmed);

CREATE FUNCTION clear_on_behalf_when_confirmed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.unconfirmed THEN
        NEW.entered_on_behalf := false;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER answers_clear_on_behalf BEFORE INSERT OR UPDATE ON answers
    FOR EACH ROW EXECUTE FUNCTION clear_on_behalf_when_confirmed();
