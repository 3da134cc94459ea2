//! Submitting, returning, accepting: immutable snapshots, revisions and their differences.

use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use sqlx::Executor;

use crate::support::{TestApp, TestUser, body_json, body_text};

struct Open {
    admin: TestUser,
    head: TestUser,
    assessment: String,
    cycle: String,
}

async fn open_and_answer(app: &TestApp, answered: usize) -> Open {
    let (admin, cycle, assessment) = crate::assessments::open_gci_cycle(app).await;
    let head = app.user("head", Some("FRA")).await;
    for (goal, value) in [
        ("legal", "18.5"),
        ("technical", "17"),
        ("organizational", "16.25"),
        ("capacity_development", "12"),
        ("cooperation", "19"),
    ]
    .into_iter()
    .take(answered)
    {
        save(app, &head, &assessment, goal, value, "0").await;
    }
    Open {
        admin,
        head,
        assessment,
        cycle,
    }
}

async fn save(
    app: &TestApp,
    user: &TestUser,
    assessment: &str,
    goal: &str,
    value: &str,
    version: &str,
) -> StatusCode {
    let mut put = user.api(
        "PUT",
        &format!("/api/v1/assessments/{assessment}/answers/{goal}"),
        Some(json!({"value": value, "narrative": format!("About {goal}")})),
    );
    put.headers_mut()
        .insert(header::IF_MATCH, format!("\"{version}\"").parse().unwrap());
    app.request(put).await.status()
}

