//! Evidence on answers: links, files and planned actions. Added and removed only while the
//! answers may change, by the delegation's heads and contributors; read by whoever may read the
//! answers (for a file download, row-level security alone decides: a hidden file is not found).
//!
//! # Evidence and planned actions
//!
//! A delegation backs an answer with links, uploaded files and planned actions
//! (`services::evidence`, `storage::evidence`, `domain::evidence`; pages in
//! `src/web/pages/evidence.rs`, API in `src/web/api/evidence.rs`). The section page lists them under
//! each goal, in a `<details>` closed by default, and, while the goals are editable, offers three small forms there: a link (address and
//! label), a file, a planned action (description and an optional due date).
//!
//! | action | page | API (`…` = `/api/v1`) |
//! |---|---|---|
//! | add a link | `POST /assessments/{assessment}/goals/{goal}/links` (`url`, `label`) | `POST …/assessments/{assessment}/answers/{goal}/links` with `{"url", "label"}` |
//! | add a planned action | `POST /assessments/{assessment}/goals/{goal}/actions` (`description`, `due_on`) | `POST …/assessments/{assessment}/answers/{goal}/actions` with `{"description", "due_on"}` |
//! | attach a file | `POST /assessments/{assessment}/goals/{goal}/files` (multipart, field `file`; the CSRF token in the query string) | `POST …/assessments/{assessment}/answers/{goal}/files` (multipart, field `file`) |
//! | list | the section pages | `GET …/assessments/{assessment}/evidence` |
//! | download a file | `GET /evidence/files/{file}` | `GET …/evidence/files/{file}` |
//! | remove | `POST /evidence/links/{link}/delete`, `/evidence/files/{file}/delete`, `/evidence/actions/{action}/delete` | `DELETE …/evidence/{kind}/{id}` (`kind`: `links`, `files`, `actions`) |
//!
//! Adding answers `303` back to the goal on its section page with its evidence open
//! (`/assessments/{assessment}/sections/{section}?evidence={goal}#goal-{goal}`) and a one-time message,
//! and 201 `{"id"}` on the API; removing answers the same `303` (the removal form names its goal in a
//! hidden `goal` field; without it, the task list) and 204. A refused addition shows the section page
//! (422) with the evidence open and the error summary. `{goal}` is the goal's code.
//!
//! **Adding** (`add_link`, `add_action`, `add_file`):
//!
//! 1. Who may comes before what was sent, so a caller who may not act learns nothing from a
//!    validation message: the assessment is loaded under row-level security (another delegation's is
//!    404) with `ReadAssessment`, then `EditParticipant` is checked (403: viewers, analysts, admins);
//!    an unknown goal code is 404.
//! 2. In one transaction: the assessment row is locked; a state other than `not_started`, `draft` or
//!    `returned`, or a cycle that is not `open`, is refused (409), as for answers.
//! 3. The goal's answer row is found, or created empty (data-model.md (`docs/data-model.md#0004--cycles-assessments-answers-snapshots-reviews`)).
//! 4. The input is checked (422, by field): a link is `http://` or `https://`, at most 2,000
//!    characters, without spaces or control characters (`domain::evidence::valid_link`; the label is
//!    trimmed and cut to 300 characters); a planned action has a description of 1 to 2,000 characters
//!    and a due date `YYYY-MM-DD` or none; a file as below.
//! 5. The row is inserted, activity is recorded on the assessment (`storage::answers::touch`:
//!    `last_activity_at`; `not_started` becomes `draft`), and the audit entry is appended.
//!
//! **Files.**
//!
//! - The upload is read chunk by chunk (`read_upload` in `src/web/pages/evidence.rs`, which the API
//!   shares) and refused (422 `fields.file`, "This file is larger than allowed.") as soon as it passes
//!   `PLEDGE_MAX_EVIDENCE_MB` (default 10 MiB); nothing is stored. Only the two upload routes, page
//!   (`upload` in `src/web/pages/mod.rs`) and API (`upload_file`, the one route added before the layer
//!   in `api::evidence::router`), lift axum's 2 MB body limit (`DefaultBodyLimit::disable()`) so that
//!   this one applies; the JSON evidence routes keep it (413 beyond). An empty upload, or none, is 422
//!   too. These two checks run in the handler, before the service looks at who may act; the service
//!   checks the size again.
//! - The name is cleaned (`domain::evidence::clean_file_name`): the part after the last `/` or `\`,
//!   without control characters or `"`, at most 200 characters; `evidence` when nothing is left.
//! - The type comes from the content (`domain::evidence::sniff`), never from the client's
//!   `Content-Type`: PDF (`%PDF-`), PNG and JPEG by their signatures; a zip (`PK\x03\x04`) only when
//!   the name ends in `.docx`, `.xlsx` or `.pptx` (other archives are refused); text only when it is
//!   UTF-8 without a NUL byte and the name ends in `.csv` (`text/csv`), `.txt` or `.md`
//!   (`text/plain`). Anything else is 422 ("This kind of file is not accepted (its content was
//!   checked).").
//! - The file is stored in `evidence_files.content` with its size and SHA-256; the audit entry
//!   records the name, the media type, the size and the digest (hex).
//! - **Download** (`services::evidence::download`) reads the file under row-level security only: the
//!   read policy (`pledge_may_read_answers`) decides, and a file the caller may not read is 404. The
//!   answer has the stored media type, `Content-Disposition: attachment; filename="…"` (non-ASCII
//!   characters and `"` replaced by `_`) and `Content-Security-Policy: default-src 'none'; sandbox`,
//!   besides the usual headers (`nosniff`, `no-store`).
//!
//! **Removing** (`remove`) finds the item, its assessment and goal under row-level security (404 when
//! the caller may not read it), then checks as for adding (403, 409), records activity, appends the
//! audit entry and deletes the row. The answer row stays.
//!
//! **Refused forms on pages.** A refused link or action form comes back (422) as the whole assessment
//! page, with what was typed in that goal's evidence forms and the message at the field
//! (`pages::assessments::evidence_refused`); a refused file shows its message at the file field (the
//! file must be chosen again). A refusal for the state or the cycle is the HTML error page (409).
//!
//! **Reading.** `services::evidence::list` (one statement, `storage::evidence::list`) needs
//! `ReadAssessment` and is filtered by row-level security: the delegation and admins always, analysts
//! once the assessment is submitted, resubmitted or accepted. Snapshots do not record evidence: after
//! a return it can change again, and only the audit entries keep what was there at a submission.

