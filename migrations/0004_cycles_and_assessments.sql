-- Cycles (assessment rounds), assessments (one participant in one cycle), answers, evidence,
-- and the immutable snapshots that submissions freeze.
--
-- Every participant-owned table carries participant_id, so that row-level security and a
-- distribution by participant (e.g. Citus) need no join.

CREATE TABLE cycles (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    framework_id    uuid        NOT NULL,
    code            text        NOT NULL,
    title_en        text        NOT NULL,
    title_fr        text        NOT NULL DEFAULT '',
    state           text        NOT NULL DEFAULT 'planned',
    opens_on        date        NOT NULL,
    deadline        date        NOT NULL,
    opened_at       timestamptz,
    closed_at       timestamptz,
    published_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    row_version     bigint      NOT NULL DEFAULT 1,
    CONSTRAINT cycles_pkey PRIMARY KEY (id),
    CONSTRAINT cycles_code_key UNIQUE (code),
    CONSTRAINT cycles_framework_fkey FOREIGN KEY (framework_id) REFERENCES frameworks (id),
    CONSTRAINT cycles_code_format CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$'),
    CONSTRAINT cycles_title_present CHECK (length(btrim(title_en)) BETWEEN 1 AND 300),
    CONSTRAINT cycles_state_valid CHECK (state IN ('planned', 'open', 'closed', 'published')),
    CONSTRAINT cycles_deadline_after_opening CHECK (deadline >= opens_on)
);
CREATE INDEX cycles_framework_idx ON cycles (framework_id);
CREATE INDEX cycles_opens_on_idx ON cycles (opens_on);

CREATE TABLE assessments (
    id                       uuid        NOT NULL DEFAULT gen_random_uuid(),
    cycle_id                 uuid        NOT NULL,
    participant_id           uuid        NOT NULL,
    state                    text        NOT NULL DEFAULT 'not_started',
    -- number of submissions so far; snapshot revisions run 1..revision
    revision                 integer     NOT NULL DEFAULT 0,
    latest_snapshot_id       uuid,
    late_submission_allowed  boolean     NOT NULL DEFAULT false,
    last_activity_at         timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    row_version              bigint      NOT NULL DEFAULT 1,
    CONSTRAINT assessments_pkey PRIMARY KEY (id),
    CONSTRAINT assessments_id_participant_key UNIQUE (id, participant_id),
    CONSTRAINT assessments_cycle_participant_key UNIQUE (cycle_id, participant_id),
    CONSTRAINT assessments_cycle_fkey FOREIGN KEY (cycle_id) REFERENCES cycles (id),
    CONSTRAINT assessments_participant_fkey FOREIGN KEY (participant_id) REFERENCES participants (id),
    CONSTRAINT assessments_state_valid CHECK (state IN
        ('not_started', 'draft', 'submitted', 'returned', 'resubmitted', 'accepted')),
    CONSTRAINT assessments_revision_nonnegative CHECK (revision >= 0),
    -- a submitted (or later) assessment has at least one snapshot
    CONSTRAINT assessments_submitted_has_snapshot CHECK (
        state IN ('not_started', 'draft') OR (revision > 0 AND latest_snapshot_id IS NOT NULL))
);
CREATE INDEX assessments_participant_cycle_idx ON assessments (participant_id, cycle_id);

CREATE TABLE answers (
    id                     uuid        NOT NULL DEFAULT gen_random_uuid(),
    assessment_id          uuid        NOT NULL,
    participant_id         uuid        NOT NULL,
    goal_id                uuid        NOT NULL,
    -- the value, in the column of the goal's scale kind
    value_level            smallint,
    value_number           numeric,
    value_bool             boolean,
    not_applicable         boolean     NOT NULL DEFAULT false,
    na_justification       text,
    target_level           smallint,
    target_number          numeric,
    target_bool            boolean,
    implementation_status  text,
    narrative              text        NOT NULL DEFAULT '',
    -- carried forward from the last accepted cycle and not yet confirmed by a person
    unconfirmed            boolean     NOT NULL DEFAULT false,
    updated_by             uuid,
    updated_at             timestamptz NOT NULL DEFAULT now(),
    row_version            bigint      NOT NULL DEFAULT 1,
    CONSTRAINT answers_pkey PRIMARY KEY (id),
    CONSTRAINT answers_id_participant_key UNIQUE (id, participant_id),
    CONSTRAINT answers_assessment_goal_key UNIQUE (assessment_id, goal_id),
    CONSTRAINT answers_assessment_fkey FOREIGN KEY (assessment_id, participant_id)
        REFERENCES assessments (id, participant_id) ON DELETE CASCADE,
    CONSTRAINT answers_goal_fkey FOREIGN KEY (goal_id) REFERENCES goals (id),
    CONSTRAINT answers_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES users (id),
    CONSTRAINT answers_one_value CHECK (num_nonnulls(value_level, value_number, value_bool) <= 1),
    CONSTRAINT answers_one_target CHECK (num_nonnulls(target_level, target_number, target_bool) <= 1),
    CONSTRAINT answers_not_applicable_has_no_value CHECK (
        NOT not_applicable OR num_nonnulls(value_level, value_number, value_bool) = 0),
    CONSTRAINT answers_not_applicable_justified CHECK (
        NOT not_applicable OR length(btrim(coalesce(na_justification, ''))) > 0),
    CONSTRAINT answers_status_valid CHECK (implementation_status IN
        ('not_started', 'planned', 'in_progress', 'implemented')),
    CONSTRAINT answers_narrative_length CHECK (length(narrative) <= 20000)
);
CREATE INDEX answers_participant_idx ON answers (participant_id);
CREATE INDEX answers_goal_idx ON answers (goal_id);

