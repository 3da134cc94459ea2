//! The offline round trip for a delegation: its form as an XLSX workbook, and the filled-in
//! workbook imported back in one transaction (all rows or none), refusing rows whose answer
//! changed on the server since the export. See [`crate::offline`] for the file and the rules.

use std::collections::HashMap;

use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use super::ServiceError;
use super::assessments::{EDITABLE_STATES, checked_for_audit, stored_for_audit};
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::domain::problem::Problem;
use crate::export::{ExportFile, Format};
use crate::offline::workbook::{FormHeader, FormRow};
use crate::offline::{fingerprint, plan, reader, workbook};
use crate::presentation::i18n::Lang;
use crate::storage::answers::{self as store, AssessmentHead};
use crate::storage::audit::{self, Actor, NewEntry, RequestContext};
use crate::storage::frameworks;
use crate::storage::{self};

/// At most this many uploaded forms are read at once: each may take up to the reader's
/// ceilings in memory (`offline::reader`), and the machine's cores are better spent on requests.
static READING: std::sync::LazyLock<tokio::sync::Semaphore> =
    std::sync::LazyLock::new(|| tokio::sync::Semaphore::new(2));

/// What an import did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    /// Codes of the goals whose answers were written, in file order.
    pub changed: Vec<String>,
    /// Rows left as they were (not changed offline, or equal to what the server has).
    pub unchanged: usize,
}

/// The assessment, if the principal may fill it in (its own delegation's heads and
/// contributors); another delegation's is not found, as everywhere.
async fn editable_head(
    tx: &mut sqlx::PgConnection,
    principal: &Principal,
    assessment: Uuid,
) -> Result<AssessmentHead, ServiceError> {
    let head = store::head(tx, assessment)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !principal.may(Permission::EditParticipant(head.participant_id)) {
        return Err(ServiceError::Forbidden);
    }
    Ok(head)
}

/// Answers change only in a draft (or returned) assessment of an open cycle.
fn refuse_unless_editable(state: &str, cycle_state: &str) -> Result<(), ServiceError> {
    if !EDITABLE_STATES.contains(&state) {
        return Err(ServiceError::Refused("assessment.refused.submitted"));
    }
    if cycle_state != "open" {
        return Err(ServiceError::Refused("assessment.refused.cycle_not_open"));
    }
    Ok(())
}

/// The message for a reader that did not finish (it panicked or was cancelled): the file is
/// refused as unreadable, and the cause logged.
fn panic_key(error: &tokio::task::JoinError) -> &'static str {
    tracing::error!(%error, "reading an offline form failed");
    "offline.problem.unreadable"
}

/// The assessment the offline page is about, for those who may fill it in.
pub async fn form_head(
    pool: &PgPool,
    principal: &Principal,
    assessment: Uuid,
) -> Result<AssessmentHead, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let head = editable_head(&mut tx, principal, assessment).await?;
    tx.commit().await?;
    Ok(head)
}

/// The form of an assessment as XLSX, in `lang`; recorded in the audit log.
pub async fn export_form(
    pool: &PgPool,
    principal: &Principal,
    assessment: Uuid,
    lang: Lang,
    context: &RequestContext,
) -> Result<ExportFile, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let head = editable_head(&mut tx, principal, assessment).await?;
    let framework = frameworks::load(&mut tx, head.framework_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let answers: HashMap<Uuid, _> = store::list(&mut tx, assessment)
        .await?
        .into_iter()
        .map(|a| (a.goal_id, a))
        .collect();
    let rows: Vec<FormRow<'_>> = framework
        .framework
        .goals()
        .zip(&framework.goal_ids)
        .map(|((section, goal), id)| {
            let stored = answers.get(id);
            let answer = stored.map(|a| a.input()).unwrap_or_default();
            FormRow {
                section,
                goal,
                fingerprint: answer
                    .check(&goal.scale)
                    .map(|checked| fingerprint(&checked))
                    .unwrap_or_default(),
                answer,
                row_version: stored.map_or(0, |a| a.row_version),
                unconfirmed: stored.is_some_and(|a| a.unconfirmed),
            }
        })
        .collect();
    let participant = match lang {
        Lang::Fr if !head.participant_name_fr.is_empty() => &head.participant_name_fr,
        _ => &head.participant_name_en,
    };
    let framework_label = format!(
        "{} {}",
        framework.framework.family, framework.framework.version
    );
    let bytes = workbook::write(
        &FormHeader {
            lang,
            assessment_id: assessment,
            participant,
            cycle_code: &head.cycle_code,
            framework: &framework_label,
            exported_at: time::OffsetDateTime::now_utc(),
            exported_by: &principal.display_name,
        },
        &rows,
    )
    .map_err(crate::export::ExportError::from)?;
    audit::append(
        &mut tx,
        &NewEntry::new(
            Actor::User(principal.user_id),
            "assessment.form_export",
            json!({ "goals": rows.len(), "bytes": bytes.len(), "language": lang.code() }),
        )
        .about("assessment", assessment)
        .for_participant(Some(head.participant_id))
        .from_request(context),
    )
    .await?;
    tx.commit().await?;
    Ok(ExportFile {
        bytes,
        format: Format::Xlsx,
        file_name: crate::export::file_name(
            &format!("{}-{}-form", head.cycle_code, head.participant_code),
            Format::Xlsx,
        ),
    })
}

