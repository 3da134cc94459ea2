//! Home per role, the first sign-in's password change, each user's time zone, and the audit log
//! as a person reads it.

use axum::http::{StatusCode, header};
use serde_json::json;

use crate::support::{
    PASSWORD, TestApp, TestUser, anonymous_form, body_json, body_text, enc, session_cookie_set,
};

async fn answer(app: &TestApp, user: &TestUser, assessment: &str) {
    for (goal, value) in [
        ("legal", "18.5"),
        ("technical", "17"),
        ("organizational", "16.25"),
        ("capacity_development", "12"),
        ("cooperation", "19"),
    ] {
        let mut put = user.api(
            "PUT",
            &format!("/api/v1/assessments/{assessment}/answers/{goal}"),
            Some(json!({"value": value, "narrative": format!("About {goal}")})),
        );
        put.headers_mut()
            .insert(header::IF_MATCH, "\"0\"".parse().unwrap());
        assert!(app.request(put).await.status().is_success());
    }
}

async fn post_api(app: &TestApp, user: &TestUser, path: &str, body: Option<serde_json::Value>) {
    let response = app.request(user.api("POST", path, body)).await;
    assert!(
        response.status().is_success(),
        "{path}: {}",
        body_text(response).await
    );
}

async fn html(app: &TestApp, user: &TestUser, path: &str) -> String {
    let response = app.request(user.get(path)).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    body_text(response).await
}

