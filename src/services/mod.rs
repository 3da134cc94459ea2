//! The secretariat's and delegations' operations on frameworks, cycles, participants and national
//! goals: each checks its input, writes in one transaction and records the change in the audit
//! log. Pages, the API and the command line call these; authorization is the caller's (see
//! [`crate::auth::policy`]) and the database's (row-level security).
//!
//! # Services
//!
//! `src/services/` holds the operations on frameworks, mappings, cycles, participants, national
//! goals, assessments (the form and the workflow), clarification requests and evidence, and the
//! reading of reports. Pages, the API and the command line (`pledge framework import`) call the same
//! functions. One operation:
//!
//! 1. checks its input: fields of a form or request, or a framework document as a whole;
//! 2. writes in **one transaction**, opened with the caller's scope (`storage::Audited::begin(pool,
//!    &operator.scope())`), so row-level security applies;
//! 3. ends it with `tx.commit(&entry)`: the **audit entry** is appended and committed with the
//!    change, or neither lands. `storage::Audited` has no other way to commit.
//!
//! Rules about states are asked of the state, never spelled as strings:
//! `domain::assessment::AssessmentState` (`may_edit`, `may_submit`, `may_review`,
//! `may_allow_late`, `is_submitted`; `answers_may_change` adds the cycle) and
//! `domain::cycle::CycleState` (`is_open`, `may_extend`, `allows(transition)`).
//!
//! Some operations read the record first in a transaction of their own (`frameworks::change` loads the
//! version to apply the change to; the workflow, clarification, evidence and offline import operations
//! load the assessment). The write then checks again what matters: `storage::frameworks::replace`
//! locks the version (`SELECT … FOR UPDATE`) and compares `frozen_at` and `row_version`; the workflow
//! steps, `save_answer`, the evidence writes and the offline import lock the assessment row and check
//! its state. Operations that only read write no audit entry.
//!
//! For frameworks, mappings, cycles and participants, authorization stays with the caller: the
//! handler takes a permission extractor (`web::permitted`, e.g. `CatalogueManager`, which calls
//! `principal.require(Permission::…)` before the handler runs; the commands are `Cli`); row-level
//! security then limits the rows the transaction sees and writes. The caller is an
//! `auth::Operator`: `User(&principal)` from pages and the API, or `Cli` (scope `system`, audit actor
//! `cli`) from the commands. `national_goals` takes the `Principal` itself, has no command, and
//! checks `ReadParticipant`/`EditParticipant` itself with `principal.require(…)` (a `warn` log
//! line, then 403), after reading the goal when the permission depends on its participant
//! (another delegation's goal is 404).
//!
//! `assessments`, `workflow`, `clarifications`, `evidence`, `offline` and `reports` take the
//! `Principal` and check the permission themselves with `principal.may(…)` (no `warn` log line on
//! refusal, unlike `require`): they first read the assessment or request under row-level security
//! (another delegation's is 404), then decide with its participant and state (403
//! `ServiceError::Forbidden`). `reports::comparison` depends on no record: it checks
//! `CompareParticipants` before reading anything. They have no command. `exports` takes an
//! `auth::Operator`, checks the permission itself for a user, and serves `pledge cycle export` as
//! `Cli`.
//!
//! | module | operations | audit actions |
//! |---|---|---|
//! | `frameworks` | `import` (a JSON document), `create`, `change` (one `Change` from a page form), `replace` (a whole document: the API's `PUT`), `copy_as_new_version`; `load` and `export` read | `framework.import`, `framework.create`, `framework.update`, `framework.copy` |
//! | `mappings` | `set`: replaces every row of the mapping from one version to another, after `check` | `framework.mapping` |
//! | `cycles` | `create`, `transition` (open, close, publish; opening also creates the assessments and carries answers forward, see Carry-forward ([`crate::storage::cycles`])), `extend_deadline` | `cycle.create`, `cycle.open`, `cycle.close`, `cycle.publish`, `cycle.extend_deadline` |
//! | `participants` | `create_partner`, `update` (names, active) | `participant.create`, `participant.update` |
//! | `national_goals` | `create`, `update` (`EditParticipant`); `list`, `find`, `history`, `form` read (`ReadParticipant`; `form` of a new goal: `EditParticipant` on one's own delegation); `find_editable` (`find` and `EditParticipant`, for a change's checks before its input is read) | `national_goal.create`, `national_goal.update` |
//! | `assessments` | `load` (an assessment with its framework version and answers; `ReadAssessment`), `load_page` (the same and what the pages show around the answers: clarification requests, evidence, the latest return's notes and reason; one transaction: the read model `AssessmentView`, with `goal(code)`; only these two build one, so holding one proves `ReadAssessment` for its `reader()`), `save_answer` (one goal's answer; `EditParticipant`; ten statements with the session, see `assessments::saving_one_answer_takes_a_handful_of_statements`) | `answer.update` |
//! | `workflow` | `submit` (`SubmitForParticipant`), `review` (return with reasons, or accept; `ReviewSubmissions`), `allow_late` (`ReviewSubmissions`); `revisions`, `revision`, `difference`, `with_revisions` (the submitted page) and `compared` (the revisions page) read (`ReadAssessment`: the assessment through `assessments::read_in`, then what the page shows, in one transaction); `review` and `allow_late` give back the assessment they read, so the page that follows names its participant without reading it again; `return_notes` reads under row-level security only | `assessment.submit`, `assessment.return`, `assessment.accept`, `assessment.allow_late` |
//! | `clarifications` | `raise` (`RaiseClarification` and `ReadAssessment`), `reply`, `resolve`; `for_assessment` (`ReadAssessment`) and `open` (row-level security only) read | `clarification.raise`, `clarification.reply`, `clarification.resolve` |
//! | `evidence` | `add_link`, `add_action`, `add_file`, `remove` (`ReadAssessment`, then `EditParticipant`); `list` (`ReadAssessment`) and `download` (row-level security only) read | `evidence_link.add`, `evidence_link.remove`, `evidence_file.add`, `evidence_file.remove`, `planned_action.add`, `planned_action.remove` |
//! | `offline` | `export_form` (the form as XLSX), `import_form` (a filled-in form, all rows or none); `form_head` reads; all `EditParticipant` (The offline round trip ([`crate::offline`])) | `assessment.form_export`, `assessment.import` |
//! | `exports` | `cycle_report`, `cycle_report_streamed` (`CompareParticipants`), `progress_report_pdf` (`ReadAssessment`) (Exports ([`crate::export`])) | `cycle.export`, `assessment.report_export` |
//! | `reports` | read only (Reports ([`crate::domain::report`])): `comparison` (`CompareParticipants`), `progress` (`ReadAssessment` with `submitted` = the assessment has a snapshot), `index` (row-level security only) | none |
//! | `team` | `team`, `members`, `member` read; `invite`, `accept` (the link), `change_role`, `set_disabled` (`ManageTeam`; see Invitations ([`crate::services::team`])) | `team.invite`, `team.invitation_accept`, `team.member_role_change`, `team.member_disable`, `team.member_enable` |
//! | `assignments` | `for_assessment` (`ReadAssessment`), `page` read; `assign`, `unassign`, `confirm_carried` (`ManageTeam`); `my_work` (one's own) | `assignment.add`, `assignment.remove`, `assignment.confirm` |
//! | `calendar` | `create`, `revoke` (`ManageOwnCredentials`); `status`, `feed` (the token) read | `calendar.create`, `calendar.revoke` |
//!
//! Each returns `services::ServiceError`, which the web layer turns into a status:
//!
//! | error | means | API | pages |
//! |---|---|---|---|
//! | `Invalid(fields)` | field → catalogue key | 422 `invalid_input`, `fields` by field name | the form again (422), each message at its field |
//! | `Problems(problems)` | framework rules broken, each problem with a JSON pointer; or an offline form refused, each problem with its place in the file (`Form!E7`, `About!B2`, `file`) | 422 `invalid_input`, `fields` keyed by JSON pointer (`document` for the whole document) or by place; several problems at one place are joined with `; ` | the form again (422), see Editing a framework ([`crate::domain::framework::edit`]); the offline page again (422) with a table of problems |
//! | `NotFound` | no such record, or one row-level security hides | 404 | 404 page |
//! | `Forbidden` | the caller may not (checked inside `assessments`, `workflow`, `clarifications`, `evidence`, `offline` and `reports`) | 403 `forbidden` | 403 page |
//! | `Conflict` | changed since it was read | 412 `stale` | the form again (422) with the "changed since you opened it" message |
//! | `Refused(key)` | a rule refuses it: a frozen version, a removed goal used in a mapping, a cycle in the wrong state, answers or evidence of a submitted assessment or a cycle not open, a late allowance for a submitted assessment, an incomplete or unconfirmed submission, a passed deadline, a review of an assessment not submitted, a reply to a resolved request | 409 `refused`, the message from the key | the page again with the message: 409 for cycle transitions, 422 otherwise; on the assessment, workflow, clarification and evidence routes, the HTML error page with the message (409) |
//! | `Sql` | a database error | 500, or 503 when the database is unreachable | the same, as an HTML page |
//!
//! `save_answer` returns its own `SaveError` (one `From<SaveError> for AppError` in `web::error`): `Invalid(fields)` (API 422; the page comes back, 422,
//! with what was typed), `Conflict(theirs)` (API 412 `stale`; on pages the conflict page, see
//! Optimistic concurrency ([`crate::web::api::etag`])) or `Other(ServiceError)`. On the workflow and
//! clarification pages, `Invalid` (a blank return reason or message) is the HTML error page (422), not
//! the form again. On the evidence pages it is the section page again (422) with what was typed
//! (Evidence and planned actions ([`crate::services::evidence`])).