#[tokio::test]
async fn submitting_freezes_a_verifiable_snapshot_and_ends_editing() {
    let app = TestApp::spawn().await;
    let open = open_and_answer(&app, 5).await;
    let analyst = app.user("analyst", None).await;
    assert_eq!(
        app.request(analyst.get(&format!("/assessments/{}", open.assessment)))
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "a draft"
    );
    let page = body_text(
        app.request(
            open.head
                .get(&format!("/assessments/{}/check", open.assessment)),
        )
        .await,
    )
    .await;
    assert!(page.contains(&format!(
        r#"action="/assessments/{}/submit""#,
        open.assessment
    )));
    let submitted = app
        .request(
            open.head
                .post_form(&format!("/assessments/{}/submit", open.assessment), ""),
        )
        .await;
    assert_eq!(submitted.status(), StatusCode::SEE_OTHER);

    let document = body_json(
        app.request(open.head.api(
            "GET",
            &format!("/api/v1/assessments/{}", open.assessment),
            None,
        ))
        .await,
    )
    .await;
    assert_eq!(
        (document["state"].clone(), document["revision"].clone()),
        (json!("submitted"), json!(1))
    );
    let revision = body_json(
        app.request(analyst.api(
            "GET",
            &format!("/api/v1/assessments/{}/revisions/1", open.assessment),
            None,
        ))
        .await,
    )
    .await;
    assert_eq!(revision["verified"], true);
    assert_eq!(
        revision["content"]["overall"]["score"], 82.75,
        "18.5 + 17 + 16.25 + 12 + 19"
    );
    let contributor = app.user("contributor", Some("FRA")).await;
    assert_eq!(
        save(&app, &contributor, &open.assessment, "legal", "20", "1").await,
        StatusCode::CONFLICT,
        "no editing after submission"
    );
    assert_eq!(
        app.request(analyst.get(&format!("/assessments/{}", open.assessment)))
            .await
            .status(),
        StatusCode::OK,
        "analysts read it now"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'assessment.submit'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_double_clicked_submit_does_the_work_once() {
    let app = TestApp::spawn().await;
    let open = open_and_answer(&app, 5).await;
    let path = format!("/api/v1/assessments/{}/submit", open.assessment);
    let (first, second) = tokio::join!(
        app.request(open.head.api("POST", &path, None)),
        app.request(open.head.api("POST", &path, None))
    );
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    let results = [body_json(first).await, body_json(second).await];
    assert_eq!(
        results
            .iter()
            .filter(|r| r["submitted_now"] == true)
            .count(),
        1
    );
    assert_eq!(app.count("SELECT count(*) FROM snapshots").await, 1);
}

#[tokio::test]
async fn an_incomplete_or_unconfirmed_assessment_cannot_be_submitted() {
    let app = TestApp::spawn().await;
    let open = open_and_answer(&app, 4).await;
    let path = format!("/api/v1/assessments/{}/submit", open.assessment);
    let refused = app.request(open.head.api("POST", &path, None)).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(
        body_json(refused).await["error"]["message"],
        "Every applicable goal needs an answer before submission."
    );
    save(&app, &open.head, &open.assessment, "cooperation", "19", "0").await;
    let mut root = app.db.superuser().await;
    root.execute("UPDATE answers SET unconfirmed = true WHERE goal_id IN (SELECT id FROM goals WHERE code = 'legal')").await.unwrap();
    let unconfirmed = app.request(open.head.api("POST", &path, None)).await;
    assert_eq!(
        body_json(unconfirmed).await["error"]["message"],
        "Some carried-forward answers are not confirmed yet."
    );
    assert_eq!(app.count("SELECT count(*) FROM snapshots").await, 0);
}

#[tokio::test]
async fn past_the_deadline_only_an_allowance_lets_the_head_submit() {
    let app = TestApp::spawn().await;
    let open = open_and_answer(&app, 5).await;
    let mut root = app.db.superuser().await;
    root.execute(
        format!(
            "UPDATE cycles SET opens_on = '2020-01-01', deadline = '2020-02-01' WHERE id = '{}'",
            open.cycle
        )
        .as_str(),
    )
    .await
    .unwrap();
    let path = format!("/api/v1/assessments/{}/submit", open.assessment);
    let late = app.request(open.head.api("POST", &path, None)).await;
    assert_eq!(
        body_json(late).await["error"]["message"],
        "The deadline has passed; the secretariat can allow a late submission."
    );
    let allow_late = format!("/api/v1/assessments/{}/allow-late", open.assessment);
    for _ in 0..2 {
        assert_eq!(
            app.request(open.admin.api("POST", &allow_late, None))
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'assessment.allow_late'")
            .await,
        1,
        "allowing twice changes nothing the second time"
    );
    assert_eq!(
        app.request(open.head.api("POST", &path, None))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.count("SELECT count(*) FROM snapshots").await, 1);
    // A submitted assessment has nothing left to allow.
    let refused = app.request(open.admin.api("POST", &allow_late, None)).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(
        body_json(refused).await["error"]["message"],
        "This assessment is already submitted: there is nothing late to allow."
    );
}

#[tokio::test]
async fn a_return_then_a_resubmission_makes_a_second_revision_with_a_field_by_field_difference() {
    let app = TestApp::spawn().await;
    let open = open_and_answer(&app, 5).await;
    let api = |user: &TestUser, method: &str, tail: &str, body: Option<Value>| {
        user.api(
            method,
            &format!("/api/v1/assessments/{}{tail}", open.assessment),
            body,
        )
    };
    app.request(api(&open.head, "POST", "/submit", None)).await;
    let no_reason = app
        .request(api(
            &open.admin,
            "POST",
            "/return",
            Some(json!({"reason": " "})),
        ))
        .await;
    assert_eq!(
        body_json(no_reason).await["error"]["fields"]["reason"],
        "Give the reason for the return."
    );
    let returned = app.request(api(&open.admin, "POST", "/return", Some(json!({"reason": "Please justify the legal score", "notes": [{"goal": "legal", "note": "Which law?"}, {"goal": "legal", "note": "Since when?"}]})))).await;
    assert_eq!(returned.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM review_answer_notes WHERE note = E'Which law?\\n\\nSince when?'"
        )
        .await,
        1,
        "two notes on one answer become one"
    );

    let page = body_text(
        app.request(open.head.get(&format!("/assessments/{}", open.assessment)))
            .await,
    )
    .await;
    assert!(
        page.contains("Please justify the legal score") && page.contains("Which law?"),
        "the delegation sees why"
    );
    assert_eq!(
        save(&app, &open.head, &open.assessment, "legal", "19.75", "1").await,
        StatusCode::NO_CONTENT
    );
    let resubmitted = body_json(app.request(api(&open.head, "POST", "/submit", None)).await).await;
    assert_eq!(resubmitted["revision"], 2);

    let revisions = body_json(
        app.request(api(&open.head, "GET", "/revisions", None))
            .await,
    )
    .await;
    assert_eq!(revisions.as_array().unwrap().len(), 2);
    assert_eq!(
        (
            revisions[0]["decision"].clone(),
            revisions[1]["decision"].clone()
        ),
        (json!("returned"), Value::Null)
    );
    let first = body_json(
        app.request(api(&open.head, "GET", "/revisions/1", None))
            .await,
    )
    .await;
    assert_eq!(
        first["content"]["answers"][0]["value"], 18.5,
        "revision 1 is unchanged"
    );
    let diff = body_json(
        app.request(api(&open.head, "GET", "/diff?from=1&to=2", None))
            .await,
    )
    .await;
    let changes: Vec<(String, String, String)> = diff
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().to_owned(),
                c["before"].as_str().unwrap().to_owned(),
                c["after"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("value".to_owned(), "18.5".to_owned(), "19.75".to_owned()),
            ("score".to_owned(), "0.925".to_owned(), "0.9875".to_owned())
        ]
    );
    let page = body_text(
        app.request(open.head.get(&format!(
            "/assessments/{}/revisions?from=1&to=2",
            open.assessment
        )))
        .await,
    )
    .await;
    assert!(page.contains("<td>18.5</td><td>19.75</td>"));

    assert_eq!(
        app.request(api(&open.admin, "POST", "/accept", None))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.request(api(&open.admin, "POST", "/accept", None))
            .await
            .status(),
        StatusCode::CONFLICT,
        "accepted once"
    );
    let actions = app.count("SELECT count(*) FROM audit_log WHERE action IN ('assessment.submit', 'assessment.return', 'assessment.accept')").await;
    assert_eq!(actions, 4);
}

#[tokio::test]
async fn snapshots_cannot_be_changed_by_the_service_role_or_anyone_else() {
    let app = TestApp::spawn().await;
    let open = open_and_answer(&app, 5).await;
    app.request(open.head.api(
        "POST",
        &format!("/api/v1/assessments/{}/submit", open.assessment),
        None,
    ))
    .await;
    let pool = app.db.app_pool().await;
    let mut tx = pool.begin().await.unwrap();
    pledge::storage::set_scope(&mut tx, &pledge::storage::Scope::System)
        .await
        .unwrap();
    let error = tx
        .execute("UPDATE snapshots SET overall_score = 100")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("permission denied"), "{error}");
    let mut root = app.db.superuser().await;
    let error = root
        .execute("DELETE FROM snapshot_answers")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("immutable"), "{error}");
}

