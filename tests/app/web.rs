//! The router's cross-cutting behaviour: probes, pages, languages, errors, headers, OpenAPI.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::support::{TestApp, body_json, body_text};

#[tokio::test]
async fn livez_and_readyz_answer_ok_while_the_database_is_reachable() {
    let app = TestApp::spawn().await;
    let live = app.get("/livez").await;
    assert_eq!(live.status(), StatusCode::OK);
    assert_eq!(body_json(live).await["status"], "ok");
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn readyz_answers_503_once_shutdown_begins_while_livez_stays_ok() {
    let app = TestApp::spawn().await;
    app.state.begin_shutdown();
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body_json(ready).await["status"], "shutting_down");
    assert_eq!(app.get("/livez").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn readyz_answers_503_and_pages_503_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    // Home reads the database for a signed-in user (a signed-out visitor's needs none).
    let analyst = app.user("analyst", None).await;
    app.state.db.close().await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body_json(ready).await["status"], "database_unreachable");
    let home = app.request(analyst.get("/")).await;
    assert_eq!(home.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = body_text(home).await;
    assert!(html.contains("cannot reach its database"), "{html}");
}

#[tokio::test]
async fn signed_in_api_calls_answer_503_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    let analyst = app.user("analyst", None).await;
    app.state.db.close().await;
    let api = app
        .request(analyst.api("GET", "/api/v1/participants", None))
        .await;
    assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body_json(api).await["error"]["code"], "unavailable");
}

#[tokio::test]
async fn the_home_page_renders_in_english_and_shows_the_way_in() {
    let app = TestApp::spawn().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let html = body_text(response).await;
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains("Cyber Defence Pledge tracking"));
    assert!(
        html.contains(r#"<a class="button" href="/signin">Sign in</a>"#),
        "the way in: {html}"
    );
}

#[tokio::test]
async fn pages_follow_the_browser_language_and_the_chosen_language_cookie() {
    let app = TestApp::spawn().await;
    let french_browser = Request::get("/signin")
        .header(header::ACCEPT_LANGUAGE, "fr-BE,fr;q=0.9")
        .body(Body::empty())
        .unwrap();
    let html = body_text(app.request(french_browser).await).await;
    assert!(html.contains(r#"<html lang="fr">"#));
    assert!(html.contains("Mot de passe"));

    let english_choice = Request::get("/signin")
        .header(header::ACCEPT_LANGUAGE, "fr")
        .header(header::COOKIE, "pledge_lang=en")
        .body(Body::empty())
        .unwrap();
    assert!(
        body_text(app.request(english_choice).await)
            .await
            .contains("Password")
    );
}

#[tokio::test]
async fn choosing_a_language_sets_the_cookie_and_returns_only_to_local_paths() {
    let app = TestApp::spawn().await;
    let choose = |return_to: &str| {
        Request::post("/language")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("lang=fr&return_to={return_to}")))
            .unwrap()
    };
    let response = app.request(choose("%2Fsignin")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/signin");
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with("pledge_lang=fr;") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    let response = app.request(choose("https%3A%2F%2Fevil.example%2F")).await;
    assert_eq!(response.headers()[header::LOCATION], "/");
}

#[tokio::test]
async fn an_unknown_language_is_refused_with_a_message_naming_the_field() {
    let app = TestApp::spawn().await;
    let request = Request::post("/language")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT_LANGUAGE, "fr")
        .body(Body::from("lang=de"))
        .unwrap();
    let response = app.request(request).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body_text(response).await.contains("Certains champs"));
}

#[tokio::test]
async fn state_changing_requests_from_another_site_are_refused() {
    let app = TestApp::spawn().await;
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let request = Request::post("/language")
            .header(header::HOST, "localhost:8080")
            .header(name, value)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("lang=fr"))
            .unwrap();
        let response = app.request(request).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}: {value}");
        assert!(response.headers().get(header::SET_COOKIE).is_none());
    }
    let same_origin = Request::post("/language")
        .header(header::HOST, "localhost:8080")
        .header(header::ORIGIN, "http://localhost:8080")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("lang=fr"))
        .unwrap();
    assert_eq!(
        app.request(same_origin).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/", "/livez", "/api/v1/participants", "/no-such-page"] {
        let response = app.get(path).await;
        let headers = response.headers();
        assert!(
            headers.get("x-request-id").is_some_and(|id| id.len() >= 32),
            "{path}"
        );
        assert!(
            headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert!(headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
    }
    let given = Request::get("/livez")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.request(given).await.headers()["x-request-id"],
        "abc-123"
    );
}

#[tokio::test]
async fn unknown_paths_get_an_html_page_or_a_json_error_by_area() {
    let app = TestApp::spawn().await;
    let page = app.get("/no-such-page").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(body_text(page).await.contains("Page not found"));
    let api = app.get("/api/v1/no-such-thing").await;
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    let body = body_json(api).await;
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"].as_str().unwrap().len() > 10);
}

#[tokio::test]
async fn the_participants_api_lists_the_32_allies_to_signed_in_users_only() {
    let app = TestApp::spawn().await;
    let anonymous = app.get("/api/v1/participants").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        body_json(anonymous).await["error"]["code"],
        "unauthenticated"
    );
    let viewer = app.user("viewer", Some("FRA")).await;
    let response = app
        .request(viewer.api("GET", "/api/v1/participants", None))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = body_json(response).await;
    let list = body.as_array().unwrap();
    let mut owner = app.db.owner().await;
    let in_database: i64 = sqlx::query_scalar("SELECT count(*) FROM participants")
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert_eq!(list.len() as i64, in_database);
    assert_eq!(list.len(), 32);
    let france = list.iter().find(|p| p["code"] == "FRA").unwrap();
    assert_eq!(france["name_fr"], "France");
    assert_eq!(france["accession_date"], "1949-08-24");
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route_and_the_error_body() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let document = body_json(response).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/api/v1/participants",
        "/api/v1/session",
        "/api/v1/users/{user}",
        "/livez",
        "/readyz",
    ] {
        assert!(paths.contains_key(path), "{path} missing from {paths:?}");
    }
    assert!(document["components"]["schemas"]["ErrorBody"].is_object());
    assert_eq!(
        document,
        serde_json::to_value(pledge::web::api::openapi_document()).unwrap()
    );
}

#[tokio::test]
async fn the_stylesheet_is_served_and_may_be_cached() {
    let app = TestApp::spawn().await;
    let response = app.get("/static/app.css").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert!(body_text(response).await.contains("@media print"));
}
