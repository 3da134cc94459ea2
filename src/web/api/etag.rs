//! Optimistic concurrency over HTTP: a record's version travels as an `ETag`, and writes must
//! send it back in `If-Match` (412 when it no longer matches, 428 when it is missing).
//!
//! # Optimistic concurrency
//!
//! Framework versions, national goals and answers carry `row_version`. A write adds 1 to it and happens
//! only if the record is still at the version the client read; otherwise nothing is written.
//!
//! - **Pages** (framework versions, national goals): the form sends `row_version` in a hidden field.
//!   A stale form comes back (422) with the message "Someone else changed this since you opened it…"
//!   and what was typed. A national goal's page
//!   then shows the stored values and puts the current version in the form, so saving again is a
//!   deliberate choice. A framework form keeps the version it was read at: open the page again to edit
//!   the current one.
//! - **API**: `GET /api/v1/frameworks/{framework}` and `GET /api/v1/national-goals/{goal}` answer with
//!   `ETag: "<row_version>"`. `PUT` on the same paths needs `If-Match` with that value: without it,
//!   428 `precondition_required`; with another or an unreadable value, 412 `stale`
//!   (`src/web/api/etag.rs`; a `W/` prefix is ignored).
//! - **Answers** have one `row_version` each: 1 when first saved, 1 more at every save; a goal
//!   without a row, or with the empty row that evidence creates, counts as 0. `save_answer` locks the
//!   assessment row, then the answer row, and compares. Because of the first lock, two first saves of
//!   the same goal are serialised too: the second finds version 1 and conflicts, unless it is the same
//!   answer (a repeated save ([`crate::web::pages::assessments`]), which succeeds without writing). Adding
//!   evidence to a goal not yet answered leaves its form at version 0, so a colleague's evidence never
//!   turns a first save into a conflict.
//!   - *Pages*: each goal's form carries the version it was read at in a hidden `row_version` field
//!     (the autosave script updates it after each of its saves). When someone saved the answer since,
//!     nothing is written and the page answers 409 with a conflict page
//!     (`templates/answer_conflict.html`): their saved answer (who saved it, and the date) and what
//!     you typed, side by side, field by field. "Keep theirs" goes back to the form, which shows theirs.
//!     "Save mine instead" posts your values again with *their* version, so overwriting takes a
//!     deliberate second step; if someone saved again in between, the conflict page comes back.
//!   - *Autosave*: a stale version answers 409 `{"error": {"code": "stale"}}` and the script stops
//!     saving that form; the Save button then shows the conflict page (Autosave ([`crate::web::pages::assessments`])).
//!   - *API*: `GET /api/v1/assessments/{assessment}/answers/{goal}` answers with
//!     `ETag: "<row_version>"` (`"0"` for a goal never answered). `PUT` on the same path needs
//!     `If-Match`: without it, 428 `precondition_required`; with another or an unreadable value, 412
//!     `stale` (the plain error body: read the answer again for the current values). A save answers 204
//!     with the new `ETag` (a repeated save: 204 with the current one). `GET /api/v1/assessments/{assessment}` gives every answer's `row_version`;
//!     its own `ETag` is the assessment's `row_version`, which no write asks for.
//! - **Evidence** takes no version: adding and removing lock the assessment row and check its state.
//! - **Workflow steps** take no version from the client: they lock the assessment row and check its
//!   state, so a second submit finds the work done and a second accept gets 409
//!   (The workflow ([`crate::services::workflow`])).
//! - **Cycles** take no version from the client: a transition or a new deadline locks the cycle row
//!   (`SELECT … FOR UPDATE`) and checks its state, so of two admins opening the same cycle one succeeds
//!   and the other gets 409.
//! - **Participants and mappings** have no version check: the last write wins.

use axum::http::header::{ETAG, IF_MATCH};
use axum::http::{HeaderMap, HeaderValue};

use crate::web::error::AppError;

/// The `ETag` for a row version.
pub fn etag(row_version: i64) -> (axum::http::HeaderName, HeaderValue) {
    let value = HeaderValue::from_str(&format!("\"{row_version}\""))
        .unwrap_or(HeaderValue::from_static("\"0\""));
    (ETAG, value)
}

/// The row version the client read, from `If-Match`.
pub fn expected_version(headers: &HeaderMap) -> Result<i64, AppError> {
    let value = headers
        .get(IF_MATCH)
        .ok_or(AppError::PreconditionRequired)?;
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .ok_or(AppError::Stale)
}
