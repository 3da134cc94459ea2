//! The demo history: believable, complete, loaded once.

use pledge::domain::snapshot::verify_digest;
use pledge::storage::audit;
use sqlx::{Connection, Row};

use crate::support::TestDb;

#[tokio::test]
async fn the_demo_loads_three_cycles_for_every_ally_with_varied_states_and_verifiable_snapshots() {
    let db = TestDb::new().await;
    let outcome = pledge::demo::load(&db.plan).await.unwrap();
    assert!(!outcome.already_loaded);
    let mut connection = db.owner().await;
    // Row-level security applies to the owner too (FORCE): read as a command would.
    let mut owner = connection.begin().await.unwrap();
    pledge::storage::set_scope(&mut owner, &pledge::storage::Scope::System)
        .await
        .unwrap();

    let cycles: Vec<(String, String)> =
        sqlx::query_as("SELECT code, state FROM cycles ORDER BY code")
            .fetch_all(&mut *owner)
            .await
            .unwrap();
    assert_eq!(
        cycles,
        [
            ("2024".into(), "published".into()),
            ("2025".into(), "published".into()),
            ("2026".into(), "open".into())
        ]
    );
    let per_cycle: Vec<i64> = sqlx::query_scalar(
        "SELECT count(*) FROM assessments a JOIN cycles c ON c.id = a.cycle_id GROUP BY c.code ORDER BY c.code",
    )
    .fetch_all(&mut *owner)
    .await
    .unwrap();
    assert_eq!(per_cycle, [32, 32, 32]);
    let open_states: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT a.state FROM assessments a JOIN cycles c ON c.id = a.cycle_id
         WHERE c.code = '2026' ORDER BY 1",
    )
    .fetch_all(&mut *owner)
    .await
    .unwrap();
    assert_eq!(
        open_states,
        [
            "accepted",
            "draft",
            "not_started",
            "resubmitted",
            "returned",
            "submitted"
        ]
    );

    // Trends: the alliance mean moves between the published cycles, and not every Ally alike.
    let movers: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT sign(s25.overall_score - s24.overall_score))
         FROM snapshots s24 JOIN cycles c24 ON c24.id = s24.cycle_id AND c24.code = '2024'
         JOIN snapshots s25 ON s25.participant_id = s24.participant_id
         JOIN cycles c25 ON c25.id = s25.cycle_id AND c25.code = '2025'",
    )
    .fetch_one(&mut *owner)
    .await
    .unwrap();
    assert!(movers >= 2, "some Allies improve and some do not");

    let snapshots = sqlx::query("SELECT content::text AS content, digest FROM snapshots")
        .fetch_all(&mut *owner)
        .await
        .unwrap();
    assert!(snapshots.len() > 64);
    for row in &snapshots {
        assert!(verify_digest(
            row.get("content"),
            row.get::<Vec<u8>, _>("digest").as_slice()
        ));
    }
    let unconfirmed: i64 = sqlx::query_scalar("SELECT count(*) FROM answers WHERE unconfirmed")
        .fetch_one(&mut *owner)
        .await
        .unwrap();
    assert!(
        unconfirmed > 0,
        "drafts hold carried-forward answers awaiting confirmation"
    );
    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT coalesce(m.delegation_role, u.role) FROM users u
         LEFT JOIN delegation_memberships m ON m.user_id = u.id ORDER BY 1",
    )
    .fetch_all(&mut *owner)
    .await
    .unwrap();
    assert_eq!(roles, ["admin", "analyst", "contributor", "head", "viewer"]);
    let history: i64 = sqlx::query_scalar("SELECT count(*) FROM national_goal_versions")
        .fetch_one(&mut *owner)
        .await
        .unwrap();
    assert_eq!(history, 64);
    assert_eq!(audit::verify(&mut owner).await.unwrap().entries, 1);
    drop(owner);
    // Without a scope, even the owner sees no participant-owned row.
    let unscoped: i64 = sqlx::query_scalar("SELECT count(*) FROM answers")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(unscoped, 0);
}

#[tokio::test]
async fn loading_the_demo_twice_adds_nothing_the_second_time() {
    let db = TestDb::new().await;
    pledge::demo::load(&db.plan).await.unwrap();
    let again = pledge::demo::load(&db.plan).await.unwrap();
    assert!(again.already_loaded);
    let mut owner = db.owner().await;
    let cycles: i64 = sqlx::query_scalar("SELECT count(*) FROM cycles")
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert_eq!(cycles, 3);
}

fn sign_in(email: &str, password: &str) -> axum::http::Request<axum::body::Body> {
    crate::support::anonymous_form(
        "/signin",
        &format!(
            "email={}&password={}",
            crate::support::enc(email),
            crate::support::enc(password)
        ),
    )
}

#[tokio::test]
async fn the_demo_password_is_refused_unless_the_service_runs_as_the_demo() {
    use crate::support::{TestApp, session_cookie_set};
    let app = TestApp::spawn().await;
    pledge::demo::load(&app.db.plan).await.unwrap();
    for user in pledge::demo::DEMO_USERS {
        let refused = app
            .request(sign_in(user.email, pledge::demo::DEMO_PASSWORD))
            .await;
        assert!(
            session_cookie_set(&refused).is_none(),
            "{} signs in with the published password outside the demo",
            user.email
        );
    }
    let refusals = app
        .count("SELECT count(*) FROM audit_log WHERE action = 'auth.sign_in_failed' AND details->>'reason' = 'demo_password'")
        .await;
    assert_eq!(refusals, 5, "each refusal is audited with its reason");

    // The same database served as the demo (`serve --demo`) accepts it.
    let mut config = pledge::config::WebConfig::default();
    config.auth.demo = true;
    let demo = pledge::web::AppState::new(app.db.app_pool().await, config);
    let response = tower::ServiceExt::oneshot(
        pledge::web::app(demo),
        sign_in("analyst@demo.pledge.example", pledge::demo::DEMO_PASSWORD),
    )
    .await
    .unwrap();
    assert!(session_cookie_set(&response).is_some());
}
