-- Where an assessment's carried-forward answers came from: the cycle page says what was carried
-- and from where (issue 14). Set once, when the cycle opens (storage::cycles::carry_forward).
ALTER TABLE assessments
    ADD COLUMN carried_from uuid REFERENCES assessments (id),
    ADD COLUMN carried_answers integer NOT NULL DEFAULT 0
        CONSTRAINT assessments_carried_answers_nonnegative CHECK (carried_answers >= 0);

COMMENT ON COLUMN assessments.carried_from IS
    'the accepted assessment (same framework family, latest earlier cycle) whose answers were carried into this one when its cycle opened';
COMMENT ON COLUMN assessments.carried_answers IS
    'how many answers were carried from carried_from';
