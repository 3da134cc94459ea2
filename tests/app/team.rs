//! Delegation teamwork (issue 18, part A): heads invite and manage their members, assign goals,
//! members see their work; the deadline calendar; the API for members and assignments.

use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use sqlx::Connection;
use uuid::Uuid;

use crate::assessments::open_gci_cycle;
use crate::support::{
    PASSWORD, TestApp, TestUser, anonymous_form, body_json, body_text, enc, flash_of, location,
    session_cookie_set,
};
use pledge::storage::{self, Scope};

const NEW_PASSWORD: &str = "violet harbour engine 47";

/// Stores an invitation with a token the test knows (the mail that carries it is the outbox's).
async fn invitation_with_token(
    app: &TestApp,
    participant: &str,
    email: &str,
    lifetime: time::Duration,
) -> String {
    let token = pledge::auth::secrets::random_hex(32);
    let participant_id = app.participant(participant).await;
    let mut owner = app.db.owner().await;
    let mut tx = owner.begin().await.unwrap();
    storage::set_scope(&mut tx, &Scope::System).await.unwrap();
    pledge::storage::invitations::insert(
        &mut tx,
        &pledge::storage::invitations::NewInvitation {
            participant_id,
            email,
            display_name: "Invited Person",
            delegation_role: "contributor",
            language: "fr",
            token_hash: &pledge::auth::secrets::sha256(&token),
            invited_by: None,
            lifetime,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    token
}

#[tokio::test]
async fn an_invitation_link_sets_a_password_once_and_the_new_member_signs_in() {
    let app = TestApp::spawn().await;
    let email = "new.member@test.example";
    let token = invitation_with_token(&app, "FRA", email, time::Duration::days(7)).await;
    // Only the hash is stored.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM invitations WHERE token_hash = sha256('{token}'::bytea) AND octet_length(token_hash) = 32"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM invitations i WHERE i::text LIKE '%{token}%'"
        ))
        .await,
        0,
        "the token is never stored in clear"
    );

    let page = app.get(&format!("/invitations/{token}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = body_text(page).await;
    assert!(html.contains(email) && html.contains("FRA"), "{html}");
    assert!(
        html.contains("name=\"second_factor\""),
        "the second factor is offered"
    );

    // A mismatch comes back naming the field; nothing is created.
    let refused = app
        .request(anonymous_form(
            &format!("/invitations/{token}"),
            &format!(
                "new_password={}&confirm_password=other+words+entirely+99",
                enc(NEW_PASSWORD)
            ),
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body_text(refused).await.contains("confirm_password-error"));
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM users WHERE email = '{email}'"
        ))
        .await,
        0
    );

    let accepted = app
        .request(anonymous_form(
            &format!("/invitations/{token}"),
            &format!(
                "new_password={0}&confirm_password={0}&second_factor=yes",
                enc(NEW_PASSWORD)
            ),
        ))
        .await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&accepted),
        "/signin?return_to=%2Faccount%2Fsecond-factor",
        "then on to the second factor, as chosen"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM users u JOIN delegation_memberships m ON m.user_id = u.id
             JOIN participants p ON p.id = m.participant_id
             WHERE u.email = '{email}' AND p.code = 'FRA' AND m.delegation_role = 'contributor'
               AND u.preferred_language = 'fr' AND NOT u.must_change_password"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'team.invitation_accept'")
            .await,
        1
    );

    // Works once.
    for again in [
        app.get(&format!("/invitations/{token}")).await,
        app.request(anonymous_form(
            &format!("/invitations/{token}"),
            &format!(
                "new_password={0}&confirm_password={0}",
                enc("another long pass phrase 77")
            ),
        ))
        .await,
    ] {
        assert_eq!(again.status(), StatusCode::NOT_FOUND);
    }

    // The new member signs in with the password they chose.
    let signed_in = app
        .request(anonymous_form(
            "/signin",
            &format!("email={}&password={}", enc(email), enc(NEW_PASSWORD)),
        ))
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert!(session_cookie_set(&signed_in).is_some());
}

