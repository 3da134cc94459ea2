//! The authorization matrix, kept as data: every route × {anonymous, admin, analyst, head,
//! contributor, viewer} × {own participant, another participant, a record that does not exist}.
//! A route missing from the matrix fails the first test; a wrong answer, or a denied write that
//! changed the database, fails the second.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use pledge::auth::{secrets, totp};
use uuid::Uuid;

use crate::support::{PASSWORD, TestApp, TestUser};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Everyone, signed in or not.
    Public,
    /// Any signed-in user.
    SignedIn,
    /// Only a session awaiting its second factor (fully signed-in users get 404).
    PendingSecondFactor,
    /// Admins; a record that does not exist is 404.
    Admin,
    /// Any signed-in user, on their own token only (another's is 404, like a missing one).
    OwnToken,
}

/// What a request body looks like; `{unique}` and `{password}` are filled in per request.
#[derive(Debug, Clone, Copy)]
enum Payload {
    None,
    Form(&'static str),
    Json(&'static str),
    /// The second-factor enrolment form: a fresh secret and its current code.
    TotpEnrolment,
}

struct Row {
    method: &'static str,
    path: &'static str,
    access: Access,
    payload: Payload,
}

const fn row(method: &'static str, path: &'static str, access: Access, payload: Payload) -> Row {
    Row {
        method,
        path,
        access,
        payload,
    }
}

use Access::*;
use Payload::*;

const MATRIX: &[Row] = &[
    // Probes, assets and the OpenAPI document.
    row("GET", "/livez", Public, None),
    row("GET", "/readyz", Public, None),
    row("GET", "/static/app.css", Public, None),
    row("GET", "/api/v1/openapi.json", Public, None),
    // Pages.
    row("GET", "/", Public, None),
    row("POST", "/language", Public, Form("lang=fr&return_to=%2F")),
    row("GET", "/signin", Public, None),
    row(
        "POST",
        "/signin",
        Public,
        Form("email=nobody%40test.example&password=wrong-password-1"),
    ),
    row("GET", "/signin/second-factor", PendingSecondFactor, None),
    row(
        "POST",
        "/signin/second-factor",
        PendingSecondFactor,
        Form("code=000000"),
    ),
    row("POST", "/signout", Public, None),
    row("GET", "/account", SignedIn, None),
    row("GET", "/account/password", SignedIn, None),
    row(
        "POST",
        "/account/password",
        SignedIn,
        Form(
            "current_password={password}&new_password=violet+harbour+engine+47&confirm_password=violet+harbour+engine+47",
        ),
    ),
    row("GET", "/account/second-factor", SignedIn, None),
    row("POST", "/account/second-factor", SignedIn, TotpEnrolment),
    row("POST", "/account/tokens", SignedIn, Form("name=script")),
    row("POST", "/account/tokens/{token}/revoke", OwnToken, None),
    row("GET", "/admin/users", Admin, None),
    row("GET", "/admin/users/new", Admin, None),
    row(
        "POST",
        "/admin/users/new",
        Admin,
        Form("email={unique}%40test.example&display_name=New+User&role=viewer&participant=FRA"),
    ),
    row("GET", "/admin/users/{user}", Admin, None),
    row(
        "POST",
        "/admin/users/{user}/role",
        Admin,
        Form("role=head&participant=FRA"),
    ),
    row("POST", "/admin/users/{user}/disable", Admin, None),
    row("POST", "/admin/users/{user}/enable", Admin, None),
    row("POST", "/admin/users/{user}/reset-password", Admin, None),
    row(
        "POST",
        "/admin/users/{user}/second-factor/reset",
        Admin,
        None,
    ),
    row("POST", "/admin/users/{user}/sessions/end", Admin, None),
    row("POST", "/admin/sessions/{session}/end", Admin, None),
    row("GET", "/admin/audit", Admin, None),
    // API.
    row(
        "POST",
        "/api/v1/session",
        Public,
        Json(r#"{"email": "nobody@test.example", "password": "wrong-password-1"}"#),
    ),
    row("DELETE", "/api/v1/session", Public, None),
    row("GET", "/api/v1/me", SignedIn, None),
    row(
        "POST",
        "/api/v1/me/password",
        SignedIn,
        Json(r#"{"current_password": "{password}", "new_password": "violet harbour engine 47"}"#),
    ),
    row("GET", "/api/v1/me/tokens", SignedIn, None),
    row(
        "POST",
        "/api/v1/me/tokens",
        SignedIn,
        Json(r#"{"name": "script"}"#),
    ),
    row("DELETE", "/api/v1/me/tokens/{token}", OwnToken, None),
    row("GET", "/api/v1/participants", SignedIn, None),
    row("GET", "/api/v1/users", Admin, None),
    row(
        "POST",
        "/api/v1/users",
        Admin,
        Json(
            r#"{"email": "{unique}@test.example", "display_name": "New User", "role": "viewer", "participant": "FRA"}"#,
        ),
    ),
    row("GET", "/api/v1/users/{user}", Admin, None),
    row(
        "PUT",
        "/api/v1/users/{user}/role",
        Admin,
        Json(r#"{"role": "head", "participant": "FRA"}"#),
    ),
    row("POST", "/api/v1/users/{user}/disable", Admin, None),
    row("POST", "/api/v1/users/{user}/enable", Admin, None),
    row("POST", "/api/v1/users/{user}/reset-password", Admin, None),
    row(
        "POST",
        "/api/v1/users/{user}/second-factor/reset",
        Admin,
        None,
    ),
    row("GET", "/api/v1/users/{user}/sessions", Admin, None),
    row("DELETE", "/api/v1/users/{user}/sessions", Admin, None),
    row("DELETE", "/api/v1/sessions/{session}", Admin, None),
    row("GET", "/api/v1/audit-log", Admin, None),
];

const ROLES: [&str; 6] = [
    "anonymous",
    "admin",
    "analyst",
    "head",
    "contributor",
    "viewer",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Own,
    Other,
    Missing,
}

/// Every route the application serves, from the page table and the OpenAPI document.
fn served_routes() -> BTreeSet<(String, String)> {
    let mut routes: BTreeSet<(String, String)> = pledge::web::pages::routes()
        .iter()
        .map(|route| (route.method.to_string(), route.path.to_owned()))
        .collect();
    let document = serde_json::to_value(pledge::web::api::openapi_document()).unwrap();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            routes.insert((method.to_uppercase(), path.clone()));
        }
    }
    routes.insert(("GET".into(), pledge::web::api::OPENAPI_PATH.into()));
    routes.insert(("GET".into(), "/static/app.css".into()));
    routes
}

#[test]
fn every_served_route_is_in_the_matrix_and_every_row_is_served() {
    let in_matrix: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    let served = served_routes();
    let missing: Vec<_> = served.difference(&in_matrix).collect();
    let stale: Vec<_> = in_matrix.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the authorization matrix: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "matrix rows for routes that are not served: {stale:?}"
    );
    assert_eq!(
        in_matrix.len(),
        MATRIX.len(),
        "a route appears twice in the matrix"
    );
}

/// The people and records one row is tried against.
struct Fixture {
    actors: Vec<(&'static str, Option<TestUser>)>,
    own_user: TestUser,
    other_user: TestUser,
    own_session: Uuid,
    other_session: Uuid,
    other_token: Uuid,
    actor_tokens: Vec<Uuid>,
}

async fn token_for(app: &TestApp, user: Uuid) -> Uuid {
    let mut owner = app.db.owner().await;
    pledge::storage::tokens::insert(
        &mut owner,
        user,
        "fixture",
        &secrets::sha256(&secrets::random_hex(16)),
        Option::None,
    )
    .await
    .unwrap()
}

async fn session_handle(app: &TestApp, user: Uuid) -> Uuid {
    let mut owner = app.db.owner().await;
    sqlx::query_scalar(
        "SELECT handle FROM sessions WHERE user_id = $1 AND ended_at IS NULL LIMIT 1",
    )
    .bind(user)
    .fetch_one(&mut owner)
    .await
    .unwrap()
}

async fn fixture(app: &TestApp) -> Fixture {
    let mut actors = vec![("anonymous", Option::None)];
    let mut actor_tokens = vec![Uuid::new_v4()];
    for role in &ROLES[1..] {
        let participant = matches!(*role, "head" | "contributor" | "viewer").then_some("FRA");
        let user = app.user(role, participant).await;
        actor_tokens.push(token_for(app, user.id).await);
        actors.push((*role, Some(user)));
    }
    let own_user = app.user("viewer", Some("FRA")).await;
    let other_user = app.user("contributor", Some("DEU")).await;
    Fixture {
        own_session: session_handle(app, own_user.id).await,
        other_session: session_handle(app, other_user.id).await,
        other_token: token_for(app, other_user.id).await,
        actors,
        actor_tokens,
        own_user,
        other_user,
    }
}

/// A digest of everything a denied request must leave alone.
async fn state_digest(app: &TestApp) -> String {
    let mut owner = app.db.owner().await;
    sqlx::query_scalar(
        "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
             SELECT 'u' || u::text AS x FROM users u
             UNION ALL SELECT 'm' || m::text FROM delegation_memberships m
             UNION ALL SELECT 'r' || r::text FROM recovery_codes r
             UNION ALL SELECT 't' || (t.id, t.user_id, t.name, t.revoked_at)::text FROM api_tokens t
             UNION ALL SELECT 's' || (s.id_hash, s.ended_at, s.end_reason, s.fully_authenticated)::text FROM sessions s
             UNION ALL SELECT 'p' || p::text FROM participants p) all_rows",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap()
}

fn expected(access: Access, role: &str, target: Target) -> Expect {
    let anonymous = role == "anonymous";
    match access {
        Public => Expect::Allowed,
        _ if anonymous => Expect::Unauthenticated,
        SignedIn => Expect::Allowed,
        PendingSecondFactor => Expect::NotFound,
        Admin if role != "admin" => Expect::Forbidden,
        Admin | OwnToken => match target {
            Target::Own if access == Admin => Expect::Allowed,
            Target::Own => Expect::Allowed,
            Target::Other if access == Admin => Expect::Allowed,
            Target::Other | Target::Missing => Expect::NotFound,
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Unauthenticated,
    Forbidden,
    NotFound,
}

fn build(row: &Row, path: &str, actor: Option<&TestUser>) -> Request<Body> {
    let unique = Uuid::new_v4().simple().to_string();
    let fill = |text: &str| {
        text.replace("{unique}", &unique)
            .replace("{password}", &PASSWORD.replace(' ', "+"))
    };
    let is_api = path.starts_with("/api/");
    let mut builder = Request::builder().method(row.method).uri(path);
    if let Some(user) = actor {
        builder = builder.header(header::COOKIE, format!("pledge_session={}", user.cookie));
        if is_api {
            builder = builder.header("x-csrf-token", &user.csrf);
        }
    }
    let csrf = actor.map(|u| u.csrf.clone()).unwrap_or_default();
    let form = |body: String| format!("csrf_token={csrf}&{body}");
    match row.payload {
        None if row.method != "GET" && !is_api => builder
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form(String::new())))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
        Form(body) => builder
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form(fill(body))))
            .unwrap(),
        Json(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                fill(body).replace(&PASSWORD.replace(' ', "+"), PASSWORD),
            ))
            .unwrap(),
        TotpEnrolment => {
            let secret = totp::new_secret();
            let body = format!(
                "secret={}&code={}",
                totp::secret_base32(&secret),
                totp::code_at(&secret, totp::current_step())
            );
            builder
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form(body)))
                .unwrap()
        }
    }
}

