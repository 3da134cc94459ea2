//! The schema's guarantees, checked with SQL: roles, immutability, the audit chain.

use pledge::storage::audit::{self, Actor, NewEntry};
use sqlx::{Connection, Executor, Row};

use crate::support::TestDb;

#[tokio::test]
async fn the_service_role_is_not_superuser_cannot_bypass_rls_and_owns_no_table() {
    let db = TestDb::new().await;
    let pool = db.app_pool().await;
    let row = sqlx::query(
        "SELECT r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb,
                (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid) AS owned
         FROM pg_roles r WHERE r.rolname = current_user",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        sqlx::query_scalar::<_, String>("SELECT current_user::text")
            .fetch_one(&pool)
            .await
            .unwrap(),
        "pledge_app"
    );
    assert!(!row.get::<bool, _>("rolsuper"));
    assert!(!row.get::<bool, _>("rolbypassrls"));
    assert!(!row.get::<bool, _>("rolcreaterole"));
    assert!(!row.get::<bool, _>("rolcreatedb"));
    assert_eq!(row.get::<i64, _>("owned"), 0);
}

#[tokio::test]
async fn the_service_role_cannot_create_objects_or_rewrite_the_audit_log() {
    let db = TestDb::new().await;
    let pool = db.app_pool().await;
    let create = pool.execute("CREATE TABLE sneaky (id int)").await;
    assert!(create.is_err(), "the service role must not create tables");
    let mut owner = db.owner().await;
    let mut tx = owner.begin().await.unwrap();
    audit::append(
        &mut tx,
        &NewEntry::new(Actor::System, "test.entry", serde_json::json!({})),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    for statement in [
        "UPDATE audit_log SET action = 'x.y'",
        "DELETE FROM audit_log",
    ] {
        let error = pool.execute(statement).await.unwrap_err().to_string();
        assert!(error.contains("permission denied"), "{statement}: {error}");
    }
}

#[tokio::test]
async fn nobody_changes_an_audit_entry_not_even_the_owner() {
    let db = TestDb::new().await;
    let mut owner = db.owner().await;
    let mut tx = owner.begin().await.unwrap();
    audit::append(
        &mut tx,
        &NewEntry::new(Actor::System, "test.entry", serde_json::json!({})),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let error = owner
        .execute("DELETE FROM audit_log")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("immutable"), "{error}");
}

#[tokio::test]
async fn the_audit_chain_verifies_and_detects_an_edited_and_a_deleted_entry() {
    let db = TestDb::new().await;
    let mut owner = db.owner().await;
    let mut tx = owner.begin().await.unwrap();
    for n in 0..4 {
        let mut entry = NewEntry::new(
            Actor::Cli,
            "test.entry",
            serde_json::json!({"n": n, "é": [1.5, "x"]}),
        );
        entry.client_addr = Some("2001:db8::1".parse().unwrap());
        audit::append(&mut tx, &entry).await.unwrap();
    }
    tx.commit().await.unwrap();
    let verified = audit::verify(&mut owner).await.unwrap();
    assert_eq!(verified.entries, 4);
    assert_eq!(verified.first_break, None);

    // An attacker with full database access edits one entry, then deletes another.
    let mut root = db.superuser().await;
    root.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .await
        .unwrap();
    root.execute("UPDATE audit_log SET details = '{\"n\": 99}' WHERE seq = 2")
        .await
        .unwrap();
    let broken = audit::verify(&mut owner)
        .await
        .unwrap()
        .first_break
        .unwrap();
    assert_eq!(broken.seq, 2);
    assert!(broken.reason.contains("edited"));

    root.execute("UPDATE audit_log SET details = '{\"n\": 1, \"é\": [1.5, \"x\"]}' WHERE seq = 2")
        .await
        .unwrap();
    assert_eq!(
        audit::verify(&mut owner).await.unwrap().first_break,
        None,
        "restored entry verifies again"
    );
    root.execute("DELETE FROM audit_log WHERE seq = 3")
        .await
        .unwrap();
    let broken = audit::verify(&mut owner)
        .await
        .unwrap()
        .first_break
        .unwrap();
    assert_eq!(broken.seq, 4);
    assert!(broken.reason.contains("removed"));
}

#[tokio::test]
async fn named_constraints_refuse_inconsistent_answers() {
    let db = TestDb::new().await;
    let mut owner = db.owner().await;
    let constraints: Vec<String> = sqlx::query_scalar(
        "SELECT conname::text FROM pg_constraint WHERE conrelid = 'answers'::regclass ORDER BY 1",
    )
    .fetch_all(&mut owner)
    .await
    .unwrap();
    for expected in [
        "answers_not_applicable_justified",
        "answers_one_value",
        "answers_assessment_fkey",
    ] {
        assert!(
            constraints.iter().any(|c| c == expected),
            "{expected} missing: {constraints:?}"
        );
    }
    let unnamed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE n.nspname = 'public' AND c.conname ~ '_check$|_check[0-9]+$'",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(
        unnamed, 0,
        "every check constraint has a name that says what it checks"
    );
}

