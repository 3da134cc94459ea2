-- National goals (a delegation's own goals under a section, with their full history) and
-- clarification requests (an analyst's question on one answer, and the thread that follows).

CREATE TABLE national_goals (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    participant_id  uuid        NOT NULL,
    section_id      uuid        NOT NULL,
    title           text        NOT NULL,
    -- 'level' targets sit on a maturity scale, 'number' targets carry a unit
    measure         text        NOT NULL,
    unit            text        NOT NULL DEFAULT '',
    baseline_value  numeric,
    current_value   numeric,
    target_value    numeric     NOT NULL,
    target_year     integer     NOT NULL,
    status          text        NOT NULL DEFAULT 'planned',
    owner           text        NOT NULL DEFAULT '',
    notes           text        NOT NULL DEFAULT '',
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      uuid,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    row_version     bigint      NOT NULL DEFAULT 1,
    CONSTRAINT national_goals_pkey PRIMARY KEY (id),
    CONSTRAINT national_goals_id_participant_key UNIQUE (id, participant_id),
    CONSTRAINT national_goals_participant_fkey FOREIGN KEY (participant_id) REFERENCES participants (id),
    CONSTRAINT national_goals_section_fkey FOREIGN KEY (section_id) REFERENCES framework_sections (id),
    CONSTRAINT national_goals_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id),
    CONSTRAINT national_goals_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES users (id),
    CONSTRAINT national_goals_title_present CHECK (length(btrim(title)) BETWEEN 1 AND 300),
    CONSTRAINT national_goals_measure_valid CHECK (measure IN ('level', 'number')),
    CONSTRAINT national_goals_target_year_range CHECK (target_year BETWEEN 2000 AND 2100),
    CONSTRAINT national_goals_status_valid CHECK (status IN
        ('planned', 'on_track', 'at_risk', 'achieved', 'dropped'))
);
CREATE INDEX national_goals_participant_idx ON national_goals (participant_id, section_id);

-- Every version of every national goal, written in the same transaction as the change.
CREATE TABLE national_goal_versions (
    national_goal_id  uuid        NOT NULL,
    participant_id    uuid        NOT NULL,
    version           bigint      NOT NULL,
    data              jsonb       NOT NULL,
    changed_by        uuid,
    changed_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT national_goal_versions_pkey PRIMARY KEY (national_goal_id, version),
    CONSTRAINT national_goal_versions_goal_fkey FOREIGN KEY (national_goal_id, participant_id)
        REFERENCES national_goals (id, participant_id),
    CONSTRAINT national_goal_versions_changed_by_fkey FOREIGN KEY (changed_by) REFERENCES users (id)
);

CREATE TABLE clarification_requests (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    assessment_id   uuid        NOT NULL,
    participant_id  uuid        NOT NULL,
    goal_id         uuid        NOT NULL,
    question        text        NOT NULL,
    state           text        NOT NULL DEFAULT 'open',
    raised_by       uuid,
    raised_at       timestamptz NOT NULL DEFAULT now(),
    resolved_by     uuid,
    resolved_at     timestamptz,
    row_version     bigint      NOT NULL DEFAULT 1,
    CONSTRAINT clarification_requests_pkey PRIMARY KEY (id),
    CONSTRAINT clarification_requests_id_participant_key UNIQUE (id, participant_id),
    CONSTRAINT clarification_requests_assessment_fkey FOREIGN KEY (assessment_id, participant_id)
        REFERENCES assessments (id, participant_id),
    CONSTRAINT clarification_requests_goal_fkey FOREIGN KEY (goal_id) REFERENCES goals (id),
    CONSTRAINT clarification_requests_raised_by_fkey FOREIGN KEY (raised_by) REFERENCES users (id),
    CONSTRAINT clarification_requests_resolved_by_fkey FOREIGN KEY (resolved_by) REFERENCES users (id),
    CONSTRAINT clarification_requests_question_present CHECK (length(btrim(question)) BETWEEN 1 AND 5000),
    CONSTRAINT clarification_requests_state_valid CHECK (state IN ('open', 'answered', 'resolved')),
    CONSTRAINT clarification_requests_resolution_complete CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
);
CREATE INDEX clarification_requests_open_idx ON clarification_requests (participant_id, assessment_id)
    WHERE state <> 'resolved';

CREATE TABLE clarification_messages (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    request_id      uuid        NOT NULL,
    participant_id  uuid        NOT NULL,
    author_id       uuid,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT clarification_messages_pkey PRIMARY KEY (id),
    CONSTRAINT clarification_messages_request_fkey FOREIGN KEY (request_id, participant_id)
        REFERENCES clarification_requests (id, participant_id),
    CONSTRAINT clarification_messages_author_fkey FOREIGN KEY (author_id) REFERENCES users (id),
    CONSTRAINT clarification_messages_body_present CHECK (length(btrim(body)) BETWEEN 1 AND 5000)
);
CREATE INDEX clarification_messages_request_idx ON clarification_messages (request_id);

GRANT SELECT, INSERT, UPDATE ON national_goals, clarification_requests TO pledge_app;
GRANT SELECT, INSERT ON national_goal_versions, clarification_messages TO pledge_app;
