//! Row-level security on its own: straight SQL as the service role, with the Rust-side checks
//! bypassed, sees and changes only what the per-transaction settings allow.

use sqlx::{Executor, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::support::TestDb;

async fn demo() -> (TestDb, PgPool) {
    let db = TestDb::new().await;
    pledge::demo::load(&db.plan).await.unwrap();
    let pool = db.app_pool().await;
    (db, pool)
}

async fn as_role(
    pool: &PgPool,
    role: &str,
    participant: Option<Uuid>,
    delegation_role: &str,
) -> Transaction<'static, Postgres> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "SELECT set_config('pledge.role', $1, true), set_config('pledge.participant_id', $2, true),
                set_config('pledge.delegation_role', $3, true)",
    )
    .bind(role)
    .bind(participant.map(|p| p.to_string()).unwrap_or_default())
    .bind(delegation_role)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx
}

async fn participant(pool: &PgPool, code: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM participants WHERE code = $1")
        .bind(code)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn count(tx: &mut Transaction<'static, Postgres>, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&mut **tx).await.unwrap()
}

#[tokio::test]
async fn a_delegation_sees_only_its_own_rows_in_every_participant_owned_table() {
    let (_db, pool) = demo().await;
    let fra = participant(&pool, "FRA").await;
    let mut tx = as_role(&pool, "delegation", Some(fra), "head").await;
    for table in [
        "assessments",
        "answers",
        "snapshots",
        "snapshot_section_scores",
        "snapshot_answers",
        "cycle_figures",
        "assessment_reviews",
        "national_goals",
        "national_goal_versions",
        "clarification_requests",
    ] {
        let own = count(
            &mut tx,
            &format!("SELECT count(*) FROM {table} WHERE participant_id = '{fra}'"),
        )
        .await;
        let foreign = count(
            &mut tx,
            &format!("SELECT count(*) FROM {table} WHERE participant_id <> '{fra}'"),
        )
        .await;
        assert_eq!(
            foreign, 0,
            "{table}: another participant's rows are visible"
        );
        if !matches!(table, "clarification_requests" | "assessment_reviews") {
            assert!(own > 0, "{table}: the delegation's own rows are visible");
        }
    }
}

#[tokio::test]
async fn a_delegation_cannot_write_another_participants_rows_and_a_viewer_cannot_write_its_own() {
    let (_db, pool) = demo().await;
    let fra = participant(&pool, "FRA").await;
    let deu = participant(&pool, "DEU").await;
    // Find a DEU assessment id as the system would (the delegation cannot even see it).
    let mut system = as_role(&pool, "system", Option::None, "").await;
    let (deu_assessment, goal): (Uuid, Uuid) = sqlx::query_as(
        "SELECT a.id, g.id FROM assessments a JOIN cycles c ON c.id = a.cycle_id
         JOIN goals g ON g.framework_id = c.framework_id
         WHERE a.participant_id = $1 AND c.code = '2026' LIMIT 1",
    )
    .bind(deu)
    .fetch_one(&mut *system)
    .await
    .unwrap();
    system.rollback().await.unwrap();

    let mut tx = as_role(&pool, "delegation", Some(fra), "contributor").await;
    let insert = tx
        .execute(
            sqlx::query("INSERT INTO answers (assessment_id, participant_id, goal_id, narrative) VALUES ($1, $2, $3, 'x')")
                .bind(deu_assessment)
                .bind(deu)
                .bind(goal),
        )
        .await;
    assert!(
        insert
            .unwrap_err()
            .to_string()
            .contains("row-level security")
    );
    tx.rollback().await.unwrap();

    let mut tx = as_role(&pool, "delegation", Some(fra), "contributor").await;
    let changed = tx
        .execute("UPDATE national_goals SET title = 'hijacked'")
        .await
        .unwrap()
        .rows_affected();
    assert!(changed > 0, "own goals are editable by a contributor");
    let foreign = count(&mut tx, "SELECT count(*) FROM national_goals WHERE title = 'hijacked' AND participant_id <> current_setting('pledge.participant_id')::uuid").await;
    assert_eq!(foreign, 0);
    tx.rollback().await.unwrap();

    let mut viewer = as_role(&pool, "delegation", Some(fra), "viewer").await;
    let changed = viewer
        .execute("UPDATE answers SET narrative = 'x'")
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(changed, 0, "a viewer edits nothing");
    viewer.rollback().await.unwrap();
}

#[tokio::test]
async fn analysts_read_submitted_answers_never_drafts_and_edit_nothing() {
    let (_db, pool) = demo().await;
    let mut tx = as_role(&pool, "analyst", Option::None, "").await;
    let drafts = count(
        &mut tx,
        "SELECT count(*) FROM answers a JOIN assessments s ON s.id = a.assessment_id WHERE s.state IN ('draft', 'returned')",
    )
    .await;
    assert_eq!(drafts, 0, "analysts never read drafts");
    let submitted = count(
        &mut tx,
        "SELECT count(*) FROM answers a JOIN assessments s ON s.id = a.assessment_id WHERE s.state IN ('submitted', 'resubmitted', 'accepted')",
    )
    .await;
    assert!(submitted > 0);
    assert!(
        count(&mut tx, "SELECT count(*) FROM snapshots").await > 64,
        "every snapshot is readable"
    );
    let changed = tx
        .execute("UPDATE answers SET narrative = 'x'")
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(changed, 0, "analysts never edit answers");
    assert_eq!(
        count(&mut tx, "SELECT count(*) FROM audit_log").await,
        0,
        "the audit log is for admins"
    );
    // A question raised as the assessment is returned is recorded (not a policy error), and
    // hidden from analysts like the draft it is about.
    let (assessment_id, participant_id, goal_id): (Uuid, Uuid, Uuid) = sqlx::query_as(
        "SELECT s.id, s.participant_id, g.id FROM assessments s JOIN cycles c ON c.id = s.cycle_id
         JOIN goals g ON g.framework_id = c.framework_id WHERE s.state = 'draft' LIMIT 1",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let id = pledge::storage::clarifications::insert(
        &mut tx,
        &pledge::storage::clarifications::NewClarification {
            assessment_id,
            participant_id,
            goal_id,
            question: "Which law?".into(),
            raised_by: Option::None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        count(
            &mut tx,
            &format!("SELECT count(*) FROM clarification_requests WHERE id = '{id}'")
        )
        .await,
        0
    );
}

#[tokio::test]
async fn without_settings_nothing_participant_owned_is_visible_even_on_a_reused_connection() {
    let (_db, pool) = demo().await;
    let fra = participant(&pool, "FRA").await;
    // A transaction with settings ends; the next one on the same pooled connection has none.
    let pool_one = PgPool::connect_with(pool.connect_options().as_ref().clone())
        .await
        .unwrap();
    let mut tx = as_role(&pool_one, "delegation", Some(fra), "head").await;
    assert!(count(&mut tx, "SELECT count(*) FROM answers").await > 0);
    tx.commit().await.unwrap();
    let mut conn = pool_one.acquire().await.unwrap();
    for table in [
        "assessments",
        "answers",
        "snapshots",
        "national_goals",
        "audit_log",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} is visible without settings");
    }
}

/// The database's own rule for "may the answers change" (`pledge_assessment_editable`, migration
/// 0007) and the Rust one (`AssessmentState::may_edit`) are one list: for every state, a
/// delegation's contributor tries to change an answer, and the database agrees with the enum.
#[tokio::test]
async fn the_database_allows_editing_answers_in_exactly_the_states_the_domain_does() {
    use pledge::domain::assessment::AssessmentState;
    let (_db, pool) = demo().await;
    // An assessment with a snapshot (so every state passes the table's own checks) and answers.
    let mut system = as_role(&pool, "system", Option::None, "").await;
    let (assessment, participant): (Uuid, Uuid) = sqlx::query_as(
        "SELECT a.id, a.participant_id FROM assessments a
         WHERE a.revision > 0 AND a.latest_snapshot_id IS NOT NULL
           AND EXISTS (SELECT 1 FROM answers x WHERE x.assessment_id = a.id) LIMIT 1",
    )
    .fetch_one(&mut *system)
    .await
    .unwrap();
    system.rollback().await.unwrap();

    for state in AssessmentState::ALL {
        let mut tx = as_role(&pool, "system", Option::None, "").await;
        sqlx::query("UPDATE assessments SET state = $2 WHERE id = $1")
            .bind(assessment)
            .bind(state)
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query(
            "SELECT set_config('pledge.role', 'delegation', true),
                    set_config('pledge.participant_id', $1, true),
                    set_config('pledge.delegation_role', 'contributor', true)",
        )
        .bind(participant.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
        let changed = tx
            .execute(
                sqlx::query(
                    "UPDATE answers SET narrative = narrative || '.' WHERE assessment_id = $1",
                )
                .bind(assessment),
            )
            .await
            .unwrap()
            .rows_affected();
        assert_eq!(
            changed > 0,
            state.may_edit(),
            "{state}: the database and AssessmentState::may_edit disagree"
        );
        // Analysts read the answers once submitted (`pledge_may_read_answers`).
        tx.execute("SELECT set_config('pledge.role', 'analyst', true)")
            .await
            .unwrap();
        let read = count(
            &mut tx,
            &format!("SELECT count(*) FROM answers WHERE assessment_id = '{assessment}'"),
        )
        .await;
        assert_eq!(
            read > 0,
            state.is_submitted(),
            "{state}: the database and AssessmentState::is_submitted disagree"
        );
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn precomputed_figures_and_cached_reports_are_kept_like_the_snapshots_they_come_from() {
    let (_db, pool) = demo().await;
    let fra = participant(&pool, "FRA").await;
    let mut system = as_role(&pool, "system", None, "").await;
    let all = count(&mut system, "SELECT count(*) FROM cycle_figures").await;
    let current = count(
        &mut system,
        "SELECT count(*) FROM assessments WHERE latest_snapshot_id IS NOT NULL",
    )
    .await;
    assert!(all > 0);
    assert_eq!(all, current, "one row per current snapshot");
    let cycle: Uuid = sqlx::query_scalar("SELECT cycle_id FROM cycle_figures LIMIT 1")
        .fetch_one(&mut *system)
        .await
        .unwrap();
    system.rollback().await.unwrap();

    // Analysts read every row, directly and through the comparison's function.
    let mut analyst = as_role(&pool, "analyst", None, "").await;
    assert_eq!(
        count(&mut analyst, "SELECT count(*) FROM cycle_figures").await,
        all
    );
    let in_cycle = count(
        &mut analyst,
        &format!("SELECT count(*) FROM cycle_figures WHERE cycle_id = '{cycle}'"),
    )
    .await;
    assert_eq!(
        count(
            &mut analyst,
            &format!("SELECT count(*) FROM cycle_comparison_figures('{cycle}')")
        )
        .await,
        in_cycle
    );
    analyst.rollback().await.unwrap();

    // A delegation: its own rows only, nothing through the analysts' functions, no cached
    // comparison or file; anonymous callers see nothing.
    let mut head = as_role(&pool, "delegation", Some(fra), "head").await;
    assert_eq!(
        count(
            &mut head,
            &format!("SELECT count(*) FROM cycle_figures WHERE participant_id <> '{fra}'")
        )
        .await,
        0
    );
    for function in ["cycle_comparison_figures", "cycle_previous_scores"] {
        assert_eq!(
            count(
                &mut head,
                &format!("SELECT count(*) FROM {function}('{cycle}')")
            )
            .await,
            0,
            "{function}"
        );
    }
    head.rollback().await.unwrap();
    let mut admin = as_role(&pool, "admin", None, "").await;
    sqlx::query(
        "INSERT INTO report_cache (cycle_id, kind, cache_key, body) VALUES ($1, 'comparison', 'k', 'x')",
    )
    .bind(cycle)
    .execute(&mut *admin)
    .await
    .unwrap();
    admin.commit().await.unwrap();
    let mut head = as_role(&pool, "delegation", Some(fra), "head").await;
    assert_eq!(
        count(&mut head, "SELECT count(*) FROM report_cache").await,
        0
    );
    let forged = sqlx::query(
        "INSERT INTO report_cache (cycle_id, kind, cache_key, body) VALUES ($1, 'export:csv:en', 'k', 'x')",
    )
    .bind(cycle)
    .execute(&mut *head)
    .await;
    assert!(
        forged.is_err(),
        "a delegation writes no cached comparison or file"
    );
    head.rollback().await.unwrap();
    let mut anonymous = as_role(&pool, "anonymous", None, "").await;
    assert_eq!(
        count(&mut anonymous, "SELECT count(*) FROM cycle_figures").await,
        0
    );
    anonymous.rollback().await.unwrap();

    // Only the triggers write the figures: not the service role, whoever it acts for.
    let mut system = as_role(&pool, "system", None, "").await;
    let written = system
        .execute("UPDATE cycle_figures SET overall_score = 0")
        .await;
    assert!(
        written.is_err(),
        "the service role may not change the figures"
    );
}