CREATE TABLE evidence_links (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    answer_id       uuid        NOT NULL,
    participant_id  uuid        NOT NULL,
    url             text        NOT NULL,
    label           text        NOT NULL DEFAULT '',
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT evidence_links_pkey PRIMARY KEY (id),
    CONSTRAINT evidence_links_answer_fkey FOREIGN KEY (answer_id, participant_id)
        REFERENCES answers (id, participant_id) ON DELETE CASCADE,
    CONSTRAINT evidence_links_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id),
    CONSTRAINT evidence_links_url_scheme CHECK (url ~* '^https?://' AND length(url) <= 2000)
);
CREATE INDEX evidence_links_answer_idx ON evidence_links (answer_id);

-- Attached files live in PostgreSQL with the rest of the state.
CREATE TABLE evidence_files (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    answer_id       uuid        NOT NULL,
    participant_id  uuid        NOT NULL,
    file_name       text        NOT NULL,
    media_type      text        NOT NULL,
    size_bytes      bigint      NOT NULL,
    sha256          bytea       NOT NULL,
    content         bytea       NOT NULL,
    uploaded_by     uuid,
    uploaded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT evidence_files_pkey PRIMARY KEY (id),
    CONSTRAINT evidence_files_answer_fkey FOREIGN KEY (answer_id, participant_id)
        REFERENCES answers (id, participant_id) ON DELETE CASCADE,
    CONSTRAINT evidence_files_uploaded_by_fkey FOREIGN KEY (uploaded_by) REFERENCES users (id),
    CONSTRAINT evidence_files_size_matches CHECK (size_bytes = octet_length(content)),
    CONSTRAINT evidence_files_name_present CHECK (length(btrim(file_name)) BETWEEN 1 AND 255)
);
CREATE INDEX evidence_files_answer_idx ON evidence_files (answer_id);

CREATE TABLE planned_actions (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    answer_id       uuid        NOT NULL,
    participant_id  uuid        NOT NULL,
    description     text        NOT NULL,
    due_on          date,
    done_at         timestamptz,
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT planned_actions_pkey PRIMARY KEY (id),
    CONSTRAINT planned_actions_answer_fkey FOREIGN KEY (answer_id, participant_id)
        REFERENCES answers (id, participant_id) ON DELETE CASCADE,
    CONSTRAINT planned_actions_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id),
    CONSTRAINT planned_actions_description_present CHECK (length(btrim(description)) BETWEEN 1 AND 2000)
);
CREATE INDEX planned_actions_answer_idx ON planned_actions (answer_id);

-- A submission freezes a snapshot: the exact JSON document (json keeps its bytes, so the digest
-- verifies against what is stored) plus the scores as rows for set-based reports.
CREATE TABLE snapshots (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    assessment_id   uuid        NOT NULL,
    participant_id  uuid        NOT NULL,
    cycle_id        uuid        NOT NULL,
    revision        integer     NOT NULL,
    content         json        NOT NULL,
    digest          bytea       NOT NULL,
    overall_score   numeric,
    answered        integer     NOT NULL,
    applicable      integer     NOT NULL,
    submitted_by    uuid,
    submitted_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT snapshots_pkey PRIMARY KEY (id),
    CONSTRAINT snapshots_id_participant_key UNIQUE (id, participant_id),
    CONSTRAINT snapshots_revision_key UNIQUE (assessment_id, revision),
    CONSTRAINT snapshots_assessment_fkey FOREIGN KEY (assessment_id, participant_id)
        REFERENCES assessments (id, participant_id),
    CONSTRAINT snapshots_cycle_fkey FOREIGN KEY (cycle_id) REFERENCES cycles (id),
    CONSTRAINT snapshots_submitted_by_fkey FOREIGN KEY (submitted_by) REFERENCES users (id),
    CONSTRAINT snapshots_digest_is_sha256 CHECK (octet_length(digest) = 32),
    CONSTRAINT snapshots_revision_positive CHECK (revision > 0),
    CONSTRAINT snapshots_completion_consistent CHECK (answered BETWEEN 0 AND applicable)
);
CREATE INDEX snapshots_cycle_idx ON snapshots (cycle_id, participant_id);

