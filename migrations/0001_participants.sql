-- Participants: the Allies (ISO 3166-1 alpha-3 codes, as NATO uses them) and partners added later.
-- The service role is `pledge_app`; it must exist before migrations run (the private cluster creates
-- it; docs/operations.md gives the SQL for an external server).

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pledge_app') THEN
        RAISE EXCEPTION 'the service role pledge_app does not exist: create it first (docs/operations.md)';
    END IF;
END $$;

-- Nobody but the owner creates objects; the service role only uses them.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO pledge_app;

CREATE TABLE participants (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    code            text        NOT NULL,
    name_en         text        NOT NULL,
    name_fr         text        NOT NULL,
    kind            text        NOT NULL,
    accession_date  date,
    active          boolean     NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    row_version     bigint      NOT NULL DEFAULT 1,
    CONSTRAINT participants_pkey PRIMARY KEY (id),
    CONSTRAINT participants_code_key UNIQUE (code),
    CONSTRAINT participants_code_format CHECK (code ~ '^[A-Z]{3}$'),
    CONSTRAINT participants_name_en_present CHECK (length(btrim(name_en)) BETWEEN 1 AND 200),
    CONSTRAINT participants_name_fr_present CHECK (length(btrim(name_fr)) BETWEEN 1 AND 200),
    CONSTRAINT participants_kind_valid CHECK (kind IN ('ally', 'partner')),
    CONSTRAINT participants_ally_has_accession CHECK (kind <> 'ally' OR accession_date IS NOT NULL)
);

-- The 32 Allies are there from the start (reference: the public accession record).
INSERT INTO participants (code, name_en, name_fr, kind, accession_date) VALUES
    ('ALB', 'Albania', 'Albanie', 'ally', DATE '2009-04-01'),
    ('BEL', 'Belgium', 'Belgique', 'ally', DATE '1949-08-24'),
    ('BGR', 'Bulgaria', 'Bulgarie', 'ally', DATE '2004-03-29'),
    ('CAN', 'Canada', 'Canada', 'ally', DATE '1949-08-24'),
    ('HRV', 'Croatia', 'Croatie', 'ally', DATE '2009-04-01'),
    ('CZE', 'Czechia', 'Tchéquie', 'ally', DATE '1999-03-12'),
    ('DNK', 'Denmark', 'Danemark', 'ally', DATE '1949-08-24'),
    ('EST', 'Estonia', 'Estonie', 'ally', DATE '2004-03-29'),
    ('FIN', 'Finland', 'Finlande', 'ally', DATE '2023-04-04'),
    ('FRA', 'France', 'France', 'ally', DATE '1949-08-24'),
    ('DEU', 'Germany', 'Allemagne', 'ally', DATE '1955-05-06'),
    ('GRC', 'Greece', 'Grèce', 'ally', DATE '1952-02-18'),
    ('HUN', 'Hungary', 'Hongrie', 'ally', DATE '1999-03-12'),
    ('ISL', 'Iceland', 'Islande', 'ally', DATE '1949-08-24'),
    ('ITA', 'Italy', 'Italie', 'ally', DATE '1949-08-24'),
    ('LVA', 'Latvia', 'Lettonie', 'ally', DATE '2004-03-29'),
    ('LTU', 'Lithuania', 'Lituanie', 'ally', DATE '2004-03-29'),
    ('LUX', 'Luxembourg', 'Luxembourg', 'ally', DATE '1949-08-24'),
    ('MNE', 'Montenegro', 'Monténégro', 'ally', DATE '2017-06-05'),
    ('NLD', 'Netherlands', 'Pays-Bas', 'ally', DATE '1949-08-24'),
    ('MKD', 'North Macedonia', 'Macédoine du Nord', 'ally', DATE '2020-03-27'),
    ('NOR', 'Norway', 'Norvège', 'ally', DATE '1949-08-24'),
    ('POL', 'Poland', 'Pologne', 'ally', DATE '1999-03-12'),
    ('PRT', 'Portugal', 'Portugal', 'ally', DATE '1949-08-24'),
    ('ROU', 'Romania', 'Roumanie', 'ally', DATE '2004-03-29'),
    ('SVK', 'Slovakia', 'Slovaquie', 'ally', DATE '2004-03-29'),
    ('SVN', 'Slovenia', 'Slovénie', 'ally', DATE '2004-03-29'),
    ('ESP', 'Spain', 'Espagne', 'ally', DATE '1982-05-30'),
    ('SWE', 'Sweden', 'Suède', 'ally', DATE '2024-03-07'),
    ('TUR', 'Türkiye', 'Türkiye', 'ally', DATE '1952-02-18'),
    ('GBR', 'United Kingdom', 'Royaume-Uni', 'ally', DATE '1949-08-24'),
    ('USA', 'United States', 'États-Unis', 'ally', DATE '1949-08-24');

GRANT SELECT, INSERT, UPDATE ON participants TO pledge_app;
