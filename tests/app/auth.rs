//! Signing in and out, sessions, CSRF, throttling, the second factor, tokens, and the account
//! operations of admins, through the real router.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use pledge::auth::totp;

use crate::support::{
    PASSWORD, TestApp, TestUser, anonymous_form, body_json, body_text, enc, session_cookie_set,
};

fn sign_in_form(email: &str, password: &str) -> Request<Body> {
    anonymous_form(
        "/signin",
        &format!(
            "email={}&password={}&return_to=%2Faccount",
            enc(email),
            enc(password)
        ),
    )
}

fn from_address(mut request: Request<Body>, address: &str) -> Request<Body> {
    let addr: std::net::SocketAddr = format!("{address}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(addr));
    request
}

fn with_cookie(cookie: &str) -> TestUser {
    TestUser {
        id: uuid::Uuid::nil(),
        email: String::new(),
        cookie: cookie.to_owned(),
        csrf: String::new(),
        totp_secret: None,
    }
}

#[tokio::test]
async fn signing_in_issues_a_new_session_id_and_ignores_a_planted_one() {
    let app = TestApp::spawn().await;
    let analyst = app.user("analyst", None).await;
    let planted = "attacker-chosen-session-id";
    let mut request = sign_in_form(&analyst.email, PASSWORD);
    request.headers_mut().insert(
        header::COOKIE,
        format!("pledge_session={planted}").parse().unwrap(),
    );
    let response = app.request(request).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/account");
    let issued = session_cookie_set(&response).expect("a session cookie");
    assert_ne!(issued, planted);
    assert_ne!(issued, analyst.cookie, "never an existing session's id");
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let page = app.request(with_cookie(&issued).get("/account")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(body_text(page).await.contains(&analyst.email));
    let planted_page = app.request(with_cookie(planted).get("/account")).await;
    assert_eq!(
        planted_page.status(),
        StatusCode::SEE_OTHER,
        "a planted id is no session"
    );
    let stored_in_clear = app
        .count(&format!(
            "SELECT count(*) FROM sessions WHERE encode(id_hash, 'hex') = '{issued}'"
        ))
        .await;
    assert_eq!(
        stored_in_clear, 0,
        "only a hash of the session id is stored"
    );
}

#[tokio::test]
async fn unknown_accounts_wrong_passwords_and_disabled_accounts_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let viewer = app.user("viewer", Some("FRA")).await;
    let disabled = app.user("viewer", Some("FRA")).await;
    let mut owner = app.db.owner().await;
    sqlx::query("UPDATE users SET disabled_at = now() WHERE id = $1")
        .bind(disabled.id)
        .execute(&mut owner)
        .await
        .unwrap();

    let mut answers = Vec::new();
    for (email, password) in [
        ("nobody@test.example", PASSWORD),
        (viewer.email.as_str(), "wrong password 123"),
        (disabled.email.as_str(), PASSWORD),
    ] {
        let response = app.request(sign_in_form(email, password)).await;
        assert!(session_cookie_set(&response).is_none());
        let status = response.status();
        answers.push((status, body_text(response).await.replace(email, "EMAIL")));
    }
    assert_eq!(answers[0].0, StatusCode::OK);
    assert!(answers[0].1.contains("Sign-in failed"));
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "one answer for every cause"
    );

    let mut api_answers = Vec::new();
    for (email, password) in [
        ("nobody@test.example", PASSWORD),
        (viewer.email.as_str(), "wrong password 123"),
        (disabled.email.as_str(), PASSWORD),
    ] {
        let request = Request::post("/api/v1/session")
            .header("content-type", "application/json")
            .body(Body::from(
                serde_json::json!({"email": email, "password": password}).to_string(),
            ))
            .unwrap();
        let response = app.request(request).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        api_answers.push(body_json(response).await);
    }
    assert!(
        api_answers
            .iter()
            .all(|a| a == &api_answers[0] && a["error"]["code"] == "sign_in_failed")
    );
    let failures = app
        .count("SELECT count(*) FROM audit_log WHERE action = 'auth.sign_in_failed'")
        .await;
    assert_eq!(failures, 6, "every failed attempt is in the audit log");
}