#[tokio::test]
async fn an_analyst_asks_about_an_answer_the_delegation_replies_and_the_analyst_resolves() {
    let app = TestApp::spawn().await;
    let open = open_and_answer(&app, 5).await;
    let analyst = app.user("analyst", None).await;
    let draft = app
        .request(analyst.api(
            "POST",
            &format!("/api/v1/assessments/{}/clarifications", open.assessment),
            Some(json!({"goal": "legal", "question": "Which law?"})),
        ))
        .await;
    assert_eq!(
        draft.status(),
        StatusCode::FORBIDDEN,
        "not on a draft an analyst cannot read"
    );
    app.request(open.head.api(
        "POST",
        &format!("/api/v1/assessments/{}/submit", open.assessment),
        None,
    ))
    .await;
    let raised = app
        .request(analyst.post_form(
            &format!(
                "/assessments/{}/goals/legal/clarifications",
                open.assessment
            ),
            "question=Which+law+is+this%3F",
        ))
        .await;
    assert_eq!(raised.status(), StatusCode::SEE_OTHER);

    let listed = body_text(app.request(open.head.get("/clarifications")).await).await;
    assert!(
        listed.contains("Which law is this?"),
        "the delegation sees it in its list"
    );
    let page = body_text(
        app.request(open.head.get(&format!("/assessments/{}", open.assessment)))
            .await,
    )
    .await;
    assert!(
        page.contains("Open clarification requests on this assessment: 1")
            && page.contains("Which law is this?")
    );
    let id = body_json(
        app.request(analyst.api("GET", "/api/v1/clarifications", None))
            .await,
    )
    .await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let empty = app
        .request(open.head.api(
            "POST",
            &format!("/api/v1/clarifications/{id}/messages"),
            Some(json!({"body": " "})),
        ))
        .await;
    assert_eq!(
        body_json(empty).await["error"]["fields"]["body"],
        "Write a message of at most 5000 characters."
    );
    assert_eq!(
        app.request(open.head.post_form(
            &format!("/clarifications/{id}/reply"),
            "body=The+Cyber+Act+2024"
        ))
        .await
        .status(),
        StatusCode::SEE_OTHER
    );
    let thread = body_json(
        app.request(analyst.api(
            "GET",
            &format!("/api/v1/assessments/{}/clarifications", open.assessment),
            None,
        ))
        .await,
    )
    .await;
    assert_eq!(thread[0]["state"], "answered");
    assert_eq!(thread[0]["messages"][0]["body"], "The Cyber Act 2024");
    let board = body_json(
        app.request(analyst.api(
            "GET",
            &format!("/api/v1/cycles/{}/status?search=FRA", open.cycle),
            None,
        ))
        .await,
    )
    .await;
    assert_eq!(board[0]["open_clarifications"], 1);

    let another = app.user("analyst", None).await;
    assert_eq!(
        app.request(another.api(
            "POST",
            &format!("/api/v1/clarifications/{id}/resolve"),
            None
        ))
        .await
        .status(),
        StatusCode::FORBIDDEN,
        "only the requester or an admin"
    );
    assert_eq!(
        app.request(analyst.api(
            "POST",
            &format!("/api/v1/clarifications/{id}/resolve"),
            None
        ))
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        body_json(
            app.request(open.head.api("GET", "/api/v1/clarifications", None))
                .await
        )
        .await
        .as_array()
        .unwrap()
        .len(),
        0
    );
    let actions = app
        .count("SELECT count(*) FROM audit_log WHERE action LIKE 'clarification.%'")
        .await;
    assert_eq!(actions, 3);
}

