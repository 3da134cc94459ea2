//! Permission extractors: a signed-in user (as [`CurrentUser`] accepts them, or [`AccountUser`]
//! for [`OwnCredentials`]) who also holds a permission that depends on no record. A handler that
//! names one starts with the check done:
//!
//! ```text
//! pub async fn list(State(state): State<AppState>, UserAdmin(me): UserAdmin, …)
//! ```
//!
//! instead of `CurrentUser(me): CurrentUser` and a first line `me.require(Permission::ManageUsers)?`.
//! The refusal is the same (`Principal::require`: a `warn` log line, then 403) and comes before
//! any other extractor that reads the request after it. Permissions about one participant or
//! assessment (`EditParticipant`, `ReadAssessment`, …) need the record first: their services check
//! them (section Services ([`crate::services`])). No handler calls `require` itself: `web::floors`
//! fails on one outside this file.
//!
//! # Record-scoped: an assessment already checked
//!
//! [`Readable`] and [`ReadablePage`] read the assessment named by the path's `{assessment}` for
//! the signed-in user, through `services::assessments::load` or `load_page`, the only two ways
//! to get a `services::assessments::AssessmentView` (its reader field is private to that module).
//! So a handler that names one starts with `ReadAssessment` checked and the assessment read once,
//! in one transaction:
//!
//! ```text
//! pub async fn show(ReadablePage(view): ReadablePage, page: PageContext, …)
//! ```
//!
//! `view.reader()` is who it was read for (for the record's other permissions: submit, review,
//! assign), `view.editable` whether they may change answers now (`EditParticipant` and the
//! states). The refusals are the service's, before the handler runs: sign-in first (as
//! `CurrentUser`), then a malformed id (400, as `Path`), then 404 when row-level security hides
//! the assessment, 403 for an analyst before it is submitted. Writes do not take one: a save
//! locks the assessment and checks `EditParticipant` under the lock in its own transaction
//! (`services::assessments::save_answer`), which a view read earlier could not replace; the
//! workflow's writes read the assessment again after their change, for the message. The review
//! page keeps its own order (`ReviewSubmissions` refused before anything is looked up, so a
//! delegation never learns which ids exist) and loads after that check.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::authn::{AccountUser, CurrentUser};
use super::error::AppError;
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::services::assessments::{self, AssessmentView};

macro_rules! permitted {
    ($(#[$doc:meta])* $name:ident => $permission:ident) => {
        permitted!($(#[$doc])* $name => $permission, as CurrentUser);
    };
    ($(#[$doc:meta])* $name:ident => $permission:ident, as $base:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Principal);

        impl FromRequestParts<AppState> for $name {
            type Rejection = AppError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                let $base(principal) = $base::from_request_parts(parts, state).await?;
                principal.require(Permission::$permission)?;
                Ok($name(principal))
            }
        }
    };
}

permitted!(
    /// Someone who may define frameworks, mappings, participants and cycles (`ManageCatalogue`).
    CatalogueManager => ManageCatalogue
);
permitted!(
    /// Someone who may manage users and their sessions (`ManageUsers`).
    UserAdmin => ManageUsers
);
permitted!(
    /// Someone who may read the audit log (`ReadAuditLog`).
    AuditReader => ReadAuditLog
);
permitted!(
    /// Someone signed in with a browser session, who may change their own credentials and tokens
    /// (`ManageOwnCredentials`; a token never mints tokens).
    CredentialsOwner => ManageOwnCredentials
);
permitted!(
    /// As [`CredentialsOwner`], also while a one-time password must still be changed or (admins)
    /// a second factor enrolled (as `AccountUser` accepts): the account pages that settle those.
    OwnCredentials => ManageOwnCredentials, as AccountUser
);

/// The `{assessment}` of a route's path.
#[derive(serde::Deserialize)]
struct AssessmentParam {
    assessment: uuid::Uuid,
}

/// Reads the `{assessment}` of the path for the signed-in user with `load_page` (`page`) or
/// `load`, the two services that check `ReadAssessment`.
async fn assessment_of(
    parts: &mut Parts,
    state: &AppState,
    page: bool,
) -> Result<AssessmentView, Response> {
    let CurrentUser(principal) = CurrentUser::from_request_parts(parts, state)
        .await
        .map_err(IntoResponse::into_response)?;
    let Path(AssessmentParam { assessment }) =
        Path::<AssessmentParam>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
    let view = if page {
        assessments::load_page(&state.db, &principal, assessment).await
    } else {
        assessments::load(&state.db, &principal, assessment).await
    };
    view.map_err(|error| AppError::from(error).into_response())
}

/// The assessment named by the path's `{assessment}`, read for the signed-in user by
/// `services::assessments::load`, so `ReadAssessment` is checked (404 when row-level security
/// hides it, 403 for an analyst before submission) before the handler runs. The view carries
/// its reader (`view.reader()`) and whether they may edit it (`view.editable`).
pub struct Readable(pub AssessmentView);

impl FromRequestParts<AppState> for Readable {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        assessment_of(parts, state, false).await.map(Readable)
    }
}

/// As [`Readable`], with what the assessment's pages show around the answers, read in the same
/// transaction (`services::assessments::load_page`).
pub struct ReadablePage(pub AssessmentView);

impl FromRequestParts<AppState> for ReadablePage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        assessment_of(parts, state, true).await.map(ReadablePage)
    }
}
