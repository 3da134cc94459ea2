//! Permission extractors: a signed-in user (as [`CurrentUser`] accepts them) who also holds a
//! permission that depends on no record. A handler that names one starts with the check done:
//!
//! ```text
//! pub async fn list(State(state): State<AppState>, UserAdmin(me): UserAdmin, …)
//! ```
//!
//! instead of `CurrentUser(me): CurrentUser` and a first line `me.require(Permission::ManageUsers)?`.
//! The refusal is the same (`Principal::require`: a `warn` log line, then 403) and comes before
//! any other extractor that reads the request after it. Permissions about one participant or
//! assessment (`EditParticipant`, `ReadAssessment`, …) need the record first: their services check
//! them (section Services ([`crate::services`])).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::AppState;
use super::authn::CurrentUser;
use super::error::AppError;
use crate::auth::Principal;
use crate::auth::policy::Permission;

macro_rules! permitted {
    ($(#[$doc:meta])* $name:ident => $permission:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Principal);

        impl FromRequestParts<AppState> for $name {
            type Rejection = AppError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                let CurrentUser(principal) = CurrentUser::from_request_parts(parts, state).await?;
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
