//! Confirmation pages before alliance-wide or destructive actions (closing, publishing, opening,
//! returning, disabling a user), the review page, the submission's confirmation page, and the two
//! steps back an admin can take: reopening a cycle and withdrawing a publication.

use axum::body::Body;
use axum::http::{Response, StatusCode, header};
use serde_json::{Value, json};

use crate::support::{TestApp, TestUser, body_json, body_text, location};

const GOALS: [(&str, &str); 5] = [
    ("legal", "18.5"),
    ("technical", "17"),
    ("organizational", "16.25"),
    ("capacity_development", "12"),
    ("cooperation", "19"),
];

/// FRA's assessment id, and the board's id for any other participant.
async fn assessment_of(app: &TestApp, admin: &TestUser, cycle: &str, code: &str) -> String {
    let board: Value = body_json(
        app.request(admin.api(
            "GET",
            &format!("/api/v1/cycles/{cycle}/status?search={code}"),
            None,
        ))
        .await,
    )
    .await;
    board[0]["assessment_id"].as_str().unwrap().to_owned()
}

/// Answers `count` goals of an assessment (first versions) as `user`.
async fn answer(app: &TestApp, user: &TestUser, assessment: &str, count: usize) {
    for (goal, value) in GOALS.into_iter().take(count) {
        let mut put = user.api(
            "PUT",
            &format!("/api/v1/assessments/{assessment}/answers/{goal}"),
            Some(json!({"value": value, "narrative": format!("About {goal}")})),
        );
        put.headers_mut()
            .insert(header::IF_MATCH, "\"0\"".parse().unwrap());
        assert!(app.request(put).await.status().is_success(), "{goal}");
    }
}

fn flash_set(response: &Response<Body>) -> bool {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.starts_with("pledge_flash=")))
}

/// Everything a confirmation page could change, to compare before and after a GET.
async fn snapshot_of_state(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for sql in [
        "SELECT count(*) FROM audit_log",
        "SELECT count(*) FROM cycles WHERE state = 'open'",
        "SELECT count(*) FROM cycles WHERE state = 'closed'",
        "SELECT count(*) FROM cycles WHERE state = 'published'",
        "SELECT coalesce(sum(row_version), 0)::bigint FROM cycles",
        "SELECT count(*) FROM assessments WHERE state = 'returned'",
        "SELECT count(*) FROM assessment_reviews",
        "SELECT count(*) FROM snapshots",
        "SELECT count(*) FROM users WHERE disabled_at IS NOT NULL",
        "SELECT count(*) FROM sessions WHERE ended_at IS NULL",
    ] {
        counts.push(app.count(sql).await);
    }
    counts
}

#[tokio::test]
async fn a_submission_ends_on_its_confirmation_page_and_a_double_click_makes_one_revision() {
    let app = TestApp::spawn().await;
    let (_admin, _cycle, assessment) = crate::assessments::open_gci_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    answer(&app, &head, &assessment, 5).await;
    let path = format!("/assessments/{assessment}/submit");
    let first = app.request(head.post_form(&path, "")).await;
    let second = app.request(head.post_form(&path, "")).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&first),
        format!("/assessments/{assessment}/submitted")
    );
    assert_eq!(
        location(&second),
        format!("/assessments/{assessment}/submitted"),
        "the second click finds it done and shows the same page"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM snapshots WHERE assessment_id = '{assessment}'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'assessment.submit'")
            .await,
        1
    );
    let revision = body_json(
        app.request(head.api(
            "GET",
            &format!("/api/v1/assessments/{assessment}/revisions/1"),
            None,
        ))
        .await,
    )
    .await;
    let digest = revision["digest"].as_str().unwrap().to_owned();
    assert_eq!(digest.len(), 64);
    let page = app
        .request(head.get(&format!("/assessments/{assessment}/submitted")))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = body_text(page).await;
    assert!(page.contains("<h1>Assessment submitted</h1>"), "{page}");
    assert!(page.contains(r#"<strong id="submitted-revision">1</strong>"#));
    assert!(page.contains(&format!(
        r#"<code id="submitted-digest" class="digest">{digest}</code>"#
    )));
    assert!(page.contains("What happens next"));
    assert!(page.contains("5 / 5"), "answered");

    // Once returned, there is no current submission to confirm: the assessment itself.
    let admin = app.user("admin", None).await;
    app.request(admin.post_form(
        &format!("/assessments/{assessment}/return"),
        "reason=More+detail",
    ))
    .await;
    let later = app
        .request(head.get(&format!("/assessments/{assessment}/submitted")))
        .await;
    assert_eq!(later.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&later), format!("/assessments/{assessment}"));
}

