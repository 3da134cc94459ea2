//! Bulk imports on pages (admins): choose the file (and, for answers, the purpose), check what
//! it will do (counts per participant, every problem by sheet, row and column), then apply.
//!
//! The uploaded file waits between the check and the apply in a temporary file on this server
//! (at most [`PENDING_MAX`] at once, for [`PENDING_MINUTES`] minutes), named by a random token
//! carried in the check page's form and bound to the admin who uploaded it. Applying reads that
//! file again in the same single pass, so what is written is what was checked, unless the data
//! changed meanwhile, in which case the apply is refused with the new problems.

use std::collections::HashMap;
use std::sync::Mutex;

use askama::Template;
use axum::extract::{Form, Multipart, Path, State};
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::frameworks::refused;
use super::offline::{ProblemRow, problem_rows};
use super::{PageContext, render};
use crate::auth::Operator;
use crate::import::table::Source;
use crate::import::{MAX_UPLOAD_BYTES, Purpose};
use crate::services::RequestContext;
use crate::services::ServiceError;
use crate::services::cycles::CycleView;
use crate::services::imports::{self as service, AnswersOutcome, ParticipantsOutcome, Upload};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::pages::import_form::{ImportForm, purpose_of, read_form};
use crate::web::permitted::CatalogueManager;

/// Uploads waiting for their apply, at most.
pub const PENDING_MAX: usize = 8;
/// How long an upload waits.
pub const PENDING_MINUTES: i64 = 30;

/// An upload between its check and its apply.
struct Pending {
    user: Uuid,
    /// The cycle, for answers; none for participants.
    cycle: Option<Uuid>,
    purpose: Purpose,
    file_name: String,
    file: tempfile::NamedTempFile,
    at: OffsetDateTime,
}

static PENDING: std::sync::LazyLock<Mutex<HashMap<String, Pending>>> =
    std::sync::LazyLock::new(|| Mutex::new(HashMap::new()));

/// Keeps an upload for its apply; returns its token.
fn keep(
    user: Uuid,
    cycle: Option<Uuid>,
    purpose: Purpose,
    form: ImportForm,
) -> Result<String, AppError> {
    use std::io::Write;
    sweep_stale_uploads(&std::env::temp_dir(), PENDING_MINUTES);
    let mut file = tempfile::Builder::new()
        .prefix(UPLOAD_PREFIX)
        .tempfile()
        .map_err(|e| AppError::Internal(e.into()))?;
    file.write_all(&form.bytes)
        .and_then(|()| file.flush())
        .map_err(|e| AppError::Internal(e.into()))?;
    let token = crate::auth::secrets::random_hex(16);
    let now = OffsetDateTime::now_utc();
    let mut pending = PENDING.lock().map_err(|_| AppError::BadRequest("busy"))?;
    pending.retain(|_, p| now - p.at < time::Duration::minutes(PENDING_MINUTES));
    while pending.len() >= PENDING_MAX {
        let oldest = pending
            .iter()
            .min_by_key(|(_, p)| p.at)
            .map(|(token, _)| token.clone());
        match oldest {
            Some(token) => pending.remove(&token),
            None => break,
        };
    }
    pending.insert(
        token.clone(),
        Pending {
            user,
            cycle,
            purpose,
            file_name: form.file_name,
            file,
            at: now,
        },
    );
    Ok(token)
}

/// The name every kept upload starts with, in the system's temporary directory.
const UPLOAD_PREFIX: &str = "pledge-import-";