pub mod assessments;
pub mod assignments;
pub mod calendar;
pub mod clarifications;
pub mod comparison_page;
pub mod cycles;
pub mod evidence;
pub mod exports;
pub mod frameworks;
pub mod home;
pub mod imports;
pub mod mappings;
pub mod national_goals;
pub mod notifications;
pub mod offline;
pub mod participants;
pub mod report_cache;
pub mod reports;
pub mod team;
pub mod users;
pub mod workflow;

/// Who asked and from where, for audit entries (the web layer extracts it from each request).
pub use crate::storage::audit::RequestContext;
/// What may be answered from memory: changes announced by PostgreSQL (`storage::coherence`).
pub use crate::storage::coherence::Coherence;
/// Whether a database error means the database is unreachable (503 rather than 500).
pub use crate::storage::is_unavailable;
/// Where report and export reads go: the read replica, or the primary; and which answered.
pub use crate::storage::read_pool::{ReadPool, Source as ReadSource};

use std::collections::BTreeMap;

use crate::domain::problem::Problem;

/// Field name → catalogue key.
pub type FieldProblems = BTreeMap<String, String>;

/// Why an operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Fields of a form or request are wrong.
    #[error("invalid input")]
    Invalid(FieldProblems),
    /// A framework document breaks rules (each with its place in the document).
    #[error("invalid framework")]
    Problems(Vec<Problem>),
    #[error("not found")]
    NotFound,
    /// A file could not be written.
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    /// The caller may not do this (a second line behind the handlers' checks).
    #[error("forbidden")]
    Forbidden,
    /// The record changed since it was read: nothing was overwritten.
    #[error("changed since read")]
    Conflict,
    /// A rule refuses it (catalogue key of the explanation), e.g. a frozen framework.
    #[error("refused: {0}")]
    Refused(&'static str),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// A refused permission (`Principal::require`, which logs it) is a 403.
impl From<crate::auth::policy::Denied> for ServiceError {
    fn from(_: crate::auth::policy::Denied) -> Self {
        ServiceError::Forbidden
    }
}

/// A read sent to the replica is tried again on the primary when the replica was not reachable.
impl crate::storage::read_pool::MaybeUnavailable for ServiceError {
    fn retry_on_primary(&self) -> bool {
        matches!(self, ServiceError::Sql(error) if error.retry_on_primary())
    }
}

impl ServiceError {
    /// A single field problem.
    pub fn field(field: &str, key: &str) -> Self {
        ServiceError::Invalid(BTreeMap::from([(field.to_owned(), key.to_owned())]))
    }
}