/// Imports a filled-in form: every cell checked, then every change written in one transaction,
/// or nothing at all. Problems come back as [`ServiceError::Problems`], each at its cell.
pub async fn import_form(
    pool: &PgPool,
    principal: &Principal,
    assessment: Uuid,
    bytes: &[u8],
    context: &RequestContext,
) -> Result<ImportSummary, ServiceError> {
    // Who may import, and whether the assessment takes answers, before the file is read.
    let head = form_head(pool, principal, assessment).await?;
    refuse_unless_editable(&head.state, &head.cycle_state)?;
    if bytes.len() > reader::MAX_FILE_BYTES {
        return Err(ServiceError::Problems(vec![Problem::with(
            "file",
            "offline.problem.too_large",
            format!("> {} MiB", reader::MAX_FILE_BYTES / 1024 / 1024),
        )]));
    }
    // Unpacking and reading take CPU for up to a second on a large file: off the async workers,
    // and with no transaction open meanwhile.
    let _permit = READING.acquire().await.map_err(|_| {
        ServiceError::Problems(vec![Problem::new("file", "offline.problem.unreadable")])
    })?;
    let owned = bytes.to_vec();
    let file = tokio::task::spawn_blocking(move || reader::read(&owned, assessment))
        .await
        .map_err(|error| ServiceError::Problems(vec![Problem::new("file", panic_key(&error))]))?
        .map_err(ServiceError::Problems)?;
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let head = editable_head(&mut tx, principal, assessment).await?;
    // Locked: no submission or save can slip in between the checks and the writes.
    let (state, cycle_state) = store::lock(&mut tx, assessment)
        .await?
        .ok_or(ServiceError::NotFound)?;
    refuse_unless_editable(&state, &cycle_state)?;
    let framework = frameworks::load(&mut tx, head.framework_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let goals: Vec<_> = framework
        .goal_ids
        .iter()
        .copied()
        .zip(framework.framework.goals().map(|(_, goal)| goal))
        .collect();
    let current = store::lock_all(&mut tx, assessment)
        .await?
        .into_iter()
        .map(|a| (a.goal_id, a))
        .collect();
    let plan = plan::plan(&file, &goals, &current).map_err(ServiceError::Problems)?;
    if !plan.changes.is_empty() {
        let answers: Vec<_> = plan
            .changes
            .iter()
            .map(|change| (change.goal_id, &change.answer))
            .collect();
        store::write_many(
            &mut tx,
            assessment,
            head.participant_id,
            &answers,
            principal.user_id,
        )
        .await?;
        store::touch(&mut tx, assessment).await?;
    }
    let changes: Vec<_> = plan
        .changes
        .iter()
        .map(|change| {
            json!({ "goal": change.goal_code, "old": change.before.as_ref().map(stored_for_audit),
                    "new": checked_for_audit(&change.answer) })
        })
        .collect();
    audit::append(
        &mut tx,
        &NewEntry::new(
            Actor::User(principal.user_id),
            "assessment.import",
            json!({ "file_sha256": hex::encode(Sha256::digest(bytes)), "changed": changes,
                    "unchanged": plan.unchanged }),
        )
        .about("assessment", assessment)
        .for_participant(Some(head.participant_id))
        .from_request(context),
    )
    .await?;
    tx.commit().await?;
    Ok(ImportSummary {
        changed: plan.changes.into_iter().map(|c| c.goal_code).collect(),
        unchanged: plan.unchanged,
    })
}
