//! The authorization matrix, kept as data: every route × {anonymous, admin, analyst, head,
//! contributor, viewer} × {own participant, another participant, a record that does not exist}.
//! A route missing from the matrix fails the first test; a wrong answer, or a denied write that
//! changed the database, fails the second.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use pledge::auth::{secrets, totp};
use uuid::Uuid;

use pledge::domain::framework::Framework;
use pledge::domain::scoring::AnswerState;
use pledge::domain::snapshot::{self, SnapshotGoal, SnapshotHeader, SnapshotSection};
use pledge::storage::assessments::{AssessmentRow, SnapshotRow};
use pledge::storage::clarifications::{self, NewClarification};
use pledge::storage::cycles::{self, CycleRow};
use pledge::storage::national_goals::{self, NewNationalGoal};
use pledge::storage::{self, Scope, frameworks};
use sqlx::Connection;

use crate::support::{PASSWORD, TestApp, TestUser, enc};

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
    /// Any signed-in user; a record that does not exist is 404.
    SignedInRecord,
    /// A delegation's heads and contributors (for their own participant).
    DelegationEditor,
    /// A national goal: staff and its own delegation read it; another delegation's is hidden (404).
    GoalRead,
    /// A national goal: its own delegation's heads and contributors change it; staff may not
    /// (403); another delegation's is hidden (404).
    GoalEdit,
    /// A participant's goals (by participant id): staff read any, a delegation its own (403
    /// otherwise); staff get 404 for a participant that does not exist.
    ParticipantGoalsRead,
    /// Creating a goal under a participant: only that delegation's heads and contributors.
    ParticipantGoalsCreate,
    /// A draft assessment: staff and its own delegation read it, analysts never read drafts (403),
    /// another delegation's is hidden (404).
    AssessmentRead,
    /// Saving an answer: its own delegation's heads and contributors; viewers and staff 403;
    /// another delegation's assessment is hidden (404).
    AnswerWrite,
    /// Submitting: the delegation's head only.
    Submit,
    /// Accepting, returning, allowing late: admins only (403 for everyone else, before looking).
    Review,
    /// Reading a submitted revision: the own assessment has one (FRA's is submitted); the other
    /// (DEU's) is a draft without revisions.
    RevisionRead,
    /// Raising a clarification request: analysts and admins, on what they may read.
    Raise,
    /// Replying: staff, and the delegation's heads and contributors; requests are read like the
    /// answers, so analysts do not see DEU's (on a draft).
    Reply,
    /// Resolving: the requester or an admin (the fixture's requests have no requester).
    Resolve,
    /// Downloading an evidence file: whoever may read its answers. FRA's assessment is
    /// submitted (analysts read it); DEU's is a draft (only admins and DEU's delegation).
    EvidenceRead,
    /// Removing evidence by id: the delegation's heads and contributors; what the caller may
    /// not read is hidden (404), what they may read but not change is 403.
    EvidenceRemove,
    /// Comparing participants in a cycle: analysts and admins (a missing cycle is 404);
    /// delegations never (403, before looking).
    Compare,
    /// A head's own team pages (no record in the path): heads only.
    TeamHead,
    /// A delegation member by user id: heads (of their own delegation; another's member is
    /// hidden, 404) and admins (every delegation); everyone else 403 before looking.
    TeamMember,
    /// A delegation's team by participant id: its head and admins (a missing participant is 404
    /// for admins); everyone else 403.
    TeamByParticipant,
    /// Assigning goals of an assessment: its delegation's head and admins; another
    /// delegation's assessment is hidden (404) from delegation members; analysts, contributors
    /// and viewers 403.
    Assign,
    /// A secret link (an invitation, a calendar feed) nobody was given: 404 for everyone.
    SecretLink,
}