#[tokio::test]
async fn the_section_arrays_are_filled_for_snapshots_taken_before_0011() {
    use std::borrow::Cow;
    let mut owner = crate::support::TestDb::unmigrated().await;
    let before = sqlx::migrate::Migrator {
        migrations: Cow::Owned(
            pledge::storage::MIGRATOR
                .iter()
                .filter(|m| m.version <= 10)
                .cloned()
                .collect(),
        ),
        ..pledge::storage::MIGRATOR
    };
    before.run(&mut owner).await.unwrap();
    // A snapshot as 0010 stored it: section scores as rows only.
    sqlx::raw_sql(
        "SELECT set_config('pledge.role', 'system', false);
         INSERT INTO frameworks (id, family, version, title_en, roll_up)
             VALUES ('00000000-0000-0000-0000-000000000001', 'f', '1', 'F', 'sum');
         INSERT INTO framework_sections (id, framework_id, position, code, title_en) VALUES
             ('00000000-0000-0000-0000-000000000011', '00000000-0000-0000-0000-000000000001', 2, 'B', 'B'),
             ('00000000-0000-0000-0000-000000000010', '00000000-0000-0000-0000-000000000001', 1, 'A', 'A');
         INSERT INTO cycles (id, framework_id, code, title_en, opens_on, deadline)
             VALUES ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000001', 'C', 'C', '2020-01-01', '2020-02-01');
         INSERT INTO assessments (id, cycle_id, participant_id)
             SELECT '00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-000000000002', id
             FROM participants WHERE code = 'FRA';
         INSERT INTO snapshots (id, assessment_id, participant_id, cycle_id, revision, content, digest, overall_score, answered, applicable)
             SELECT '00000000-0000-0000-0000-000000000004', '00000000-0000-0000-0000-000000000003', id,
                    '00000000-0000-0000-0000-000000000002', 1, '{}', sha256('{}'), 30, 2, 2
             FROM participants WHERE code = 'FRA';
         INSERT INTO snapshot_section_scores (snapshot_id, participant_id, section_id, score, answered, applicable)
             SELECT '00000000-0000-0000-0000-000000000004', id, s.section, s.score, 1, 1
             FROM participants, (VALUES ('00000000-0000-0000-0000-000000000010'::uuid, 10.0), ('00000000-0000-0000-0000-000000000011'::uuid, 20.0)) AS s(section, score)
             WHERE code = 'FRA';",
    )
    .execute(&mut owner)
    .await
    .unwrap();
    // Migrations run with no role set, as in an upgrade.
    sqlx::query("SELECT set_config('pledge.role', '', false)")
        .execute(&mut owner)
        .await
        .unwrap();
    pledge::storage::migrate(&mut owner).await.unwrap();
    sqlx::query("SELECT set_config('pledge.role', 'system', false)")
        .execute(&mut owner)
        .await
        .unwrap();
    let (ids, scores): (Vec<uuid::Uuid>, Vec<Option<rust_decimal::Decimal>>) = sqlx::query_as(
        "SELECT section_ids, section_scores FROM snapshots WHERE id = '00000000-0000-0000-0000-000000000004'",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(
        ids.iter().map(|id| id.to_string()).collect::<Vec<_>>(),
        [
            "00000000-0000-0000-0000-000000000010",
            "00000000-0000-0000-0000-000000000011"
        ],
        "in section order"
    );
    assert_eq!(
        scores,
        [
            Some(rust_decimal::Decimal::from(10)),
            Some(rust_decimal::Decimal::from(20))
        ]
    );
    let forced: bool =
        sqlx::query_scalar("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'snapshots'")
            .fetch_one(&mut owner)
            .await
            .unwrap();
    assert!(forced, "row-level security is forced again");
}

#[tokio::test]
async fn migration_0013_makes_the_section_arrays_exact_without_losing_a_figure() {
    use std::borrow::Cow;
    let mut owner = crate::support::TestDb::unmigrated().await;
    let before = sqlx::migrate::Migrator {
        migrations: Cow::Owned(
            pledge::storage::MIGRATOR
                .iter()
                .filter(|m| m.version <= 12)
                .cloned()
                .collect(),
        ),
        ..pledge::storage::MIGRATOR
    };
    before.run(&mut owner).await.unwrap();
    // Snapshots as 0012 stored them: exact rows, and float8 copies on the snapshot row. The
    // figures are those the float arrays got wrong or could: 30.01002 (the old rounded sum),
    // a 12-decimal quotient, 0.1 (not a binary fraction) and a figure with 15 digits.
    let figures = ["30.01002", "0.123456789012", "0.1", "99.9999999999995"];
    sqlx::raw_sql(&format!(
        "SELECT set_config('pledge.role', 'system', false);
         INSERT INTO frameworks (id, family, version, title_en, roll_up)
             VALUES ('00000000-0000-0000-0000-000000000001', 'f', '1', 'F', 'sum');
         INSERT INTO framework_sections (id, framework_id, position, code, title_en) VALUES
             ('00000000-0000-0000-0000-000000000010', '00000000-0000-0000-0000-000000000001', 1, 'A', 'A'),
             ('00000000-0000-0000-0000-000000000011', '00000000-0000-0000-0000-000000000001', 2, 'B', 'B'),
             ('00000000-0000-0000-0000-000000000012', '00000000-0000-0000-0000-000000000001', 3, 'C', 'C'),
             ('00000000-0000-0000-0000-000000000013', '00000000-0000-0000-0000-000000000001', 4, 'D', 'D');
         INSERT INTO cycles (id, framework_id, code, title_en, opens_on, deadline)
             VALUES ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000001', 'C', 'C', '2020-01-01', '2020-02-01');
         INSERT INTO assessments (id, cycle_id, participant_id)
             SELECT '00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-000000000002', id
             FROM participants WHERE code = 'FRA';
         INSERT INTO snapshots (id, assessment_id, participant_id, cycle_id, revision, content, digest,
                                overall_score, answered, applicable, section_ids, section_scores,
                                section_answered, section_applicable)
             SELECT '00000000-0000-0000-0000-000000000004', '00000000-0000-0000-0000-000000000003', id,
                    '00000000-0000-0000-0000-000000000002', 1, '{{}}', sha256('{{}}'), 130.2345678901235, 4, 4,
                    ARRAY['00000000-0000-0000-0000-000000000010', '00000000-0000-0000-0000-000000000011',
                          '00000000-0000-0000-0000-000000000012', '00000000-0000-0000-0000-000000000013']::uuid[],
                    ARRAY[{a}, {b}, {c}, {d}]::numeric[]::float8[], '{{1,1,1,1}}', '{{1,1,1,1}}'
             FROM participants WHERE code = 'FRA';
         INSERT INTO snapshot_section_scores (snapshot_id, participant_id, section_id, score, answered, applicable)
             SELECT '00000000-0000-0000-0000-000000000004', id, s.section, s.score, 1, 1
             FROM participants, (VALUES ('00000000-0000-0000-0000-000000000010'::uuid, {a}::numeric),
                                        ('00000000-0000-0000-0000-000000000011'::uuid, {b}),
                                        ('00000000-0000-0000-0000-000000000012'::uuid, {c}),
                                        ('00000000-0000-0000-0000-000000000013'::uuid, {d})) AS s(section, score)
             WHERE code = 'FRA';",
        a = figures[0],
        b = figures[1],
        c = figures[2],
        d = figures[3]
    ))
    .execute(&mut owner)
    .await
    .unwrap();
    let float_text: String = sqlx::query_scalar(
        "SELECT section_scores::text FROM snapshots WHERE id = '00000000-0000-0000-0000-000000000004'",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    sqlx::query("SELECT set_config('pledge.role', '', false)")
        .execute(&mut owner)
        .await
        .unwrap();
    pledge::storage::migrate(&mut owner).await.unwrap();
    sqlx::query("SELECT set_config('pledge.role', 'system', false)")
        .execute(&mut owner)
        .await
        .unwrap();
    let (kind, texts): (String, Vec<String>) = sqlx::query_as(
        "SELECT pg_typeof(section_scores)::text, array(SELECT unnest(section_scores)::text)
         FROM snapshots WHERE id = '00000000-0000-0000-0000-000000000004'",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(kind, "numeric[]");
    assert_eq!(
        texts, figures,
        "every figure exactly, digit for digit (floats: {float_text})"
    );
    let exact: Vec<Option<rust_decimal::Decimal>> = sqlx::query_scalar(
        "SELECT section_scores FROM snapshots WHERE id = '00000000-0000-0000-0000-000000000004'",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(exact[0].map(|d| d.to_string()).as_deref(), Some("30.01002"));
    let returns: String = sqlx::query_scalar(
        "SELECT pg_get_function_result('cycle_score_distribution(uuid)'::regprocedure)",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert!(returns.contains("scores numeric[]"), "{returns}");
    let (trigger, forced): (String, bool) = sqlx::query_as(
        "SELECT t.tgenabled::text, c.relforcerowsecurity FROM pg_trigger t
         JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = 'snapshots_immutable'",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(
        (trigger.as_str(), forced),
        ("O", true),
        "trigger and row security back"
    );
}

#[tokio::test]
async fn migration_0018_fills_the_precomputed_figures_and_fingerprints_from_current_snapshots() {
    use std::borrow::Cow;
    let mut owner = crate::support::TestDb::unmigrated().await;
    let before = sqlx::migrate::Migrator {
        migrations: Cow::Owned(
            pledge::storage::MIGRATOR
                .iter()
                .filter(|m| m.version <= 17)
                .cloned()
                .collect(),
        ),
        ..pledge::storage::MIGRATOR
    };
    before.run(&mut owner).await.unwrap();
    // One current snapshot (revision 2 of FRA's assessment), one superseded (revision 1).
    sqlx::raw_sql(
        "SELECT set_config('pledge.role', 'system', false);
         INSERT INTO frameworks (id, family, version, title_en, roll_up)
             VALUES ('00000000-0000-0000-0000-000000000001', 'f', '1', 'F', 'sum');
         INSERT INTO framework_sections (id, framework_id, position, code, title_en) VALUES
             ('00000000-0000-0000-0000-000000000010', '00000000-0000-0000-0000-000000000001', 1, 'A', 'A');
         INSERT INTO cycles (id, framework_id, code, title_en, opens_on, deadline)
             VALUES ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000001', 'C', 'C', '2020-01-01', '2020-02-01');
         INSERT INTO assessments (id, cycle_id, participant_id)
             SELECT '00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-000000000002', id
             FROM participants WHERE code = 'FRA';
         INSERT INTO snapshots (id, assessment_id, participant_id, cycle_id, revision, content, digest,
                                overall_score, answered, applicable, section_ids, section_scores,
                                section_answered, section_applicable)
             SELECT s.id, '00000000-0000-0000-0000-000000000003', p.id,
                    '00000000-0000-0000-0000-000000000002', s.revision, '{}', sha256(s.revision::text::bytea),
                    s.score, 1, 1, ARRAY['00000000-0000-0000-0000-000000000010']::uuid[], ARRAY[s.score], '{1}', '{1}'
             FROM participants p,
                  (VALUES ('00000000-0000-0000-0000-000000000004'::uuid, 1, 10.5),
                          ('00000000-0000-0000-0000-000000000005'::uuid, 2, 12.25)) AS s(id, revision, score)
             WHERE p.code = 'FRA';
         UPDATE assessments SET revision = 2, state = 'submitted',
                latest_snapshot_id = '00000000-0000-0000-0000-000000000005'
             WHERE id = '00000000-0000-0000-0000-000000000003';",
    )
    .execute(&mut owner)
    .await
    .unwrap();
    sqlx::query("SELECT set_config('pledge.role', '', false)")
        .execute(&mut owner)
        .await
        .unwrap();
    pledge::storage::migrate(&mut owner).await.unwrap();
    sqlx::query("SELECT set_config('pledge.role', 'system', false)")
        .execute(&mut owner)
        .await
        .unwrap();
    let (revision, score, state): (i32, Option<rust_decimal::Decimal>, String) = sqlx::query_as(
        "SELECT revision, overall_score, assessment_state FROM cycle_figures
         WHERE cycle_id = '00000000-0000-0000-0000-000000000002'",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(
        (revision, state.as_str()),
        (2, "submitted"),
        "the current snapshot"
    );
    assert_eq!(
        score.map(|s| s.to_string()).as_deref(),
        Some("12.25"),
        "exact"
    );
    let (fingerprint, submitted): (String, i32) = sqlx::query_as(
        "SELECT fingerprint, submitted FROM cycle_report_state
         WHERE cycle_id = '00000000-0000-0000-0000-000000000002'",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    // As the export stamp writes it: "code revision digest\n" by code.
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(b"2"));
    let expected = hex::encode(sha2::Sha256::digest(format!("FRA 2 {digest}\n")));
    assert_eq!((fingerprint, submitted), (expected, 1));
}
