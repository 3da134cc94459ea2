//! The assessment form: saving answers on pages and through the API, progress, validation that
//! keeps what was typed, and conflicts that never overwrite silently.

use axum::http::{StatusCode, header};
use serde_json::{Value, json};

use crate::support::{TestApp, TestUser, body_json, body_text};

/// An open GCI cycle; returns the admin and FRA's assessment id.
pub(crate) async fn open_cycle(app: &TestApp) -> (TestUser, String) {
    let (admin, _, assessment) = open_gci_cycle(app).await;
    (admin, assessment)
}

/// An open GCI cycle; returns the admin, the cycle id and FRA's assessment id.
pub(crate) async fn open_gci_cycle(app: &TestApp) -> (TestUser, String, String) {
    open_cycle_of(app, "itu-gci-2020.json").await
}

/// An open cycle of a framework from `fixtures/frameworks/`; returns the admin, the cycle id
/// and FRA's assessment id.
pub(crate) async fn open_cycle_of(app: &TestApp, fixture: &str) -> (TestUser, String, String) {
    let admin = app.user("admin", None).await;
    let document = std::fs::read_to_string(format!(
        "{}/fixtures/frameworks/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut import = admin.api("POST", "/api/v1/frameworks", None);
    *import.body_mut() = document.into();
    import
        .headers_mut()
        .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    let framework = body_json(app.request(import).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cycle = json!({"framework_id": framework, "code": "2026", "title_en": "2026", "opens_on": "2026-09-01", "deadline": "2099-12-31"});
    let cycle = body_json(
        app.request(admin.api("POST", "/api/v1/cycles", Some(cycle)))
            .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.request(admin.api("POST", &format!("/api/v1/cycles/{cycle}/open"), None))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let board: Value = body_json(
        app.request(admin.api(
            "GET",
            &format!("/api/v1/cycles/{cycle}/status?search=FRA"),
            None,
        ))
        .await,
    )
    .await;
    let assessment = board[0]["assessment_id"].as_str().unwrap().to_owned();
    (admin, cycle, assessment)
}

#[tokio::test]
async fn a_contributor_saves_answers_and_the_form_shows_progress_and_what_is_missing() {
    let app = TestApp::spawn().await;
    let (_, assessment) = open_cycle(&app).await;
    let contributor = app.user("contributor", Some("FRA")).await;
    let page = body_text(
        app.request(contributor.get(&format!("/assessments/{assessment}")))
            .await,
    )
    .await;
    assert!(
        page.contains("0 / 5")
            && page.contains(&format!(
                r#"href="/assessments/{assessment}/sections/LEGAL""#
            ))
            && status_of(&page, "LEGAL") == "Not started",
        "nothing answered, every section to do"
    );
    let saved = app.request(contributor.post_form(&format!("/assessments/{assessment}/goals/legal"), "value=18.75&target=19.5&implementation_status=in_progress&narrative=Law+passed&row_version=0")).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        saved.headers()[header::LOCATION],
        format!("/assessments/{assessment}/sections/LEGAL#goal-legal"),
        "back to the goal on its section page"
    );
    let page = body_text(
        app.request(contributor.get(&format!("/assessments/{assessment}")))
            .await,
    )
    .await;
    assert!(page.contains("1 / 5") && status_of(&page, "LEGAL") == "Completed");
    let section = body_text(
        app.request(contributor.get(&format!("/assessments/{assessment}/sections/LEGAL")))
            .await,
    )
    .await;
    assert!(section.contains(r#"value="18.75""#));
    let na = app
        .request(contributor.post_form(
            &format!("/assessments/{assessment}/goals/cooperation"),
            "not_applicable=1&na_justification=Handled+by+a+regional+body&row_version=0",
        ))
        .await;
    assert_eq!(na.status(), StatusCode::SEE_OTHER);
    let page = body_text(
        app.request(contributor.get(&format!("/assessments/{assessment}")))
            .await,
    )
    .await;
    assert!(
        page.contains("1 / 4"),
        "a goal that does not apply leaves the count"
    );
    assert_eq!(app.count(&format!("SELECT count(*) FROM assessments WHERE id = '{assessment}' AND state = 'draft' AND last_activity_at IS NOT NULL")).await, 1);
    let details: Value = {
        let mut owner = app.db.owner().await;
        sqlx::query_scalar(
            "SELECT details FROM audit_log WHERE action = 'answer.update' ORDER BY seq LIMIT 1",
        )
        .fetch_one(&mut owner)
        .await
        .unwrap()
    };
    assert_eq!(details["old"], Value::Null);
    assert_eq!(details["new"]["value"], "18.75");
}

#[tokio::test]
async fn invalid_values_are_refused_at_the_field_and_keep_what_was_typed() {
    let app = TestApp::spawn().await;
    let (_, assessment) = open_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    let response = app
        .request(head.post_form(
            &format!("/assessments/{assessment}/goals/technical"),
            "value=25&narrative=Kept+narrative&row_version=0",
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body_text(response).await;
    assert!(
        html.contains("outside the goal&#39;s range") || html.contains("outside the goal's range"),
        "{html}"
    );
    assert!(html.contains(r#"value="25""#) && html.contains("Kept narrative"));
    let na = app
        .request(head.post_form(
            &format!("/assessments/{assessment}/goals/technical"),
            "not_applicable=1&row_version=0",
        ))
        .await;
    assert!(
        body_text(na)
            .await
            .contains("Say why the goal does not apply.")
    );
    assert_eq!(
        app.count("SELECT count(*) FROM answers").await,
        0,
        "nothing was written"
    );
}

/// The autosave script's request: the form's fields, asking for JSON.
fn autosave(user: &TestUser, path: &str, body: &str) -> axum::http::Request<axum::body::Body> {
    let mut request = user.post_form(path, body);
    request
        .headers_mut()
        .insert(header::ACCEPT, "application/json".parse().unwrap());
    request
}

#[tokio::test]
async fn with_javascript_the_form_saves_as_the_user_goes_and_says_so() {
    let app = TestApp::spawn().await;
    let (_, assessment) = open_cycle(&app).await;
    let contributor = app.user("contributor", Some("FRA")).await;
    let page = body_text(
        app.request(contributor.get(&format!("/assessments/{assessment}/sections/LEGAL")))
            .await,
    )
    .await;
    assert!(page.contains(r#"<script src="/static/autosave.js" defer></script>"#));
    assert!(page.contains(&format!(
        r#"data-autosave-url="/assessments/{assessment}/goals/legal""#
    )));
    assert!(page.contains("data-autosave") && page.contains("data-autosave-status"));
    let script = app.get("/static/autosave.js").await;
    assert_eq!(
        script.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert!(body_text(script).await.contains("form[data-autosave]"));

    // Each save answers with the version to send next, so typing on keeps saving.
    let path = format!("/assessments/{assessment}/goals/legal");
    let saved = app
        .request(autosave(
            &contributor,
            &path,
            "value=11&narrative=Dra&row_version=0",
        ))
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let saved = body_json(saved).await;
    assert_eq!(saved["row_version"], 1);
    let at = saved["saved_at"].as_str().unwrap();
    assert!(
        at.len() == 5 && at.as_bytes()[2] == b':',
        "the time of the save, to the minute: {at}"
    );
    assert_eq!(saved["message"], format!("Saved at {at}"));
    let saved = app
        .request(autosave(
            &contributor,
            &path,
            "value=11&narrative=Draft&row_version=1",
        ))
        .await;
    assert_eq!(body_json(saved).await["row_version"], 2);

    // An invalid value is named in the user's language and nothing is written.
    let invalid = app
        .request(autosave(
            &contributor,
            &path,
            "value=99&narrative=Draft&row_version=2",
        ))
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body_json(invalid).await["error"]["fields"]["value"].is_string());
    // A stale version is a conflict the script leaves to the Save button.
    let stale = app
        .request(autosave(&contributor, &path, "value=12&row_version=1"))
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert_eq!(
        app.count("SELECT count(*) FROM answers WHERE value_number = 11 AND narrative = 'Draft' AND row_version = 2")
            .await,
        1
    );
    // Refused for the assessment's state: the reason in words, for the script to show.
    let mut root = app.db.superuser().await;
    sqlx::Executor::execute(&mut root, "UPDATE cycles SET state = 'closed'")
        .await
        .unwrap();
    let closed = app
        .request(autosave(&contributor, &path, "value=12&row_version=2"))
        .await;
    assert_eq!(closed.status(), StatusCode::CONFLICT);
    assert_eq!(
        body_json(closed).await["error"]["message"],
        "The cycle is not open: answers cannot change."
    );
}

#[tokio::test]
async fn an_autosave_refused_before_the_handler_gets_json_it_can_show() {
    let app = TestApp::spawn().await;
    let (_, assessment) = open_cycle(&app).await;
    let contributor = app.user("contributor", Some("FRA")).await;
    let path = format!("/assessments/{assessment}/goals/legal");
    // The CSRF check runs before the page: the script still gets the API's JSON error.
    let mut forged = autosave(&contributor, &path, "value=11&row_version=0");
    *forged.body_mut() = "csrf_token=wrong&value=11&row_version=0".into();
    let refused = app.request(forged).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body = body_json(refused).await;
    assert_eq!(body["error"]["code"], "csrf");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    // A session that ended: JSON 401, not a redirect the script would follow to a sign-in page.
    let mut anonymous = autosave(&contributor, &path, "value=11&row_version=0");
    anonymous.headers_mut().remove(header::COOKIE);
    let refused = app.request(anonymous).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body_json(refused).await["error"]["code"], "unauthenticated");
    assert_eq!(app.count("SELECT count(*) FROM answers").await, 0);
}

#[tokio::test]
async fn a_double_clicked_save_is_done_once_and_is_not_a_conflict() {
    let app = TestApp::spawn().await;
    let (_, assessment) = open_cycle(&app).await;
    let contributor = app.user("contributor", Some("FRA")).await;
    let path = format!("/assessments/{assessment}/goals/legal");
    let form = "value=12%2C5&narrative=Law+passed&row_version=0";
    for _ in 0..2 {
        let saved = app.request(contributor.post_form(&path, form)).await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'answer.update'")
            .await,
        1,
        "written once"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'answer.update' AND details->'new'->>'value' = '12.5'")
            .await,
        1,
        "the audit records the value as stored, not as typed (12,5)"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM answers WHERE value_number = 12.5 AND row_version = 1")
            .await,
        1
    );
    // A different value sent from the same stale form is still a conflict.
    let stale = app
        .request(contributor.post_form(&path, "value=13&row_version=0"))
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn two_people_saving_the_same_answer_get_a_conflict_not_an_overwrite() {
    let app = TestApp::spawn().await;
    let (_, assessment) = open_cycle(&app).await;
    let contributor = app.user("contributor", Some("FRA")).await;
    let head = app.user("head", Some("FRA")).await;
    let path = format!("/assessments/{assessment}/goals/legal");
    assert_eq!(
        app.request(contributor.post_form(&path, "value=10&row_version=0"))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // The head opened the form before that save: it still carries version 0.
    let conflict = app
        .request(head.post_form(&path, "value=15&narrative=Head%27s+view&row_version=0"))
        .await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    let html = body_text(conflict).await;
    assert!(
        html.contains("<td>10</td><td>15</td>"),
        "both versions side by side: {html}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM answers WHERE value_number = 10")
            .await,
        1,
        "theirs is kept"
    );
    // Choosing to keep mine is deliberate: the form carries their version now.
    let version = html
        .split(r#"name="row_version" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let mine = app
        .request(head.post_form(
            &path,
            &format!("value=15&narrative=Head%27s+view&row_version={version}"),
        ))
        .await;
    assert_eq!(mine.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) FROM answers WHERE value_number = 15 AND row_version = 2")
            .await,
        1
    );
}

#[tokio::test]
async fn the_api_reads_answers_with_an_etag_and_writes_them_with_if_match() {
    let app = TestApp::spawn().await;
    let (_, assessment) = open_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    let path = format!("/api/v1/assessments/{assessment}/answers/organizational");
    let read = app.request(head.api("GET", &path, None)).await;
    assert_eq!(read.headers()[header::ETAG], "\"0\"");
    let without = app
        .request(head.api("PUT", &path, Some(json!({"value": "14.2"}))))
        .await;
    assert_eq!(without.status(), StatusCode::PRECONDITION_REQUIRED);
    let write = |etag: &str, value: &str| {
        let mut request = head.api(
            "PUT",
            &path,
            Some(json!({"value": value, "implementation_status": "implemented"})),
        );
        request
            .headers_mut()
            .insert(header::IF_MATCH, etag.parse().unwrap());
        request
    };
    let saved = app.request(write("\"0\"", "14.2")).await;
    assert_eq!(saved.status(), StatusCode::NO_CONTENT);
    assert_eq!(saved.headers()[header::ETAG], "\"1\"");
    assert_eq!(
        app.request(write("\"0\"", "3")).await.status(),
        StatusCode::PRECONDITION_FAILED
    );
    let bad = app.request(write("\"1\"", "14.255")).await;
    assert_eq!(
        body_json(bad).await["error"]["fields"]["value"],
        "Too many decimals: this goal allows up to 2.",
        "the message says how many decimals the goal allows"
    );
    let document = body_json(
        app.request(head.api("GET", &format!("/api/v1/assessments/{assessment}"), None))
            .await,
    )
    .await;
    let answer = document["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["goal"] == "organizational")
        .unwrap()
        .clone();
    assert_eq!(
        (answer["value"].clone(), answer["row_version"].clone()),
        (json!("14.2"), json!(1))
    );
    assert_eq!(document["state"], "draft");
}

#[tokio::test]
async fn analysts_never_read_drafts_viewers_never_save_and_other_delegations_see_nothing() {
    let app = TestApp::spawn().await;
    let (_, assessment) = open_cycle(&app).await;
    let analyst = app.user("analyst", None).await;
    let viewer = app.user("viewer", Some("FRA")).await;
    let other = app.user("head", Some("DEU")).await;
    assert_eq!(
        app.request(analyst.get(&format!("/assessments/{assessment}")))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.request(viewer.get(&format!("/assessments/{assessment}")))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.request(viewer.post_form(
            &format!("/assessments/{assessment}/goals/legal"),
            "value=1&row_version=0"
        ))
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.request(other.api("GET", &format!("/api/v1/assessments/{assessment}"), None))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.count("SELECT count(*) FROM answers").await, 0);
}

#[tokio::test]
async fn answers_cannot_change_once_the_cycle_is_closed() {
    let app = TestApp::spawn().await;
    let (admin, assessment) = open_cycle(&app).await;
    let cycle: String = {
        let mut owner = app.db.owner().await;
        let mut tx = sqlx::Connection::begin(&mut owner).await.unwrap();
        pledge::storage::set_scope(&mut tx, &pledge::storage::Scope::System)
            .await
            .unwrap();
        let id: uuid::Uuid = sqlx::query_scalar(&format!(
            "SELECT cycle_id FROM assessments WHERE id = '{assessment}'"
        ))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        id.to_string()
    };
    assert_eq!(
        app.request(admin.api("POST", &format!("/api/v1/cycles/{cycle}/close"), None))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let contributor = app.user("contributor", Some("FRA")).await;
    let refused = app
        .request(contributor.post_form(
            &format!("/assessments/{assessment}/goals/legal"),
            "value=10&row_version=0",
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(body_text(refused).await.contains("The cycle is not open"));
    let page = body_text(
        app.request(contributor.get(&format!("/assessments/{assessment}/sections/LEGAL")))
            .await,
    )
    .await;
    assert!(page.contains("<h1>LEGAL — "), "the section is shown");
    assert!(
        !page.contains(r#"name="row_version""#),
        "a closed cycle shows answers read-only"
    );
}

#[tokio::test]
async fn a_new_cycle_starts_from_the_last_accepted_answers_marked_unconfirmed_until_confirmed() {
    let app = TestApp::spawn().await;
    pledge::demo::load(&app.db.plan).await.unwrap();
    let admin = app.user("admin", None).await;
    let (framework, cycle) = open_pledge_cycle_2027(&app, &admin).await;

    // FRA's last accepted assessment is 2025's: its answers come forward, unconfirmed.
    let (previous, carried) = fra_answers_of_2025_and_carried_into(&app, &cycle).await;
    assert!(previous > 20);
    assert_eq!(carried, previous);
    let board = body_json(
        app.request(admin.api(
            "GET",
            &format!("/api/v1/cycles/{cycle}/status?search=FRA"),
            None,
        ))
        .await,
    )
    .await;
    let assessment = board[0]["assessment_id"].as_str().unwrap().to_owned();
    let head = app.user("head", Some("FRA")).await;
    let tasks = body_text(
        app.request(head.get(&format!("/assessments/{assessment}")))
            .await,
    )
    .await;
    assert_eq!(
        status_of(&tasks, "I"),
        "Needs review",
        "carried-forward answers need a look"
    );
    let page = body_text(
        app.request(head.get(&format!("/assessments/{assessment}/sections/I")))
            .await,
    )
    .await;
    assert!(
        page.contains("Carried forward from the last accepted cycle")
            && page.contains("Confirm and save")
    );
    let check = body_text(
        app.request(head.get(&format!("/assessments/{assessment}/check")))
            .await,
    )
    .await;
    assert!(
        !check.contains(&format!(r#"action="/assessments/{assessment}/submit""#)),
        "no submission while answers are unconfirmed"
    );
    let document = body_json(
        app.request(head.api("GET", &format!("/api/v1/assessments/{assessment}"), None))
            .await,
    )
    .await;
    let first = document["answers"][0].clone();
    let mut confirm = head.api(
        "PUT",
        &format!(
            "/api/v1/assessments/{assessment}/answers/{}",
            first["goal"].as_str().unwrap()
        ),
        Some(first.clone()),
    );
    confirm.headers_mut().insert(
        header::IF_MATCH,
        format!("\"{}\"", first["row_version"]).parse().unwrap(),
    );
    assert_eq!(app.request(confirm).await.status(), StatusCode::NO_CONTENT);
    let left = app
        .count(&format!(
            "SELECT count(*) FROM answers WHERE assessment_id = '{assessment}' AND unconfirmed"
        ))
        .await;
    assert_eq!(left, carried - 1, "saving confirms");

    // A cycle that opens before every accepted one has nothing earlier to start from.
    let earlier = json!({"framework_id": framework, "code": "2019", "title_en": "2019", "opens_on": "2019-09-01", "deadline": "2099-12-11"});
    let earlier = body_json(
        app.request(admin.api("POST", "/api/v1/cycles", Some(earlier)))
            .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.request(admin.api("POST", &format!("/api/v1/cycles/{earlier}/open"), None))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM answers a JOIN assessments s ON s.id = a.assessment_id WHERE s.cycle_id = '{earlier}'"))
            .await,
        0,
        "nothing comes back from the future"
    );
}

/// The status tag of a section on the task list ("Not started", "Completed", …).
fn status_of(page: &str, section: &str) -> String {
    let marker = format!(r#"id="status-{section}">"#);
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no status for {section}"))
        + marker.len();
    page[start..]
        .split('<')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Saves one answer through the section page's own form; returns the response.
async fn save_in_section(
    app: &TestApp,
    user: &TestUser,
    assessment: &str,
    section: &str,
    body: &str,
) -> axum::http::Response<axum::body::Body> {
    app.request(user.post_form(
        &format!("/assessments/{assessment}/sections/{section}"),
        body,
    ))
    .await
}

#[tokio::test]
async fn the_task_list_shows_each_section_not_started_in_progress_completed_or_needing_review() {
    let app = TestApp::spawn().await;
    let (admin, _, assessment) = open_cycle_of(&app, "cyber-defence-pledge-2016.json").await;
    let head = app.user("head", Some("FRA")).await;
    let tasks = || async {
        body_text(
            app.request(head.get(&format!("/assessments/{assessment}")))
                .await,
        )
        .await
    };
    let page = tasks().await;
    for section in ["I", "II", "III"] {
        assert_eq!(status_of(&page, section), "Not started");
    }
    assert!(
        page.contains(&format!(r#"href="/assessments/{assessment}/check""#))
            && page.contains("Check your answers and submit"),
        "the head's last step"
    );

    let one = save_in_section(
        &app,
        &head,
        &assessment,
        "I",
        "goal=I.1&value=3&row_version=0",
    )
    .await;
    assert_eq!(one.status(), StatusCode::SEE_OTHER);
    for (goal, value) in [
        ("II.1", "12,5"),
        ("II.2", "2"),
        ("II.3", "4"),
        ("II.4", "yes"),
    ] {
        let saved = save_in_section(
            &app,
            &head,
            &assessment,
            "II",
            &format!(
                "goal={goal}&value={}&row_version=0",
                crate::support::enc(value)
            ),
        )
        .await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER, "{goal}");
    }
    let raised = app
        .request(admin.post_form(
            &format!("/assessments/{assessment}/goals/III.1/clarifications"),
            "question=Which+body+co-ordinates%3F",
        ))
        .await;
    assert_eq!(raised.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        raised.headers()[header::LOCATION],
        format!("/assessments/{assessment}/sections/III#goal-III.1"),
        "back to the goal's section"
    );

    let page = tasks().await;
    assert_eq!(status_of(&page, "I"), "In progress");
    assert_eq!(status_of(&page, "II"), "Completed");
    assert_eq!(status_of(&page, "III"), "Needs review");
    assert_eq!(status_of(&page, "IV"), "Not started");
    assert!(
        page.contains("Open clarification requests on this assessment: 1")
            && page.contains(&format!(
                r#"href="/assessments/{assessment}/sections/III#clarification-"#
            )),
        "the open request, linked"
    );

    // A contributor is told who submits; no empty heading.
    let contributor = app.user("contributor", Some("FRA")).await;
    let page = body_text(
        app.request(contributor.get(&format!("/assessments/{assessment}")))
            .await,
    )
    .await;
    assert!(page.contains("the head of your delegation checks the answers and submits"));
    assert!(!page.contains(&format!(r#"href="/assessments/{assessment}/check""#)));
    // Read-only readers get the task list too (an admin: the secretariat).
    let page = body_text(
        app.request(admin.get(&format!("/assessments/{assessment}")))
            .await,
    )
    .await;
    assert_eq!(status_of(&page, "II"), "Completed");
}

#[tokio::test]
async fn a_section_page_shows_its_goals_with_labelled_levels_and_evidence_collapsed() {
    let app = TestApp::spawn().await;
    let (_, _, assessment) = open_cycle_of(&app, "cyber-defence-pledge-2016.json").await;
    let contributor = app.user("contributor", Some("FRA")).await;
    let page = body_text(
        app.request(contributor.get(&format!("/assessments/{assessment}/sections/I")))
            .await,
    )
    .await;
    assert!(page.contains(r#"id="goal-I.1""#) && page.contains(r#"id="goal-I.4""#));
    assert!(
        !page.contains(r#"id="goal-II.1""#),
        "only this section's goals"
    );
    // A maturity goal: a fieldset whose legend is the goal, one labelled radio per level, its
    // descriptor as the radio's description.
    assert!(page.contains(
        r#"<legend class="goal-legend"><h2 class="goal-title" id="goal-I.1-title">I.1 — "#
    ));
    assert!(page.contains(
        r#"<input type="radio" id="value-I.1-3" name="value" value="3" aria-describedby="value-I.1-3-hint">"#
    ));
    assert!(page.contains(r#"<label for="value-I.1-0">0 — Not started</label>"#));
    assert!(page.contains(r#"<p class="hint" id="value-I.1-0-hint">Nothing has been done yet"#));
    // A yes/no goal: labelled radios.
    assert!(page.contains(r#"<label for="value-I.4-yes">Yes</label>"#));
    // A number: its range, unit and precision on the label.
    assert!(page.contains("A whole number from 0 to 100 (%), no decimals"));
    assert!(page.contains(r#"id="value-I.3" name="value""#));
    // Evidence collapsed until asked for.
    assert!(page.contains(r#"<details class="evidence" id="evidence-I.1">"#));
    assert!(!page.contains(r#"id="evidence-I.1" open"#));
    // Previous/next and back.
    assert!(page.contains(&format!(
        r#"href="/assessments/{assessment}/sections/II" rel="next""#
    )));
    assert!(
        !page.contains(r#"rel="prev""#),
        "the first section has no previous"
    );
    assert!(page.contains(&format!(
        r#"<a href="/assessments/{assessment}">Back to the task list</a>"#
    )));

    let second = body_text(
        app.request(contributor.get(&format!("/assessments/{assessment}/sections/II")))
            .await,
    )
    .await;
    assert!(second.contains("A number from 0 to 20 (%), with up to 1 decimal"));
    assert!(second.contains(&format!(
        r#"href="/assessments/{assessment}/sections/I" rel="prev""#
    )));
    assert_eq!(
        app.request(contributor.get(&format!("/assessments/{assessment}/sections/NOPE")))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let french = body_text(
        app.request({
            let mut request = contributor.get(&format!("/assessments/{assessment}/sections/II"));
            request
                .headers_mut()
                .insert(header::ACCEPT_LANGUAGE, "fr".parse().unwrap());
            request
        })
        .await,
    )
    .await;
    assert!(french.contains("Un nombre de 0 à 20 (%), avec au plus 1 décimale"));
}

#[tokio::test]
async fn a_decimal_comma_is_stored_as_the_point_and_too_many_decimals_says_how_many() {
    let app = TestApp::spawn().await;
    let (_, _, assessment) = open_cycle_of(&app, "cyber-defence-pledge-2016.json").await;
    let head = app.user("head", Some("FRA")).await;
    let comma = save_in_section(
        &app,
        &head,
        &assessment,
        "II",
        "goal=II.1&value=12%2C5&row_version=0",
    )
    .await;
    assert_eq!(comma.status(), StatusCode::SEE_OTHER);
    let point = app
        .request(head.post_form(
            &format!("/assessments/{assessment}/goals/II.1"),
            "value=12.5&row_version=1",
        ))
        .await;
    assert_eq!(point.status(), StatusCode::SEE_OTHER);
    let values: Vec<String> = {
        let mut owner = app.db.owner().await;
        sqlx::query_scalar(
            "SELECT details->'new'->>'value' FROM audit_log WHERE action = 'answer.update' ORDER BY seq",
        )
        .fetch_all(&mut owner)
        .await
        .unwrap()
    };
    assert_eq!(
        values,
        ["12.5", "12.5"],
        "the comma and the point store the same number"
    );
    let section = body_text(
        app.request(head.get(&format!("/assessments/{assessment}/sections/II")))
            .await,
    )
    .await;
    assert!(
        section.contains(r#"id="value-II.1" name="value" inputmode="decimal""#)
            && section.contains(r#"value="12.5""#)
    );

    let refused = save_in_section(
        &app,
        &head,
        &assessment,
        "II",
        "goal=II.1&value=12%2C55&row_version=2",
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body_text(refused)
            .await
            .contains("Too many decimals: this goal allows up to 1.")
    );
    let whole = save_in_section(
        &app,
        &head,
        &assessment,
        "I",
        "goal=I.3&value=62%2C5&row_version=0",
    )
    .await;
    assert!(
        body_text(whole)
            .await
            .contains("Enter a whole number: this goal allows no decimals.")
    );
}

#[tokio::test]
async fn saving_goes_back_to_the_section_with_a_message_shown_once() {
    let app = TestApp::spawn().await;
    let (_, assessment) = open_cycle(&app).await;
    let contributor = app.user("contributor", Some("FRA")).await;
    let saved = save_in_section(
        &app,
        &contributor,
        &assessment,
        "LEGAL",
        "goal=legal&value=18&narrative=Law&row_version=0",
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let location = saved.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        location,
        format!("/assessments/{assessment}/sections/LEGAL#goal-legal")
    );
    let flash = saved.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(flash.starts_with("pledge_flash="), "{flash}");
    let with_flash = |path: &str| {
        let mut request = contributor.get(path);
        let cookie = format!(
            "{}; {flash}",
            request.headers()[header::COOKIE].to_str().unwrap()
        );
        request
            .headers_mut()
            .insert(header::COOKIE, cookie.parse().unwrap());
        request
    };
    let shown = app
        .request(with_flash(&format!(
            "/assessments/{assessment}/sections/LEGAL"
        )))
        .await;
    let cleared = shown
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("pledge_flash=;"));
    assert!(cleared, "the message is removed once shown");
    assert!(body_text(shown).await.contains("Answer legal saved."));
    let again = body_text(
        app.request(contributor.get(&format!("/assessments/{assessment}/sections/LEGAL")))
            .await,
    )
    .await;
    assert!(!again.contains("Answer legal saved."), "shown once");
}

#[tokio::test]
async fn a_refused_save_keeps_every_field_and_sums_up_the_errors_at_the_section_address() {
    let app = TestApp::spawn().await;
    let (_, _, assessment) = open_cycle_of(&app, "cyber-defence-pledge-2016.json").await;
    let head = app.user("head", Some("FRA")).await;
    let refused = save_in_section(
        &app,
        &head,
        &assessment,
        "I",
        "goal=I.3&value=250&target=62%2C5&implementation_status=planned&narrative=Kept+narrative&na_justification=Kept+reason&row_version=0",
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body_text(refused).await;
    assert!(page.contains(r#"<div class="error-summary" role="alert""#));
    assert!(
        page.contains(
            r##"<a href="#value-I.3">I.3: This number is outside the goal&#39;s range.</a>"##
        ) || page.contains(
            r##"<a href="#value-I.3">I.3: This number is outside the goal's range.</a>"##
        ),
        "{page}"
    );
    assert!(page.contains(r##"<a href="#target-I.3">I.3: Enter a whole number"##));
    assert!(page.contains(r#"value="250""#) && page.contains(r#"value="62,5""#));
    assert!(page.contains("Kept narrative") && page.contains("Kept reason"));
    assert!(page.contains(r#"<option value="planned" selected>"#));
    assert!(page.contains(r#"id="error-value-I.3">This number is outside"#));
    assert!(
        page.contains("<title>Error: I — "),
        "the title says there is a problem"
    );
    // The form posts to the section page's own address: a reload shows the section again.
    assert!(page.contains(&format!(r#"action="/assessments/{assessment}/sections/I""#)));
    assert_eq!(app.count("SELECT count(*) FROM answers").await, 0);

    // A refused radio answer links to its first option.
    let refused = save_in_section(
        &app,
        &head,
        &assessment,
        "I",
        "goal=I.1&value=9&row_version=0",
    )
    .await;
    assert!(
        body_text(refused)
            .await
            .contains(r##"<a href="#value-I.1-0">I.1: Choose one of the levels.</a>"##)
    );
}

#[tokio::test]
async fn check_your_answers_lists_what_is_missing_first_and_only_heads_see_it() {
    let app = TestApp::spawn().await;
    let (_, assessment) = open_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    let saved = save_in_section(
        &app,
        &head,
        &assessment,
        "LEGAL",
        "goal=legal&value=18.5&row_version=0",
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let page = body_text(
        app.request(head.get(&format!("/assessments/{assessment}/check")))
            .await,
    )
    .await;
    let missing = page.find("Still to answer").expect("missing listed");
    let answers = page
        .find(r#"id="check-LEGAL""#)
        .expect("answers by section");
    assert!(missing < answers, "what is missing comes first");
    assert!(page.contains(&format!(
        r##"<a href="/assessments/{assessment}/sections/TECHNICAL#goal-technical">technical</a>"##
    )));
    assert!(page.contains(&format!(
        r##"href="/assessments/{assessment}/sections/LEGAL#goal-legal">Change"##
    )));
    assert!(page.contains("18.5"));
    assert!(
        !page.contains(&format!(r#"action="/assessments/{assessment}/submit""#)),
        "not ready"
    );
    for goal in [
        "technical",
        "organizational",
        "capacity_development",
        "cooperation",
    ] {
        let section = goal.to_uppercase();
        let saved = save_in_section(
            &app,
            &head,
            &assessment,
            &section,
            &format!("goal={goal}&value=10&row_version=0"),
        )
        .await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    }
    let page = body_text(
        app.request(head.get(&format!("/assessments/{assessment}/check")))
            .await,
    )
    .await;
    assert!(!page.contains("Still to answer"));
    assert!(page.contains(&format!(r#"action="/assessments/{assessment}/submit""#)));
    let tasks = body_text(
        app.request(head.get(&format!("/assessments/{assessment}")))
            .await,
    )
    .await;
    assert!(
        !tasks.contains(&format!(r#"action="/assessments/{assessment}/submit""#)),
        "the task list leads to the check page, it does not submit"
    );
    let contributor = app.user("contributor", Some("FRA")).await;
    assert_eq!(
        app.request(contributor.get(&format!("/assessments/{assessment}/check")))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn an_autosave_refused_on_a_field_names_the_field_in_the_users_language() {
    let app = TestApp::spawn().await;
    let (_, _, assessment) = open_cycle_of(&app, "cyber-defence-pledge-2016.json").await;
    let contributor = app.user("contributor", Some("FRA")).await;
    let mut request = autosave(
        &contributor,
        &format!("/assessments/{assessment}/goals/II.1"),
        "value=12%2C55&narrative=x&row_version=0",
    );
    request
        .headers_mut()
        .insert(header::ACCEPT_LANGUAGE, "fr".parse().unwrap());
    let refused = app.request(request).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = body_json(refused).await;
    assert_eq!(body["error"]["code"], "invalid_input");
    assert_eq!(
        body["error"]["fields"]["value"],
        "Trop de décimales : ce but en admet au plus 1."
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Non enregistré")
    );
}

/// Saving one answer (the section page's form, session included) takes a handful of
/// statements, and the section page reads what it shows in a fixed number, however many goals
/// have answers, evidence or clarification requests.
#[tokio::test]
async fn saving_one_answer_takes_a_handful_of_statements() {
    let app = TestApp::spawn().await;
    let (_, assessment) = open_cycle(&app).await;
    let contributor = app.user("contributor", Some("FRA")).await;
    // Warm up: the first save turns the assessment into a draft.
    let first = save_in_section(
        &app,
        &contributor,
        &assessment,
        "LEGAL",
        "goal=legal&value=18&narrative=Law&row_version=0",
    )
    .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let save = crate::reports::statements(async {
        let saved = save_in_section(
            &app,
            &contributor,
            &assessment,
            "LEGAL",
            "goal=legal&value=19&narrative=Law&row_version=1",
        )
        .await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    })
    .await;
    let page = crate::reports::statements(async {
        let shown = app
            .request(contributor.get(&format!("/assessments/{assessment}/sections/LEGAL")))
            .await;
        assert_eq!(shown.status(), StatusCode::OK);
    })
    .await;
    eprintln!("statements: save {save}, section page {page}");
    assert!(save > 0, "the counter sees the save's statements");
    // Session 1; begin, the locked assessment, the answer locked, written, the assessment
    // touched, the audit entry (3), commit. The framework version is read once per process.
    assert!(save <= 10, "saving one answer took {save} statements");
    // Session 1; begin, assessment, answers, clarifications, evidence, commit.
    assert!(page <= 8, "the section page took {page} statements");
}

#[tokio::test]
async fn carry_forward_takes_the_same_framework_familys_last_accepted_answers() {
    use crate::reports::{cycle_row, gci_framework, pillars, store_framework, submission};
    let app = TestApp::spawn().await;
    pledge::demo::load(&app.db.plan).await.unwrap();
    let admin = app.user("admin", None).await;

    // FRA's answers of another framework family are accepted after the demo's 2025 cycle.
    let other = gci_framework();
    let stored = store_framework(&app, &other).await;
    let parts = pledge::demo::bulk::FrameworkParts::new(&other, &stored);
    let accepted = submission(
        &app,
        "FRA",
        pillars(&[Some(10.0), Some(10.0), Some(10.0), Some(10.0), Some(10.0)]),
    )
    .await;
    crate::reports::write_cycle(
        &app,
        &parts,
        &cycle_row(stored.id, "GCI-2026", time::macros::date!(2026 - 06 - 01)),
        &[accepted],
    )
    .await;

    let (_, cycle) = open_pledge_cycle_2027(&app, &admin).await;
    let (previous, carried) = fra_answers_of_2025_and_carried_into(&app, &cycle).await;
    assert!(previous > 20);
    assert_eq!(
        carried, previous,
        "the 2025 answers of this framework's family come forward, not the other family's"
    );

    // The cycle page says what was carried and from where (each participant's latest accepted
    // cycle of the family: 2025 or, where accepted already, 2026); a delegation sees its own.
    let sources: Vec<(String, i64, i64)> = {
        let mut owner = app.db.superuser().await;
        sqlx::query_as(&format!(
            "SELECT sc.code, count(x.id), count(DISTINCT a.id) FROM assessments a
             JOIN assessments src ON src.id = a.carried_from JOIN cycles sc ON sc.id = src.cycle_id
             JOIN answers x ON x.assessment_id = a.id AND x.unconfirmed
             WHERE a.cycle_id = '{cycle}' GROUP BY sc.code"
        ))
        .fetch_all(&mut owner)
        .await
        .unwrap()
    };
    assert!(
        sources.iter().any(|(code, _, n)| code == "2025" && *n > 1),
        "{sources:?}"
    );
    let page = body_text(app.request(admin.get(&format!("/cycles/{cycle}"))).await).await;
    assert!(page.contains("Answers carried forward"), "{page}");
    for (code, answers, participants) in &sources {
        let said = format!(">{code}</a>");
        let counts = format!("participants: {participants}, answers: {answers}.");
        let line = page
            .split("<li>")
            .find(|item| item.contains(&said))
            .unwrap_or_else(|| panic!("a line for {code}: {page}"));
        assert!(line.contains(&counts), "{code}: {counts} in {line}");
    }
    assert!(
        !page.contains("GCI-2026</a>"),
        "nothing from the other family"
    );
    let head = app.user("head", Some("FRA")).await;
    let page = body_text(app.request(head.get(&format!("/cycles/{cycle}"))).await).await;
    assert!(
        page.contains(&format!("participants: 1, answers: {carried}.")),
        "FRA's head sees FRA's own: {page}"
    );
}

/// Creates and opens cycle 2027 of the demo's pledge framework (its id and the cycle's id).
async fn open_pledge_cycle_2027(app: &TestApp, admin: &TestUser) -> (uuid::Uuid, String) {
    let framework: uuid::Uuid = {
        let mut owner = app.db.owner().await;
        sqlx::query_scalar("SELECT id FROM frameworks WHERE family = 'cyber-defence-pledge'")
            .fetch_one(&mut owner)
            .await
            .unwrap()
    };
    let cycle = json!({"framework_id": framework, "code": "2027", "title_en": "2027", "opens_on": "2027-09-01", "deadline": "2099-12-11"});
    let cycle = body_json(
        app.request(admin.api("POST", "/api/v1/cycles", Some(cycle)))
            .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.request(admin.api("POST", &format!("/api/v1/cycles/{cycle}/open"), None))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    (framework, cycle)
}

/// FRA's answers in the demo's accepted 2025 cycle, and FRA's unconfirmed answers in `cycle`.
async fn fra_answers_of_2025_and_carried_into(app: &TestApp, cycle: &str) -> (i64, i64) {
    let (previous, carried): (i64, i64) = (
        app.count("SELECT count(*) FROM answers a JOIN assessments s ON s.id = a.assessment_id JOIN cycles c ON c.id = s.cycle_id JOIN participants p ON p.id = s.participant_id WHERE p.code = 'FRA' AND c.code = '2025'").await,
        app.count(&format!("SELECT count(*) FROM answers a JOIN assessments s ON s.id = a.assessment_id JOIN participants p ON p.id = s.participant_id WHERE p.code = 'FRA' AND s.cycle_id = '{cycle}' AND a.unconfirmed")).await,
    );
    (previous, carried)
}
