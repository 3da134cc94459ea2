//! Hostile input (issue 15, items 2, 5, 6): control characters in any text, JSON that is not
//! Unicode, numbers out of their range, a second factor chosen by the client, and secrets at rest.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use crate::catalogue::{create_cycle, import};
use crate::support::{TestApp, TestUser, anonymous_form, body_json, body_text, enc};

fn raw_json(user: &TestUser, path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("cookie", format!("pledge_session={}", user.cookie))
        .header("x-csrf-token", &user.csrf)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// A framework, a cycle on it, and the id of its section `II`.
async fn catalogue(app: &TestApp, admin: &TestUser) -> (String, String) {
    let framework = import(app, admin, "cyber-defence-pledge-2016.json").await;
    let cycle = create_cycle(app, admin, &framework, "2027").await;
    let mut owner = app.db.owner().await;
    let section: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM framework_sections WHERE code = 'II'")
            .fetch_one(&mut owner)
            .await
            .unwrap();
    (cycle, section.to_string())
}

async fn written(app: &TestApp) -> (i64, i64) {
    (
        app.count("SELECT count(*) FROM national_goals").await,
        app.count("SELECT count(*) FROM audit_log").await,
    )
}

#[tokio::test]
async fn control_characters_are_refused_with_422_naming_the_field_on_pages_and_the_api() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let (cycle, section) = catalogue(&app, &admin).await;
    let head = app.user("head", Some("FRA")).await;
    let fra = app.participant("FRA").await;
    let before = written(&app).await;

    // The sign-in page: the form again, the field named, the e-mail kept (NUL made visible).
    let page = app
        .request(anonymous_form(
            "/signin",
            &format!("email={}&password=secret", enc("ana\0lyst@example.org")),
        ))
        .await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body_text(page).await;
    assert!(html.contains("control character"), "{html}");
    assert!(
        html.contains(r#"name="email" value="ana␀lyst@example.org""#),
        "{html}"
    );
    assert!(
        !html.contains(r#"value="secret""#),
        "a password is never written back"
    );

    // The sign-in API.
    let api = app
        .request(
            Request::post("/api/v1/session")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"email": "a\u{0}b@example.org", "password": "x"}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(api.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body_json(api).await["error"]["fields"]["email"].is_string());

    // The status board's search (page and API).
    for path in [
        format!("/cycles/{cycle}?search={}", enc("FR\0")),
        format!(
            "/api/v1/cycles/{cycle}/status?search={}",
            enc("FR\u{1b}[2J")
        ),
    ] {
        let response = app.request(admin.get(&path)).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}"
        );
    }

    // A national goal: page form (title) and API (notes, nested nowhere: a top-level field).
    let form = format!(
        "participant={fra}&section={section}&title={}&measure=number&target_value=5&target_year=2029&status=planned",
        enc("Raise\u{7}spending")
    );
    let page = app
        .request(head.post_form("/national-goals/new", &form))
        .await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body_text(page).await;
    assert!(
        html.contains(r#"name="title" value="Raise␇spending""#),
        "{html}"
    );
    assert!(html.contains(r#"action="/national-goals/new""#), "{html}");
    let list = format!("/api/v1/participants/{fra}/national-goals");
    let goal = json!({"section": section, "title": "Raise spending", "measure": "number",
                      "target_value": "5", "target_year": "2029", "status": "planned",
                      "notes": "line one\r\nline two\u{0}"});
    let api = app.request(head.api("POST", &list, Some(goal))).await;
    assert_eq!(api.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fields = body_json(api).await["error"]["fields"].clone();
    assert!(fields["notes"].is_string(), "{fields}");
    assert!(fields.get("title").is_none(), "{fields}");

    assert_eq!(written(&app).await, before, "nothing written on refusal");

    // Tab, new lines and CR LF (a browser's multi-line text) are kept.
    let fine = json!({"section": section, "title": "Raise\tspending", "measure": "number",
                      "target_value": "5", "target_year": "2029", "status": "planned",
                      "notes": "line one\r\nline two\nthree"});
    let created = app.request(head.api("POST", &list, Some(fine))).await;
    assert_eq!(created.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn json_with_a_lone_surrogate_is_a_4xx_never_a_5xx() {
    let app = TestApp::spawn().await;
    let head = app.user("head", Some("FRA")).await;
    let fra = app.participant("FRA").await;
    for body in [
        r#"{"email": "\ud800@example.org", "password": "x"}"#,
        r#"{"email": "a@example.org", "password": "\udfff"}"#,
    ] {
        let response = app
            .request(
                Request::post("/api/v1/session")
                    .header("content-type", "application/json")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert!(response.status().is_client_error(), "{}", response.status());
    }
    let response = app
        .request(raw_json(
            &head,
            &format!("/api/v1/participants/{fra}/national-goals"),
            r#"{"title": "x\ud800y"}"#,
        ))
        .await;
    assert!(response.status().is_client_error(), "{}", response.status());
}

#[tokio::test]
async fn national_goal_values_stay_in_their_measure_range_and_a_blank_title_is_empty() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let (_, section) = catalogue(&app, &admin).await;
    let head = app.user("head", Some("FRA")).await;
    let fra = app.participant("FRA").await;
    let list = format!("/api/v1/participants/{fra}/national-goals");
    let goal = |measure: &str, unit: &str, field: &str, value: &str| {
        let mut goal = json!({"section": section, "title": "Raise spending", "measure": measure,
                              "unit": unit, "target_value": "3", "target_year": "2029", "status": "planned"});
        goal[field] = Value::String(value.to_owned());
        goal
    };
    let before = written(&app).await;
    let cases = [
        ("level", "", "target_value", "-5"),
        ("level", "", "target_value", "99"),
        ("level", "", "target_value", "2.5"),
        ("level", "", "target_value", "1e308"),
        ("number", "", "target_value", "1e308"),
        ("number", "", "target_value", "1e-320"),
        ("number", "", "current_value", "1e-400"),
        (
            "number",
            "",
            "target_value",
            &format!("0.{}1", "0".repeat(399)),
        ),
        (
            "number",
            "",
            "baseline_value",
            &format!("1{}", "0".repeat(308)),
        ),
        ("number", "%", "target_value", "101"),
        ("number", "%", "baseline_value", "-1"),
    ];
    for (measure, unit, field, value) in cases {
        let response = app
            .request(head.api("POST", &list, Some(goal(measure, unit, field, value))))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{measure} {unit} {field}={value}"
        );
        let fields = body_json(response).await["error"]["fields"].clone();
        assert!(fields[field].is_string(), "{field}={value}: {fields}");
    }
    let blank = goal(
        "number",
        "",
        "title",
        "\u{200b}\u{200c} \u{200d}\u{2060}\u{feff}",
    );
    let response = app.request(head.api("POST", &list, Some(blank))).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body_json(response).await["error"]["fields"]["title"].is_string());
    assert_eq!(written(&app).await, before, "nothing written on refusal");

    // In range: the section's highest level, a percentage of 100, a number with 6 decimals.
    for (measure, unit, field, value) in [
        ("level", "", "target_value", "0"),
        ("number", "%", "target_value", "100"),
        ("number", "", "current_value", "0.000001"),
    ] {
        let response = app
            .request(head.api("POST", &list, Some(goal(measure, unit, field, value))))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{measure} {field}={value}"
        );
    }
}

/// An admin without a second factor yet (the fixtures enrol admins).
async fn unenrolled(app: &TestApp, role: &str, participant: Option<&str>) -> TestUser {
    let user = app.user(role, participant).await;
    let mut owner = app.db.owner().await;
    sqlx::query("UPDATE users SET totp_enabled_at = NULL, totp_secret = NULL WHERE id = $1")
        .bind(user.id)
        .execute(&mut owner)
        .await
        .unwrap();
    user
}

#[tokio::test]
async fn enrolment_never_takes_a_secret_from_the_client_and_stores_it_sealed() {
    use pledge::auth::totp;
    let app = TestApp::spawn().await;
    let head = unenrolled(&app, "head", Some("FRA")).await;
    // 16 zero bytes, in base32, with a code that is right for them.
    let zeros = vec![0u8; 16];
    let chosen = totp::secret_base32(&zeros);
    let code = totp::code_at(&zeros, totp::current_step());
    let response = app
        .request(head.post_form(
            "/account/second-factor",
            &format!("secret={chosen}&code={code}"),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let enabled = format!(
        "SELECT count(*) FROM users WHERE id = '{}' AND totp_enabled_at IS NOT NULL",
        head.id
    );
    assert_eq!(
        app.count(&enabled).await,
        0,
        "a client-chosen secret is never enrolled"
    );
    let html = body_text(app.request(head.get("/account/second-factor")).await).await;
    assert!(
        !html.contains(r#"name="secret""#),
        "the secret never travels in the form"
    );
    let offered = html
        .split(r#"<code class="secret">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let again = body_text(app.request(head.get("/account/second-factor")).await).await;
    assert!(again.contains(&offered), "the same secret until enrolment");
    let secret = totp::secret_from_base32(&offered).unwrap();
    let response = app
        .request(head.post_form(
            "/account/second-factor",
            &format!("code={}", totp::code_at(&secret, totp::current_step())),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.count(&enabled).await, 1);

    // At rest: sealed, never the secret itself.
    let mut owner = app.db.owner().await;
    let stored: Vec<u8> = sqlx::query_scalar("SELECT totp_secret FROM users WHERE id = $1")
        .bind(head.id)
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert!(stored.starts_with(b"ptk1"));
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_slice()));
    let keys = &app.state.config.auth.totp_keys;
    assert_eq!(keys.open(head.id, &stored), Some(secret));
}

#[tokio::test]
async fn secrets_stored_in_clear_are_sealed_at_start_and_still_sign_in() {
    use pledge::auth::{totp, totp_key};
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let secret = admin.totp_secret.clone().unwrap();
    let mut owner = app.db.owner().await;
    // As written before secrets were sealed.
    sqlx::query("UPDATE users SET totp_secret = $2 WHERE id = $1")
        .bind(admin.id)
        .bind(&secret)
        .execute(&mut owner)
        .await
        .unwrap();
    let keys = app.state.config.auth.totp_keys.clone();
    let pool = app.db.app_pool().await;
    assert!(totp_key::seal_stored_secrets(&pool, &keys).await.unwrap() >= 1);
    assert_eq!(
        totp_key::seal_stored_secrets(&pool, &keys).await.unwrap(),
        0
    );
    let stored: Vec<u8> = sqlx::query_scalar("SELECT totp_secret FROM users WHERE id = $1")
        .bind(admin.id)
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert_eq!(keys.open(admin.id, &stored), Some(secret.clone()));

    // Signing in with the second factor still works.
    let response = app
        .request(
            Request::post("/api/v1/session")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"email": admin.email, "password": crate::support::PASSWORD,
                           "second_factor": totp::code_at(&secret, totp::current_step())})
                    .to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
}

/// Arbitrary Unicode, with NUL, control characters and zero-width ones well represented.
fn hostile_text() -> impl Strategy<Value = String> {
    let char = prop_oneof![
        4 => any::<char>(),
        2 => Just('\0'),
        2 => (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or('\0')),
        1 => (0x7fu32..0xa0).prop_map(|c| char::from_u32(c).unwrap_or('\0')),
        1 => prop_oneof![Just('\u{200b}'), Just('\u{feff}'), Just('\r'), Just('\n'), Just('\t')],
    ];
    proptest::collection::vec(char, 0..24).prop_map(|chars| chars.into_iter().collect())
}

#[tokio::test]
async fn fuzzed_text_never_gives_a_5xx_and_a_refusal_writes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let (cycle, section) = catalogue(&app, &admin).await;
    let head = app.user("head", Some("FRA")).await;
    let fra = app.participant("FRA").await;
    let list = format!("/api/v1/participants/{fra}/national-goals");
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let strategy = (hostile_text(), any::<usize>());
    for case in 0..64 {
        let (text, at) = strategy.new_tree(&mut runner).unwrap().current();
        let refused = pledge::domain::text::refused_control(&text).is_some();
        let before = written(&app).await;
        let goal = json!({"section": section, "title": text, "measure": "number",
                          "target_value": "5", "target_year": "2029", "status": "planned", "notes": text});
        // JSON with a lone surrogate escape spliced in, one case in four.
        let body = if case % 4 == 0 {
            let mut raw = json!({"title": "x", "notes": "y"}).to_string();
            let place = raw.find("x").unwrap_or(0) + (at % 2);
            raw.insert_str(place, "\\ud83d");
            raw
        } else {
            goal.to_string()
        };
        let requests = [
            raw_json(&head, &list, &body),
            head.post_form(
                "/national-goals/new",
                &format!(
                    "participant={fra}&section={section}&title={}&measure=number&target_value=5&target_year=2029&status=planned&notes={}",
                    enc(&text),
                    enc(&text)
                ),
            ),
            anonymous_form("/signin", &format!("email={}&password={}", enc(&text), enc(&text))),
            head.get(&format!("/cycles/{cycle}?search={}", enc(&text))),
            head.get(&format!("/api/v1/cycles/{cycle}/status?search={}", enc(&text))),
        ];
        for request in requests {
            let path = request.uri().path().to_owned();
            let response = app.request(request).await;
            let status = response.status();
            assert!(!status.is_server_error(), "{path} {text:?}: {status}");
            if refused || case % 4 == 0 && path.starts_with("/api/v1/participants") {
                assert!(status.is_client_error(), "{path} {text:?}: {status}");
            }
        }
        if refused {
            // The sign-in failure would count in the audit log; a refused one writes nothing.
            assert_eq!(written(&app).await, before, "{text:?}");
        }
    }
}