#[tokio::test]
async fn the_confirmation_and_revisions_pages_read_the_assessment_once() {
    let app = TestApp::spawn().await;
    let (_admin, _cycle, assessment) = crate::assessments::open_gci_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    answer(&app, &head, &assessment, 5).await;
    let submitted = app
        .request(head.post_form(&format!("/assessments/{assessment}/submit"), ""))
        .await;
    assert_eq!(submitted.status(), StatusCode::SEE_OTHER);
    let count = |path: String| {
        let head = head.clone();
        let app = &app;
        async move {
            crate::reports::statements(async {
                let page = app.request(head.get(&path)).await;
                assert_eq!(page.status(), StatusCode::OK, "{path}");
            })
            .await
        }
    };
    let confirmation = count(format!("/assessments/{assessment}/submitted")).await;
    // A second revision: returned, then submitted again.
    let admin = app.user("admin", None).await;
    let returning = crate::reports::statements(async {
        let returned = app
            .request(admin.post_form(
                &format!("/assessments/{assessment}/return"),
                "reason=More+detail",
            ))
            .await;
        assert_eq!(returned.status(), StatusCode::SEE_OTHER);
    })
    .await;
    let again = app
        .request(head.post_form(&format!("/assessments/{assessment}/submit"), ""))
        .await;
    assert_eq!(
        location(&again),
        format!("/assessments/{assessment}/submitted")
    );
    let revisions = count(format!("/assessments/{assessment}/revisions?from=1&to=2")).await;
    eprintln!(
        "statements: confirmation {confirmation}, revisions with a difference {revisions}, \
         return {returning}"
    );
    assert!(confirmation > 0, "the counter sees the page's statements");
    // 5 measured: one transaction reads the assessment, with its permission, and its
    // revisions. Before, the page read the assessment a second time (13), then in a transaction
    // of its own with the revisions in another (7).
    assert!(
        confirmation <= 5,
        "the confirmation page took {confirmation} statements"
    );
    // 7 measured: the same transaction, then the two revisions' documents. Before, the page
    // read the assessment three times (17), then once with three more transactions (11).
    assert!(
        revisions <= 7,
        "the revisions page took {revisions} statements"
    );
    // 15 measured: the assessment read with its permission, then the locked decision, its
    // notes and its audit entry; the page it leads to names the participant from what the
    // decision read instead of reading the assessment again.
    assert!(returning <= 15, "returning took {returning} statements");
}