use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use time::Date;
use uuid::Uuid;

use super::ServiceError;
use super::assessments;
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::domain::assessment::answers_may_change;
use crate::domain::cycle::parse_date;
use crate::domain::evidence::{EvidenceKind, clean_file_name, sniff, valid_link};
use crate::storage::audit::{Actor, NewEntry, RequestContext};
use crate::storage::evidence::{self as store, NewFile, StoredFile};
use crate::storage::{self, answers};

pub use crate::storage::evidence::EvidenceItem;

struct Editable {
    tx: storage::Audited,
    assessment: Uuid,
    participant: Uuid,
    answer: Uuid,
}

/// Checks that the principal may change this goal's answer now, and locks the assessment.
async fn editable(
    pool: &PgPool,
    principal: &Principal,
    assessment: Uuid,
    goal_code: &str,
) -> Result<Editable, ServiceError> {
    let view = assessments::load(pool, principal, assessment).await?;
    if !principal.may(Permission::EditParticipant(view.head.participant_id)) {
        return Err(ServiceError::Forbidden);
    }
    let goal = view
        .goal(goal_code)
        .map(|(_, _, id, _)| id)
        .ok_or(ServiceError::NotFound)?;
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    let (state, cycle_state) = answers::lock(&mut tx, assessment)
        .await?
        .ok_or(ServiceError::NotFound)?;
    answers_may_change(state, cycle_state).map_err(ServiceError::Refused)?;
    let answer = store::answer_id(
        &mut tx,
        assessment,
        view.head.participant_id,
        goal,
        principal.user_id,
    )
    .await?;
    Ok(Editable {
        tx,
        assessment,
        participant: view.head.participant_id,
        answer,
    })
}

/// Marks the assessment active and commits one change to its evidence with its audit entry
/// (`verb`: add or remove).
async fn commit_change(
    mut editable: Editable,
    principal: &Principal,
    kind: EvidenceKind,
    verb: &str,
    id: Uuid,
    details: serde_json::Value,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    answers::touch(&mut editable.tx, editable.assessment).await?;
    let action = format!("{}.{verb}", kind.entity());
    editable
        .tx
        .commit(
            &NewEntry::new(Actor::User(principal.user_id), &action, details)
                .about(kind.entity(), id)
                .for_participant(Some(editable.participant))
                .from_request(context),
        )
        .await?;
    Ok(())
}

/// Adds a link to an answer.
pub async fn add_link(
    pool: &PgPool,
    principal: &Principal,
    assessment: Uuid,
    goal: &str,
    url: &str,
    label: &str,
    context: &RequestContext,
) -> Result<Uuid, ServiceError> {
    // Who may come before what was sent: a stranger learns nothing from a validation message.
    let mut editable = editable(pool, principal, assessment, goal).await?;
    if !valid_link(url) {
        return Err(ServiceError::field("url", "field.url.invalid"));
    }
    let label = label.trim().chars().take(300).collect::<String>();
    let id = store::add_link(
        &mut editable.tx,
        editable.answer,
        editable.participant,
        url.trim(),
        &label,
        principal.user_id,
    )
    .await?;
    commit_change(
        editable,
        principal,
        EvidenceKind::Link,
        "add",
        id,
        json!({ "goal": goal, "url": url.trim(), "label": label }),
        context,
    )
    .await?;
    Ok(id)
}