#[tokio::test]
async fn an_expired_or_unknown_link_is_the_same_404_page() {
    let app = TestApp::spawn().await;
    let token =
        invitation_with_token(&app, "FRA", "late@test.example", time::Duration::days(7)).await;
    let mut owner = app.system().await;
    sqlx::query(
        "UPDATE invitations SET created_at = now() - interval '8 days', expires_at = now() - interval '1 day'",
    )
    .execute(&mut owner)
    .await
    .unwrap();
    let expired = app.get(&format!("/invitations/{token}")).await;
    let unknown = app.get(&format!("/invitations/{}", "0".repeat(64))).await;
    assert_eq!(expired.status(), StatusCode::NOT_FOUND);
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        body_text(expired).await.replace(&token, "LINK"),
        body_text(unknown).await.replace(&"0".repeat(64), "LINK")
    );
    let post = app
        .request(anonymous_form(
            &format!("/invitations/{token}"),
            &format!("new_password={0}&confirm_password={0}", enc(NEW_PASSWORD)),
        ))
        .await;
    assert_eq!(post.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'late@test.example'")
            .await,
        0
    );
}

#[tokio::test]
async fn inviting_reveals_nothing_about_whether_the_address_has_an_account() {
    let app = TestApp::spawn().await;
    let head = app.user("head", Some("FRA")).await;
    let existing = app.user("contributor", Some("DEU")).await;
    let invite = |email: &str| {
        head.post_form(
            "/team/invite",
            &format!(
                "email={}&display_name=Some+One&role=viewer&language=en",
                enc(email)
            ),
        )
    };
    let to_existing = app.request(invite(&existing.email)).await;
    let to_new = app.request(invite("nobody.yet@test.example")).await;
    assert_eq!(to_existing.status(), StatusCode::SEE_OTHER);
    assert_eq!(to_new.status(), to_existing.status());
    assert_eq!(location(&to_new), "/team");
    assert_eq!(location(&to_existing), "/team");
    // The one-time message differs only by the address typed.
    let message = |response: &axum::http::Response<axum::body::Body>, email: &str| {
        flash_of(response).replace(&enc(email), "ADDRESS")
    };
    assert_eq!(
        message(&to_existing, &existing.email).split(';').next(),
        message(&to_new, "nobody.yet@test.example")
            .split(';')
            .next()
    );
    // Both wait in the same list, alike.
    let team = body_text(app.request(head.get("/team")).await).await;
    assert!(team.contains(&existing.email) && team.contains("nobody.yet@test.example"));
    // Both are audited, neither says whether there was an account.
    let details: Vec<Value> = {
        let mut owner = app.system().await;
        sqlx::query_scalar(
            "SELECT details FROM audit_log WHERE action = 'team.invite' ORDER BY seq",
        )
        .fetch_all(&mut owner)
        .await
        .unwrap()
    };
    assert_eq!(details.len(), 2);
    for detail in &details {
        let keys: Vec<&String> = detail.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["email", "role"]);
    }
    // The mails: the same subject and language; only the new address gets a link to accept,
    // and that link (from the outbox, as the sender will send it) works.
    let mails: Vec<(String, String, String, String, String)> = {
        let mut owner = app.system().await;
        sqlx::query_as(
            "SELECT recipient, language, subject, body, link FROM mail_outbox
             WHERE kind = 'team_invitation' ORDER BY created_at, recipient",
        )
        .fetch_all(&mut owner)
        .await
        .unwrap()
    };
    assert_eq!(mails.len(), 2, "{mails:?}");
    let to = |address: &str| mails.iter().find(|m| m.0 == address).unwrap().clone();
    let (existing_mail, new_mail) = (to(&existing.email), to("nobody.yet@test.example"));
    assert_eq!(existing_mail.2, new_mail.2, "the same subject");
    assert_eq!(
        (existing_mail.1.as_str(), new_mail.1.as_str()),
        ("en", "en")
    );
    assert_eq!(existing_mail.4, "/signin");
    assert!(new_mail.4.starts_with("/invitations/"), "{new_mail:?}");
    let token = &new_mail.4["/invitations/".len()..];
    assert!(!new_mail.3.contains(token), "the link is only the link");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM invitations WHERE token_hash = sha256('{token}'::bytea)"
        ))
        .await,
        1
    );
    assert_eq!(app.get(&new_mail.4).await.status(), StatusCode::OK);

    // The existing account stays in its delegation.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM delegation_memberships m JOIN participants p ON p.id = m.participant_id
             WHERE m.user_id = '{}' AND p.code = 'DEU'",
            existing.id
        ))
        .await,
        1
    );
    // A link to an address that has an account does not work either (it is never mailed).
    let token = invitation_with_token(&app, "FRA", &existing.email, time::Duration::days(7)).await;
    assert_eq!(
        app.get(&format!("/invitations/{token}")).await.status(),
        StatusCode::NOT_FOUND
    );

    // Errors name the field and keep what was typed.
    let wrong = app
        .request(head.post_form(
            "/team/invite",
            "email=not-an-address&display_name=Kept+Name&role=head",
        ))
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body_text(wrong).await;
    assert!(
        html.contains("email-error") && html.contains("role-error"),
        "{html}"
    );
    assert!(html.contains("value=\"Kept Name\""));
}