/// Removes kept uploads older than their lifetime that no process removed: a process killed
/// between a check and its apply leaves its file behind (a live one drops its own). Any
/// process sharing the directory may sweep: a file that old has expired for every process.
/// Returns how many were removed.
fn sweep_stale_uploads(dir: &std::path::Path, minutes: i64) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let lifetime = std::time::Duration::from_secs(u64::try_from(minutes).unwrap_or(0) * 60);
    let mut removed = 0;
    for entry in entries.flatten() {
        let stale = entry
            .file_name()
            .to_string_lossy()
            .starts_with(UPLOAD_PREFIX)
            && entry.metadata().is_ok_and(|meta| {
                meta.is_file()
                    && meta
                        .modified()
                        .ok()
                        .and_then(|at| at.elapsed().ok())
                        .is_some_and(|age| age > lifetime)
            });
        if stale && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// A kept upload, to read (the check).
fn pending_upload(token: &str) -> Result<Upload, AppError> {
    let pending = PENDING.lock().map_err(|_| AppError::BadRequest("busy"))?;
    let kept = pending.get(token).ok_or(AppError::BadRequest("busy"))?;
    Ok(Upload {
        file_name: kept.file_name.clone(),
        source: Source::Path(kept.file.path().to_path_buf()),
    })
}

/// Takes back an upload kept for this user (and cycle).
fn take(token: &str, user: Uuid, cycle: Option<Uuid>) -> Option<Pending> {
    let mut pending = PENDING.lock().ok()?;
    let found = pending.get(token)?;
    if found.user != user || found.cycle != cycle {
        return None;
    }
    pending.remove(token)
}

#[derive(Template)]
#[template(path = "import_answers.html")]
struct AnswersPage {
    page: PageContext,
    cycle: CycleView,
    max_megabytes: usize,
    purpose: String,
    /// A refusal of the request (a missing file, the cycle's state).
    messages: Vec<String>,
}

#[derive(Template)]
#[template(path = "import_answers_check.html")]
struct AnswersCheckPage {
    page: PageContext,
    cycle: CycleView,
    outcome: AnswersOutcome,
    totals: service::ParticipantCount,
    problems: Vec<ProblemRow>,
    token: String,
}

impl AnswersCheckPage {
    fn purpose_label(&self) -> String {
        self.page
            .tr
            .t(&format!("import.purpose.{}", self.outcome.purpose.as_str()))
            .to_owned()
    }
}

async fn cycle_view(
    state: &AppState,
    me: &crate::auth::Principal,
    id: Uuid,
) -> Result<CycleView, AppError> {
    Ok(crate::services::cycles::find(&state.db, Operator::User(me), id).await?)
}

/// `GET /cycles/{cycle}/import`: the file and the purpose.
pub async fn answers_form(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let cycle = cycle_view(&state, &me, id).await?;
    let purpose = default_purpose(&cycle).to_owned();
    render(&AnswersPage {
        page,
        cycle,
        max_megabytes: MAX_UPLOAD_BYTES / 1024 / 1024,
        purpose,
        messages: Vec::new(),
    })
}

/// Open cycles take answers on behalf of delegations; the others history.
fn default_purpose(cycle: &CycleView) -> &'static str {
    if cycle.state.is_open() {
        Purpose::OnBehalf.as_str()
    } else {
        Purpose::Historical.as_str()
    }
}

/// `POST /cycles/{cycle}/import` (multipart; the CSRF token in the query string): the check
/// page, writing nothing.
pub async fn answers_check(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let cycle = cycle_view(&state, &me, id).await?;
    let form = match read_form(&mut multipart).await {
        Ok(form) => form,
        Err(AppError::Validation(fields)) => {
            let messages = fields.values().map(|k| page.tr.t(k).to_owned()).collect();
            let purpose = default_purpose(&cycle).to_owned();
            return refused(&AnswersPage {
                page,
                cycle,
                max_megabytes: MAX_UPLOAD_BYTES / 1024 / 1024,
                purpose,
                messages,
            });
        }
        Err(error) => return Err(error),
    };
    let purpose = purpose_of(&form)?;
    // Kept first, so that the check reads the same file the apply will, and the upload is not
    // held twice in memory.
    let token = keep(me.user_id, Some(id), purpose, form)?;
    let upload = pending_upload(&token)?;
    let result = service::import_answers(
        &state.db,
        Operator::User(&me),
        id,
        purpose,
        upload,
        true,
        &context,
    )
    .await;
    if !matches!(&result, Ok(outcome) if outcome.problems.is_empty()) {
        take(&token, me.user_id, Some(id));
    }
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(ServiceError::Refused(key)) => {
            return refused(&AnswersPage {
                messages: vec![page.tr.t(key).to_owned()],
                page,
                cycle,
                max_megabytes: MAX_UPLOAD_BYTES / 1024 / 1024,
                purpose: purpose.as_str().to_owned(),
            });
        }
        Err(error) => return Err(error.into()),
    };
    let token = if outcome.problems.is_empty() {
        token
    } else {
        String::new()
    };
    let view = AnswersCheckPage {
        problems: problem_rows(&page, &outcome.problems),
        totals: outcome.totals(),
        page,
        cycle,
        outcome,
        token,
    };
    if view.problems.is_empty() {
        render(&view)
    } else {
        refused(&view)
    }
}