/// Adds a planned action with an optional due date (YYYY-MM-DD).
pub async fn add_action(
    pool: &PgPool,
    principal: &Principal,
    assessment: Uuid,
    goal: &str,
    description: &str,
    due_on: &str,
    context: &RequestContext,
) -> Result<Uuid, ServiceError> {
    let mut editable = editable(pool, principal, assessment, goal).await?;
    let description = description.trim();
    let mut problems = super::FieldProblems::new();
    if description.is_empty() || description.chars().count() > 2000 {
        problems.insert("description".into(), "field.description.required".into());
    }
    let due: Option<Date> = match due_on.trim() {
        "" => None,
        text => match parse_date(text) {
            Some(date) => Some(date),
            None => {
                problems.insert("due_on".into(), "field.date.invalid".into());
                None
            }
        },
    };
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }
    let id = store::add_action(
        &mut editable.tx,
        editable.answer,
        editable.participant,
        description,
        due,
        principal.user_id,
    )
    .await?;
    commit_change(
        editable,
        principal,
        EvidenceKind::Action,
        "add",
        id,
        json!({ "goal": goal, "description": description, "due_on": due.map(|d| d.to_string()) }),
        context,
    )
    .await?;
    Ok(id)
}

/// A file as received, with the largest size this service accepts.
#[derive(Clone, Copy)]
pub struct Upload<'a> {
    pub file_name: &'a str,
    pub content: &'a [u8],
    pub max_bytes: usize,
}

/// Stores an uploaded file after checking its size and its type from its content.
pub async fn add_file(
    pool: &PgPool,
    principal: &Principal,
    assessment: Uuid,
    goal: &str,
    upload: &Upload<'_>,
    context: &RequestContext,
) -> Result<Uuid, ServiceError> {
    let Upload {
        file_name,
        content,
        max_bytes,
    } = *upload;
    let mut editable = editable(pool, principal, assessment, goal).await?;
    if content.is_empty() {
        return Err(ServiceError::field("file", "field.file.empty"));
    }
    if content.len() > max_bytes {
        return Err(ServiceError::field("file", "field.file.too_large"));
    }
    let name = clean_file_name(file_name);
    let media_type =
        sniff(&name, content).ok_or_else(|| ServiceError::field("file", "field.file.type"))?;
    let sha256 = Sha256::digest(content).to_vec();
    let id = store::add_file(
        &mut editable.tx,
        &NewFile {
            answer: editable.answer,
            participant: editable.participant,
            file_name: &name,
            media_type,
            content,
            sha256: &sha256,
            user: principal.user_id,
        },
    )
    .await?;
    let details = json!({ "goal": goal, "file_name": name, "media_type": media_type, "size_bytes": content.len(), "sha256": hex::encode(&sha256) });
    commit_change(
        editable,
        principal,
        EvidenceKind::File,
        "add",
        id,
        details,
        context,
    )
    .await?;
    Ok(id)
}

/// Removes a link, file or planned action, while the answer may change.
pub async fn remove(
    pool: &PgPool,
    principal: &Principal,
    kind: EvidenceKind,
    id: Uuid,
    context: &RequestContext,
) -> Result<Uuid, ServiceError> {
    let (assessment, goal) = {
        let mut tx = storage::begin(pool, &principal.scope()).await?;
        let owner = store::owner(&mut tx, kind, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        owner
    };
    let mut editable = editable(pool, principal, assessment, &goal).await?;
    if !store::remove(&mut editable.tx, kind, id).await? {
        return Err(ServiceError::NotFound);
    }
    commit_change(
        editable,
        principal,
        kind,
        "remove",
        id,
        json!({ "goal": goal }),
        context,
    )
    .await?;
    Ok(assessment)
}

/// The evidence of an assessment the principal may read.
pub async fn list(
    pool: &PgPool,
    principal: &Principal,
    assessment: Uuid,
) -> Result<Vec<EvidenceItem>, ServiceError> {
    Ok(assessments::load_page(pool, principal, assessment)
        .await?
        .around
        .evidence)
}

/// A file for download: only for those who may read its answer (row-level security decides).
pub async fn download(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
) -> Result<StoredFile, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let file = store::file(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    tx.commit().await?;
    Ok(file)
}