#[tokio::test]
async fn heads_switch_members_between_contributor_and_viewer_and_disable_them_within_their_own_delegation()
 {
    let app = TestApp::spawn().await;
    let head = app.user("head", Some("FRA")).await;
    let member = app.user("contributor", Some("FRA")).await;
    let other_head = app.user("head", Some("FRA")).await;
    let foreign = app.user("contributor", Some("DEU")).await;
    let contributor = app.user("contributor", Some("FRA")).await;

    let page = body_text(app.request(head.get("/team")).await).await;
    assert!(page.contains(&member.email));
    assert!(!page.contains(&foreign.email), "only the own delegation");

    let changed = app
        .request(head.post_form(&format!("/team/members/{}/role", member.id), "role=viewer"))
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    let role = || async {
        app.count(&format!(
            "SELECT count(*) FROM delegation_memberships WHERE user_id = '{}' AND delegation_role = 'viewer'",
            member.id
        ))
        .await
    };
    assert_eq!(role().await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'team.member_role_change'")
            .await,
        1
    );

    // Never to head, never another head, never another delegation, never as a contributor.
    let to_head = app
        .request(head.post_form(&format!("/team/members/{}/role", member.id), "role=head"))
        .await;
    assert_eq!(to_head.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body_text(to_head).await.contains("role-error"));
    assert_eq!(role().await, 1);
    let of_head = app
        .request(head.post_form(&format!("/team/members/{}/disable", other_head.id), ""))
        .await;
    assert_eq!(of_head.status(), StatusCode::CONFLICT);
    let abroad = app
        .request(head.post_form(&format!("/team/members/{}/disable", foreign.id), ""))
        .await;
    assert_eq!(abroad.status(), StatusCode::NOT_FOUND);
    let not_head = app
        .request(contributor.post_form(&format!("/team/members/{}/disable", member.id), ""))
        .await;
    assert_eq!(not_head.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE disabled_at IS NOT NULL")
            .await,
        0
    );

    // Disabling signs them out.
    assert_eq!(
        app.request(member.get("/account")).await.status(),
        StatusCode::OK
    );
    let disabled = app
        .request(head.post_form(&format!("/team/members/{}/disable", member.id), ""))
        .await;
    assert_eq!(disabled.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.request(member.get("/account")).await.status(),
        StatusCode::SEE_OTHER,
        "their session ended"
    );
    let enabled = app
        .request(head.post_form(&format!("/team/members/{}/enable", member.id), ""))
        .await;
    assert_eq!(enabled.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM users WHERE id = '{}' AND disabled_at IS NULL",
            member.id
        ))
        .await,
        1
    );
    for action in ["team.member_disable", "team.member_enable"] {
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) FROM audit_log WHERE action = '{action}'"
            ))
            .await,
            1
        );
    }

    // Admins still manage everyone, through the same operations.
    let admin = app.user("admin", None).await;
    let by_admin = app
        .request(admin.api(
            "PATCH",
            &format!("/api/v1/members/{}", foreign.id),
            Some(json!({"role": "viewer"})),
        ))
        .await;
    assert_eq!(by_admin.status(), StatusCode::OK);
    assert_eq!(body_json(by_admin).await["role"], "viewer");
}

