//! Feedback after an action: post/redirect/get with a message shown once on the next page.

use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};

use crate::support::{TestApp, TestUser, body_text};

/// The page a redirect leads to, asked for as a browser would: with the session cookie and
/// the message cookie the redirect set.
pub fn follow(user: &TestUser, redirect: &Response<Body>) -> Request<Body> {
    let location = redirect
        .headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .expect("a redirect");
    let mut cookies = vec![format!("pledge_session={}", user.cookie)];
    cookies.extend(
        redirect
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| value.split(';').next())
            .filter(|pair| pair.starts_with("pledge_flash="))
            .map(str::to_owned),
    );
    Request::get(location)
        .header("cookie", cookies.join("; "))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn adding_a_participant_says_so_once_on_the_page_it_leads_to() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let added = app
        .request(admin.post_form("/participants/new", "code=ukr&name_en=Ukraine"))
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let next = app.request(follow(&admin, &added)).await;
    let clears = next
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|value| value.to_str().unwrap().starts_with("pledge_flash=;"));
    let html = body_text(next).await;
    assert!(
        html.contains(r#"class="flash" role="status""#) && html.contains("Participant UKR added."),
        "the message shows on the next page"
    );
    assert!(
        clears,
        "the page removes the message so a reload does not repeat it"
    );
    let again = body_text(app.request(admin.get("/participants")).await).await;
    assert!(!again.contains("Participant UKR added."));
}

#[tokio::test]
async fn a_forged_message_cookie_shows_nothing_but_catalogue_messages() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let forged = Request::get("/participants")
        .header(
            "cookie",
            format!(
                "pledge_session={}; pledge_flash=k=%3Cscript%3E&a=%3Cb%3Ex",
                admin.cookie
            ),
        )
        .body(Body::empty())
        .unwrap();
    let html = body_text(app.request(forged).await).await;
    assert!(!html.contains(r#"class="flash""#));
    let escaped = Request::get("/participants")
        .header(
            "cookie",
            format!(
                "pledge_session={}; pledge_flash=k=flash.participant_added&a=%3Cb%3Ex",
                admin.cookie
            ),
        )
        .body(Body::empty())
        .unwrap();
    let html = body_text(app.request(escaped).await).await;
    assert!(
        html.contains("Participant &#60;b&#62;x added.")
            || html.contains("Participant &lt;b&gt;x added.")
    );
}