#[tokio::test]
async fn five_failures_block_the_account_briefly_even_for_the_right_password() {
    let app = TestApp::spawn().await;
    let viewer = app.user("viewer", Some("FRA")).await;
    for _ in 0..5 {
        let response = app
            .request(sign_in_form(&viewer.email, "wrong password 123"))
            .await;
        assert!(session_cookie_set(&response).is_none());
    }
    let block_seconds = app
        .count("SELECT extract(epoch FROM blocked_until - now())::bigint FROM sign_in_throttle WHERE key LIKE 'account:%'")
        .await;
    assert!(
        (1..=30).contains(&block_seconds),
        "the first block is short: {block_seconds} s"
    );
    let blocked = app.request(sign_in_form(&viewer.email, PASSWORD)).await;
    assert!(
        session_cookie_set(&blocked).is_none(),
        "blocked after five failures"
    );
    let capped = app
        .count(
            "SELECT max(extract(epoch FROM blocked_until - now()))::bigint FROM sign_in_throttle",
        )
        .await;
    assert!(capped <= 15 * 60, "a block never exceeds 15 minutes");

    // Once the block has passed, the right password works again and clears the count.
    let mut owner = app.db.owner().await;
    sqlx::query("UPDATE sign_in_throttle SET blocked_until = now() - interval '1 second'")
        .execute(&mut owner)
        .await
        .unwrap();
    let response = app.request(sign_in_form(&viewer.email, PASSWORD)).await;
    assert!(session_cookie_set(&response).is_some());
    assert_eq!(
        app.count("SELECT count(*) FROM sign_in_throttle WHERE key LIKE 'account:%'")
            .await,
        0
    );
}

#[tokio::test]
async fn one_address_failing_on_many_accounts_is_blocked_for_every_account() {
    let app = TestApp::spawn().await;
    let viewer = app.user("viewer", Some("FRA")).await;
    for n in 0..30 {
        let request = from_address(
            sign_in_form(&format!("guess{n}@test.example"), "wrong password 123"),
            "192.0.2.7",
        );
        app.request(request).await;
    }
    let from_attacker = app
        .request(from_address(
            sign_in_form(&viewer.email, PASSWORD),
            "192.0.2.7",
        ))
        .await;
    assert!(session_cookie_set(&from_attacker).is_none());
    let from_elsewhere = app
        .request(from_address(
            sign_in_form(&viewer.email, PASSWORD),
            "198.51.100.9",
        ))
        .await;
    assert!(
        session_cookie_set(&from_elsewhere).is_some(),
        "the real user is not locked out"
    );
}

