-- Frameworks: versioned catalogues of sections (the commitments) and goals (the agreed metrics).
-- A framework used by a cycle is frozen (frozen_at); changes make a new version.

CREATE TABLE frameworks (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    -- versions of one framework share a family, e.g. 'cyber-defence-pledge'
    family          text        NOT NULL,
    version         text        NOT NULL,
    title_en        text        NOT NULL,
    title_fr        text        NOT NULL DEFAULT '',
    description_en  text        NOT NULL DEFAULT '',
    description_fr  text        NOT NULL DEFAULT '',
    roll_up         text        NOT NULL,
    frozen_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    row_version     bigint      NOT NULL DEFAULT 1,
    CONSTRAINT frameworks_pkey PRIMARY KEY (id),
    CONSTRAINT frameworks_family_version_key UNIQUE (family, version),
    CONSTRAINT frameworks_family_format CHECK (family ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    CONSTRAINT frameworks_version_present CHECK (length(btrim(version)) BETWEEN 1 AND 40),
    CONSTRAINT frameworks_title_present CHECK (length(btrim(title_en)) BETWEEN 1 AND 300),
    CONSTRAINT frameworks_roll_up_valid CHECK (roll_up IN ('weighted_mean', 'sum'))
);

CREATE TABLE framework_sections (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    framework_id    uuid        NOT NULL,
    position        integer     NOT NULL,
    code            text        NOT NULL,
    title_en        text        NOT NULL,
    title_fr        text        NOT NULL DEFAULT '',
    description_en  text        NOT NULL DEFAULT '',
    description_fr  text        NOT NULL DEFAULT '',
    CONSTRAINT framework_sections_pkey PRIMARY KEY (id),
    CONSTRAINT framework_sections_id_framework_key UNIQUE (id, framework_id),
    CONSTRAINT framework_sections_framework_fkey FOREIGN KEY (framework_id)
        REFERENCES frameworks (id) ON DELETE CASCADE,
    CONSTRAINT framework_sections_code_key UNIQUE (framework_id, code),
    CONSTRAINT framework_sections_position_key UNIQUE (framework_id, position) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT framework_sections_code_format CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$'),
    CONSTRAINT framework_sections_title_present CHECK (length(btrim(title_en)) BETWEEN 1 AND 500)
);

CREATE TABLE goals (
    id                uuid        NOT NULL DEFAULT gen_random_uuid(),
    framework_id      uuid        NOT NULL,
    section_id        uuid        NOT NULL,
    position          integer     NOT NULL,
    code              text        NOT NULL,
    title_en          text        NOT NULL,
    title_fr          text        NOT NULL DEFAULT '',
    guidance_en       text        NOT NULL DEFAULT '',
    guidance_fr       text        NOT NULL DEFAULT '',
    weight            numeric     NOT NULL DEFAULT 1,
    scale_kind        text        NOT NULL,
    numeric_min       numeric,
    numeric_max       numeric,
    numeric_unit      text,
    numeric_decimals  smallint,
    CONSTRAINT goals_pkey PRIMARY KEY (id),
    CONSTRAINT goals_section_fkey FOREIGN KEY (section_id, framework_id)
        REFERENCES framework_sections (id, framework_id) ON DELETE CASCADE,
    CONSTRAINT goals_code_key UNIQUE (framework_id, code),
    CONSTRAINT goals_position_key UNIQUE (section_id, position) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT goals_code_format CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$'),
    CONSTRAINT goals_title_present CHECK (length(btrim(title_en)) BETWEEN 1 AND 500),
    CONSTRAINT goals_weight_range CHECK (weight BETWEEN 0 AND 1000000),
    CONSTRAINT goals_scale_kind_valid CHECK (scale_kind IN ('maturity', 'numeric', 'yes_no')),
    -- numeric bounds belong to numeric goals only, and are complete and ordered there
    CONSTRAINT goals_numeric_scale_complete CHECK (
        (scale_kind = 'numeric') = (numeric_min IS NOT NULL AND numeric_max IS NOT NULL
                                    AND numeric_decimals IS NOT NULL)),
    CONSTRAINT goals_numeric_range_ordered CHECK (numeric_min IS NULL OR numeric_min < numeric_max),
    CONSTRAINT goals_numeric_decimals_range CHECK (numeric_decimals IS NULL OR numeric_decimals BETWEEN 0 AND 6)
);
CREATE INDEX goals_framework_idx ON goals (framework_id);

-- The ordinal levels of a maturity goal, contiguous from its lowest level (0 or 1) up.
CREATE TABLE maturity_levels (
    goal_id         uuid        NOT NULL,
    level           smallint    NOT NULL,
    name_en         text        NOT NULL,
    name_fr         text        NOT NULL DEFAULT '',
    descriptor_en   text        NOT NULL DEFAULT '',
    descriptor_fr   text        NOT NULL DEFAULT '',
    CONSTRAINT maturity_levels_pkey PRIMARY KEY (goal_id, level),
    CONSTRAINT maturity_levels_goal_fkey FOREIGN KEY (goal_id) REFERENCES goals (id) ON DELETE CASCADE,
    CONSTRAINT maturity_levels_level_range CHECK (level BETWEEN 0 AND 100),
    CONSTRAINT maturity_levels_name_present CHECK (length(btrim(name_en)) BETWEEN 1 AND 200)
);

-- How goals of one version relate to goals of another, so that trends run across versions.
CREATE TABLE framework_mappings (
    id                 uuid        NOT NULL DEFAULT gen_random_uuid(),
    from_framework_id  uuid        NOT NULL,
    to_framework_id    uuid        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    created_by         uuid,
    CONSTRAINT framework_mappings_pkey PRIMARY KEY (id),
    CONSTRAINT framework_mappings_versions_key UNIQUE (from_framework_id, to_framework_id),
    CONSTRAINT framework_mappings_from_fkey FOREIGN KEY (from_framework_id) REFERENCES frameworks (id),
    CONSTRAINT framework_mappings_to_fkey FOREIGN KEY (to_framework_id) REFERENCES frameworks (id),
    CONSTRAINT framework_mappings_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id),
    CONSTRAINT framework_mappings_distinct_versions CHECK (from_framework_id <> to_framework_id)
);

