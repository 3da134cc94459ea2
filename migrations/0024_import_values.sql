-- Bulk imports (issue 17, second round): the values an import of answers wrote, kept as rows
-- beside the import record instead of inlined in its audit entry. The `cycle.import` audit
-- entry names the import, the file's SHA-256, the counts per kind and the SHA-256 of these rows
-- (in `seq` order, see `storage::imports::value_line`), so the entry stays small whatever the
-- file's size and `pledge audit verify` recomputes the rows' digest.

CREATE TABLE cycle_import_values (
    import_id        uuid    NOT NULL,
    -- 1, 2, … in the order written (file order).
    seq              integer NOT NULL,
    participant_id   uuid    NOT NULL,
    participant_code text    NOT NULL,
    goal_code        text    NOT NULL,
    -- The row of the file (1-based, the header is row 1).
    file_row         integer NOT NULL,
    -- 'new' (no answer before) or 'changed'.
    change           text    NOT NULL,
    -- The answer before and after, as JSON arrays [goal, value, justification, target, status,
    -- narrative] (the last four only when any is given); `before` is null for a new answer.
    before           text,
    after            text    NOT NULL,
    CONSTRAINT cycle_import_values_pkey PRIMARY KEY (import_id, seq),
    CONSTRAINT cycle_import_values_import_fkey FOREIGN KEY (import_id) REFERENCES cycle_imports (id)
        DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT cycle_import_values_participant_fkey FOREIGN KEY (participant_id)
        REFERENCES participants (id),
    CONSTRAINT cycle_import_values_change_valid CHECK (change IN ('new', 'changed')),
    CONSTRAINT cycle_import_values_before_when_changed CHECK ((change = 'new') = (before IS NULL))
);
CREATE INDEX cycle_import_values_participant_idx ON cycle_import_values (participant_id);

CREATE TRIGGER cycle_import_values_immutable BEFORE UPDATE OR DELETE ON cycle_import_values
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_immutable_row();

-- The values may be a draft's (on behalf): staff and the delegation itself read them, analysts
-- do not. Only staff write them.
ALTER TABLE cycle_import_values ENABLE ROW LEVEL SECURITY;
ALTER TABLE cycle_import_values FORCE ROW LEVEL SECURITY;
CREATE POLICY cycle_import_values_read ON cycle_import_values FOR SELECT
    USING (pledge_is_staff()
           OR (pledge_role() = 'delegation' AND participant_id = pledge_participant()));
CREATE POLICY cycle_import_values_insert ON cycle_import_values FOR INSERT
    WITH CHECK (pledge_is_staff());

GRANT SELECT, INSERT ON cycle_import_values TO pledge_app;