#[tokio::test]
async fn state_changes_with_a_session_need_its_csrf_token() {
    let app = TestApp::spawn().await;
    let contributor = app.user("contributor", Some("FRA")).await;
    let without = Request::post("/account/tokens")
        .header("cookie", format!("pledge_session={}", contributor.cookie))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("name=script"))
        .unwrap();
    let response = app.request(without).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        body_text(response)
            .await
            .contains("expired or did not come from this service")
    );

    let mut wrong = contributor.clone();
    wrong.csrf = "0".repeat(64);
    assert_eq!(
        app.request(wrong.post_form("/account/tokens", "name=script"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let mut api = contributor.api(
        "POST",
        "/api/v1/me/tokens",
        Some(serde_json::json!({"name": "x"})),
    );
    api.headers_mut().remove("x-csrf-token");
    let response = app.request(api).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(body_json(response).await["error"]["code"], "csrf");
    assert_eq!(
        app.count("SELECT count(*) FROM api_tokens").await,
        0,
        "nothing was created"
    );

    let response = app
        .request(contributor.post_form("/account/tokens", "name=script"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.count("SELECT count(*) FROM api_tokens").await, 1);
}

#[tokio::test]
async fn idle_and_expired_sessions_end_and_send_the_user_to_sign_in() {
    let app = TestApp::spawn().await;
    let idle = app.user("viewer", Some("FRA")).await;
    let old = app.user("viewer", Some("FRA")).await;
    let mut owner = app.db.owner().await;
    sqlx::query(
        "UPDATE sessions SET last_seen_at = now() - interval '31 minutes' WHERE user_id = $1",
    )
    .bind(idle.id)
    .execute(&mut owner)
    .await
    .unwrap();
    sqlx::query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1")
        .bind(old.id)
        .execute(&mut owner)
        .await
        .unwrap();
    for (user, reason) in [(&idle, "idle"), (&old, "expired")] {
        let response = app.request(user.get("/account")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers()[header::LOCATION],
            "/signin?return_to=%2Faccount"
        );
        let cleared = response.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
        let ended: String =
            sqlx::query_scalar("SELECT end_reason FROM sessions WHERE user_id = $1")
                .bind(user.id)
                .fetch_one(&mut owner)
                .await
                .unwrap();
        assert_eq!(ended, reason);
    }
}

#[tokio::test]
async fn signing_out_changing_the_password_and_disabling_end_sessions() {
    let app = TestApp::spawn().await;
    let viewer = app.user("viewer", Some("FRA")).await;
    let response = app.request(viewer.post_form("/signout", "")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.request(viewer.get("/account")).await.status(),
        StatusCode::SEE_OTHER
    );

    let contributor = app.user("contributor", Some("FRA")).await;
    let (other_cookie, _) = app.session_for(contributor.id).await;
    let body = format!(
        "current_password={}&new_password={}&confirm_password={}",
        enc(PASSWORD),
        enc("violet harbour engine 47"),
        enc("violet harbour engine 47")
    );
    let response = app
        .request(contributor.post_form("/account/password", &body))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.request(contributor.get("/account")).await.status(),
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        app.request(with_cookie(&other_cookie).get("/account"))
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "others end"
    );

    let admin = app.user("admin", None).await;
    let head = app.user("head", Some("FRA")).await;
    let response = app
        .request(admin.post_form(&format!("/admin/users/{}/disable", head.id), ""))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.request(head.get("/account")).await.status(),
        StatusCode::SEE_OTHER
    );
    let refused = app.request(sign_in_form(&head.email, PASSWORD)).await;
    assert!(session_cookie_set(&refused).is_none());
}

#[tokio::test]
async fn a_weak_new_password_is_refused_with_a_message_at_the_field() {
    let app = TestApp::spawn().await;
    let viewer = app.user("viewer", Some("FRA")).await;
    let body = format!(
        "current_password={}&new_password=password1234&confirm_password=password1234",
        enc(PASSWORD)
    );
    let response = app
        .request(viewer.post_form("/account/password", &body))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body_text(response).await;
    assert!(
        html.contains(r#"id="new_password-error""#) && html.contains("too easy to guess"),
        "{html}"
    );
    let body = format!(
        "current_password=wrong-one-1234&new_password={0}&confirm_password={0}",
        enc("violet harbour engine 47")
    );
    let html = body_text(
        app.request(viewer.post_form("/account/password", &body))
            .await,
    )
    .await;
    assert!(html.contains(r#"id="current_password-error""#));
}

#[tokio::test]
async fn the_second_factor_is_enrolled_then_required_and_a_code_works_only_once() {
    let app = TestApp::spawn().await;
    let head = app.user("head", Some("FRA")).await;
    let page = body_text(app.request(head.get("/account/second-factor")).await).await;
    assert!(page.contains("<svg"), "a QR code is shown");
    let secret_b32 = page
        .split(r#"<code class="secret">"#)
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let secret = totp::secret_from_base32(&secret_b32).unwrap();

    let wrong = app
        .request(head.post_form(
            "/account/second-factor",
            &format!("secret={secret_b32}&code=000000"),
        ))
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let step = totp::current_step();
    let enrolled = app
        .request(head.post_form(
            "/account/second-factor",
            &format!(
                "secret={secret_b32}&code={}",
                totp::code_at(&secret, step - 1)
            ),
        ))
        .await;
    assert_eq!(enrolled.status(), StatusCode::OK);
    let html = body_text(enrolled).await;
    let recovery: Vec<String> = html
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), totp::RECOVERY_CODES);

    // Sign in again: the password alone leaves the session pending.
    let response = app.request(sign_in_form(&head.email, PASSWORD)).await;
    assert!(
        response.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/signin/second-factor")
    );
    let pending_cookie = session_cookie_set(&response).unwrap();
    let pending = app
        .request(with_cookie(&pending_cookie).get("/account"))
        .await;
    assert_eq!(
        pending.headers()[header::LOCATION],
        "/signin/second-factor",
        "nothing else until the code is given"
    );
    let form_page = body_text(
        app.request(with_cookie(&pending_cookie).get("/signin/second-factor"))
            .await,
    )
    .await;
    let csrf = form_page
        .split(r#"name="csrf_token" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let pending_user = TestUser {
        cookie: pending_cookie.clone(),
        csrf,
        ..head.clone()
    };

    // The code already used at enrolment (step - 1) is refused; the current one works once.
    let replayed = app
        .request(pending_user.post_form(
            "/signin/second-factor",
            &format!("code={}", totp::code_at(&secret, step - 1)),
        ))
        .await;
    assert!(session_cookie_set(&replayed).is_none());
    let accepted = app
        .request(pending_user.post_form(
            "/signin/second-factor",
            &format!("code={}&return_to=%2Faccount", totp::code_at(&secret, step)),
        ))
        .await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    let full_cookie =
        session_cookie_set(&accepted).expect("a new session id after the second factor");
    assert_ne!(full_cookie, pending_cookie);
    assert_eq!(
        app.request(with_cookie(&full_cookie).get("/account"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.request(with_cookie(&pending_cookie).get("/account"))
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "the pending id is gone"
    );

    // The same code again (another sign-in) is refused; a recovery code works, once.
    let again =
        session_cookie_set(&app.request(sign_in_form(&head.email, PASSWORD)).await).unwrap();
    let page = body_text(
        app.request(with_cookie(&again).get("/signin/second-factor"))
            .await,
    )
    .await;
    let csrf = page
        .split(r#"name="csrf_token" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let second = TestUser {
        cookie: again,
        csrf,
        ..head.clone()
    };
    let replay = app
        .request(second.post_form(
            "/signin/second-factor",
            &format!("code={}", totp::code_at(&secret, step)),
        ))
        .await;
    assert!(
        session_cookie_set(&replay).is_none(),
        "a code is accepted once"
    );
    let recovered = app
        .request(second.post_form(
            "/signin/second-factor",
            &format!("code={}", enc(&recovery[0].to_uppercase())),
        ))
        .await;
    assert!(session_cookie_set(&recovered).is_some());
    assert_eq!(
        app.count("SELECT count(*) FROM recovery_codes WHERE used_at IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn an_admin_without_a_second_factor_must_set_one_up_first() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let mut owner = app.db.owner().await;
    sqlx::query("UPDATE users SET totp_enabled_at = NULL, totp_secret = NULL WHERE id = $1")
        .bind(admin.id)
        .execute(&mut owner)
        .await
        .unwrap();
    let response = app.request(admin.get("/admin/users")).await;
    assert_eq!(
        response.headers()[header::LOCATION],
        "/account/second-factor"
    );
    let api = app.request(admin.api("GET", "/api/v1/users", None)).await;
    assert_eq!(api.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        body_json(api).await["error"]["code"],
        "second_factor_enrolment_required"
    );
    assert_eq!(
        app.request(admin.get("/account/second-factor"))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_admin_creates_a_user_whose_one_time_password_must_be_changed_first() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let response = app
        .request(admin.api(
            "POST",
            "/api/v1/users",
            Some(serde_json::json!({
            "email": "New.Contributor@test.example", "display_name": "New Contributor",
            "role": "contributor", "participant": "deu"})),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created = body_json(response).await;
    let one_time = created["one_time_password"].as_str().unwrap().to_owned();

    let response = app
        .request(sign_in_form("new.contributor@test.example", &one_time))
        .await;
    let cookie = session_cookie_set(&response).expect("signed in with the one-time password");
    let page = app.request(with_cookie(&cookie).get("/account")).await;
    assert_eq!(page.headers()[header::LOCATION], "/account/password");
    let user = with_cookie(&cookie);
    let api = app
        .request(
            Request::get("/api/v1/me")
                .header("cookie", format!("pledge_session={cookie}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        body_json(api).await["error"]["code"],
        "password_change_required"
    );
    let html = body_text(app.request(user.get("/account/password")).await).await;
    assert!(html.contains("one-time password"));

    let duplicate = app
        .request(admin.api("POST", "/api/v1/users", Some(serde_json::json!({
            "email": "new.contributor@test.example", "display_name": "Again", "role": "viewer", "participant": "DEU"}))))
        .await;
    assert_eq!(duplicate.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body_json(duplicate).await["error"]["fields"]["email"],
        "A user with this e-mail address already exists."
    );
    let no_delegation = app
        .request(admin.api(
            "POST",
            "/api/v1/users",
            Some(serde_json::json!({
            "email": "x@test.example", "display_name": "X", "role": "head"})),
        ))
        .await;
    assert!(body_json(no_delegation).await["error"]["fields"]["participant"].is_string());
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'user.create'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_new_user_form_keeps_what_was_typed_and_names_the_field_in_error() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let response = app
        .request(admin.post_form(
            "/admin/users/new",
            "email=not-an-address&display_name=Kept+Name&role=viewer&participant=FRA",
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body_text(response).await;
    assert!(html.contains(r#"value="Kept Name""#) && html.contains(r#"value="not-an-address""#));
    assert!(html.contains(r#"id="email-error""#));
    assert!(html.contains(r#"<option value="FRA" selected>"#));
}

#[tokio::test]
async fn personal_tokens_act_as_their_owner_cannot_mint_tokens_and_stop_when_revoked() {
    let app = TestApp::spawn().await;
    let analyst = app.user("analyst", None).await;
    let response = app
        .request(analyst.api(
            "POST",
            "/api/v1/me/tokens",
            Some(serde_json::json!({"name": "nightly export"})),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created = body_json(response).await;
    let token = created["token"].as_str().unwrap().to_owned();
    let bearer = |method: &str, path: &str, body: Option<serde_json::Value>| {
        let builder = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"));
        match body {
            Some(json) => builder
                .header("content-type", "application/json")
                .body(Body::from(json.to_string()))
                .unwrap(),
            None => builder.body(Body::empty()).unwrap(),
        }
    };
    let me = app.request(bearer("GET", "/api/v1/me", None)).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(body_json(me).await["role"], "analyst");
    assert_eq!(
        app.request(bearer("GET", "/api/v1/users", None))
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "no more than the owner"
    );
    let mint = app
        .request(bearer(
            "POST",
            "/api/v1/me/tokens",
            Some(serde_json::json!({"name": "another"})),
        ))
        .await;
    assert_eq!(mint.status(), StatusCode::FORBIDDEN);
    let in_clear = app
        .count(&format!(
            "SELECT count(*) FROM api_tokens WHERE token_hash = convert_to('{token}', 'UTF8')"
        ))
        .await;
    assert_eq!(in_clear, 0);

    let id = created["id"].as_str().unwrap();
    let revoke = app
        .request(analyst.api("DELETE", &format!("/api/v1/me/tokens/{id}"), None))
        .await;
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    let after = app.request(bearer("GET", "/api/v1/me", None)).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let garbage = Request::get("/api/v1/me")
        .header("authorization", "Bearer pt_nonsense")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.request(garbage).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_api_signs_in_with_the_second_factor_in_the_same_call_and_signs_out() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let secret = admin.totp_secret.clone().unwrap();
    let call = |code: Option<String>| {
        Request::post("/api/v1/session")
            .header("content-type", "application/json")
            .body(Body::from(serde_json::json!({"email": admin.email, "password": PASSWORD, "second_factor": code}).to_string()))
            .unwrap()
    };
    let missing = app.request(call(None)).await;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        body_json(missing).await["error"]["code"],
        "second_factor_required"
    );
    let response = app
        .request(call(Some(totp::code_at(&secret, totp::current_step()))))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = session_cookie_set(&response).unwrap();
    let me = body_json(response).await;
    assert_eq!(me["role"], "admin");
    let user = TestUser {
        cookie,
        csrf: me["csrf_token"].as_str().unwrap().to_owned(),
        ..admin.clone()
    };
    assert_eq!(
        app.request(user.api("GET", "/api/v1/users", None))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.request(user.api("DELETE", "/api/v1/session", None))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.request(user.api("GET", "/api/v1/users", None))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn admins_see_and_end_anyones_sessions_and_every_step_is_audited() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let viewer = app.user("viewer", Some("DEU")).await;
    let sessions = body_json(
        app.request(admin.api(
            "GET",
            &format!("/api/v1/users/{}/sessions", viewer.id),
            None,
        ))
        .await,
    )
    .await;
    let handle = sessions[0]["handle"].as_str().unwrap().to_owned();
    let ended = app
        .request(admin.post_form(&format!("/admin/sessions/{handle}/end"), ""))
        .await;
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.request(viewer.api("GET", "/api/v1/me", None))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let role = app
        .request(admin.post_form(
            &format!("/admin/users/{}/role", viewer.id),
            "role=head&participant=DEU",
        ))
        .await;
    assert_eq!(role.status(), StatusCode::SEE_OTHER);
    let reset = app
        .request(admin.api(
            "POST",
            &format!("/api/v1/users/{}/reset-password", viewer.id),
            None,
        ))
        .await;
    assert_eq!(reset.status(), StatusCode::OK);
    let log = body_json(
        app.request(admin.api("GET", "/api/v1/audit-log", None))
            .await,
    )
    .await;
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.password_reset",
            "user.role_change",
            "auth.session_revoked"
        ]
    );
    assert_eq!(log[1]["details"]["new"]["role"], "head");
    let page = body_text(app.request(admin.get("/admin/audit")).await).await;
    assert!(page.contains("user.role_change"));
}

#[tokio::test]
async fn over_https_the_session_cookie_is_host_prefixed_and_secure_and_redirects_stay_local() {
    let mut config = pledge::config::WebConfig::default();
    config.auth.secure_cookies = true;
    let app = TestApp::spawn_with(config).await;
    let viewer = app.user("viewer", Some("FRA")).await;
    let request = anonymous_form(
        "/signin",
        &format!(
            "email={}&password={}&return_to={}",
            enc(&viewer.email),
            enc(PASSWORD),
            enc("https://evil.example/")
        ),
    );
    let response = app.request(request).await;
    assert_eq!(
        response.headers()[header::LOCATION],
        "/",
        "only local paths"
    );
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-pledge_session=")
            && cookie.contains("; Secure")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Domain="),
        "__Host- cookies carry no domain"
    );
}

#[tokio::test]
async fn a_second_factor_cannot_be_replaced_from_a_session_and_an_admin_can_remove_it() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let head = app.user("admin", None).await;
    let secret = totp::new_secret();
    let body = format!(
        "secret={}&code={}",
        totp::secret_base32(&secret),
        totp::code_at(&secret, totp::current_step())
    );
    let response = app
        .request(head.post_form("/account/second-factor", &body))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body_text(response).await.contains("already set up"));

    let reset = app
        .request(admin.post_form(&format!("/admin/users/{}/second-factor/reset", head.id), ""))
        .await;
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM users WHERE id = '{}' AND totp_secret IS NULL",
            head.id
        ))
        .await,
        1
    );
    assert_eq!(
        app.request(head.get("/account")).await.status(),
        StatusCode::SEE_OTHER,
        "their sessions ended"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'user.second_factor_reset'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_token_of_an_admin_without_a_second_factor_is_held_to_the_same_rule() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let created = body_json(
        app.request(admin.api(
            "POST",
            "/api/v1/me/tokens",
            Some(serde_json::json!({"name": "t"})),
        ))
        .await,
    )
    .await;
    let token = created["token"].as_str().unwrap().to_owned();
    let mut owner = app.db.owner().await;
    sqlx::query("UPDATE users SET totp_enabled_at = NULL, totp_secret = NULL WHERE id = $1")
        .bind(admin.id)
        .execute(&mut owner)
        .await
        .unwrap();
    let request = Request::get("/api/v1/users")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.request(request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        body_json(response).await["error"]["code"],
        "second_factor_enrolment_required"
    );
}

#[tokio::test]
async fn resetting_a_password_revokes_the_users_tokens() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let analyst = app.user("analyst", None).await;
    app.request(analyst.api(
        "POST",
        "/api/v1/me/tokens",
        Some(serde_json::json!({"name": "t"})),
    ))
    .await;
    app.request(admin.api(
        "POST",
        &format!("/api/v1/users/{}/reset-password", analyst.id),
        None,
    ))
    .await;
    assert_eq!(
        app.count("SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_throttled_and_otherwise_it_is_ignored() {
    for trust in [true, false] {
        let mut config = pledge::config::WebConfig::default();
        // Trusted: the peer below is the configured proxy; otherwise another address is.
        let proxy = if trust { "10.0.0.1" } else { "10.0.0.2" };
        config.auth.trusted_proxies = vec![proxy.parse().unwrap()];
        let app = TestApp::spawn_with(config).await;
        let mut request = from_address(
            sign_in_form("nobody@test.example", "wrong password 123"),
            "10.0.0.1",
        );
        request.headers_mut().insert(
            "x-forwarded-for",
            "203.0.113.5, 192.0.2.44".parse().unwrap(),
        );
        app.request(request).await;
        let key: String = {
            let mut owner = app.db.owner().await;
            sqlx::query_scalar("SELECT key FROM sign_in_throttle WHERE key LIKE 'address:%'")
                .fetch_one(&mut owner)
                .await
                .unwrap()
        };
        let expected = if trust {
            "address:192.0.2.44"
        } else {
            "address:10.0.0.1"
        };
        assert_eq!(key, expected);
    }
}

/// A six-digit code that the secret does not give for any step accepted now.
fn wrong_code(secret: &[u8]) -> String {
    let step = totp::current_step();
    let accepted: Vec<String> = (step - 1..=step + 1)
        .map(|s| totp::code_at(secret, s))
        .collect();
    ["000000", "111111"]
        .into_iter()
        .find(|code| !accepted.iter().any(|a| a == code))
        .unwrap()
        .to_owned()
}

/// Signs in with the right password on the page from `address`: the session awaiting its code.
async fn pending_second_factor(app: &TestApp, user: &TestUser, address: &str) -> Option<TestUser> {
    let response = app
        .request(from_address(sign_in_form(&user.email, PASSWORD), address))
        .await;
    let cookie = session_cookie_set(&response)?;
    let page = body_text(
        app.request(with_cookie(&cookie).get("/signin/second-factor"))
            .await,
    )
    .await;
    let csrf = page
        .split(r#"name="csrf_token" value=""#)
        .nth(1)?
        .split('"')
        .next()?
        .to_owned();
    Some(TestUser {
        cookie,
        csrf,
        ..user.clone()
    })
}

async fn failures(app: &TestApp, key: &str) -> i64 {
    app.count(&format!(
        "SELECT coalesce(sum(failures), 0)::bigint FROM sign_in_throttle WHERE key = '{key}'"
    ))
    .await
}

#[tokio::test]
async fn api_wrong_codes_with_the_right_password_block_the_account_and_then_even_the_right_code() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let secret = admin.totp_secret.clone().unwrap();
    let address = "192.0.2.7";
    let call = |code: String| {
        from_address(
            Request::post("/api/v1/session")
                .header("content-type", "application/json")
                .body(Body::from(
                    serde_json::json!({"email": admin.email, "password": PASSWORD, "second_factor": code})
                        .to_string(),
                ))
                .unwrap(),
            address,
        )
    };
    for _ in 0..5 {
        let response = app.request(call(wrong_code(&secret))).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(session_cookie_set(&response).is_none());
    }
    let account = format!("account:{}", admin.email.to_lowercase());
    assert_eq!(
        failures(&app, &account).await,
        5,
        "the right password does not wipe the wrong codes"
    );
    assert_eq!(failures(&app, &format!("address:{address}")).await, 5);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'auth.second_factor_failed'")
            .await,
        5
    );

    // Blocked: the right password with the right code gets the answer of any other refusal.
    let code = totp::code_at(&secret, totp::current_step());
    let blocked = app.request(call(code.clone())).await;
    assert_eq!(blocked.status(), StatusCode::UNAUTHORIZED);
    assert!(session_cookie_set(&blocked).is_none());
    assert_eq!(body_json(blocked).await["error"]["code"], "sign_in_failed");

    // Once the block has passed, the right code works and clears the account's count.
    let mut owner = app.db.owner().await;
    sqlx::query("UPDATE sign_in_throttle SET blocked_until = now() - interval '1 second'")
        .execute(&mut owner)
        .await
        .unwrap();
    let response = app.request(call(code)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(failures(&app, &account).await, 0);
}

#[tokio::test]
async fn page_wrong_codes_count_against_account_and_address_and_then_even_the_right_code_is_refused()
 {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let secret = admin.totp_secret.clone().unwrap();
    let address = "192.0.2.8";
    // A pending session kept from the start, to try the right code once blocked.
    let kept = pending_second_factor(&app, &admin, address).await.unwrap();
    for _ in 0..5 {
        // A fresh sign-in with the right password each time, as an attacker would.
        let pending = pending_second_factor(&app, &admin, address).await.unwrap();
        let refused = app
            .request(from_address(
                pending.post_form(
                    "/signin/second-factor",
                    &format!("code={}", wrong_code(&secret)),
                ),
                address,
            ))
            .await;
        assert!(session_cookie_set(&refused).is_none());
    }
    let account = format!("account:{}", admin.email.to_lowercase());
    assert_eq!(failures(&app, &account).await, 5);
    assert_eq!(failures(&app, &format!("address:{address}")).await, 5);

    // Blocked: the right password is refused like a wrong one, and the right code like a wrong one.
    assert!(
        pending_second_factor(&app, &admin, "198.51.100.9")
            .await
            .is_none(),
        "the account is blocked from every address"
    );
    let right = app
        .request(from_address(
            kept.post_form(
                "/signin/second-factor",
                &format!("code={}", totp::code_at(&secret, totp::current_step())),
            ),
            address,
        ))
        .await;
    assert!(session_cookie_set(&right).is_none());
    assert_eq!(
        app.request(with_cookie(&kept.cookie).get("/account"))
            .await
            .headers()[header::LOCATION],
        "/signin/second-factor",
        "the kept session still awaits its code"
    );
}

#[tokio::test]
async fn wrong_codes_from_one_address_block_that_address_for_every_account() {
    let app = TestApp::spawn().await;
    let address = "192.0.2.9";
    // 30 wrong codes spread over eight accounts: no account reaches its own limit.
    let mut admins = Vec::new();
    for _ in 0..8 {
        admins.push(app.user("admin", None).await);
    }
    for n in 0..30 {
        let admin = &admins[n / 4];
        let pending = pending_second_factor(&app, admin, address).await.unwrap();
        app.request(from_address(
            pending.post_form(
                "/signin/second-factor",
                &format!("code={}", wrong_code(admin.totp_secret.as_ref().unwrap())),
            ),
            address,
        ))
        .await;
    }
    let viewer = app.user("viewer", Some("FRA")).await;
    let from_attacker = app
        .request(from_address(sign_in_form(&viewer.email, PASSWORD), address))
        .await;
    assert!(session_cookie_set(&from_attacker).is_none());
}

/// Every request resolves its cookie or token before anything else, so that costs one statement
/// (one round trip, no transaction of its own); activity is still recorded at most once a
/// minute, and the lookup leaves the scope of a transaction that calls it as it was.
#[tokio::test]
async fn a_session_or_a_token_is_resolved_in_one_statement_that_records_activity_once_a_minute() {
    let app = TestApp::spawn().await;
    let viewer = app.user("viewer", Some("FRA")).await;
    let document = || Request::get("/api/v1/openapi.json");
    let anonymous = crate::reports::statements(async {
        let response = app.request(document().body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::OK);
    })
    .await;
    let last_seen = || async {
        let mut owner = app.db.owner().await;
        sqlx::query_scalar::<_, bool>(
            "SELECT last_seen_at > now() - interval '10 seconds' FROM sessions WHERE user_id = $1",
        )
        .bind(viewer.id)
        .fetch_one(&mut owner)
        .await
        .unwrap()
    };
    // The process starts listening for changes with its first session (a statement).
    let first = app.request(viewer.get("/api/v1/openapi.json")).await;
    assert_eq!(first.status(), StatusCode::OK);
    let mut owner = app.db.owner().await;
    sqlx::query(
        "UPDATE sessions SET last_seen_at = now() - interval '2 minutes' WHERE user_id = $1",
    )
    .bind(viewer.id)
    .execute(&mut owner)
    .await
    .unwrap();
    assert!(!last_seen().await);
    // The session changed (its activity moved back), so it is read and its activity recorded;
    // then it is kept in memory and costs nothing (activity moving forward is not announced).
    for (round, sent) in [("records the activity", 1), ("is kept", 0)] {
        let with_session = crate::reports::statements(async {
            let response = app.request(viewer.get("/api/v1/openapi.json")).await;
            assert_eq!(response.status(), StatusCode::OK);
        })
        .await;
        assert_eq!(with_session, anonymous + sent, "a session that {round}");
        assert!(last_seen().await, "a session that {round}");
    }

    let created = app
        .request(viewer.api(
            "POST",
            "/api/v1/me/tokens",
            Some(serde_json::json!({"name": "reader"})),
        ))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let token = body_json(created).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let with_token = crate::reports::statements(async {
        let response = app
            .request(
                document()
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    })
    .await;
    assert_eq!(with_token, anonymous + 1, "a token");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM api_tokens WHERE last_used_at > now() - interval '10 seconds'"
        )
        .await,
        1,
        "the token's use is recorded"
    );

    // The functions carry the authenticator scope themselves and give the caller's back.
    let mut tx = pledge::storage::begin(
        &app.state.db,
        &pledge::storage::Scope::User {
            user_id: viewer.id,
            role: pledge::domain::role::Role::Analyst,
        },
    )
    .await
    .unwrap();
    let found: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM resolve_session('\\x00'::bytea, interval '30 minutes')",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(found, 0);
    let role_after: String = sqlx::query_scalar("SELECT current_setting('pledge.role')")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(role_after, "analyst");
}

/// A live session is kept in memory (`storage::coherence`), yet whatever is committed before a
/// request arrives, here by a connection of its own as another process would, decides that
/// request: a password change demanded and lifted a hundred times, each seen by the very next
/// request, then the session ended. Without a change, the session costs no statement.
#[tokio::test]
async fn a_session_kept_in_memory_never_outlives_a_change_committed_elsewhere() {
    let app = TestApp::spawn().await;
    let viewer = app.user("viewer", Some("FRA")).await;
    let mut owner = app.db.owner().await;
    let me = || async { app.request(viewer.get("/api/v1/me")).await.status() };
    assert_eq!(me().await, StatusCode::OK);
    for round in 0..100 {
        let demanded = round % 2 == 0;
        sqlx::query("UPDATE users SET must_change_password = $1 WHERE id = $2")
            .bind(demanded)
            .bind(viewer.id)
            .execute(&mut owner)
            .await
            .unwrap();
        let expected = if demanded {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::OK
        };
        // Twice: the first read may be the one that keeps it; the second answers from memory.
        assert_eq!(me().await, expected, "round {round}");
        assert_eq!(me().await, expected, "round {round}, kept");
    }
    let kept = crate::reports::statements(async {
        let response = app.request(viewer.get("/api/v1/openapi.json")).await;
        assert_eq!(response.status(), StatusCode::OK);
    })
    .await;
    assert_eq!(kept, 0, "a kept session is not read again");
    // A migration fires no trigger but may redefine what the session was read with: running
    // them (here, none pending) announces that anything may have changed.
    pledge::storage::migrate(&mut owner).await.unwrap();
    let after_migrations = crate::reports::statements(async {
        let response = app.request(viewer.get("/api/v1/openapi.json")).await;
        assert_eq!(response.status(), StatusCode::OK);
    })
    .await;
    assert_eq!(after_migrations, 1, "migrations void every kept session");

    sqlx::query("UPDATE sessions SET ended_at = now(), end_reason = 'revoked' WHERE user_id = $1")
        .bind(viewer.id)
        .execute(&mut owner)
        .await
        .unwrap();
    assert_eq!(me().await, StatusCode::UNAUTHORIZED, "an ended session");
}

/// When the connection that listens for changes is lost, nothing is answered from memory until
/// it is back (a change made meanwhile may not have been announced to it), and then it is again.
#[tokio::test]
async fn a_lost_listening_connection_makes_every_request_read_its_session_again() {
    let app = TestApp::spawn().await;
    let viewer = app.user("viewer", Some("FRA")).await;
    let mut owner = app.db.owner().await;
    let me = || async { app.request(viewer.get("/api/v1/me")).await.status() };
    assert_eq!(me().await, StatusCode::OK);
    assert_eq!(me().await, StatusCode::OK);
    let ended: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_one(&mut app.db.superuser().await)
    .await
    .unwrap();
    assert_eq!(ended, 1, "one listening connection");
    sqlx::query("UPDATE users SET must_change_password = true WHERE id = $1")
        .bind(viewer.id)
        .execute(&mut owner)
        .await
        .unwrap();
    assert_eq!(me().await, StatusCode::FORBIDDEN, "read again, not kept");
    sqlx::query("UPDATE users SET must_change_password = false WHERE id = $1")
        .bind(viewer.id)
        .execute(&mut owner)
        .await
        .unwrap();
    assert_eq!(me().await, StatusCode::OK);
    // Listening again once it reconnects (it waits a second after a failure; the loop allows
    // fifteen, for a loaded machine): the session is kept again.
    let mut kept = usize::MAX;
    for _ in 0..150 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(me().await, StatusCode::OK);
        kept = crate::reports::statements(async {
            let response = app.request(viewer.get("/api/v1/openapi.json")).await;
            assert_eq!(response.status(), StatusCode::OK);
        })
        .await;
        if kept == 0 {
            break;
        }
    }
    assert_eq!(
        kept, 0,
        "the session is kept again once the listener is back"
    );
}