#[tokio::test]
async fn the_team_page_shows_each_members_last_sign_in() {
    let app = TestApp::spawn().await;
    let head = app.user("head", Some("FRA")).await;
    let member = app.user("contributor", Some("FRA")).await;
    let mut owner = app.system().await;
    sqlx::query("UPDATE sessions SET created_at = '2026-03-04 10:20:00+00' WHERE user_id = $1")
        .bind(member.id)
        .execute(&mut owner)
        .await
        .unwrap();
    sqlx::query("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = $1)")
        .bind(&head.email)
        .execute(&mut owner)
        .await
        .unwrap();
    let (cookie, _) = app.session_for(head.id).await;
    let head = TestUser { cookie, ..head };
    let page = body_text(app.request(head.get("/team")).await).await;
    // In the reader's zone (UTC here), to the minute.
    assert!(page.contains("2026") && page.contains("10:20"), "{page}");

    let api = body_json(
        app.request(head.api(
            "GET",
            &format!(
                "/api/v1/participants/{}/members",
                app.participant("FRA").await
            ),
            None,
        ))
        .await,
    )
    .await;
    let listed = api["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == member.id.to_string())
        .unwrap()
        .clone();
    assert_eq!(listed["last_sign_in"], "2026-03-04T10:20:00Z");
}

/// Assigns through the page; returns the response.
async fn assign(
    app: &TestApp,
    head: &TestUser,
    assessment: &str,
    member: Uuid,
    what: &str,
) -> axum::http::Response<axum::body::Body> {
    app.request(head.post_form(
        &format!("/assessments/{assessment}/assignments"),
        &format!("member={member}&{what}"),
    ))
    .await
}

#[tokio::test]
async fn a_head_assigns_sections_and_goals_and_the_form_shows_who_holds_each_and_filters_to_mine() {
    let app = TestApp::spawn().await;
    let (_, _, assessment) = open_gci_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    let alice = app.user("contributor", Some("FRA")).await;
    let bob = app.user("contributor", Some("FRA")).await;
    let viewer = app.user("viewer", Some("FRA")).await;

    let whole = assign(
        &app,
        &head,
        &assessment,
        alice.id,
        "section=LEGAL&goal=technical",
    )
    .await;
    assert_eq!(whole.status(), StatusCode::SEE_OTHER);
    // Several people per goal.
    assert_eq!(
        assign(&app, &head, &assessment, bob.id, "goal=legal")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.count("SELECT count(*) FROM goal_assignments").await, 3);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'assignment.add'")
            .await,
        2
    );
    // Each assignee is told (in-app, and by mail as they chose), with a link and codes only.
    for member in [&alice, &bob] {
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) FROM notifications WHERE user_id = '{}' AND kind = 'goal_assigned'
                   AND link = '/assessments/{assessment}'",
                member.id
            ))
            .await,
            1
        );
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) FROM mail_outbox WHERE user_id = '{}' AND kind = 'goal_assigned'",
                member.id
            ))
            .await,
            1
        );
    }
    // A head who takes goals themselves is not told of their own act.
    assert_eq!(
        assign(&app, &head, &assessment, head.id, "goal=cooperation")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM notifications WHERE user_id = '{}'",
            head.id
        ))
        .await,
        0
    );
    // Viewers cannot hold goals; unknown goals are named.
    let refused = assign(&app, &head, &assessment, viewer.id, "goal=nope").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body_text(refused).await;
    assert!(html.contains("member-error") && html.contains("goals-error"));

    // The section page says who holds each goal.
    let section = body_text(
        app.request(alice.get(&format!("/assessments/{assessment}/sections/LEGAL")))
            .await,
    )
    .await;
    assert!(section.contains("Test contributor"), "{section}");
    assert!(section.contains("assigned-legal"), "{section}");

    // "Mine": the task list keeps only sections with my goals; without JavaScript.
    let mine = body_text(
        app.request(bob.get(&format!("/assessments/{assessment}?mine=1")))
            .await,
    )
    .await;
    assert!(mine.contains("section-LEGAL") && !mine.contains("section-TECHNICAL"));
    let all = body_text(
        app.request(bob.get(&format!("/assessments/{assessment}")))
            .await,
    )
    .await;
    assert!(all.contains("section-TECHNICAL"));
    let technical_mine = body_text(
        app.request(bob.get(&format!(
            "/assessments/{assessment}/sections/TECHNICAL?mine=1"
        )))
        .await,
    )
    .await;
    assert!(!technical_mine.contains("id=\"goal-technical\""));
    assert!(
        technical_mine.contains("assignments.none_mine")
            || technical_mine.contains("No goal of this assessment")
    );

    // The head's page: progress per assignee.
    let progress = body_text(
        app.request(head.get(&format!("/assessments/{assessment}/assignments")))
            .await,
    )
    .await;
    assert!(progress.contains("id=\"progress\""));
    assert!(
        progress.contains("0 / 2") && progress.contains("0 / 1"),
        "{progress}"
    );

    // Removing is audited; removing again is no error and records nothing.
    for _ in 0..2 {
        let removed = app
            .request(head.post_form(
                &format!("/assessments/{assessment}/assignments/remove"),
                &format!("member={}&goal=legal", bob.id),
            ))
            .await;
        assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'assignment.remove'")
            .await,
        1
    );
}