ALTER TABLE assessments ADD CONSTRAINT assessments_latest_snapshot_fkey
    FOREIGN KEY (latest_snapshot_id, participant_id) REFERENCES snapshots (id, participant_id);

CREATE TABLE snapshot_section_scores (
    snapshot_id     uuid     NOT NULL,
    participant_id  uuid     NOT NULL,
    section_id      uuid     NOT NULL,
    score           numeric,
    answered        integer  NOT NULL,
    applicable      integer  NOT NULL,
    CONSTRAINT snapshot_section_scores_pkey PRIMARY KEY (snapshot_id, section_id),
    CONSTRAINT snapshot_section_scores_snapshot_fkey FOREIGN KEY (snapshot_id, participant_id)
        REFERENCES snapshots (id, participant_id),
    CONSTRAINT snapshot_section_scores_section_fkey FOREIGN KEY (section_id) REFERENCES framework_sections (id)
);
CREATE INDEX snapshot_section_scores_section_idx ON snapshot_section_scores (section_id);

CREATE TABLE snapshot_answers (
    snapshot_id     uuid     NOT NULL,
    participant_id  uuid     NOT NULL,
    goal_id         uuid     NOT NULL,
    value_level     smallint,
    value_number    numeric,
    value_bool      boolean,
    not_applicable  boolean  NOT NULL,
    goal_score      numeric,
    CONSTRAINT snapshot_answers_pkey PRIMARY KEY (snapshot_id, goal_id),
    CONSTRAINT snapshot_answers_snapshot_fkey FOREIGN KEY (snapshot_id, participant_id)
        REFERENCES snapshots (id, participant_id),
    CONSTRAINT snapshot_answers_goal_fkey FOREIGN KEY (goal_id) REFERENCES goals (id),
    CONSTRAINT snapshot_answers_score_range CHECK (goal_score IS NULL OR goal_score BETWEEN 0 AND 1)
);
CREATE INDEX snapshot_answers_goal_idx ON snapshot_answers (goal_id);

-- Snapshots are immutable for everyone, the owner included: a return and resubmission makes
-- revision N+1.
CREATE FUNCTION refuse_change_to_immutable_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER snapshots_immutable BEFORE UPDATE OR DELETE ON snapshots
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_immutable_row();
CREATE TRIGGER snapshot_section_scores_immutable BEFORE UPDATE OR DELETE ON snapshot_section_scores
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_immutable_row();
CREATE TRIGGER snapshot_answers_immutable BEFORE UPDATE OR DELETE ON snapshot_answers
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_immutable_row();

-- Returns and acceptances: the secretariat's decision on one revision, with reasons.
CREATE TABLE assessment_reviews (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    assessment_id   uuid        NOT NULL,
    participant_id  uuid        NOT NULL,
    revision        integer     NOT NULL,
    decision        text        NOT NULL,
    reason          text        NOT NULL DEFAULT '',
    decided_by      uuid,
    decided_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT assessment_reviews_pkey PRIMARY KEY (id),
    CONSTRAINT assessment_reviews_id_participant_key UNIQUE (id, participant_id),
    CONSTRAINT assessment_reviews_revision_key UNIQUE (assessment_id, revision),
    CONSTRAINT assessment_reviews_assessment_fkey FOREIGN KEY (assessment_id, participant_id)
        REFERENCES assessments (id, participant_id),
    CONSTRAINT assessment_reviews_decided_by_fkey FOREIGN KEY (decided_by) REFERENCES users (id),
    CONSTRAINT assessment_reviews_decision_valid CHECK (decision IN ('returned', 'accepted')),
    CONSTRAINT assessment_reviews_return_has_reason CHECK (decision <> 'returned' OR length(btrim(reason)) > 0)
);

CREATE TABLE review_answer_notes (
    review_id       uuid  NOT NULL,
    participant_id  uuid  NOT NULL,
    goal_id         uuid  NOT NULL,
    note            text  NOT NULL,
    CONSTRAINT review_answer_notes_pkey PRIMARY KEY (review_id, goal_id),
    CONSTRAINT review_answer_notes_review_fkey FOREIGN KEY (review_id, participant_id)
        REFERENCES assessment_reviews (id, participant_id),
    CONSTRAINT review_answer_notes_goal_fkey FOREIGN KEY (goal_id) REFERENCES goals (id),
    CONSTRAINT review_answer_notes_note_present CHECK (length(btrim(note)) > 0)
);

GRANT SELECT, INSERT, UPDATE ON cycles, assessments TO pledge_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON answers, evidence_links, evidence_files, planned_actions TO pledge_app;
-- snapshots and reviews are append-only for the service
GRANT SELECT, INSERT ON snapshots, snapshot_section_scores, snapshot_answers,
    assessment_reviews, review_answer_notes TO pledge_app;