/// The apply form: the token of the checked upload.
#[derive(Debug, Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    token: String,
}

/// `POST /cycles/{cycle}/import/apply`: writes the checked file, then back to the cycle with a
/// message; an expired upload asks for the file again.
pub async fn answers_apply(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<ApplyForm>,
) -> Result<Response, AppError> {
    cycle_view(&state, &me, id).await?;
    let secure = state.config.auth.secure_cookies;
    let Some(pending) = take(&form.token, me.user_id, Some(id)) else {
        return Ok(flash::redirect(
            &format!("/cycles/{id}/import"),
            Flash::new("flash.import_expired"),
            secure,
        ));
    };
    let upload = Upload {
        file_name: pending.file_name.clone(),
        source: Source::Path(pending.file.path().to_path_buf()),
    };
    let outcome = service::import_answers(
        &state.db,
        Operator::User(&me),
        id,
        pending.purpose,
        upload,
        false,
        &context,
    )
    .await;
    drop(pending);
    match outcome {
        Ok(outcome) if outcome.applied => {
            let location = match outcome.purpose {
                Purpose::Historical => format!("/cycles/{id}/report"),
                Purpose::OnBehalf => format!("/cycles/{id}"),
            };
            let totals = outcome.totals();
            Ok(flash::redirect(
                &location,
                Flash::with(
                    "flash.import_answers_done",
                    (totals.new + totals.changed).to_string(),
                ),
                secure,
            ))
        }
        Ok(outcome) => {
            let cycle = cycle_view(&state, &me, id).await?;
            refused(&AnswersCheckPage {
                problems: problem_rows(&page, &outcome.problems),
                totals: outcome.totals(),
                page,
                cycle,
                outcome,
                token: String::new(),
            })
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Template)]
#[template(path = "import_participants.html")]
struct ParticipantsPage {
    page: PageContext,
    max_megabytes: usize,
    messages: Vec<String>,
    outcome: Option<ParticipantsOutcome>,
    problems: Vec<ProblemRow>,
    token: String,
}

/// `GET /participants/import`.
pub async fn participants_form(
    CatalogueManager(_): CatalogueManager,
    page: PageContext,
) -> Result<Response, AppError> {
    render(&ParticipantsPage {
        page,
        max_megabytes: MAX_UPLOAD_BYTES / 1024 / 1024,
        messages: Vec::new(),
        outcome: None,
        problems: Vec::new(),
        token: String::new(),
    })
}

/// `POST /participants/import` (multipart; the CSRF token in the query string): what the file
/// will add and update, writing nothing.
pub async fn participants_check(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let form = match read_form(&mut multipart).await {
        Ok(form) => form,
        Err(AppError::Validation(fields)) => {
            return refused(&ParticipantsPage {
                messages: fields.values().map(|k| page.tr.t(k).to_owned()).collect(),
                page,
                max_megabytes: MAX_UPLOAD_BYTES / 1024 / 1024,
                outcome: None,
                problems: Vec::new(),
                token: String::new(),
            });
        }
        Err(error) => return Err(error),
    };
    let token = keep(me.user_id, None, Purpose::Historical, form)?;
    let upload = pending_upload(&token)?;
    let result =
        service::import_participants(&state.db, Operator::User(&me), upload, true, &context).await;
    if !matches!(&result, Ok(outcome) if outcome.problems.is_empty()) {
        take(&token, me.user_id, None);
    }
    let outcome = result?;
    let token = if outcome.problems.is_empty() {
        token
    } else {
        String::new()
    };
    let view = ParticipantsPage {
        problems: problem_rows(&page, &outcome.problems),
        page,
        max_megabytes: MAX_UPLOAD_BYTES / 1024 / 1024,
        messages: Vec::new(),
        outcome: Some(outcome),
        token,
    };
    if view.problems.is_empty() {
        render(&view)
    } else {
        refused(&view)
    }
}

/// `POST /participants/import/apply`.
pub async fn participants_apply(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Form(form): Form<ApplyForm>,
) -> Result<Response, AppError> {
    let secure = state.config.auth.secure_cookies;
    let Some(pending) = take(&form.token, me.user_id, None) else {
        return Ok(flash::redirect(
            "/participants/import",
            Flash::new("flash.import_expired"),
            secure,
        ));
    };
    let upload = Upload {
        file_name: pending.file_name.clone(),
        source: Source::Path(pending.file.path().to_path_buf()),
    };
    let outcome =
        service::import_participants(&state.db, Operator::User(&me), upload, false, &context)
            .await?;
    drop(pending);
    if outcome.applied {
        return Ok(flash::redirect(
            "/participants",
            Flash::with(
                "flash.import_participants_done",
                (outcome.new.len() + outcome.updated.len()).to_string(),
            ),
            secure,
        ));
    }
    refused(&ParticipantsPage {
        problems: problem_rows(&page, &outcome.problems),
        page,
        max_megabytes: MAX_UPLOAD_BYTES / 1024 / 1024,
        messages: Vec::new(),
        outcome: Some(outcome),
        token: String::new(),
    })
}

/// Which import's values (all the cycle's imports when absent).
#[derive(Debug, Deserialize)]
pub struct ValuesQuery {
    #[serde(default)]
    import: Option<String>,
}

/// `GET /cycles/{cycle}/import/values[?import=ID]`: every value the cycle's imports wrote (or
/// that one import, the id its `cycle.import` audit entry names), as CSV, streamed.
pub async fn values(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    Path(id): Path<Uuid>,
    axum::extract::Query(query): axum::extract::Query<ValuesQuery>,
) -> Result<Response, AppError> {
    use axum::http::header::{CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
    use axum::response::IntoResponse;
    use futures_util::StreamExt;
    let import = match query.import.as_deref().filter(|text| !text.is_empty()) {
        Some(text) => Some(text.parse::<Uuid>().map_err(|_| AppError::NotFound)?),
        None => None,
    };
    let chunks = service::values_csv(&state.db, Operator::User(&me), id, import)
        .await?
        .map(|chunk| chunk.map(axum::body::Bytes::from));
    let file_name = match import {
        Some(import) => format!("import-{import}-values.csv"),
        None => format!("cycle-{id}-import-values.csv"),
    };
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (
                CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_owned(),
            ),
        ],
        axum::body::Body::from_stream(chunks),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_left_by_a_killed_process_are_swept_once_expired() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(format!("{UPLOAD_PREFIX}left-behind"));
        let fresh = dir.path().join(format!("{UPLOAD_PREFIX}waiting"));
        let other = dir.path().join("someone-elses-file");
        for path in [&old, &fresh, &other] {
            std::fs::write(path, b"participant_code").unwrap();
        }
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for path in [&old, &other] {
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(hour_ago)
                .unwrap();
        }
        assert_eq!(sweep_stale_uploads(dir.path(), PENDING_MINUTES), 1);
        assert!(!old.exists(), "an expired upload is removed");
        assert!(
            fresh.exists(),
            "an upload still waiting for its apply stays"
        );
        assert!(other.exists(), "other files are never touched");
    }
}