/// What a request body looks like; `{unique}` and `{password}` are filled in per request.
#[derive(Debug, Clone, Copy)]
enum Payload {
    None,
    Form(&'static str),
    Json(&'static str),
    /// The second-factor enrolment form: a fresh secret and its current code.
    TotpEnrolment,
    /// A JSON body sent with `If-Match` for the record's first version.
    JsonIfMatch(&'static str),
    /// A multipart upload of a small PDF in the field `file` (pages carry the CSRF token in
    /// the query string, as the upload form does).
    Upload,
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

/// A small valid framework document; `{unique}` keeps its family apart.
const SMALL_FRAMEWORK: &str = r#"{"format": "pledge-framework/1", "family": "matrix-{unique}", "version": "1", "title": {"en": "Matrix"}, "roll_up": "sum", "sections": [{"code": "A", "title": {"en": "A"}, "goals": [{"code": "A.1", "title": {"en": "A one"}, "scale": {"kind": "yes_no"}}]}]}"#;

const MATRIX: &[Row] = &[
    // Probes, assets and the OpenAPI document.
    row("GET", "/livez", Public, None),
    row("GET", "/readyz", Public, None),
    row("GET", "/static/app.css", Public, None),
    row("GET", "/static/autosave.js", Public, None),
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
    row(
        "POST",
        "/account/time-zone",
        SignedIn,
        Form("time_zone=Europe%2FParis"),
    ),
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
    row("GET", "/admin/users/{user}/disable", Admin, None),
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
    // Notifications (issue 18 part B): each user's own; another's is 404, admins included.
    row("GET", "/notifications", SignedIn, None),
    row("POST", "/notifications/read", SignedIn, None),
    row("POST", "/notifications/{notification}/read", OwnToken, None),
    row("GET", "/notifications/preferences", SignedIn, None),
    row(
        "POST",
        "/notifications/preferences",
        SignedIn,
        Form("kind.deadline_reminder=digest&kind.assessment_accepted=off"),
    ),
    row("GET", "/admin/outbox", Admin, None),
    row("GET", "/api/v1/notifications", SignedIn, None),
    row(
        "POST",
        "/api/v1/notifications/{notification}/read",
        OwnToken,
        None,
    ),
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
    // Frameworks.
    row("GET", "/frameworks", SignedIn, None),
    row("GET", "/frameworks/new", Admin, None),
    row(
        "POST",
        "/frameworks/new",
        Admin,
        Form(
            "family=f-{unique}&version=1&title_en=T&roll_up=sum&section_code=A&section_title_en=S&goal_code=A.1&goal_title_en=G",
        ),
    ),
    row("GET", "/frameworks/import", Admin, None),
    row(
        "POST",
        "/frameworks/import",
        Admin,
        Form("document={small_framework}"),
    ),
    row("GET", "/frameworks/{framework}", SignedInRecord, None),
    row(
        "GET",
        "/frameworks/{framework}/export",
        SignedInRecord,
        None,
    ),
    row("GET", "/frameworks/{framework}/details", Admin, None),
    row(
        "POST",
        "/frameworks/{framework}/details",
        Admin,
        Form("family=x&version=v-{unique}&title_en=Renamed&roll_up=weighted_mean&row_version=1"),
    ),
    row(
        "POST",
        "/frameworks/{framework}/copy",
        Admin,
        Form("version=c-{unique}"),
    ),
    row("GET", "/frameworks/{framework}/sections/new", Admin, None),
    row(
        "POST",
        "/frameworks/{framework}/sections/new",
        Admin,
        Form("code=S{short}&title_en=New&row_version=1"),
    ),
    row(
        "GET",
        "/frameworks/{framework}/sections/{section}",
        Admin,
        None,
    ),
    row(
        "POST",
        "/frameworks/{framework}/sections/{section}",
        Admin,
        Form("code=I&title_en=Renamed&row_version=1"),
    ),
    row(
        "POST",
        "/frameworks/{framework}/sections/{section}/delete",
        Admin,
        Form("row_version=1"),
    ),
    row(
        "POST",
        "/frameworks/{framework}/sections/{section}/move",
        Admin,
        Form("direction=down&row_version=1"),
    ),
    row("GET", "/frameworks/{framework}/goals/new", Admin, None),
    row(
        "POST",
        "/frameworks/{framework}/goals/new",
        Admin,
        Form("section=I&code=G{short}&title_en=New&scale=yes_no&weight=1&row_version=1"),
    ),
    row("GET", "/frameworks/{framework}/goals/{goal}", Admin, None),
    row(
        "POST",
        "/frameworks/{framework}/goals/{goal}",
        Admin,
        Form("section=I&code=I.1&title_en=Renamed&scale=yes_no&weight=1&row_version=1"),
    ),
    row(
        "POST",
        "/frameworks/{framework}/goals/{goal}/delete",
        Admin,
        Form("row_version=1"),
    ),
    row(
        "POST",
        "/frameworks/{framework}/goals/{goal}/move",
        Admin,
        Form("direction=down&row_version=1"),
    ),
    row("GET", "/frameworks/{framework}/mappings", Admin, None),
    row(
        "GET",
        "/frameworks/{framework}/mappings/{target}",
        Admin,
        None,
    ),
    row(
        "POST",
        "/frameworks/{framework}/mappings/{target}",
        Admin,
        Form("row_0_from=I.1&row_0_to=legal&row_0_relation=equivalent"),
    ),
    row("GET", "/api/v1/frameworks", SignedIn, None),
    row("POST", "/api/v1/frameworks", Admin, Json(SMALL_FRAMEWORK)),
    row(
        "GET",
        "/api/v1/frameworks/{framework}",
        SignedInRecord,
        None,
    ),
    row(
        "PUT",
        "/api/v1/frameworks/{framework}",
        Admin,
        JsonIfMatch(SMALL_FRAMEWORK),
    ),
    row(
        "POST",
        "/api/v1/frameworks/{framework}/copy",
        Admin,
        Json(r#"{"version": "c-{unique}"}"#),
    ),
    row(
        "GET",
        "/api/v1/frameworks/{framework}/mappings/{target}",
        SignedInRecord,
        None,
    ),
    row(
        "PUT",
        "/api/v1/frameworks/{framework}/mappings/{target}",
        Admin,
        Json(r#"[{"from_goal": "I.1", "to_goal": "legal", "relation": "equivalent"}]"#),
    ),
    // Participants.
    row("GET", "/participants", SignedIn, None),
    row("GET", "/participants/new", Admin, None),
    row(
        "POST",
        "/participants/new",
        Admin,
        Form("code={code}&name_en=Partner&name_fr=Partenaire"),
    ),
    row("GET", "/participants/{participant}", Admin, None),
    row(
        "POST",
        "/participants/{participant}",
        Admin,
        Form("name_en=Renamed&name_fr=Renomm%C3%A9&active=1"),
    ),
    row(
        "POST",
        "/api/v1/participants",
        Admin,
        Json(r#"{"code": "{code}", "name_en": "Partner"}"#),
    ),
    row(
        "PUT",
        "/api/v1/participants/{participant}",
        Admin,
        Json(r#"{"name_en": "Renamed", "name_fr": "Renommé", "active": true}"#),
    ),
    // Cycles.
    row("GET", "/cycles", SignedIn, None),
    row("GET", "/cycles/new", Admin, None),
    row(
        "POST",
        "/cycles/new",
        Admin,
        Form(
            "framework={framework_id}&code=c{short}&title_en=T&opens_on=2027-01-01&deadline=2027-02-01",
        ),
    ),
    row("GET", "/cycles/{cycle}", SignedInRecord, None),
    row("GET", "/cycles/{cycle}/open", Admin, None),
    row("POST", "/cycles/{cycle}/open", Admin, None),
    row("GET", "/cycles/{cycle}/close", Admin, None),
    row("POST", "/cycles/{cycle}/close", Admin, None),
    row("GET", "/cycles/{cycle}/publish", Admin, None),
    row("POST", "/cycles/{cycle}/publish", Admin, None),
    row("GET", "/cycles/{cycle}/reopen", Admin, None),
    row(
        "POST",
        "/cycles/{cycle}/reopen",
        Admin,
        Form("deadline=2099-12-31"),
    ),
    row("GET", "/cycles/{cycle}/unpublish", Admin, None),
    row("POST", "/cycles/{cycle}/unpublish", Admin, None),
    row(
        "POST",
        "/cycles/{cycle}/deadline",
        Admin,
        Form("deadline=2099-01-01"),
    ),
    row("GET", "/api/v1/cycles", SignedIn, None),
    row("GET", "/api/v1/assessments", SignedIn, None),
    row(
        "POST",
        "/api/v1/cycles",
        Admin,
        Json(
            r#"{"framework_id": "{framework_id}", "code": "c{short}", "title_en": "T", "opens_on": "2027-01-01", "deadline": "2027-02-01"}"#,
        ),
    ),
    row("GET", "/api/v1/cycles/{cycle}", SignedInRecord, None),
    row("POST", "/api/v1/cycles/{cycle}/open", Admin, None),
    row("POST", "/api/v1/cycles/{cycle}/close", Admin, None),
    row("POST", "/api/v1/cycles/{cycle}/publish", Admin, None),
    row(
        "POST",
        "/api/v1/cycles/{cycle}/reopen",
        Admin,
        Json(r#"{"deadline": "2099-12-31"}"#),
    ),
    row("POST", "/api/v1/cycles/{cycle}/unpublish", Admin, None),
    row(
        "PUT",
        "/api/v1/cycles/{cycle}/deadline",
        Admin,
        Json(r#"{"deadline": "2099-01-01"}"#),
    ),
    row("GET", "/api/v1/cycles/{cycle}/status", SignedInRecord, None),
    // National goals.
    row("GET", "/national-goals", SignedIn, None),
    row("GET", "/national-goals/new", DelegationEditor, None),
    row(
        "POST",
        "/national-goals/new",
        DelegationEditor,
        Form(
            "section={section_id}&title=T&measure=number&target_value=5&target_year=2030&status=planned",
        ),
    ),
    row("GET", "/national-goals/{national_goal}", GoalRead, None),
    row(
        "POST",
        "/national-goals/{national_goal}",
        GoalEdit,
        Form(
            "section={section_id}&title=T&measure=number&target_value=5&target_year=2030&status=on_track&row_version=1",
        ),
    ),
    row(
        "GET",
        "/api/v1/participants/{participant}/national-goals",
        ParticipantGoalsRead,
        None,
    ),
    row(
        "POST",
        "/api/v1/participants/{participant}/national-goals",
        ParticipantGoalsCreate,
        Json(
            r#"{"section": "{section_id}", "title": "T", "measure": "number", "target_value": "5", "target_year": "2030", "status": "planned"}"#,
        ),
    ),
    row(
        "GET",
        "/api/v1/national-goals/{national_goal}",
        GoalRead,
        None,
    ),
    row(
        "PUT",
        "/api/v1/national-goals/{national_goal}",
        GoalEdit,
        JsonIfMatch(
            r#"{"section": "{section_id}", "title": "T", "measure": "number", "target_value": "5", "target_year": "2030", "status": "on_track"}"#,
        ),
    ),
    row(
        "GET",
        "/api/v1/national-goals/{national_goal}/history",
        GoalRead,
        None,
    ),
    // Assessments.
    row("GET", "/assessments/{assessment}", AssessmentRead, None),
    row(
        "GET",
        "/assessments/{assessment}/sections/{section}",
        AssessmentRead,
        None,
    ),
    row(
        "POST",
        "/assessments/{assessment}/sections/{section}",
        AnswerWrite,
        Form("goal=legal&value=12.5&narrative=x&row_version=0"),
    ),
    // Checking the answers before submitting: like submitting, the head only.
    row("GET", "/assessments/{assessment}/check", Submit, None),
    row(
        "POST",
        "/assessments/{assessment}/goals/{goal}",
        AnswerWrite,
        Form("value=12.5&narrative=x&row_version=0"),
    ),
    row(
        "GET",
        "/api/v1/assessments/{assessment}",
        AssessmentRead,
        None,
    ),
    row(
        "GET",
        "/api/v1/assessments/{assessment}/answers/{goal}",
        AssessmentRead,
        None,
    ),
    row(
        "PUT",
        "/api/v1/assessments/{assessment}/answers/{goal}",
        AnswerWrite,
        JsonIfMatch(r#"{"value": "12.5"}"#),
    ),
    row("POST", "/assessments/{assessment}/submit", Submit, None),
    row(
        "GET",
        "/assessments/{assessment}/submitted",
        AssessmentRead,
        None,
    ),
    row("GET", "/assessments/{assessment}/review", Review, None),
    row(
        "POST",
        "/assessments/{assessment}/review",
        Review,
        Form("reason=Please+add+evidence&note_legal=Which+law%3F"),
    ),
    row(
        "POST",
        "/assessments/{assessment}/return/confirm",
        Review,
        Form("reason=Please+add+evidence&note_legal=Which+law%3F"),
    ),
    row(
        "POST",
        "/assessments/{assessment}/return",
        Review,
        Form("reason=Please+add+evidence&note_legal=Which+law%3F"),
    ),
    row("POST", "/assessments/{assessment}/accept", Review, None),
    row("POST", "/assessments/{assessment}/allow-late", Review, None),
    row(
        "GET",
        "/assessments/{assessment}/revisions",
        AssessmentRead,
        None,
    ),
    row(
        "POST",
        "/api/v1/assessments/{assessment}/submit",
        Submit,
        None,
    ),
    row(
        "POST",
        "/api/v1/assessments/{assessment}/return",
        Review,
        Json(
            r#"{"reason": "Please add evidence", "notes": [{"goal": "legal", "note": "Which law?"}]}"#,
        ),
    ),
    row(
        "POST",
        "/api/v1/assessments/{assessment}/accept",
        Review,
        None,
    ),
    row(
        "POST",
        "/api/v1/assessments/{assessment}/allow-late",
        Review,
        None,
    ),
    row(
        "GET",
        "/api/v1/assessments/{assessment}/revisions",
        AssessmentRead,
        None,
    ),
    row(
        "GET",
        "/api/v1/assessments/{assessment}/revisions/{revision}",
        RevisionRead,
        None,
    ),
    row(
        "GET",
        "/api/v1/assessments/{assessment}/diff?from=1&to=1",
        RevisionRead,
        None,
    ),
    row(
        "POST",
        "/assessments/{assessment}/goals/{goal}/clarifications",
        Raise,
        Form("question=Which+law%3F"),
    ),
    row(
        "POST",
        "/clarifications/{clarification}/reply",
        Reply,
        Form("body=The+2024+act"),
    ),
    row(
        "POST",
        "/clarifications/{clarification}/resolve",
        Resolve,
        None,
    ),
    row("GET", "/clarifications", SignedIn, None),
    row("GET", "/api/v1/clarifications", SignedIn, None),
    row(
        "GET",
        "/api/v1/assessments/{assessment}/clarifications",
        AssessmentRead,
        None,
    ),
    row(
        "POST",
        "/api/v1/assessments/{assessment}/clarifications",
        Raise,
        Json(r#"{"goal": "legal", "question": "Which law?"}"#),
    ),
    row(
        "POST",
        "/api/v1/clarifications/{clarification}/messages",
        Reply,
        Json(r#"{"body": "The 2024 act"}"#),
    ),
    row(
        "POST",
        "/api/v1/clarifications/{clarification}/resolve",
        Resolve,
        None,
    ),
    // Evidence.
    row(
        "POST",
        "/assessments/{assessment}/goals/{goal}/links",
        AnswerWrite,
        Form("url=https%3A%2F%2Fexample.org%2Flaw&label=Law"),
    ),
    row(
        "POST",
        "/assessments/{assessment}/goals/{goal}/actions",
        AnswerWrite,
        Form("description=Adopt+the+law&due_on=2027-06-30"),
    ),
    row(
        "POST",
        "/assessments/{assessment}/goals/{goal}/files",
        AnswerWrite,
        Upload,
    ),
    row(
        "POST",
        "/evidence/links/{link}/delete",
        EvidenceRemove,
        None,
    ),
    row(
        "POST",
        "/evidence/actions/{action}/delete",
        EvidenceRemove,
        None,
    ),
    row(
        "POST",
        "/evidence/files/{file}/delete",
        EvidenceRemove,
        None,
    ),
    row("GET", "/evidence/files/{file}", EvidenceRead, None),
    row(
        "GET",
        "/api/v1/assessments/{assessment}/evidence",
        AssessmentRead,
        None,
    ),
    row(
        "POST",
        "/api/v1/assessments/{assessment}/answers/{goal}/links",
        AnswerWrite,
        Json(r#"{"url": "https://example.org/law", "label": "Law"}"#),
    ),
    row(
        "POST",
        "/api/v1/assessments/{assessment}/answers/{goal}/actions",
        AnswerWrite,
        Json(r#"{"description": "Adopt the law", "due_on": "2027-06-30"}"#),
    ),
    row(
        "POST",
        "/api/v1/assessments/{assessment}/answers/{goal}/files",
        AnswerWrite,
        Upload,
    ),
    row("GET", "/api/v1/evidence/files/{file}", EvidenceRead, None),
    // Reports.
    row("GET", "/methodology", SignedIn, None),
    row("GET", "/reports", SignedIn, None),
    row("GET", "/cycles/{cycle}/report", Compare, None),
    row("GET", "/api/v1/cycles/{cycle}/report", Compare, None),
    row(
        "POST",
        "/cycles/{cycle}/export",
        Compare,
        Form("format=csv"),
    ),
    row(
        "POST",
        "/api/v1/cycles/{cycle}/export?format=csv",
        Compare,
        None,
    ),
    row(
        "GET",
        "/assessments/{assessment}/report",
        AssessmentRead,
        None,
    ),
    row(
        "GET",
        "/api/v1/assessments/{assessment}/report",
        AssessmentRead,
        None,
    ),
    row(
        "POST",
        "/assessments/{assessment}/report/pdf",
        AssessmentRead,
        None,
    ),
    row(
        "POST",
        "/api/v1/assessments/{assessment}/report/pdf",
        AssessmentRead,
        None,
    ),
    // Bulk imports (admins only).
    row("GET", "/participants/import", Admin, None),
    row("POST", "/participants/import", Admin, Upload),
    row(
        "POST",
        "/participants/import/apply",
        Admin,
        Form("token=none"),
    ),
    row("POST", "/api/v1/participants/import", Admin, Upload),
    row("GET", "/cycles/{cycle}/import", Admin, None),
    row("POST", "/cycles/{cycle}/import", Admin, Upload),
    row(
        "POST",
        "/cycles/{cycle}/import/apply",
        Admin,
        Form("token=none"),
    ),
    row("POST", "/api/v1/cycles/{cycle}/import", Admin, Upload),
    row("GET", "/cycles/{cycle}/import/values", Admin, None),
    // The offline round trip.
    row(
        "GET",
        "/assessments/{assessment}/offline",
        AnswerWrite,
        None,
    ),
    row(
        "POST",
        "/assessments/{assessment}/offline/form",
        AnswerWrite,
        None,
    ),
    row(
        "POST",
        "/assessments/{assessment}/offline/import",
        AnswerWrite,
        Upload,
    ),
    row(
        "POST",
        "/api/v1/assessments/{assessment}/offline-form",
        AnswerWrite,
        None,
    ),
    row(
        "POST",
        "/api/v1/assessments/{assessment}/offline-form/import",
        AnswerWrite,
        Upload,
    ),
    row(
        "DELETE",
        "/api/v1/evidence/{kind}/{id}",
        EvidenceRemove,
        None,
    ),
    // Teamwork (issue 18, part A).
    row("GET", "/team", TeamHead, None),
    row("GET", "/team/invite", TeamHead, None),
    row(
        "POST",
        "/team/invite",
        TeamHead,
        Form("email={unique}%40test.example&display_name=New+Member&role=contributor&language=en"),
    ),
    row("GET", "/team/members/{user}", TeamMember, None),
    row(
        "POST",
        "/team/members/{user}/role",
        TeamMember,
        Form("role=contributor"),
    ),
    row("POST", "/team/members/{user}/disable", TeamMember, None),
    row("POST", "/team/members/{user}/enable", TeamMember, None),
    row("GET", "/invitations/{invitation}", SecretLink, None),
    row(
        "POST",
        "/invitations/{invitation}",
        SecretLink,
        Form("new_password=violet+harbour+engine+47&confirm_password=violet+harbour+engine+47"),
    ),
    row("GET", "/assessments/{assessment}/assignments", Assign, None),
    row(
        "POST",
        "/assessments/{assessment}/assignments",
        Assign,
        Form("member={member_id}&goal=legal&section=TECHNICAL"),
    ),
    row(
        "POST",
        "/assessments/{assessment}/assignments/remove",
        Assign,
        Form("member={member_id}&goal=legal"),
    ),
    row(
        "POST",
        "/assessments/{assessment}/assignments/confirm",
        Assign,
        None,
    ),
    row("GET", "/my-work", SignedIn, None),
    row("GET", "/account/calendar", SignedIn, None),
    row("POST", "/account/calendar", SignedIn, None),
    row("POST", "/account/calendar/revoke", SignedIn, None),
    row("GET", "/calendar/{feed}", SecretLink, None),
    row(
        "GET",
        "/api/v1/participants/{participant}/members",
        TeamByParticipant,
        None,
    ),
    row(
        "POST",
        "/api/v1/participants/{participant}/invitations",
        TeamByParticipant,
        Json(
            r#"{"email": "{unique}@test.example", "display_name": "New Member", "role": "viewer"}"#,
        ),
    ),
    row(
        "PATCH",
        "/api/v1/members/{user}",
        TeamMember,
        Json(r#"{"role": "contributor", "disabled": false}"#),
    ),
    row(
        "GET",
        "/api/v1/assessments/{assessment}/assignments",
        AssessmentRead,
        None,
    ),
    row(
        "POST",
        "/api/v1/assessments/{assessment}/assignments",
        Assign,
        Json(r#"{"user_id": "{member_id}", "goals": ["legal"]}"#),
    ),
    row(
        "DELETE",
        "/api/v1/assessments/{assessment}/assignments/{user}/{goal}",
        Assign,
        None,
    ),
    row("GET", "/api/v1/me/work", SignedIn, None),
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
        .map(|route| (route.method.to_string(), matrix_name(route.path)))
        .collect();
    let document = serde_json::to_value(pledge::web::api::openapi_document()).unwrap();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            routes.insert((method.to_uppercase(), matrix_name(path)));
        }
    }
    routes.insert(("GET".into(), pledge::web::api::OPENAPI_PATH.into()));
    routes.insert(("GET".into(), "/static/app.css".into()));
    routes.insert(("GET".into(), "/static/autosave.js".into()));
    routes
}

/// Routes name a national goal `{goal}`, like a framework's goal; the matrix tells them apart.
fn matrix_name(path: &str) -> String {
    if path.contains("national-goals/{goal}") {
        path.replace("{goal}", "{national_goal}")
    } else {
        path.to_owned()
    }
}

#[test]
fn every_served_route_is_in_the_matrix_and_every_row_is_served() {
    // A row may carry a query string; the route is its path.
    let in_matrix: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.path.split('?').next().unwrap_or(r.path).to_owned(),
            )
        })
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

/// The people and records one row is tried against: "own" records belong to FRA (the
/// delegation users' participant) or are a first framework/cycle; "other" ones to DEU or a second.
struct Fixture {
    actors: Vec<(&'static str, Option<TestUser>)>,
    own_user: TestUser,
    other_user: TestUser,
    own_session: Uuid,
    other_session: Uuid,
    other_token: Uuid,
    actor_tokens: Vec<Uuid>,
    /// A notification of each actor, and one of another user.
    actor_notifications: Vec<Uuid>,
    other_notification: Uuid,
    /// The 2016 pledge (editable) and the GCI structure (frozen: cycles use it).
    own_framework: Uuid,
    other_framework: Uuid,
    own_cycle: Uuid,
    other_cycle: Uuid,
    fra: Uuid,
    deu: Uuid,
    own_goal: Uuid,
    other_goal: Uuid,
    section_for_goals: Uuid,
    own_assessment: Uuid,
    other_assessment: Uuid,
    own_clarification: Uuid,
    other_clarification: Uuid,
    /// A link, a file and a planned action on FRA's and on DEU's first answer.
    own_evidence: Evidence,
    other_evidence: Evidence,
}

#[derive(Clone, Copy)]
struct Evidence {
    link: Uuid,
    file: Uuid,
    action: Uuid,
}

/// A small PDF, as an upload would carry it.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

async fn add_evidence(
    tx: &mut sqlx::PgConnection,
    assessment: Uuid,
    participant: Uuid,
    goal: Uuid,
) -> Evidence {
    let answer: Uuid = sqlx::query_scalar(
        "INSERT INTO answers (assessment_id, participant_id, goal_id) VALUES ($1, $2, $3)
         ON CONFLICT (assessment_id, goal_id) DO UPDATE SET updated_at = now() RETURNING id",
    )
    .bind(assessment)
    .bind(participant)
    .bind(goal)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let link = sqlx::query_scalar(
        "INSERT INTO evidence_links (answer_id, participant_id, url) VALUES ($1, $2, 'https://example.org') RETURNING id",
    )
    .bind(answer)
    .bind(participant)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let file = sqlx::query_scalar(
        "INSERT INTO evidence_files (answer_id, participant_id, file_name, media_type, size_bytes, sha256, content)
         VALUES ($1, $2, 'law.pdf', 'application/pdf', length($3), sha256($3), $3) RETURNING id",
    )
    .bind(answer)
    .bind(participant)
    .bind(PDF)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let action = sqlx::query_scalar(
        "INSERT INTO planned_actions (answer_id, participant_id, description) VALUES ($1, $2, 'Adopt the law') RETURNING id",
    )
    .bind(answer)
    .bind(participant)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    Evidence { link, file, action }
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

async fn notification_for(app: &TestApp, user: Uuid) -> Uuid {
    let mut owner = app.db.owner().await;
    sqlx::query_scalar(
        "INSERT INTO notifications (user_id, kind, subject, body, link)
         VALUES ($1, 'assessment_accepted', 'Accepted', 'Accepted.', '/') RETURNING id",
    )
    .bind(user)
    .fetch_one(&mut owner)
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

fn fixture_framework(name: &str) -> Framework {
    let path = format!("{}/fixtures/frameworks/{name}", env!("CARGO_MANIFEST_DIR"));
    Framework::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn fixture(app: &TestApp) -> Fixture {
    let mut actors = vec![("anonymous", Option::None)];
    let mut actor_tokens = vec![Uuid::new_v4()];
    let mut actor_notifications = vec![Uuid::new_v4()];
    for role in &ROLES[1..] {
        let participant = matches!(*role, "head" | "contributor" | "viewer").then_some("FRA");
        let user = app.user(role, participant).await;
        actor_tokens.push(token_for(app, user.id).await);
        actor_notifications.push(notification_for(app, user.id).await);
        actors.push((*role, Some(user)));
    }
    let own_user = app.user("viewer", Some("FRA")).await;
    let other_user = app.user("contributor", Some("DEU")).await;
    let (fra, deu) = (app.participant("FRA").await, app.participant("DEU").await);

    let mut owner = app.db.owner().await;
    let mut tx = owner.begin().await.unwrap();
    storage::set_scope(&mut tx, &Scope::System).await.unwrap();
    let pledge_version = frameworks::insert(
        &mut tx,
        &fixture_framework("cyber-defence-pledge-2016.json"),
    )
    .await
    .unwrap();
    let gci = frameworks::insert(&mut tx, &fixture_framework("itu-gci-2020.json"))
        .await
        .unwrap();
    let cycle = |code: &str| CycleRow {
        framework_id: gci.id,
        code: code.to_owned(),
        title_en: code.to_owned(),
        title_fr: String::new(),
        state: "planned",
        opens_on: time::macros::date!(2026 - 09 - 01),
        deadline: time::macros::date!(2026 - 12 - 11),
        opened_at: Option::None,
        closed_at: Option::None,
        published_at: Option::None,
    };
    let own_cycle = cycles::insert(&mut tx, &cycle("M1")).await.unwrap();
    let other_cycle = cycles::insert(&mut tx, &cycle("M2")).await.unwrap();
    let goal = |participant: Uuid| NewNationalGoal {
        participant_id: participant,
        section_id: gci.section_ids[0],
        title: "Fixture goal".into(),
        measure: "number",
        unit: String::new(),
        baseline_value: Option::None,
        current_value: Option::None,
        target_value: rust_decimal::Decimal::TEN,
        target_year: 2030,
        status: "planned",
        owner: String::new(),
        notes: String::new(),
        created_by: Option::None,
    };
    let goals = national_goals::insert_many(&mut tx, &[goal(fra), goal(deu)])
        .await
        .unwrap();
    let assessment = |participant_id: Uuid| AssessmentRow {
        id: Uuid::new_v4(),
        cycle_id: own_cycle,
        participant_id,
        state: "draft",
        last_activity_at: Option::None,
    };
    let assessments = [assessment(fra), assessment(deu)];
    pledge::storage::assessments::insert_assessments(&mut tx, &assessments)
        .await
        .unwrap();
    // FRA's assessment is submitted (revision 1, all goals unanswered is enough here).
    let gci_doc = fixture_framework("itu-gci-2020.json");
    let sections: Vec<SnapshotSection> = gci_doc
        .sections
        .iter()
        .zip(&gci.section_ids)
        .map(|(s, id)| SnapshotSection {
            id: *id,
            code: s.code.clone(),
        })
        .collect();
    let snapshot_goals: Vec<SnapshotGoal> = gci_doc
        .goals()
        .zip(&gci.goal_ids)
        .enumerate()
        .map(|(i, ((_, g), id))| SnapshotGoal {
            id: *id,
            code: g.code.clone(),
            section: i,
            weight: g.weight,
            scale: g.scale.score_scale(),
        })
        .collect();
    let frozen = snapshot::freeze(
        &SnapshotHeader {
            participant_code: "FRA",
            cycle_code: "M1",
            revision: 1,
        },
        gci_doc.roll_up,
        &sections,
        &snapshot_goals,
        &vec![AnswerState::Missing; snapshot_goals.len()],
    );
    pledge::storage::assessments::insert_snapshots(
        &mut tx,
        &[SnapshotRow {
            id: Uuid::new_v4(),
            assessment_id: assessments[0].id,
            participant_id: fra,
            cycle_id: own_cycle,
            revision: 1,
            frozen,
            submitted_by: Option::None,
            submitted_at: time::OffsetDateTime::now_utc(),
        }],
    )
    .await
    .unwrap();
    pledge::storage::assessments::set_states(&mut tx, &[(assessments[0].id, "submitted")])
        .await
        .unwrap();
    let clarification = |assessment_id: Uuid, participant_id: Uuid| NewClarification {
        assessment_id,
        participant_id,
        goal_id: gci.goal_ids[0],
        question: "Fixture question".into(),
        raised_by: Option::None,
    };
    let own_clarification = clarifications::insert(&mut tx, &clarification(assessments[0].id, fra))
        .await
        .unwrap();
    let other_clarification =
        clarifications::insert(&mut tx, &clarification(assessments[1].id, deu))
            .await
            .unwrap();
    // The first goal of each assessment is assigned to the fixture member of its delegation.
    for (assessment, participant, user) in [
        (assessments[0].id, fra, own_user.id),
        (assessments[1].id, deu, other_user.id),
    ] {
        pledge::storage::assignments::assign(
            &mut tx,
            assessment,
            participant,
            user,
            &[gci.goal_ids[0]],
            Option::None,
        )
        .await
        .unwrap();
    }
    let own_evidence = add_evidence(&mut tx, assessments[0].id, fra, gci.goal_ids[0]).await;
    let other_evidence = add_evidence(&mut tx, assessments[1].id, deu, gci.goal_ids[0]).await;
    tx.commit().await.unwrap();
    Fixture {
        own_session: session_handle(app, own_user.id).await,
        other_session: session_handle(app, other_user.id).await,
        other_token: token_for(app, other_user.id).await,
        other_notification: notification_for(app, other_user.id).await,
        actors,
        actor_tokens,
        actor_notifications,
        own_user,
        other_user,
        own_framework: pledge_version.id,
        other_framework: gci.id,
        own_cycle,
        other_cycle,
        fra,
        deu,
        own_goal: goals[0],
        other_goal: goals[1],
        section_for_goals: gci.section_ids[0],
        own_assessment: assessments[0].id,
        other_assessment: assessments[1].id,
        own_clarification,
        other_clarification,
        own_evidence,
        other_evidence,
    }
}

/// A digest of everything a refused request must leave alone.
async fn state_digest(app: &TestApp) -> String {
    let mut owner = app.db.owner().await;
    let mut tx = owner.begin().await.unwrap();
    storage::set_scope(&mut tx, &Scope::System).await.unwrap();
    let digest = sqlx::query_scalar(
        "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
             SELECT 'u' || u::text AS x FROM users u
             UNION ALL SELECT 'm' || m::text FROM delegation_memberships m
             UNION ALL SELECT 'r' || r::text FROM recovery_codes r
             UNION ALL SELECT 't' || (t.id, t.user_id, t.name, t.revoked_at)::text FROM api_tokens t
             UNION ALL SELECT 's' || (s.id_hash, s.ended_at, s.end_reason, s.fully_authenticated)::text FROM sessions s
             UNION ALL SELECT 'p' || p::text FROM participants p
             UNION ALL SELECT 'f' || f::text FROM frameworks f
             UNION ALL SELECT 'fs' || s::text FROM framework_sections s
             UNION ALL SELECT 'g' || g::text FROM goals g
             UNION ALL SELECT 'l' || l::text FROM maturity_levels l
             UNION ALL SELECT 'gm' || m::text FROM goal_mappings m
             UNION ALL SELECT 'c' || c::text FROM cycles c
             UNION ALL SELECT 'a' || a::text FROM assessments a
             UNION ALL SELECT 'n' || n::text FROM national_goals n
             UNION ALL SELECT 'nv' || v::text FROM national_goal_versions v
             UNION ALL SELECT 'an' || a::text FROM answers a
             UNION ALL SELECT 'cr' || r::text FROM clarification_requests r
             UNION ALL SELECT 'cm' || m::text FROM clarification_messages m
             UNION ALL SELECT 'el' || l::text FROM evidence_links l
             UNION ALL SELECT 'ef' || (f.id, f.answer_id, f.file_name, f.sha256)::text FROM evidence_files f
             UNION ALL SELECT 'pa' || p::text FROM planned_actions p
             UNION ALL SELECT 'no' || (n.id, n.read_at)::text FROM notifications n
             UNION ALL SELECT 'np' || p::text FROM notification_preferences p
             UNION ALL SELECT 'iv' || i::text FROM invitations i
             UNION ALL SELECT 'ga' || g::text FROM goal_assignments g
             UNION ALL SELECT 'cf' || c::text FROM calendar_feeds c) all_rows",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    digest
}

fn expected(access: Access, role: &str, target: Target) -> Expect {
    let anonymous = role == "anonymous";
    let staff = matches!(role, "admin" | "analyst");
    let editor = matches!(role, "head" | "contributor");
    match access {
        Public => Expect::Allowed,
        SecretLink => Expect::NotFound,
        _ if anonymous => Expect::Unauthenticated,
        SignedIn => Expect::Allowed,
        PendingSecondFactor => Expect::NotFound,
        Admin if role != "admin" => Expect::Forbidden,
        Compare if !staff => Expect::Forbidden,
        Compare => match target {
            Target::Own | Target::Other => Expect::Allowed,
            Target::Missing => Expect::NotFound,
        },
        Admin | SignedInRecord => match target {
            Target::Own | Target::Other => Expect::Allowed,
            Target::Missing => Expect::NotFound,
        },
        OwnToken => match target {
            Target::Own => Expect::Allowed,
            Target::Other | Target::Missing => Expect::NotFound,
        },
        DelegationEditor if editor => Expect::Allowed,
        DelegationEditor => Expect::Forbidden,
        GoalRead => match target {
            Target::Own => Expect::Allowed,
            Target::Other if staff => Expect::Allowed,
            Target::Other | Target::Missing => Expect::NotFound,
        },
        GoalEdit => match target {
            Target::Missing => Expect::NotFound,
            Target::Other if !staff => Expect::NotFound,
            Target::Own if editor => Expect::Allowed,
            _ => Expect::Forbidden,
        },
        ParticipantGoalsRead => match target {
            Target::Own => Expect::Allowed,
            Target::Other if staff => Expect::Allowed,
            Target::Missing if staff => Expect::NotFound,
            Target::Other | Target::Missing => Expect::Forbidden,
        },
        ParticipantGoalsCreate if editor && target == Target::Own => Expect::Allowed,
        ParticipantGoalsCreate => Expect::Forbidden,
        AssessmentRead => match target {
            Target::Missing => Expect::NotFound,
            Target::Own => Expect::Allowed,
            Target::Other if role == "analyst" => Expect::Forbidden,
            Target::Other if !staff => Expect::NotFound,
            Target::Other => Expect::Allowed,
        },
        AnswerWrite => match target {
            Target::Missing => Expect::NotFound,
            Target::Other if !staff => Expect::NotFound,
            Target::Own if editor => Expect::Allowed,
            _ => Expect::Forbidden,
        },
        Submit => match target {
            Target::Missing => Expect::NotFound,
            Target::Other if !staff => Expect::NotFound,
            Target::Own if role == "head" => Expect::Allowed,
            _ => Expect::Forbidden,
        },
        Review if role != "admin" => Expect::Forbidden,
        Review => match target {
            Target::Missing => Expect::NotFound,
            _ => Expect::Allowed,
        },
        RevisionRead => match target {
            Target::Own => Expect::Allowed,
            Target::Other if role == "analyst" => Expect::Forbidden,
            _ => Expect::NotFound,
        },
        Raise if !staff => Expect::Forbidden,
        Raise => match target {
            Target::Missing => Expect::NotFound,
            Target::Other if role == "analyst" => Expect::Forbidden,
            _ => Expect::Allowed,
        },
        Reply => match target {
            Target::Missing => Expect::NotFound,
            // DEU's request is on a draft: analysts do not see it (it is read like the answers).
            Target::Other if role == "analyst" => Expect::NotFound,
            _ if staff => Expect::Allowed,
            Target::Other => Expect::NotFound,
            Target::Own if editor => Expect::Allowed,
            Target::Own => Expect::Forbidden,
        },
        Resolve => match target {
            Target::Missing => Expect::NotFound,
            Target::Other if role != "admin" => Expect::NotFound,
            _ if role == "admin" => Expect::Allowed,
            _ => Expect::Forbidden,
        },
        EvidenceRead => match target {
            Target::Own => Expect::Allowed,
            Target::Other if role == "admin" => Expect::Allowed,
            _ => Expect::NotFound,
        },
        EvidenceRemove => match target {
            Target::Missing => Expect::NotFound,
            Target::Other if role != "admin" => Expect::NotFound,
            Target::Own if editor => Expect::Allowed,
            _ => Expect::Forbidden,
        },
        TeamHead if role == "head" => Expect::Allowed,
        TeamHead => Expect::Forbidden,
        TeamMember if !matches!(role, "head" | "admin") => Expect::Forbidden,
        TeamMember => match target {
            Target::Missing => Expect::NotFound,
            Target::Other if role == "head" => Expect::NotFound,
            _ => Expect::Allowed,
        },
        TeamByParticipant => match target {
            Target::Own if role == "head" => Expect::Allowed,
            Target::Own | Target::Other if role == "admin" => Expect::Allowed,
            Target::Missing if role == "admin" => Expect::NotFound,
            _ => Expect::Forbidden,
        },
        Assign => match target {
            Target::Missing => Expect::NotFound,
            Target::Other if !staff => Expect::NotFound,
            _ if role == "admin" => Expect::Allowed,
            Target::Own if role == "head" => Expect::Allowed,
            _ => Expect::Forbidden,
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

fn build(row: &Row, path: &str, actor: Option<&TestUser>, fx: &Fixture) -> Request<Body> {
    let unique = Uuid::new_v4().simple().to_string();
    let code: String = unique
        .bytes()
        .filter(u8::is_ascii_digit)
        .take(3)
        .map(|b| (b'A' + (b - b'0') + 10) as char)
        .collect();
    let code = format!("{code:Q<3}");
    let small = SMALL_FRAMEWORK.replace("{unique}", &unique);
    let fill = |text: &str, encode: bool| {
        text.replace("{unique}", &unique)
            .replace("{short}", &unique[..12])
            .replace("{code}", &code)
            .replace("{framework_id}", &fx.own_framework.to_string())
            .replace("{section_id}", &fx.section_for_goals.to_string())
            .replace("{member_id}", &fx.own_user.id.to_string())
            .replace(
                "{password}",
                &if encode {
                    enc(PASSWORD)
                } else {
                    PASSWORD.to_owned()
                },
            )
            .replace("{small_framework}", &enc(&small))
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
    let form_request = |builder: axum::http::request::Builder, body: String| {
        builder
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form(body)))
            .unwrap()
    };
    let json_request = |builder: axum::http::request::Builder, body: &str| {
        builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(fill(body, false)))
            .unwrap()
    };
    match row.payload {
        None if row.method != "GET" && !is_api => form_request(builder, String::new()),
        None => builder.body(Body::empty()).unwrap(),
        Form(body) => form_request(builder, fill(body, true)),
        Json(body) => json_request(builder, body),
        JsonIfMatch(body) => json_request(builder.header(header::IF_MATCH, "\"1\""), body),
        Upload => {
            let boundary = "matrix-boundary";
            let mut body = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"law.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .into_bytes();
            body.extend_from_slice(PDF);
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            if !is_api {
                builder = builder.uri(format!("{path}?csrf_token={csrf}"));
            }
            builder
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .unwrap()
        }
        TotpEnrolment => {
            let secret = totp::new_secret();
            let body = format!(
                "secret={}&code={}",
                totp::secret_base32(&secret),
                totp::code_at(&secret, totp::current_step())
            );
            form_request(builder, body)
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
        // Past authorization: done, or refused for what was sent or for the record's state (a
        // frozen version, a closed cycle, a stale version). The matrix checks who may call; the
        // feature tests check the rest.
        s if s.is_success()
            || s.is_redirection()
            || s == StatusCode::UNPROCESSABLE_ENTITY
            || s == StatusCode::CONFLICT
            || s == StatusCode::PRECONDITION_FAILED =>
        {
            Some(Expect::Allowed)
        }
        _ => Option::None,
    }
}

fn fill_path(row: &Row, fx: &Fixture, index: usize, target: Target) -> String {
    let id = |own: Uuid, other: Uuid| match target {
        Target::Own => own,
        Target::Other => other,
        Target::Missing => Uuid::new_v4(),
    };
    let assessment_path = row.path.contains("{assessment}");
    let (section, goal) = match target {
        // Assessments are on the GCI version: their goals are its codes.
        _ if assessment_path => ("LEGAL", "legal"),
        Target::Own => ("I", "I.1"),
        Target::Other => ("LEGAL", "legal"),
        Target::Missing => ("NOPE", "nope"),
    };
    let (from, to) = match target {
        Target::Own => (fx.own_framework, fx.other_framework),
        Target::Other => (fx.other_framework, fx.own_framework),
        Target::Missing => (Uuid::new_v4(), fx.other_framework),
    };
    row.path
        .replace("{user}", &id(fx.own_user.id, fx.other_user.id).to_string())
        .replace(
            "{session}",
            &id(fx.own_session, fx.other_session).to_string(),
        )
        .replace(
            "{token}",
            &id(fx.actor_tokens[index], fx.other_token).to_string(),
        )
        .replace("{framework}", &from.to_string())
        .replace("{target}", &to.to_string())
        .replace("{section}", section)
        .replace("{goal}", goal)
        .replace("{participant}", &id(fx.fra, fx.deu).to_string())
        .replace("{cycle}", &id(fx.own_cycle, fx.other_cycle).to_string())
        .replace(
            "{national_goal}",
            &id(fx.own_goal, fx.other_goal).to_string(),
        )
        .replace(
            "{assessment}",
            &id(fx.own_assessment, fx.other_assessment).to_string(),
        )
        .replace("{revision}", "1")
        .replace(
            "{clarification}",
            &id(fx.own_clarification, fx.other_clarification).to_string(),
        )
        .replace(
            "{link}",
            &id(fx.own_evidence.link, fx.other_evidence.link).to_string(),
        )
        .replace(
            "{file}",
            &id(fx.own_evidence.file, fx.other_evidence.file).to_string(),
        )
        .replace(
            "{action}",
            &id(fx.own_evidence.action, fx.other_evidence.action).to_string(),
        )
        .replace(
            "{notification}",
            &id(fx.actor_notifications[index], fx.other_notification).to_string(),
        )
        .replace("{invitation}", "not-a-link")
        .replace("{feed}", "not-a-feed")
        .replace("{kind}", "links")
        .replace(
            "{id}",
            &id(fx.own_evidence.link, fx.other_evidence.link).to_string(),
        )
}

/// Tries one row for every role and target; returns the failures.
async fn check_row(row: &'static Row) -> (Vec<String>, usize) {
    let app = TestApp::spawn().await;
    let fx = fixture(&app).await;
    let is_api = row.path.starts_with("/api/");
    let mut failures = Vec::new();
    let mut checked = 0;
    for (index, (role, actor)) in fx.actors.iter().enumerate() {
        let targets: &[Target] = if row.path.contains('{') {
            &[Target::Own, Target::Other, Target::Missing]
        } else {
            &[Target::Own]
        };
        for &target in targets {
            let path = fill_path(row, &fx, index, target);
            let before = state_digest(&app).await;
            let response = app.request(build(row, &path, actor.as_ref(), &fx)).await;
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
                failures.push(format!(
                    "{} {path} as {role} ({target:?}): want {want:?}, got {status} {location:?}",
                    row.method
                ));
            }
            if row.method != "GET" && want != Expect::Allowed && state_digest(&app).await != before
            {
                failures.push(format!(
                    "{} {path} as {role} ({target:?}) was refused but changed the database",
                    row.method
                ));
            }
            checked += 1;
        }
    }
    (failures, checked)
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_matrix_says_and_denied_writes_change_nothing() {
    use futures_util::StreamExt;
    // Rows are independent (each has its own database): a few run at once.
    let results: Vec<(Vec<String>, usize)> = futures_util::stream::iter(MATRIX)
        .map(check_row)
        .buffer_unordered(4)
        .collect()
        .await;
    let checked: usize = results.iter().map(|(_, n)| n).sum();
    let failures: Vec<String> = results.into_iter().flat_map(|(f, _)| f).collect();
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 1000, "only {checked} checks ran");
}
