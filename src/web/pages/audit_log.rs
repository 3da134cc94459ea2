//! The audit log, for admins: newest first, a page at a time.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{PageContext, render};
use crate::auth::policy::Permission;
use crate::storage::audit::{self, EntryView};
use crate::storage::{self as store};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::AppError;

const PAGE_SIZE: i64 = 100;

#[derive(Template)]
#[template(path = "audit_log.html")]
struct AuditPage {
    page: PageContext,
    entries: Vec<EntryView>,
    older: Option<i64>,
}

/// Paging through the log.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

/// `GET /admin/audit`.
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Query(query): Query<AuditQuery>,
) -> Result<Response, AppError> {
    me.require(Permission::ReadAuditLog)?;
    let mut tx = store::begin(&state.db, &me.scope()).await?;
    let entries = audit::recent(&mut tx, query.before, PAGE_SIZE).await?;
    tx.commit().await?;
    let older = (entries.len() as i64 == PAGE_SIZE)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    render(&AuditPage {
        page,
        entries,
        older,
    })
}