#[tokio::test]
async fn analysts_lose_sight_of_clarifications_while_the_assessment_is_returned() {
    let app = TestApp::spawn().await;
    let open = open_and_answer(&app, 5).await;
    let analyst = app.user("analyst", None).await;
    let path = |tail: &str| format!("/api/v1/assessments/{}{tail}", open.assessment);
    app.request(open.head.api("POST", &path("/submit"), None))
        .await;
    let raised = app
        .request(analyst.api(
            "POST",
            &path("/clarifications"),
            Some(json!({"goal": "legal", "question": "Which law?"})),
        ))
        .await;
    assert_eq!(raised.status(), StatusCode::CREATED);
    let listed = |user: TestUser| {
        let app = &app;
        async move {
            body_json(
                app.request(user.api("GET", "/api/v1/clarifications", None))
                    .await,
            )
            .await
            .as_array()
            .unwrap()
            .len()
        }
    };
    assert_eq!(listed(analyst.clone()).await, 1);
    let returned = app
        .request(open.admin.api(
            "POST",
            &path("/return"),
            Some(json!({"reason": "Please revise"})),
        ))
        .await;
    assert_eq!(returned.status(), StatusCode::NO_CONTENT);
    // The returned assessment is a draft again: its discussion is hidden from analysts (row-level
    // security), still visible to the delegation and the secretariat.
    assert_eq!(listed(analyst.clone()).await, 0);
    assert_eq!(listed(open.head.clone()).await, 1);
    assert_eq!(listed(open.admin.clone()).await, 1);
}
