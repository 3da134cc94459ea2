//! The assessment form, one thing per page: the task list (`GET /assessments/{id}`: state,
//! deadline, what was returned and asked, and the sections with their status), one page per
//! section (`GET /assessments/{id}/sections/{section}`: its goals, each with its own answer
//! form that works without JavaScript), and "check your answers" before submitting. A refused
//! save shows the section page again with an error summary and everything typed; a concurrent
//! save shows the conflict page.
//!
//! # The assessment form
//!
//! The form follows the GOV.UK / DSFR patterns *task list*, *one thing per page*, *error summary* and
//! *check your answers* (`pages::assessments`, templates `assessment.html`, `assessment_section.html`,
//! `assessment_check.html`):
//!
//! | page | what it shows |
//! |---|---|
//! | `GET /assessments/{assessment}` (`show`; the status board links each row to it) | the **task list**: participant, cycle, state, deadline and days left; while `returned`, the reason and the goals carrying the secretariat's notes (linked to the goal); open clarification requests (linked); progress (answered / applicable); then every section with a status: *Not started* (no stored answer), *In progress*, *Completed* (every applicable goal answered), *Needs review* (a goal with an unconfirmed carried-forward answer, a note from the latest return or an open clarification request; it wins over the others). Then, for whoever may submit (the head), "Check your answers and submit"; for a contributor, a sentence saying the head submits; for an admin on a submitted assessment, a link to the review page `GET /assessments/{assessment}/review`; the links to revisions, the offline form and the progress report. Read-only users get the same list. |
//! | `GET /assessments/{assessment}/sections/{section}` (`show_section`; 404 for an unknown section) | **one section**: its goals, each with code, title, guidance and its own answer form; previous/next section and back to the task list. A maturity goal is a radio list in a fieldset whose legend is the goal, one option per line labelled "3 — Defined" with its descriptor as a hint (`aria-describedby`); yes/no are radios; a number is a text field whose label says range, unit and precision ("A number from 0 to 20 (%), with up to 1 decimal", "A whole number …"). Evidence is in a `<details>` closed by default, open when it has an error or just changed (`?evidence={goal}`, which the evidence actions redirect to); clarification threads follow the goal. Read-only users see the answers as text. |
//! | `GET /assessments/{assessment}/check` (`check`) | **check your answers**: what is missing and what is unconfirmed first (linked to the goal), then every goal's answer by section (level name, target, status) with a "Change" link to the goal; then the submit form (`POST /assessments/{assessment}/submit`) when the assessment is ready. Only for those with `SubmitForParticipant` (403 otherwise, like the submit route). |
//!
//! **Each goal's form posts to its section page's own address**, `POST
//! /assessments/{assessment}/sections/{section}` (`save_in_section`), naming the goal in a hidden `goal`
//! field, with the fields `value`, `not_applicable`, `na_justification`, `target`,
//! `implementation_status`, `narrative` and a hidden `row_version`. Saved: `303` to
//! `/assessments/{assessment}/sections/{section}#goal-{goal}` with the one-time message "Answer {goal}
//! saved." Refused: the section page again (422) at that same address, with an error summary at the
//! top linking to each control in error, each message at its field and everything typed kept; a reload
//! therefore shows the section (the browser asks before re-sending), never a bare save endpoint.
//! `POST /assessments/{assessment}/goals/{goal}` (`save`) stays for the autosave script (JSON) and
//! other clients: a form post there answers the same way (the redirect goes to the goal's section).
//! The pages need no JavaScript; with it, the forms also save by themselves (Autosave ([`crate::web::pages::assessments`])).
//!
//! - **One read per page.** The task list, the section pages and the check page take a
//!   `ReadablePage` (`web::permitted`): the path's assessment read for the signed-in user through
//!   `services::assessments::load_page`, in one transaction (the assessment, its answers,
//!   clarification requests, evidence and, while returned, the latest return), its permission
//!   checked before the handler runs; the framework version, frozen once a cycle uses it, is read
//!   once per process. The handler then builds the page from that view alone: `content::form_of`
//!   (sections and goals, the rows of `rows.rs`) and `content::workflow_of` (what the view's
//!   reader may do). This file holds the routes' glue: the modules and what they export.
//! - **Who sees it.** `services::assessments::load` reads the assessment under row-level security
//!   (another delegation's is 404), then checks `Permission::ReadAssessment { participant, submitted }`:
//!   admins and the participant's delegation always; analysts only while the state is `submitted`,
//!   `resubmitted` or `accepted` (403 otherwise, `returned` included). The goals are **editable** only
//!   for a user with `EditParticipant` (the delegation's heads and contributors), while the state is
//!   `not_started`, `draft` or `returned` and the cycle is `open`; otherwise the answers are shown
//!   read-only.
//! - **Progress and missing goals** are computed with `domain::scoring::roll_up`, the function that
//!   scores snapshots. Each goal's stored answer becomes a `ScoredGoal` (no row: missing). The overall
//!   "answered / applicable" is `roll_up` over all goals; a section's is the sum of its goals' one-goal
//!   roll-ups; a goal is listed under "Still missing" when it is applicable and not answered. The
//!   percentages are whole numbers rounded down (100 % when nothing is applicable). The page shows
//!   counts, not scores. It also shows how many carried-forward answers are unconfirmed, the reason and
//!   per-answer notes of the latest return while the assessment is `returned`, and the evidence and
//!   clarification requests on each goal.
//! - **Checking an answer** (`domain::answer::AnswerInput::check`, against the goal's scale): a maturity
//!   value must be one of the goal's levels; a number must be finite, between `min` and `max`, with at
//!   most `decimals` significant decimal places (`domain::answer::parse_number`: an optional sign,
//!   digits and one decimal separator, the point or the comma, so `62,5` and `62.5` are the same
//!   number; spaces between digit groups are ignored; trailing zeros are not decimals; no exponent,
//!   `inf` or `NaN`). Too many decimals is reported with how many the goal allows
//!   (`field.value.whole_number`, `field.value.decimals_N`); yes/no takes `yes`/`no`,
//!   `true`/`false`, `1`/`0` or `oui`/`non`, in any case. The target is read on the same scale. "Not
//!   applicable" needs a justification and an empty value. The status is empty or one of
//!   `not_started`, `planned`, `in_progress`, `implemented`. The narrative may have 20,000 characters
//!   and the justification 5,000, each reported on its own field when too long. Every problem is
//!   reported at once, by field. An empty value without "not applicable" is saved as a missing answer.
//! - **Saving** (`services::assessments::save_answer`, one transaction): checks `EditParticipant` (403);
//!   locks the assessment row (`SELECT … FOR UPDATE`), so a submission cannot slip in between; refuses a
//!   state other than `not_started`, `draft`, `returned`, or a cycle that is not `open` (409); finds the
//!   goal by code (404); checks the input (422); locks the answer row and compares its `row_version`
//!   with the one sent (Optimistic concurrency ([`crate::web::api::etag`])). It then writes the answer
//!   (insert or update: `row_version` + 1, `unconfirmed = false`, `updated_by`, `updated_at`), records
//!   activity on the assessment (`last_activity_at`; `not_started` becomes `draft`), and appends
//!   `answer.update` with the old and new values, both as stored (`12.5` for a typed `12,5`).
//! - **A repeated save** (a double click, a retried request) is not a conflict. When the stored answer
//!   is exactly one version past the one sent, is not an unconfirmed copy, and reads back, checked
//!   against the goal's scale, as the same answer as the one sent, `save_answer` returns the stored
//!   version as if it had saved: nothing is written and nothing audited a second time. It does not
//!   look at who saved the stored answer. Any other difference is still a conflict.
//! - A refused form comes back (422) as its section page, with what was typed in that goal's form, the
//!   error summary and each message at its field (value, justification, target, implementation status
//!   or narrative; the element `error-{field}-{goal}`). A refusal for the state or the cycle is the HTML
//!   error page (409).
//!
//! The API reads the same data: `GET /api/v1/assessments/{assessment}` (the assessment, `editable`,
//! and every goal's answer with `unconfirmed` and `row_version`), `GET` and `PUT
//! /api/v1/assessments/{assessment}/answers/{goal}` (one answer; the body of `PUT` is `value`,
//! `not_applicable`, `na_justification`, `target`, `implementation_status`, `narrative`, each
//! optional).
//!
//! ## Autosave
//!
//! `static/autosave.js`, built into the binary and served at `/static/autosave.js` (`web::assets`,
//! `Cache-Control: public, max-age=3600`; allowed by the CSP's `script-src 'self'` and `connect-src
//! 'self'`; no inline script or style, no eval). The section page includes it only when the goals are
//! editable. It takes each goal form marked `data-autosave`:
//!
//! 1. 0.8 s after the last `input` or `change` event, it posts the form's fields (`csrf_token` and
//!    `row_version` included) to the form's `data-autosave-url`, `POST
//!    /assessments/{assessment}/goals/{goal}`, with `Accept: application/json`. One request per form at
//!    a time; a change made meanwhile is saved after it.
//! 2. `pages::assessments::save` sees the `Accept` header (`wants_json`) and answers through
//!    `autosave_answer` instead of a redirect or a page:
//!
//!    | outcome | answer |
//!    |---|---|
//!    | saved (or a repeated save ([`crate::web::pages::assessments`])) | 200 `{"row_version": n, "saved_at": "HH:MM", "zone": z, "message": "Saved at HH:MM"}`, the time in the reader's zone |
//!    | invalid | 422 `{"error": {"code": "invalid_input", "message": m, "fields": {field: message}}}`, the messages already in the user's language; nothing is written |
//!    | stale `row_version` | 409 `{"error": {"code": "stale", "message": m}}` |
//!    | refused for the state or the cycle (submitted meanwhile, cycle closed), or 403, 404 | `{"error": {"code": c, "message": m}}` with its status: `c` is `refused` (409), `forbidden` or `not_found`; `m` is in the user's language |
//!    | refused before the page runs: a failed CSRF check (403, `csrf`), a lost session (401, `unauthenticated`) | the same JSON error, not an HTML page or a redirect: `error::wants_json` sees `Accept: application/json` first and leaves the error as the API writes it |
//!    | an internal error | `{"error": {"code": "internal", …}}` with 500 |
//!
//! 3. The script puts the new `row_version` in the form's hidden field and writes the outcome in the
//!    form's status line (`data-autosave-status`, id `autosave-{goal}`, `aria-live`): "Saving…",
//!    "Saved at HH:MM", "Not saved: correct the answer where it is marked." (422: each field's message
//!    goes into the element the page without JavaScript uses, `error-{field}-{goal}`, and the control
//!    (the fieldset for radios) gets `aria-invalid`; both are cleared by the next successful save), a
//!    refusal's own message, or, when no JSON answer came, "Not saved automatically (connection
//!    problem). Press Save."
//! 4. On a stale 409 it stops saving that form and says so: the Save button then shows the conflict
//!    page with both versions. A refusal stops it too. Pressing Save stops it as well; if an automatic
//!    save is under way, the button's post waits for it and then carries the version it produced.
//! 5. Before any other action on the page — another form sent (a link, a file, a planned action, a
//!    removal, a clarification, the language, another goal's Save) or a click on a link that leaves
//!    the page — every goal with pending input or a save under way is saved first, then the action
//!    goes on by itself: the first click works.
//! 6. While any input is unsaved (typed and not yet saved, being saved, or refused), `beforeunload`
//!    asks before leaving; once everything is saved it does not.
//! 7. On a refused page the error summary takes the focus.
//!
//! Each automatic save is an ordinary save: a new `row_version`, an `answer.update` audit entry, and a
//! carried-forward answer confirmed. Without JavaScript nothing changes.

mod check;
mod content;
mod rows;
mod save;
mod section;
mod task_list;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::ACCEPT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::{PageContext, render};
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::domain::answer::AnswerInput;
use crate::domain::assessment::AssessmentState;
use crate::domain::framework::AnswerScale;
use crate::domain::scoring::{ScoredGoal, roll_up};
use crate::services::RequestContext;
use crate::services::ServiceError;
use crate::services::assessments::StoredAnswer;
use crate::services::assessments::{self as service, AssessmentView, SaveError};
use crate::services::clarifications::ClarificationView;
use crate::services::evidence::EvidenceItem;
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, FieldErrors};
use crate::web::permitted::ReadablePage;

use content::*;
use rows::*;
use section::*;
use task_list::*;

pub use check::check;
pub use rows::EvidenceDraft;
pub use save::{evidence_refused, save, save_in_section};
pub use section::{goal_page, show_section};
pub use task_list::show;