#[tokio::test]
async fn a_return_goes_through_the_review_page_and_a_confirmation_that_keeps_reason_and_notes() {
    let app = TestApp::spawn().await;
    let (admin, _cycle, assessment) = crate::assessments::open_gci_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    answer(&app, &head, &assessment, 5).await;
    app.request(head.post_form(&format!("/assessments/{assessment}/submit"), ""))
        .await;

    // The review page: each answer with its note field beside it, then the reason and actions.
    assert_eq!(
        app.request(head.get(&format!("/assessments/{assessment}/review")))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let review = body_text(
        app.request(admin.get(&format!("/assessments/{assessment}/review")))
            .await,
    )
    .await;
    let legal = review.find(r#"<h3 id="goal-legal-title">"#).unwrap();
    let legal_note = review.find(r#"name="note_legal""#).unwrap();
    let technical = review.find(r#"<h3 id="goal-technical-title">"#).unwrap();
    assert!(
        legal < legal_note && legal_note < technical,
        "the note sits beside its answer"
    );
    assert!(review[legal..legal_note].contains("18.5"));
    assert!(review[legal..legal_note].contains("About legal"));
    assert!(review.contains(&format!(
        r#"action="/assessments/{assessment}/return/confirm""#
    )));
    assert!(review.contains(&format!(r#"action="/assessments/{assessment}/accept""#)));
    assert!(review.contains(">Return to the delegation</button>"));
    assert!(review.contains(">Accept</button>"));
    assert!(review.contains(&format!(r#"href="/assessments/{assessment}""#)));

    let before = snapshot_of_state(&app).await;
    // No reason: the review page names the field and keeps what was typed.
    let missing = app
        .request(admin.post_form(
            &format!("/assessments/{assessment}/return/confirm"),
            "reason=+&note_legal=Which+law%3F",
        ))
        .await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let missing = body_text(missing).await;
    assert!(
        missing.contains(r##"<a href="#reason">Give the reason for the return.</a>"##),
        "{missing}"
    );
    assert!(missing.contains(r#"aria-invalid="true""#));
    assert!(missing.contains(">Which law?</textarea>"));

    // The confirmation says what will happen and to whom; it changes nothing.
    let confirm = app
        .request(admin.post_form(
            &format!("/assessments/{assessment}/return/confirm"),
            "reason=Please+justify+the+legal+score&note_legal=Which+law%3F&note_technical=&note_cooperation=Since+when%3F",
        ))
        .await;
    assert_eq!(confirm.status(), StatusCode::OK);
    let confirm = body_text(confirm).await;
    assert!(confirm.contains("France"), "{confirm}");
    assert!(confirm.contains("2026 assessment to its delegation?"));
    assert!(confirm.contains("Its head and contributors will be able to edit it again"));
    assert!(confirm.contains("your reason and 2 notes."));
    assert!(confirm.contains("Please justify the legal score"));
    assert!(confirm.contains(r#"<input type="hidden" name="note_legal" value="Which law?">"#));
    assert!(
        confirm.contains(r#"<input type="hidden" name="note_cooperation" value="Since when?">"#)
    );
    assert!(
        !confirm.contains("note_technical"),
        "empty notes are not carried"
    );
    assert!(confirm.contains(&format!(r#"action="/assessments/{assessment}/return""#)));
    assert!(confirm.contains(">Yes, return it</button>"));
    assert!(confirm.contains(">Go back</button>"));
    assert_eq!(snapshot_of_state(&app).await, before, "nothing changed yet");

    // "Go back" shows the review page again with the reason and notes as typed.
    let back = body_text(
        app.request(admin.post_form(
            &format!("/assessments/{assessment}/review"),
            "reason=Please+justify+the+legal+score&note_legal=Which+law%3F&note_cooperation=Since+when%3F",
        ))
        .await,
    )
    .await;
    assert!(back.contains(">Please justify the legal score</textarea>"));
    assert!(back.contains(">Which law?</textarea>"));
    assert!(back.contains(">Since when?</textarea>"));
    assert_eq!(snapshot_of_state(&app).await, before, "still nothing");

    // "Yes, return it": done, with a message, back on the assessment.
    let done = app
        .request(admin.post_form(
            &format!("/assessments/{assessment}/return"),
            "reason=Please+justify+the+legal+score&note_legal=Which+law%3F&note_cooperation=Since+when%3F",
        ))
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), format!("/assessments/{assessment}"));
    assert!(flash_set(&done));
    let document = body_json(
        app.request(admin.api("GET", &format!("/api/v1/assessments/{assessment}"), None))
            .await,
    )
    .await;
    assert_eq!(document["state"], "returned");
    assert_eq!(
        app.count("SELECT count(*) FROM review_answer_notes").await,
        2,
        "both notes stored"
    );
    // The review page now says there is nothing to review and offers no action.
    let after = body_text(
        app.request(admin.get(&format!("/assessments/{assessment}/review")))
            .await,
    )
    .await;
    assert!(after.contains("is not waiting for a review"));
    assert!(!after.contains(">Accept</button>"));
}

/// An open cycle of 32 participants in several states: FRA accepted, DEU submitted, EST
/// returned, ITA in draft, 28 not started. Returns the admin and the cycle id.
async fn cycle_in_several_states(app: &TestApp) -> (TestUser, String) {
    let (admin, cycle, fra) = crate::assessments::open_gci_cycle(app).await;
    for (code, id) in [
        ("FRA", fra),
        ("DEU", assessment_of(app, &admin, &cycle, "DEU").await),
        ("EST", assessment_of(app, &admin, &cycle, "EST").await),
    ] {
        let head = app.user("head", Some(code)).await;
        answer(app, &head, &id, 5).await;
        let submitted = app
            .request(head.api("POST", &format!("/api/v1/assessments/{id}/submit"), None))
            .await;
        assert!(submitted.status().is_success(), "{code}");
        match code {
            "FRA" => {
                app.request(admin.api("POST", &format!("/api/v1/assessments/{id}/accept"), None))
                    .await;
            }
            "EST" => {
                app.request(admin.api(
                    "POST",
                    &format!("/api/v1/assessments/{id}/return"),
                    Some(json!({"reason": "More detail"})),
                ))
                .await;
            }
            _ => {}
        }
    }
    let ita = assessment_of(app, &admin, &cycle, "ITA").await;
    let contributor = app.user("contributor", Some("ITA")).await;
    answer(app, &contributor, &ita, 1).await;
    let states = |state: &str| {
        format!("SELECT count(*) FROM assessments WHERE cycle_id = '{cycle}' AND state = '{state}'")
    };
    for (state, n) in [
        ("not_started", 28),
        ("draft", 1),
        ("returned", 1),
        ("submitted", 1),
        ("accepted", 1),
    ] {
        assert_eq!(app.count(&states(state)).await, n, "{state}");
    }
    (admin, cycle)
}

#[tokio::test]
async fn closing_and_publishing_say_whom_they_affect_and_an_admin_can_undo_both() {
    let app = TestApp::spawn().await;
    let (admin, cycle) = cycle_in_several_states(&app).await;
    let analyst = app.user("analyst", None).await;

    // The board links to the confirmation pages, apart from the filter.
    let board = body_text(app.request(admin.get(&format!("/cycles/{cycle}"))).await).await;
    assert!(board.contains(&format!(r#"href="/cycles/{cycle}/close""#)));
    assert!(!board.contains(&format!(r#"action="/cycles/{cycle}/close""#)));
    let actions = board.find("Cycle actions").unwrap();
    let filter = board.find(r#"id="board-state""#).unwrap();
    assert!(actions < filter);

    let before = snapshot_of_state(&app).await;
    let close = app
        .request(admin.get(&format!("/cycles/{cycle}/close")))
        .await;
    assert_eq!(close.status(), StatusCode::OK);
    let close = body_text(close).await;
    assert!(close.contains(r#"<dd id="count-participants">32</dd>"#));
    assert!(close.contains(r#"<dd id="count-not-started">28</dd>"#));
    assert!(close.contains(r#"<dd id="count-draft">1</dd>"#));
    assert!(close.contains(r#"<dd id="count-returned">1</dd>"#));
    assert!(close.contains(r#"<dd id="count-submitted">1</dd>"#));
    assert!(close.contains(r#"<dd id="count-accepted">1</dd>"#));
    assert!(close.contains("All 32 participants are affected"));
    assert!(close.contains(
        "30 have not submitted and will no longer be able to submit: 28 not started, 1 in draft, 1 returned."
    ));
    assert!(close.contains("days."), "days before the deadline");
    assert!(close.contains(&format!(r#"action="/cycles/{cycle}/close""#)));
    assert!(close.contains(">Close the cycle</button>"));
    assert_eq!(
        app.request(analyst.get(&format!("/cycles/{cycle}/close")))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Steps that do not apply to an open cycle: said so, no button.
    let publish_early = app
        .request(admin.get(&format!("/cycles/{cycle}/publish")))
        .await;
    assert_eq!(publish_early.status(), StatusCode::CONFLICT);
    let publish_early = body_text(publish_early).await;
    assert!(publish_early.contains("Only a closed cycle can be published."));
    assert!(!publish_early.contains(&format!(r#"action="/cycles/{cycle}/publish""#)));
    assert_eq!(
        app.request(admin.get(&format!("/cycles/{cycle}/reopen")))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        snapshot_of_state(&app).await,
        before,
        "a GET changes nothing"
    );

    let closed = app
        .request(admin.post_form(&format!("/cycles/{cycle}/close"), ""))
        .await;
    assert_eq!(closed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&closed), format!("/cycles/{cycle}"));
    assert!(flash_set(&closed));

    let publish = body_text(
        app.request(admin.get(&format!("/cycles/{cycle}/publish")))
            .await,
    )
    .await;
    assert!(publish.contains("Delegations and analysts will see the cycle"));
    assert!(publish.contains(
        "2 submissions out of 32 participants (1 accepted, 1 waiting for a review); 30 did not submit"
    ));
    assert!(publish.contains(">Publish</button>"));
    let reopen = body_text(
        app.request(admin.get(&format!("/cycles/{cycle}/reopen")))
            .await,
    )
    .await;
    assert!(reopen.contains(
        "30 of 32 participants have not submitted (28 not started, 1 in draft, 1 returned)"
    ));
    assert!(reopen.contains(">Reopen the cycle</button>"));

    // Reopening: admins only, audited, closed only.
    let step = |user: &TestUser, action: &str| {
        user.api("POST", &format!("/api/v1/cycles/{cycle}/{action}"), None)
    };
    assert_eq!(
        app.request(step(&analyst, "reopen")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.request(step(&admin, "unpublish")).await.status(),
        StatusCode::CONFLICT,
        "not published"
    );
    assert_eq!(
        app.request(step(&admin, "reopen")).await.status(),
        StatusCode::NO_CONTENT
    );
    let read = |user: &TestUser| user.api("GET", &format!("/api/v1/cycles/{cycle}"), None);
    assert_eq!(
        body_json(app.request(read(&admin)).await).await["state"],
        "open"
    );
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM cycles WHERE id = '{cycle}' AND closed_at IS NULL AND opened_at IS NOT NULL")).await,
        1
    );
    // Reopened: a delegation in draft can save again.
    let ita = assessment_of(&app, &admin, &cycle, "ITA").await;
    let contributor = app.user("contributor", Some("ITA")).await;
    let mut put = contributor.api(
        "PUT",
        &format!("/api/v1/assessments/{ita}/answers/technical"),
        Some(json!({"value": "10"})),
    );
    put.headers_mut()
        .insert(header::IF_MATCH, "\"0\"".parse().unwrap());
    assert!(app.request(put).await.status().is_success());

    // Close, publish, withdraw the publication; a published cycle is not reopened directly.
    for action in ["close", "publish"] {
        assert_eq!(
            app.request(step(&admin, action)).await.status(),
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(
        app.request(step(&admin, "reopen")).await.status(),
        StatusCode::CONFLICT
    );
    let unpublish = body_text(
        app.request(admin.get(&format!("/cycles/{cycle}/unpublish")))
            .await,
    )
    .await;
    assert!(unpublish.contains("will no longer see the cycle"));
    assert!(unpublish.contains(">Withdraw the publication</button>"));
    let head = app.user("head", Some("FRA")).await;
    assert_eq!(
        app.request(head.post_form(&format!("/cycles/{cycle}/unpublish"), ""))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let withdrawn = app
        .request(admin.post_form(&format!("/cycles/{cycle}/unpublish"), ""))
        .await;
    assert_eq!(withdrawn.status(), StatusCode::SEE_OTHER);
    assert!(flash_set(&withdrawn));
    assert_eq!(
        body_json(app.request(read(&admin)).await).await["state"],
        "closed"
    );
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM cycles WHERE id = '{cycle}' AND published_at IS NULL AND closed_at IS NOT NULL")).await,
        1
    );
    assert_eq!(
        app.request(step(&admin, "unpublish")).await.status(),
        StatusCode::CONFLICT,
        "already withdrawn"
    );
    for (action, n) in [
        ("cycle.reopen", 1),
        ("cycle.unpublish", 1),
        ("cycle.close", 2),
    ] {
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) FROM audit_log WHERE action = '{action}' AND entity_id = '{cycle}'"
            ))
            .await,
            n,
            "{action}"
        );
    }
}

#[tokio::test]
async fn reopening_after_the_deadline_needs_a_new_deadline() {
    let app = TestApp::spawn().await;
    let (admin, cycle, _) = crate::assessments::open_gci_cycle(&app).await;
    let step = |action: &str| admin.api("POST", &format!("/api/v1/cycles/{cycle}/{action}"), None);
    assert_eq!(
        app.request(step("close")).await.status(),
        StatusCode::NO_CONTENT
    );
    let mut owner = app.db.owner().await;
    sqlx::query(
        "UPDATE cycles SET opens_on = current_date - 30, deadline = current_date - 3 WHERE id = $1::uuid",
    )
    .bind(&cycle)
    .execute(&mut owner)
    .await
    .unwrap();

    let page = body_text(
        app.request(admin.get(&format!("/cycles/{cycle}/reopen")))
            .await,
    )
    .await;
    assert!(page.contains("passed 3 days ago"), "{page}");
    assert!(page.contains("The deadline has passed: give a new one, today or later."));
    assert!(page.contains(r#"id="deadline""#));

    let before = snapshot_of_state(&app).await;
    let refused = app
        .request(admin.post_form(&format!("/cycles/{cycle}/reopen"), "deadline="))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = body_text(refused).await;
    assert!(refused.contains("The deadline has passed: give a new deadline to reopen the cycle."));
    let api = app.request(step("reopen")).await;
    assert_eq!(api.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body_json(api).await["error"]["fields"]["deadline"],
        "The deadline has passed: give a new deadline to reopen the cycle."
    );
    let past = app
        .request(admin.api(
            "POST",
            &format!("/api/v1/cycles/{cycle}/reopen"),
            Some(json!({"deadline": "2020-01-01"})),
        ))
        .await;
    assert_eq!(past.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        snapshot_of_state(&app).await,
        before,
        "refusals change nothing"
    );

    let new_deadline =
        (time::OffsetDateTime::now_utc().date() + time::Duration::days(30)).to_string();
    let reopened = app
        .request(admin.post_form(
            &format!("/cycles/{cycle}/reopen"),
            &format!("deadline={new_deadline}"),
        ))
        .await;
    assert_eq!(reopened.status(), StatusCode::SEE_OTHER);
    let cycle_now = body_json(
        app.request(admin.api("GET", &format!("/api/v1/cycles/{cycle}"), None))
            .await,
    )
    .await;
    assert_eq!(cycle_now["state"], "open");
    assert_eq!(cycle_now["deadline"], new_deadline);
    let audit: Value = {
        let mut owner = app.db.owner().await;
        sqlx::query_scalar(
            "SELECT details FROM audit_log WHERE action = 'cycle.reopen' ORDER BY seq DESC LIMIT 1",
        )
        .fetch_one(&mut owner)
        .await
        .unwrap()
    };
    assert_eq!(audit["deadline"]["new"], new_deadline);
}

#[tokio::test]
async fn opening_a_planned_cycle_is_confirmed_with_the_number_of_participants() {
    let app = TestApp::spawn().await;
    let (admin, _, _) = crate::assessments::open_gci_cycle(&app).await;
    let framework: String = {
        let mut owner = app.db.owner().await;
        sqlx::query_scalar("SELECT framework_id::text FROM cycles LIMIT 1")
            .fetch_one(&mut owner)
            .await
            .unwrap()
    };
    let planned = body_json(
        app.request(admin.api(
            "POST",
            "/api/v1/cycles",
            Some(json!({"framework_id": framework, "code": "2027", "title_en": "2027", "opens_on": "2027-09-01", "deadline": "2027-12-31"})),
        ))
        .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = snapshot_of_state(&app).await;
    let page = body_text(
        app.request(admin.get(&format!("/cycles/{planned}/open")))
            .await,
    )
    .await;
    assert!(page.contains(r#"<dd id="count-active">32</dd>"#));
    assert!(page.contains("Each of the 32 active participants gets an assessment"));
    assert!(page.contains("carried forward"));
    assert!(page.contains(">Open the cycle</button>"));
    assert_eq!(snapshot_of_state(&app).await, before);
    let opened = app
        .request(admin.post_form(&format!("/cycles/{planned}/open"), ""))
        .await;
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    assert!(flash_set(&opened));
}

#[tokio::test]
async fn disabling_a_user_is_confirmed_with_who_and_how_many_sessions_end() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let head = app.user("head", Some("EST")).await;
    app.session_for(head.id).await;
    let before = snapshot_of_state(&app).await;
    let page = app
        .request(admin.get(&format!("/admin/users/{}/disable", head.id)))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = body_text(page).await;
    assert!(page.contains("Test head"));
    assert!(page.contains(&head.email));
    assert!(page.contains("EST — Estonia"));
    assert!(page.contains("signed out of their 2 open sessions"));
    assert!(page.contains(&format!(r#"action="/admin/users/{}/disable""#, head.id)));
    assert_eq!(
        snapshot_of_state(&app).await,
        before,
        "a GET changes nothing"
    );
    let user_page = body_text(
        app.request(admin.get(&format!("/admin/users/{}", head.id)))
            .await,
    )
    .await;
    assert!(user_page.contains(&format!(r#"href="/admin/users/{}/disable""#, head.id)));
    assert!(!user_page.contains(&format!(r#"action="/admin/users/{}/disable""#, head.id)));
    assert_eq!(
        app.request(admin.get(&format!("/admin/users/{}/disable", admin.id)))
            .await
            .status(),
        StatusCode::CONFLICT,
        "not oneself"
    );

    let done = app
        .request(admin.post_form(&format!("/admin/users/{}/disable", head.id), ""))
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert!(flash_set(&done));
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM sessions WHERE user_id = '{}' AND ended_at IS NULL",
            head.id
        ))
        .await,
        0
    );
    for action in ["enable", "sessions/end"] {
        let response = app
            .request(admin.post_form(&format!("/admin/users/{}/{action}", head.id), ""))
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{action}");
        assert!(flash_set(&response), "{action}");
    }
    let shown = body_text(
        app.request(
            axum::http::Request::get(format!("/admin/users/{}", head.id))
                .header(
                    "cookie",
                    format!(
                        "pledge_session={}; pledge_flash=k=flash.user_enabled&a=Test%20head",
                        admin.cookie
                    ),
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert!(shown.contains("Test head was enabled and can sign in again."));
}