fn outcome(status: StatusCode, location: Option<&str>, is_api: bool) -> Option<Expect> {
    let to_sign_in =
        location.is_some_and(|l| l.starts_with("/signin?") || l == "/signin/second-factor");
    match status {
        StatusCode::UNAUTHORIZED if is_api => Some(Expect::Unauthenticated),
        StatusCode::SEE_OTHER if !is_api && to_sign_in => Some(Expect::Unauthenticated),
        StatusCode::FORBIDDEN => Some(Expect::Forbidden),
        StatusCode::NOT_FOUND => Some(Expect::NotFound),
        // Past authorization: done, or refused for what was sent (the matrix checks who may
        // call, the feature tests check the input).
        s if s.is_success() || s.is_redirection() || s == StatusCode::UNPROCESSABLE_ENTITY => {
            Some(Expect::Allowed)
        }
        // The refused sign-in answers 401 by design: it is still an allowed call.
        StatusCode::UNAUTHORIZED => Option::None,
        _ => Option::None,
    }
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_matrix_says_and_denied_writes_change_nothing() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for row in MATRIX {
        let app = TestApp::spawn().await;
        let fx = fixture(&app).await;
        let is_api = row.path.starts_with("/api/");
        for (index, (role, actor)) in fx.actors.iter().enumerate() {
            let targets: &[Target] = if row.path.contains('{') {
                &[Target::Own, Target::Other, Target::Missing]
            } else {
                &[Target::Own]
            };
            for &target in targets {
                let id = |own: Uuid, other: Uuid| match target {
                    Target::Own => own,
                    Target::Other => other,
                    Target::Missing => Uuid::new_v4(),
                };
                let path = row
                    .path
                    .replace("{user}", &id(fx.own_user.id, fx.other_user.id).to_string())
                    .replace(
                        "{session}",
                        &id(fx.own_session, fx.other_session).to_string(),
                    )
                    .replace(
                        "{token}",
                        &id(fx.actor_tokens[index], fx.other_token).to_string(),
                    );
                let before = state_digest(&app).await;
                let response = app.request(build(row, &path, actor.as_ref())).await;
                let status = response.status();
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let got = outcome(status, location.as_deref(), is_api);
                let want = expected(row.access, role, target);
                // The API's refused sign-in (401 sign_in_failed) is the allowed answer to bad credentials.
                let sign_in_refusal = row.path == "/api/v1/session"
                    && row.method == "POST"
                    && status == StatusCode::UNAUTHORIZED;
                if !(got == Some(want) || sign_in_refusal) {
                    failures.push(format!("{} {path} as {role} ({target:?}): want {want:?}, got {status} {location:?}", row.method));
                }
                if row.method != "GET"
                    && want != Expect::Allowed
                    && state_digest(&app).await != before
                {
                    failures.push(format!(
                        "{} {path} as {role} ({target:?}) was refused but changed the database",
                        row.method
                    ));
                }
                checked += 1;
            }
        }
        let _ = &fx.other_user;
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 300, "only {checked} checks ran");
}