#[tokio::test]
async fn home_shows_each_role_its_work_in_a_fixed_number_of_statements() {
    let app = TestApp::spawn().await;

    // Anonymous: what the service is and the way in, no service counts.
    let anonymous = body_text(app.get("/").await).await;
    assert!(anonymous.contains(r#"href="/signin""#) && anonymous.contains("Sign in"));
    assert!(!anonymous.contains("My work"));

    // An empty service tells the admin and the analyst what comes next.
    let admin = app.user("admin", None).await;
    let analyst = app.user("analyst", None).await;
    let empty = html(&app, &admin, "/").await;
    assert!(
        empty.contains(r#"href="/cycles/new""#)
            && empty.contains("Create the first assessment cycle"),
        "{empty}"
    );
    assert!(
        html(&app, &analyst, "/")
            .await
            .contains("has not created an assessment cycle yet")
    );

    let (admin, cycle, assessment) = crate::assessments::open_gci_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    let viewer = app.user("viewer", Some("FRA")).await;
    let before_submission = html(&app, &viewer, "/").await;
    assert!(
        before_submission.contains(&format!(r#"href="/assessments/{assessment}""#))
            && before_submission.contains("Not started")
            && before_submission.contains("days left"),
        "{before_submission}"
    );
    answer(&app, &head, &assessment).await;
    post_api(
        &app,
        &head,
        &format!("/api/v1/assessments/{assessment}/submit"),
        None,
    )
    .await;

    // The admin: the open cycle's counts by state, and FRA waiting for review.
    let admin_home = html(&app, &admin, "/").await;
    assert!(admin_home.contains(&format!(r#"href="/cycles/{cycle}""#)));
    assert!(
        admin_home.contains("<dt>Not started</dt><dd>31</dd>")
            && admin_home.contains("<dt>Submitted</dt><dd>1</dd>"),
        "{admin_home}"
    );
    assert!(admin_home.contains("Waiting for your review") && admin_home.contains("FRA — France"));

    // The analyst: the cycle with its submissions, the latest submission, the comparison.
    let analyst_home = html(&app, &analyst, "/").await;
    assert!(analyst_home.contains(&format!(r#"href="/cycles/{cycle}/report""#)));
    assert!(analyst_home.contains("<td>1 / 32</td>"), "{analyst_home}");
    assert!(analyst_home.contains("France submitted its assessment for 2026"));

    // A question, then a return: the delegation sees both, and why, and who returned it.
    post_api(
        &app,
        &analyst,
        &format!("/api/v1/assessments/{assessment}/clarifications"),
        Some(json!({"goal": "legal", "question": "Which law is this?"})),
    )
    .await;
    post_api(
        &app,
        &admin,
        &format!("/api/v1/assessments/{assessment}/return"),
        Some(json!({"reason": "Check the legal score"})),
    )
    .await;
    let delegation_home = html(&app, &viewer, "/").await;
    assert!(
        delegation_home.contains("Returned on "),
        "{delegation_home}"
    );
    assert!(delegation_home.contains("by Test admin"));
    assert!(delegation_home.contains("<q>Check the legal score</q>"));
    assert!(delegation_home.contains("1 clarification requests wait for your reply"));
    assert!(delegation_home.contains("Which law is this?"));
    let french = app
        .request({
            let mut request = viewer.get("/");
            request
                .headers_mut()
                .insert(header::ACCEPT_LANGUAGE, "fr".parse().unwrap());
            request
        })
        .await;
    assert!(body_text(french).await.contains("Renvoyée le "));

    // Statements: the same for one cycle as for two, and for one submission as for several.
    let count = |user: TestUser| {
        let app = &app;
        async move {
            // A live session is read once and then kept while nothing it was read from
            // changes (`storage::coherence`): two reads first (the first may record activity,
            // which voids what it kept), so that only the page's own statements are counted.
            for _ in 0..2 {
                assert_eq!(app.request(user.get("/")).await.status(), StatusCode::OK);
            }
            crate::reports::statements(async {
                assert_eq!(app.request(user.get("/")).await.status(), StatusCode::OK);
            })
            .await
        }
    };
    let small = [
        count(admin.clone()).await,
        count(analyst.clone()).await,
        count(viewer.clone()).await,
    ];
    assert!(small.iter().all(|n| *n > 0), "the counter sees statements");
    let second = json!({"framework_id": framework_of(&app, &cycle).await, "code": "2027",
        "title_en": "2027", "opens_on": "2026-09-01", "deadline": "2099-12-31"});
    let second = body_json(
        app.request(admin.api("POST", "/api/v1/cycles", Some(second)))
            .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    post_api(&app, &admin, &format!("/api/v1/cycles/{second}/open"), None).await;
    for code in ["DEU", "ITA", "ESP"] {
        let head = app.user("head", Some(code)).await;
        let board = body_json(
            app.request(admin.api(
                "GET",
                &format!("/api/v1/cycles/{cycle}/status?search={code}"),
                None,
            ))
            .await,
        )
        .await;
        let theirs = board[0]["assessment_id"].as_str().unwrap().to_owned();
        answer(&app, &head, &theirs).await;
        post_api(
            &app,
            &head,
            &format!("/api/v1/assessments/{theirs}/submit"),
            None,
        )
        .await;
    }
    let large = [
        count(admin.clone()).await,
        count(analyst.clone()).await,
        count(viewer.clone()).await,
    ];
    assert_eq!(
        small, large,
        "admin, analyst, delegation: statements do not grow"
    );
}

async fn framework_of(app: &TestApp, cycle: &str) -> String {
    let mut owner = app.db.owner().await;
    let id: uuid::Uuid = sqlx::query_scalar("SELECT framework_id FROM cycles WHERE id = $1::uuid")
        .bind(cycle)
        .fetch_one(&mut owner)
        .await
        .unwrap();
    id.to_string()
}

fn cookie_user(cookie: &str, csrf: String) -> TestUser {
    TestUser {
        id: uuid::Uuid::nil(),
        email: String::new(),
        cookie: cookie.to_owned(),
        csrf,
        totp_secret: None,
    }
}

fn csrf_of(html: &str) -> String {
    html.split(r#"name="csrf_token" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_first_sign_in_goes_to_the_password_change_then_where_the_user_was_going() {
    let app = TestApp::spawn().await;
    let viewer = app.user("viewer", Some("FRA")).await;
    let admin = app.user("admin", None).await;
    let mut owner = app.db.owner().await;
    sqlx::query("UPDATE users SET must_change_password = true WHERE id = ANY($1)")
        .bind(vec![viewer.id, admin.id])
        .execute(&mut owner)
        .await
        .unwrap();

    // Password only: straight to the change, whatever return_to says, carrying it on.
    let response = app
        .request(anonymous_form(
            "/signin",
            &format!(
                "email={}&password={}&return_to=%2Fnational-goals",
                enc(&viewer.email),
                enc(PASSWORD)
            ),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/account/password?return_to=%2Fnational-goals"
    );
    let cookie = session_cookie_set(&response).unwrap();
    let page = body_text(
        app.request(
            cookie_user(&cookie, String::new())
                .get("/account/password?return_to=%2Fnational-goals"),
        )
        .await,
    )
    .await;
    assert!(
        page.contains(r#"name="return_to" value="/national-goals""#),
        "{page}"
    );
    let user = cookie_user(&cookie, csrf_of(&page));
    let body = format!(
        "current_password={}&new_password={}&confirm_password={}&return_to=%2Fnational-goals",
        enc(PASSWORD),
        enc("violet harbour engine 47"),
        enc("violet harbour engine 47")
    );
    let changed = app
        .request(user.post_form("/account/password", &body))
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(changed.headers()[header::LOCATION], "/national-goals");
    assert_eq!(
        app.request(user.get("/national-goals")).await.status(),
        StatusCode::OK
    );

    // With a second factor: the code first, then the password change.
    let response = app
        .request(anonymous_form(
            "/signin",
            &format!(
                "email={}&password={}&return_to=%2Fadmin%2Faudit",
                enc(&admin.email),
                enc(PASSWORD)
            ),
        ))
        .await;
    let location = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(location.starts_with("/signin/second-factor"), "{location}");
    let pending_cookie = session_cookie_set(&response).unwrap();
    let form = body_text(
        app.request(cookie_user(&pending_cookie, String::new()).get(&location))
            .await,
    )
    .await;
    let pending = cookie_user(&pending_cookie, csrf_of(&form));
    let secret = admin.totp_secret.clone().unwrap();
    let code = pledge::auth::totp::code_at(&secret, pledge::auth::totp::current_step());
    let done = app
        .request(pending.post_form(
            "/signin/second-factor",
            &format!("code={code}&return_to=%2Fadmin%2Faudit"),
        ))
        .await;
    assert_eq!(
        done.headers()[header::LOCATION],
        "/account/password?return_to=%2Fadmin%2Faudit"
    );

    // Without a one-time password, return_to is followed as before.
    let analyst = app.user("analyst", None).await;
    let response = app
        .request(anonymous_form(
            "/signin",
            &format!(
                "email={}&password={}&return_to=%2Fcycles",
                enc(&analyst.email),
                enc(PASSWORD)
            ),
        ))
        .await;
    assert_eq!(response.headers()[header::LOCATION], "/cycles");
}

#[tokio::test]
async fn each_user_reads_times_in_their_own_zone_with_summer_and_winter_time() {
    let app = TestApp::spawn().await;
    let contributor = app.user("contributor", Some("FRA")).await;
    post_api(
        &app,
        &contributor,
        "/api/v1/me/tokens",
        Some(json!({"name": "script"})),
    )
    .await;
    let mut owner = app.db.owner().await;
    sqlx::query(
        "UPDATE api_tokens SET created_at = '2026-01-15 13:05:00+00',
                               last_used_at = '2026-07-01 12:05:00+00'
         WHERE user_id = $1",
    )
    .bind(contributor.id)
    .execute(&mut owner)
    .await
    .unwrap();
    let utc = html(&app, &contributor, "/account").await;
    assert!(utc.contains("15 January 2026, 13:05 UTC"), "{utc}");
    assert!(!utc.contains(".000000") && !utc.contains("+00:00"));

    // An unknown zone is refused, naming the field and keeping what was typed.
    let refused = app
        .request(contributor.post_form("/account/time-zone", "time_zone=Europe%2FAtlantis"))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = body_text(refused).await;
    assert!(refused.contains(r#"id="time-zone-error""#));
    assert!(refused.contains(r#"value="Europe/Atlantis""#));
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM users WHERE id = '{}' AND time_zone = 'UTC'",
            contributor.id
        ))
        .await,
        1
    );
    // The database refuses what is not shaped like a zone name, whoever writes it.
    let shape = sqlx::query("UPDATE users SET time_zone = 'not a zone' WHERE id = $1")
        .bind(contributor.id)
        .execute(&mut owner)
        .await;
    assert!(
        shape
            .unwrap_err()
            .to_string()
            .contains("users_time_zone_format")
    );

    let chosen = app
        .request(contributor.post_form("/account/time-zone", "time_zone=europe%2Fparis"))
        .await;
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    assert_eq!(chosen.headers()[header::LOCATION], "/account");
    let paris = html(&app, &contributor, "/account").await;
    assert!(paris.contains("15 January 2026, 14:05 CET"), "{paris}");
    assert!(paris.contains("1 July 2026, 14:05 CEST"), "{paris}");
    assert!(paris.contains(r#"value="Europe/Paris""#));
    let mut french = contributor.get("/account");
    french
        .headers_mut()
        .insert(header::ACCEPT_LANGUAGE, "fr".parse().unwrap());
    assert!(
        body_text(app.request(french).await)
            .await
            .contains("15 janvier 2026 à 14:05 CET")
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_log WHERE action = 'user.time_zone_change'
             AND details #>> '{time_zone,new}' = 'Europe/Paris'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn the_audit_log_reads_as_words_and_names_and_hides_no_entry() {
    let app = TestApp::spawn().await;
    let (admin, _cycle, assessment) = crate::assessments::open_gci_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    answer(&app, &head, &assessment).await;
    post_api(
        &app,
        &head,
        &format!("/api/v1/assessments/{assessment}/submit"),
        None,
    )
    .await;
    let zone = app
        .request(head.post_form("/account/time-zone", "time_zone=Europe%2FBrussels"))
        .await;
    assert_eq!(zone.status(), StatusCode::SEE_OTHER);
    app.request(anonymous_form(
        "/signin",
        "email=nobody%40test.example&password=wrong",
    ))
    .await;

    let page = html(&app, &admin, "/admin/audit").await;
    assert!(page.contains("Submitted the assessment"), "{page}");
    assert!(page.contains("Saved an answer") && page.contains("Opened the cycle"));
    assert!(page.contains("Test head"), "the actor by name");
    assert!(page.contains("Participant: France (FRA)") && page.contains("Cycle: 2026"));
    assert!(page.contains("Goal: legal"));
    assert!(page.contains("time zone: UTC → Europe/Brussels"));
    assert!(page.contains("Someone not signed in") && page.contains("Sign-in refused"));
    assert!(page.contains("<summary>Raw entry"));
    assert!(
        !page.contains("<code>assessment.submit</code>"),
        "no raw code as the action"
    );
    let shown = page.matches(r#"<tr id="entry-"#).count() as i64;
    assert_eq!(
        shown,
        app.count("SELECT count(*) FROM audit_log").await,
        "every entry is on the page"
    );
}
