//! Evidence on answers: links, files and planned actions. Added and removed only while the
//! answers may change, by the delegation's heads and contributors; read by whoever may read the
//! answers (for a file download, row-level security alone decides: a hidden file is not found).

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
use crate::storage::evidence::{self as store, EvidenceItem, NewFile, StoredFile};
use crate::storage::{self, answers};

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
    assessments::load(pool, principal, assessment).await?;
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let items = store::list(&mut tx, assessment).await?;
    tx.commit().await?;
    Ok(items)
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