#[tokio::test]
async fn my_work_lists_my_goals_across_cycles_in_the_same_statements_for_one_or_many() {
    let app = TestApp::spawn().await;
    let (admin, cycle, assessment) = open_gci_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    let me = app.user("contributor", Some("FRA")).await;
    assert_eq!(
        assign(&app, &head, &assessment, me.id, "goal=legal")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let one = crate::reports::statements(async {
        let page = app.request(me.get("/my-work")).await;
        assert_eq!(page.status(), StatusCode::OK);
    })
    .await;

    // A second cycle, every goal of both assigned, and a clarification request on one.
    let framework: String = {
        let mut owner = app.system().await;
        let id: Uuid = sqlx::query_scalar("SELECT framework_id FROM cycles WHERE id = $1::uuid")
            .bind(&cycle)
            .fetch_one(&mut owner)
            .await
            .unwrap();
        id.to_string()
    };
    let next = json!({"framework_id": framework, "code": "2027", "title_en": "Next", "opens_on": "2027-09-01", "deadline": "2099-06-30"});
    let next = body_json(
        app.request(admin.api("POST", "/api/v1/cycles", Some(next)))
            .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.request(admin.api("POST", &format!("/api/v1/cycles/{next}/open"), None))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let next_assessment: Uuid = {
        let mut owner = app.system().await;
        sqlx::query_scalar(
            "SELECT a.id FROM assessments a JOIN participants p ON p.id = a.participant_id
             WHERE a.cycle_id = $1::uuid AND p.code = 'FRA'",
        )
        .bind(&next)
        .fetch_one(&mut owner)
        .await
        .unwrap()
    };
    let sections = "section=LEGAL&section=TECHNICAL&section=ORGANIZATIONAL&section=CAPACITY_DEVELOPMENT&section=COOPERATION";
    for id in [assessment.clone(), next_assessment.to_string()] {
        assert_eq!(
            assign(&app, &head, &id, me.id, sections).await.status(),
            StatusCode::SEE_OTHER
        );
    }
    let raised = app
        .request(admin.post_form(
            &format!("/assessments/{assessment}/goals/legal/clarifications"),
            "question=Which+law%3F",
        ))
        .await;
    assert!(raised.status().is_redirection(), "{}", raised.status());

    let many = crate::reports::statements(async {
        let page = app.request(me.get("/my-work")).await;
        assert_eq!(page.status(), StatusCode::OK);
    })
    .await;
    assert!(one > 0, "the counter sees the page's statements");
    assert_eq!(
        one, many,
        "1 or 10 assignments in 2 cycles: the same statements"
    );

    let page = body_text(app.request(me.get("/my-work")).await).await;
    assert!(
        page.contains("2099") && page.contains("Next"),
        "deadlines and cycles"
    );
    assert_eq!(page.matches("<tr>").count() - 2, 10, "{page}");
    let api = body_json(app.request(me.api("GET", "/api/v1/me/work", None)).await).await;
    let items = api.as_array().unwrap();
    assert_eq!(items.len(), 10);
    let legal = items
        .iter()
        .find(|i| i["goal_code"] == "legal" && i["assessment_id"] == assessment.as_str())
        .unwrap();
    assert_eq!(legal["open_clarifications"], 1);
    assert_eq!(legal["goal_state"], "not_started");
    assert_eq!(items[0]["deadline"], "2099-12-31", "latest deadline first");
}

async fn goal(owner: &mut sqlx::PgConnection, framework: Uuid, code: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM goals WHERE framework_id = $1 AND code = $2")
        .bind(framework)
        .bind(code)
        .fetch_one(owner)
        .await
        .unwrap()
}

#[tokio::test]
async fn assignments_carry_forward_to_the_next_cycle_through_the_mapping_marked_for_review() {
    let app = TestApp::spawn().await;
    let (admin, cycle, assessment) = open_gci_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    let me = app.user("contributor", Some("FRA")).await;
    let gone = app.user("contributor", Some("FRA")).await;
    assert_eq!(
        assign(&app, &head, &assessment, me.id, "goal=legal&goal=technical")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        assign(&app, &head, &assessment, gone.id, "goal=legal")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // One member leaves the delegation before the next cycle.
    let mut owner = app.system().await;
    sqlx::query("UPDATE users SET disabled_at = now() WHERE id = $1")
        .bind(gone.id)
        .execute(&mut owner)
        .await
        .unwrap();

    // Version 2 of the framework: `legal` is renamed `legal2` (equivalent); `technical` is
    // split into `technical` and `tech_ops`.
    let old_framework: Uuid =
        sqlx::query_scalar("SELECT framework_id FROM cycles WHERE id = $1::uuid")
            .bind(&cycle)
            .fetch_one(&mut owner)
            .await
            .unwrap();
    let mut document: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/fixtures/frameworks/itu-gci-2020.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    document["version"] = json!("2027");
    document["sections"][0]["goals"][0]["code"] = json!("legal2");
    let mut extra = document["sections"][1]["goals"][0].clone();
    extra["code"] = json!("tech_ops");
    document["sections"][1]["goals"]
        .as_array_mut()
        .unwrap()
        .push(extra);
    let mut import = admin.api("POST", "/api/v1/frameworks", None);
    *import.body_mut() = document.to_string().into();
    import
        .headers_mut()
        .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    let imported = app.request(import).await;
    assert_eq!(imported.status(), StatusCode::CREATED);
    let new_framework: Uuid = body_json(imported).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let legal = goal(&mut owner, old_framework, "legal").await;
    let legal2 = goal(&mut owner, new_framework, "legal2").await;
    let technical = goal(&mut owner, old_framework, "technical").await;
    let technical2 = goal(&mut owner, new_framework, "technical").await;
    let tech_ops = goal(&mut owner, new_framework, "tech_ops").await;
    let mapping: Uuid = sqlx::query_scalar(
        "INSERT INTO framework_mappings (from_framework_id, to_framework_id) VALUES ($1, $2) RETURNING id",
    )
    .bind(old_framework)
    .bind(new_framework)
    .fetch_one(&mut owner)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO goal_mappings (mapping_id, from_goal_id, to_goal_id, relation)
         VALUES ($1, $2, $3, 'equivalent'), ($1, $4, $5, 'split'), ($1, $4, $6, 'split')",
    )
    .bind(mapping)
    .bind(legal)
    .bind(legal2)
    .bind(technical)
    .bind(technical2)
    .bind(tech_ops)
    .execute(&mut owner)
    .await
    .unwrap();

    let next = json!({"framework_id": new_framework, "code": "2027", "title_en": "2027", "opens_on": "2027-09-01", "deadline": "2099-06-30"});
    let next = body_json(
        app.request(admin.api("POST", "/api/v1/cycles", Some(next)))
            .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.request(admin.api("POST", &format!("/api/v1/cycles/{next}/open"), None))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let carried: Vec<(String, Uuid, bool)> = sqlx::query_as(
        "SELECT g.code, ga.user_id, ga.needs_review FROM goal_assignments ga
         JOIN goals g ON g.id = ga.goal_id JOIN assessments a ON a.id = ga.assessment_id
         WHERE a.cycle_id = $1::uuid ORDER BY g.code",
    )
    .bind(&next)
    .fetch_all(&mut owner)
    .await
    .unwrap();
    assert_eq!(
        carried,
        vec![
            ("legal2".to_owned(), me.id, true),
            ("tech_ops".to_owned(), me.id, true),
            ("technical".to_owned(), me.id, true),
        ],
        "through the mapping, for members still there, marked for review"
    );
    let details: Value = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'cycle.open' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(details["assignments_carried_forward"], 3);

    // The head sees them to review, and keeps them.
    let next_assessment: Uuid = sqlx::query_scalar(
        "SELECT a.id FROM assessments a JOIN participants p ON p.id = a.participant_id
         WHERE a.cycle_id = $1::uuid AND p.code = 'FRA'",
    )
    .bind(&next)
    .fetch_one(&mut owner)
    .await
    .unwrap();
    let page = body_text(
        app.request(head.get(&format!("/assessments/{next_assessment}/assignments")))
            .await,
    )
    .await;
    assert!(page.contains("/assignments/confirm"), "{page}");
    let kept = app
        .request(head.post_form(
            &format!("/assessments/{next_assessment}/assignments/confirm"),
            "",
        ))
        .await;
    assert_eq!(kept.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) FROM goal_assignments WHERE needs_review")
            .await,
        0
    );
}

#[tokio::test]
async fn the_calendar_feed_is_valid_icalendar_of_my_cycles_and_can_be_revoked() {
    let app = TestApp::spawn().await;
    let (_, _, _) = open_gci_cycle(&app).await;
    let member = app.user("viewer", Some("FRA")).await;
    let made = app.request(member.post_form("/account/calendar", "")).await;
    assert_eq!(made.status(), StatusCode::OK);
    let html = body_text(made).await;
    let start = html
        .find("/calendar/cal_")
        .expect("the address is shown once");
    let token: String = html[start + "/calendar/".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM calendar_feeds WHERE token_hash = sha256('{token}'::bytea)"
        ))
        .await,
        1,
        "stored as its hash"
    );
    // Shown once: the page does not show it again.
    let again = body_text(app.request(member.get("/account/calendar")).await).await;
    assert!(!again.contains(&token));

    let feed = app.get(&format!("/calendar/{token}")).await;
    assert_eq!(feed.status(), StatusCode::OK);
    assert!(
        feed.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = body_text(feed).await;
    assert!(text.ends_with("\r\n"));
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "every line ends with CRLF"
    );
    for physical in text.split("\r\n") {
        assert!(physical.len() <= 75, "folded at 75 octets: {physical:?}");
    }
    let lines = pledge::domain::ics::unfold(&text);
    assert_eq!(lines[0], "BEGIN:VCALENDAR");
    assert_eq!(lines.last().unwrap(), "END:VCALENDAR");
    assert!(lines.contains(&"VERSION:2.0".to_owned()));
    let events: Vec<&[String]> = lines.split(|l| l == "BEGIN:VEVENT").skip(1).collect();
    assert_eq!(events.len(), 1, "FRA has one cycle: {lines:?}");
    let event = events[0];
    let field = |name: &str| {
        event
            .iter()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} missing in {event:?}"))
            .to_owned()
    };
    assert!(field("UID:").ends_with("@pledge-tracker"));
    let stamp = field("DTSTAMP:");
    assert!(
        stamp.len() == 16 && stamp.ends_with('Z') && stamp.as_bytes()[8] == b'T',
        "{stamp}"
    );
    assert_eq!(field("DTSTART;VALUE=DATE:"), "20991231");
    assert!(field("SUMMARY:").contains("2026"));

    // An analyst's feed has every cycle; a new address replaces the old; revoking ends it.
    let made_again = body_text(app.request(member.post_form("/account/calendar", "")).await).await;
    assert!(!made_again.contains(&token));
    assert_eq!(
        app.get(&format!("/calendar/{token}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let start = made_again.find("/calendar/cal_").unwrap();
    let second: String = made_again[start + "/calendar/".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert_eq!(
        app.get(&format!("/calendar/{second}")).await.status(),
        StatusCode::OK
    );
    let revoked = app
        .request(member.post_form("/account/calendar/revoke", ""))
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/calendar/{second}")).await.status(),
        StatusCode::NOT_FOUND
    );
    for action in ["calendar.create", "calendar.revoke"] {
        assert!(
            app.count(&format!(
                "SELECT count(*) FROM audit_log WHERE action = '{action}'"
            ))
            .await
                >= 1
        );
    }
}

#[tokio::test]
async fn the_api_invites_and_assigns_like_the_pages() {
    let app = TestApp::spawn().await;
    let (_, _, assessment) = open_gci_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    let member = app.user("contributor", Some("FRA")).await;
    let fra = app.participant("FRA").await;

    let invited = app
        .request(head.api(
            "POST",
            &format!("/api/v1/participants/{fra}/invitations"),
            Some(json!({"email": "api.invite@test.example", "display_name": "By API", "role": "viewer"})),
        ))
        .await;
    assert_eq!(invited.status(), StatusCode::ACCEPTED);
    assert_eq!(body_json(invited).await, json!({"status": "accepted"}));
    let team = body_json(
        app.request(head.api("GET", &format!("/api/v1/participants/{fra}/members"), None))
            .await,
    )
    .await;
    assert_eq!(team["invitations"][0]["email"], "api.invite@test.example");
    assert!(
        team["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == member.id.to_string())
    );

    let assigned = app
        .request(head.api(
            "POST",
            &format!("/api/v1/assessments/{assessment}/assignments"),
            Some(json!({"user_id": member.id, "sections": ["TECHNICAL"], "goals": ["legal"]})),
        ))
        .await;
    assert_eq!(assigned.status(), StatusCode::OK);
    let body = body_json(assigned).await;
    assert_eq!(body["new"], 2);
    let listed = body_json(
        app.request(member.api(
            "GET",
            &format!("/api/v1/assessments/{assessment}/assignments"),
            None,
        ))
        .await,
    )
    .await;
    let codes: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["goal_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["legal", "technical"]);
    let wrong = app
        .request(head.api(
            "POST",
            &format!("/api/v1/assessments/{assessment}/assignments"),
            Some(json!({"user_id": member.id, "goals": []})),
        ))
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body_json(wrong).await["error"]["fields"]["goals"].is_string());

    let removed = app
        .request(head.api(
            "DELETE",
            &format!(
                "/api/v1/assessments/{assessment}/assignments/{}/legal",
                member.id
            ),
            None,
        ))
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let work = body_json(
        app.request(member.api("GET", "/api/v1/me/work", None))
            .await,
    )
    .await;
    assert_eq!(work.as_array().unwrap().len(), 1);
    assert_eq!(work[0]["goal_code"], "technical");
    let _ = PASSWORD;
}