CREATE TABLE goal_mappings (
    id            uuid  NOT NULL DEFAULT gen_random_uuid(),
    mapping_id    uuid  NOT NULL,
    from_goal_id  uuid,
    to_goal_id    uuid,
    relation      text  NOT NULL,
    CONSTRAINT goal_mappings_pkey PRIMARY KEY (id),
    CONSTRAINT goal_mappings_mapping_fkey FOREIGN KEY (mapping_id)
        REFERENCES framework_mappings (id) ON DELETE CASCADE,
    CONSTRAINT goal_mappings_from_goal_fkey FOREIGN KEY (from_goal_id) REFERENCES goals (id),
    CONSTRAINT goal_mappings_to_goal_fkey FOREIGN KEY (to_goal_id) REFERENCES goals (id),
    CONSTRAINT goal_mappings_pair_key UNIQUE NULLS NOT DISTINCT (mapping_id, from_goal_id, to_goal_id),
    CONSTRAINT goal_mappings_relation_valid CHECK (relation IN ('equivalent', 'split', 'merged', 'new', 'retired')),
    -- 'new' has no source goal, 'retired' no target goal, every other relation both
    CONSTRAINT goal_mappings_ends_match_relation CHECK (
        (from_goal_id IS NULL) = (relation = 'new') AND (to_goal_id IS NULL) = (relation = 'retired'))
);
CREATE INDEX goal_mappings_from_goal_idx ON goal_mappings (from_goal_id);
CREATE INDEX goal_mappings_to_goal_idx ON goal_mappings (to_goal_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON frameworks, framework_sections, goals, maturity_levels,
    framework_mappings, goal_mappings TO pledge_app;
