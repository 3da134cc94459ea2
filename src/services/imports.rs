//! Bulk imports by the secretariat: a cycle's answers (historical or on a delegation's behalf)
//! and participants. One pass over the file, one transaction, one audit entry; any problem
//! refuses the whole file. See [`crate::import`] for the file and the rules.

use std::collections::HashMap;
use std::io::Read;

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::ServiceError;
use crate::auth::Operator;
use crate::auth::policy::Permission;
use crate::demo::bulk::FrameworkParts;
use crate::domain::answer::{AnswerInput, CheckedAnswer, value_text};
use crate::domain::cycle::CycleState;
use crate::domain::framework::AnswerScale;
use crate::domain::problem::Problem;
use crate::domain::scoring::AnswerState;
use crate::domain::snapshot::{self, AnswerDetails, SnapshotHeader};
use crate::import::answers::{self, Batch, Catalog, Grouper};
use crate::import::participants::{self as participant_file, ParticipantRow};
use crate::import::table::{self, Source};
use crate::import::{ANSWER_LIMITS, PARTICIPANT_LIMITS, Purpose, problem_at, sort_problems};
use crate::offline::MAX_PROBLEMS;
use crate::presentation::i18n::Lang;
use crate::storage::assessments::{self, AssessmentRow, ReviewRow, SnapshotRow};
use crate::storage::audit::{NewEntry, RequestContext};
use crate::storage::frameworks::{self, StoredFramework};
use crate::storage::imports::{
    self as store, CurrentAnswer, CycleAssessment, ImportValue, OnBehalf, VALUES_TABLE,
};
use crate::storage::{self, Scope, cycles};

/// Participants planned and written per chunk: bounds what is held and each statement's arrays.
pub const CHUNK: usize = 250;

/// One import at a time: each may hold a file and a chunk of participants in memory.
static IMPORTING: std::sync::LazyLock<tokio::sync::Semaphore> =
    std::sync::LazyLock::new(|| tokio::sync::Semaphore::new(1));

/// A file to import: its name (as uploaded) and where its bytes are.
#[derive(Debug)]
pub struct Upload {
    pub file_name: String,
    pub source: Source,
}

impl Upload {
    /// The name kept with the import: its last path component, at most 255 characters.
    pub fn name(&self) -> String {
        let base = self
            .file_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(255)
            .collect::<String>();
        if base.trim().is_empty() {
            "upload".to_owned()
        } else {
            base
        }
    }
}

/// What an import of answers does (or did) for one participant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ParticipantCount {
    pub participant_code: String,
    /// Goals with no answer before.
    pub new: usize,
    /// Goals whose answer changes.
    pub changed: usize,
    /// Goals whose answer is already the file's.
    pub unchanged: usize,
    /// Rows refused for a problem.
    pub refused: usize,
}

/// The outcome of an import of answers: the preview, or what was written.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AnswersOutcome {
    pub cycle_code: String,
    pub purpose: Purpose,
    pub file_name: String,
    pub file_sha256: String,
    /// Data rows read.
    pub rows: usize,
    /// Whether the answers were written (not a dry run, and no problem).
    pub applied: bool,
    /// In file order.
    pub participants: Vec<ParticipantCount>,
    /// Every problem at its place (`CSV!B7`, `Answers!L12`, `file`); any refuses the file.
    #[schema(value_type = Vec<Object>)]
    pub problems: Vec<Problem>,
}

impl AnswersOutcome {
    /// Totals over participants: new, changed, unchanged, refused.
    pub fn totals(&self) -> ParticipantCount {
        self.participants
            .iter()
            .fold(ParticipantCount::default(), |mut total, p| {
                total.new += p.new;
                total.changed += p.changed;
                total.unchanged += p.unchanged;
                total.refused += p.refused;
                total
            })
    }
}

fn refuse_unless_admin(operator: &Operator<'_>) -> Result<(), ServiceError> {
    match operator {
        Operator::User(principal) if !principal.may(Permission::ManageCatalogue) => {
            Err(ServiceError::Forbidden)
        }
        _ => Ok(()),
    }
}

/// SHA-256 of the file, hexadecimal (read in a blocking task for a file on disk).
async fn digest(source: &Source) -> Result<String, ServiceError> {
    match source {
        Source::Bytes(bytes) => Ok(hex::encode(Sha256::digest(bytes))),
        Source::Path(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || -> std::io::Result<String> {
                let mut file = std::fs::File::open(path)?;
                let mut hasher = Sha256::new();
                let mut buffer = vec![0u8; 1 << 16];
                loop {
                    let n = file.read(&mut buffer)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buffer[..n]);
                }
                Ok(hex::encode(hasher.finalize()))
            })
            .await
            .map_err(|_| unreadable())?
            .map_err(|error| {
                ServiceError::Problems(vec![Problem::with(
                    "file",
                    "offline.problem.unreadable",
                    error,
                )])
            })
        }
    }
}

fn unreadable() -> ServiceError {
    ServiceError::Problems(vec![Problem::new("file", "offline.problem.unreadable")])
}

/// The sheet names the answers may be on: the export's "Answers" in every language.
fn answer_sheet_names() -> Vec<&'static str> {
    Lang::ALL
        .iter()
        .map(|lang| lang.tr().t_static("export.sheet.answers"))
        .collect()
}

/// What the reading task sends: each participant's rows as soon as they are complete.
enum Message {
    Batch(Batch, Option<OffsetDateTime>),
}

/// What the reading task found besides the batches.
struct ReadEnd {
    problems: Vec<Problem>,
    rows: usize,
}

/// Imports a cycle's answers (or previews the import when `dry_run`): one pass over the file,
/// planned and written a chunk of participants at a time in one transaction, committed with
/// one audit entry only when there is no problem and it is not a dry run.
pub async fn import_answers(
    pool: &PgPool,
    operator: Operator<'_>,
    cycle: Uuid,
    purpose: Purpose,
    upload: Upload,
    dry_run: bool,
    context: &RequestContext,
) -> Result<AnswersOutcome, ServiceError> {
    refuse_unless_admin(&operator)?;
    let _permit = IMPORTING.acquire().await.map_err(|_| unreadable())?;
    let file_name = upload.name();
    let file_sha256 = digest(&upload.source).await?;

    // The admin may not write a delegation's answers under their own scope (row-level
    // security): the permission is checked above, the work runs as the system, and the audit
    // entry names the admin.
    let mut tx = storage::Audited::begin(pool, &Scope::System).await?;
    let (state, _) = cycles::lock(&mut tx, cycle)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let view = cycles::find(&mut tx, cycle)
        .await?
        .ok_or(ServiceError::NotFound)?;
    match (purpose, state) {
        (Purpose::Historical, CycleState::Planned | CycleState::Closed) => {}
        (Purpose::Historical, _) => return Err(ServiceError::Refused("import.refused.historical")),
        (Purpose::OnBehalf, CycleState::Open) => {}
        (Purpose::OnBehalf, _) => return Err(ServiceError::Refused("import.refused.on_behalf")),
    }
    let framework = frameworks::load(&mut tx, view.framework_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let parts = FrameworkParts::new(
        &framework.framework,
        &StoredFramework {
            id: framework.id,
            section_ids: framework.section_ids.clone(),
            goal_ids: framework.goal_ids.clone(),
        },
    );
    let goals: Vec<_> = framework.framework.goals().map(|(_, goal)| goal).collect();
    let participants = store::participant_codes(&mut tx).await?;
    let catalog = Catalog {
        participants: participants
            .iter()
            .enumerate()
            .map(|(index, (_, code))| (code.clone(), index))
            .collect(),
        goals: goals
            .iter()
            .enumerate()
            .map(|(index, goal)| (goal.code.clone(), index))
            .collect(),
        scales: goals.iter().map(|goal| goal.scale.clone()).collect(),
    };
    let scales = catalog.scales.clone();
    let assessments: HashMap<Uuid, CycleAssessment> = store::lock_assessments(&mut tx, cycle)
        .await?
        .into_iter()
        .map(|a| (a.participant_id, a))
        .collect();

    // Reading runs off the async workers and hands over one participant at a time; the
    // channel's bound keeps at most a few participants' rows waiting.
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Message>(8);
    let source = upload.source;
    let reading = tokio::task::spawn_blocking(move || {
        let mut problems = Vec::new();
        let mut grouper: Option<Grouper<'_>> = None;
        let mut refused_file = false;
        let sheet_names = answer_sheet_names();
        table::read(
            source,
            &sheet_names,
            &ANSWER_LIMITS,
            &mut problems,
            |sheet, row, problems| {
                if refused_file {
                    return;
                }
                if row.row == 0 {
                    match answers::layout(sheet, &row) {
                        Ok(layout) => grouper = Some(Grouper::new(layout, &catalog, purpose)),
                        Err(found) => {
                            problems.extend(found);
                            refused_file = true;
                        }
                    }
                    return;
                }
                let Some(grouper) = grouper.as_mut() else {
                    return;
                };
                if let Some(batch) = grouper.push(&row, problems) {
                    let made_at = grouper.made_at;
                    if sender
                        .blocking_send(Message::Batch(batch, made_at))
                        .is_err()
                    {
                        refused_file = true;
                    }
                }
            },
        );
        let mut rows = 0;
        if let Some(grouper) = grouper.as_mut() {
            rows = grouper.rows;
            if let Some(batch) = grouper.finish() {
                let made_at = grouper.made_at;
                let _ = sender.blocking_send(Message::Batch(batch, made_at));
            }
        }
        ReadEnd { problems, rows }
    });

    let mut plan = Planner {
        purpose,
        dry_run,
        cycle,
        cycle_code: view.code.clone(),
        parts: &parts,
        scales: &scales,
        participants: &participants,
        assessments: &assessments,
        counts: Vec::new(),
        problems: Vec::new(),
        snapshots: Vec::new(),
        values: ValueLog::new(Uuid::new_v4()),
        answers_written: 0,
        actor: operator.user_id(),
        now: OffsetDateTime::now_utc(),
    };
    let mut pending = Vec::with_capacity(CHUNK);
    while let Some(Message::Batch(batch, made_at)) = receiver.recv().await {
        pending.push((batch, made_at));
        if pending.len() == CHUNK {
            plan.chunk(&mut tx, std::mem::take(&mut pending)).await?;
        }
    }
    plan.chunk(&mut tx, pending).await?;
    let end = reading.await.map_err(|error| {
        tracing::error!(%error, "reading an import file failed");
        unreadable()
    })?;

    let mut problems = end.problems;
    problems.extend(plan.problems);
    sort_problems(&mut problems);
    if problems.len() > MAX_PROBLEMS {
        problems.truncate(MAX_PROBLEMS);
        problems.push(Problem::new("file", "offline.problem.too_many_problems"));
    }
    if end.rows == 0 && problems.is_empty() {
        problems.push(Problem::new("file", "import.problem.no_rows"));
    }
    let applied = !dry_run && problems.is_empty();
    let outcome = AnswersOutcome {
        cycle_code: view.code.clone(),
        purpose,
        file_name: file_name.clone(),
        file_sha256: file_sha256.clone(),
        rows: end.rows,
        applied,
        participants: plan.counts,
        problems,
    };
    if !applied {
        // Dropping the transaction rolls back whatever chunks were written.
        return Ok(outcome);
    }
    let import = plan.values.import;
    store::insert_import(
        &mut tx,
        import,
        cycle,
        purpose.as_str(),
        &file_name,
        &file_sha256,
        operator.user_id(),
        (outcome.participants.len(), plan.answers_written),
    )
    .await?;
    if purpose == Purpose::Historical {
        store::link_snapshots(&mut tx, import, &plan.snapshots).await?;
        store::close_historical_cycle(&mut tx, cycle).await?;
    }
    let totals = outcome.totals();
    tx.commit(
        &NewEntry::new(
            operator.actor(),
            "cycle.import",
            import_details(
                import,
                &outcome,
                &totals,
                plan.values.kept,
                &plan.values.digest(),
            ),
        )
        .about("cycle", cycle)
        .from_request(context),
    )
    .await?;
    Ok(outcome)
}

/// Plans (and writes) the import a chunk of participants at a time.
struct Planner<'a> {
    purpose: Purpose,
    dry_run: bool,
    cycle: Uuid,
    cycle_code: String,
    parts: &'a FrameworkParts,
    scales: &'a [AnswerScale],
    participants: &'a [(Uuid, String)],
    assessments: &'a HashMap<Uuid, CycleAssessment>,
    counts: Vec<ParticipantCount>,
    problems: Vec<Problem>,
    /// Snapshots written (historical): id and participant.
    snapshots: Vec<(Uuid, Uuid)>,
    /// Every value written, kept a chunk at a time beside the import (not in memory).
    values: ValueLog,
    answers_written: usize,
    actor: Option<Uuid>,
    now: OffsetDateTime,
}

/// The `cycle.import` audit entry's details: the import, the file's digest, the counts per kind
/// and where the values are kept with their digest (see `docs/security.md`, "Bulk imports").
fn import_details(
    import: Uuid,
    outcome: &AnswersOutcome,
    totals: &ParticipantCount,
    kept: u64,
    values_sha256: &str,
) -> Value {
    json!({
        "import": import,
        "purpose": outcome.purpose.as_str(),
        "file_name": outcome.file_name,
        "file_sha256": outcome.file_sha256,
        "rows": outcome.rows,
        "participants": outcome.participants.len(),
        "new": totals.new,
        "changed": totals.changed,
        "unchanged": totals.unchanged,
        "refused": totals.refused,
        "values": { "table": VALUES_TABLE, "count": kept, "sha256": values_sha256 },
    })
}

/// A value to keep, before it has its place in the import's sequence.
struct NewValue {
    participant_id: Uuid,
    participant_code: String,
    goal_code: String,
    row: u32,
    before: Option<String>,
    after: String,
}

/// The values an import writes: numbered in file order, hashed as they go, and kept in
/// `cycle_import_values` a chunk at a time, so memory holds one chunk whatever the file's size.
struct ValueLog {
    import: Uuid,
    kept: u64,
    hasher: Sha256,
}

impl ValueLog {
    fn new(import: Uuid) -> Self {
        Self {
            import,
            kept: 0,
            hasher: Sha256::new(),
        }
    }

    async fn keep(
        &mut self,
        tx: &mut sqlx::PgConnection,
        values: Vec<NewValue>,
    ) -> Result<(), ServiceError> {
        if values.is_empty() {
            return Ok(());
        }
        let mut rows = Vec::with_capacity(values.len());
        for value in values {
            self.kept += 1;
            let row = ImportValue {
                seq: i32::try_from(self.kept).map_err(|_| unreadable())?,
                participant_id: value.participant_id,
                participant_code: value.participant_code,
                goal_code: value.goal_code,
                file_row: i32::try_from(value.row)
                    .unwrap_or(i32::MAX)
                    .saturating_add(1),
                change: if value.before.is_some() {
                    "changed"
                } else {
                    "new"
                }
                .to_owned(),
                before: value.before,
                after: value.after,
            };
            self.hasher.update(store::value_line(&row).as_bytes());
            rows.push(row);
        }
        store::insert_values(tx, self.import, &rows).await?;
        Ok(())
    }

    fn digest(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

/// An answer as the import's kept values record it: `[goal, value]`, then justification, target,
/// status and narrative when any is given.
fn audit_value(goal: &str, answer: &CheckedAnswer) -> Value {
    let value = match answer.state {
        AnswerState::Answered(value) => value_text(Some(value)),
        AnswerState::NotApplicable => "n/a".to_owned(),
        AnswerState::Missing => String::new(),
    };
    let extras = answer.na_justification.is_some()
        || answer.target.is_some()
        || answer.implementation_status.is_some()
        || !answer.narrative.is_empty();
    if extras {
        json!([
            goal,
            value,
            answer.na_justification,
            value_text(answer.target),
            answer.implementation_status,
            answer.narrative
        ])
    } else {
        json!([goal, value])
    }
}

/// A draft's answer before an import changes it, as the kept values record it.
fn before_value(goal: &str, now: &CurrentAnswer, scale: &AnswerScale) -> String {
    let input = now.stored.input();
    match input.check(scale) {
        Ok(answer) => audit_value(goal, &answer).to_string(),
        // Stored before a rule tightened: kept as it is.
        Err(_) => json!([goal, input]).to_string(),
    }
}

impl Planner<'_> {
    fn writing(&self) -> bool {
        !self.dry_run && self.problems.is_empty()
    }

    fn refuse_all(&mut self, batch: &Batch, place: String, key: &'static str, detail: String) {
        crate::offline::push_problem(
            &mut self.problems,
            Problem::with(place, key, format!("{}: {detail}", batch.code)),
        );
        self.counts.push(ParticipantCount {
            participant_code: batch.code.clone(),
            refused: batch.answers.len() + batch.refused,
            ..ParticipantCount::default()
        });
    }

    async fn chunk(
        &mut self,
        tx: &mut sqlx::PgConnection,
        batches: Vec<(Batch, Option<OffsetDateTime>)>,
    ) -> Result<(), ServiceError> {
        if batches.is_empty() {
            return Ok(());
        }
        match self.purpose {
            Purpose::Historical => self.historical(tx, batches).await,
            Purpose::OnBehalf => self.on_behalf(tx, batches).await,
        }
    }

    fn participant_place(batch: &Batch, sheet: &str) -> String {
        problem_at(sheet, batch.first_row, 1, "import.problem.has_data", None).path
    }

    async fn historical(
        &mut self,
        tx: &mut sqlx::PgConnection,
        batches: Vec<(Batch, Option<OffsetDateTime>)>,
    ) -> Result<(), ServiceError> {
        let mut accepted = Vec::new();
        for (batch, _) in batches {
            let participant_id = self.participants[batch.participant].0;
            let existing = self.assessments.get(&participant_id);
            if existing.is_some_and(|a| a.has_data) {
                let place = Self::participant_place(&batch, &batch.sheet);
                self.refuse_all(
                    &batch,
                    place,
                    "import.problem.has_data",
                    existing.map(|a| a.state.to_string()).unwrap_or_default(),
                );
                continue;
            }
            self.counts.push(ParticipantCount {
                participant_code: batch.code.clone(),
                new: batch.answers.len(),
                refused: batch.refused,
                ..ParticipantCount::default()
            });
            accepted.push((batch, existing.map(|a| a.id)));
        }
        if !self.writing() || accepted.is_empty() {
            return Ok(());
        }
        let goals = &self.parts.goals;
        let mut new_assessments = Vec::new();
        let mut snapshots = Vec::with_capacity(accepted.len());
        let mut reviews = Vec::with_capacity(accepted.len());
        let mut values = Vec::new();
        for (batch, existing) in &accepted {
            let participant_id = self.participants[batch.participant].0;
            let assessment_id = existing.unwrap_or_else(|| {
                let id = Uuid::new_v4();
                new_assessments.push(AssessmentRow {
                    id,
                    cycle_id: self.cycle,
                    participant_id,
                    state: "draft",
                    last_activity_at: Some(self.now),
                });
                id
            });
            let mut states = vec![AnswerState::Missing; goals.len()];
            let mut details = vec![AnswerDetails::default(); goals.len()];
            for row in &batch.answers {
                states[row.goal] = row.answer.state;
                details[row.goal] = AnswerDetails {
                    na_justification: row.answer.na_justification.clone(),
                    target: row.answer.target.map(|t| value_text(Some(t))),
                    implementation_status: row.answer.implementation_status.map(str::to_owned),
                    narrative: row.answer.narrative.clone(),
                };
                values.push(NewValue {
                    participant_id,
                    participant_code: batch.code.clone(),
                    goal_code: goals[row.goal].code.clone(),
                    row: row.row,
                    before: None,
                    after: audit_value(&goals[row.goal].code, &row.answer).to_string(),
                });
            }
            self.answers_written += batch.answers.len();
            let id = Uuid::new_v4();
            snapshots.push(SnapshotRow {
                id,
                assessment_id,
                participant_id,
                cycle_id: self.cycle,
                revision: 1,
                frozen: snapshot::freeze_detailed(
                    &SnapshotHeader {
                        participant_code: &batch.code,
                        cycle_code: &self.cycle_code,
                        revision: 1,
                    },
                    self.parts.roll_up,
                    &self.parts.sections,
                    goals,
                    &states,
                    &details,
                ),
                submitted_by: None,
                submitted_at: self.now,
            });
            self.snapshots.push((id, participant_id));
            reviews.push(ReviewRow {
                assessment_id,
                participant_id,
                revision: 1,
                decision: "accepted",
                reason: String::new(),
                decided_by: self.actor,
                decided_at: self.now,
            });
        }
        if !new_assessments.is_empty() {
            assessments::insert_assessments(tx, &new_assessments).await?;
        }
        assessments::insert_snapshots(tx, &snapshots).await?;
        let states: Vec<(Uuid, &'static str)> = reviews
            .iter()
            .map(|r| (r.assessment_id, "accepted"))
            .collect();
        assessments::set_states(tx, &states).await?;
        assessments::insert_reviews(tx, &reviews).await?;
        self.values.keep(tx, values).await?;
        Ok(())
    }

    async fn on_behalf(
        &mut self,
        tx: &mut sqlx::PgConnection,
        batches: Vec<(Batch, Option<OffsetDateTime>)>,
    ) -> Result<(), ServiceError> {
        let mut eligible = Vec::new();
        for (batch, made_at) in batches {
            let participant_id = self.participants[batch.participant].0;
            match self.assessments.get(&participant_id) {
                None => {
                    let place = Self::participant_place(&batch, &batch.sheet);
                    self.refuse_all(&batch, place, "import.problem.no_assessment", String::new());
                }
                Some(assessment) if !assessment.state.may_edit() => {
                    let place = Self::participant_place(&batch, &batch.sheet);
                    self.refuse_all(
                        &batch,
                        place,
                        "import.problem.not_editable",
                        assessment.state.to_string(),
                    );
                }
                Some(assessment) => eligible.push((batch, made_at, assessment.id, participant_id)),
            }
        }
        if eligible.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = eligible.iter().map(|(_, _, id, _)| *id).collect();
        let current: HashMap<(Uuid, Uuid), CurrentAnswer> = store::lock_answers(tx, &ids)
            .await?
            .into_iter()
            .map(|a| ((a.assessment_id, a.stored.goal_id), a))
            .collect();
        let goals = &self.parts.goals;
        let mut writes: Vec<(Uuid, Uuid, Uuid, CheckedAnswer)> = Vec::new();
        let mut values = Vec::new();
        for (batch, made_at, assessment_id, participant_id) in eligible {
            let mut count = ParticipantCount {
                participant_code: batch.code.clone(),
                refused: batch.refused,
                ..ParticipantCount::default()
            };
            for row in batch.answers {
                let goal = &goals[row.goal];
                let now = current.get(&(assessment_id, goal.id));
                let scale = &self.scales[row.goal];
                let same = match now {
                    Some(now) => now.stored.input().check(scale).ok().as_ref() == Some(&row.answer),
                    None => AnswerInput::default().check(scale).ok().as_ref() == Some(&row.answer),
                };
                if same {
                    count.unchanged += 1;
                    continue;
                }
                if let Some(now) = now {
                    let by_delegation = now.updated_by.is_some() && !now.entered_on_behalf;
                    let after_file = made_at.is_none_or(|made| now.stored.updated_at > made);
                    if by_delegation && after_file {
                        count.refused += 1;
                        let when = now
                            .stored
                            .updated_at
                            .format(&time::format_description::well_known::Rfc3339)
                            .unwrap_or_default();
                        crate::offline::push_problem(
                            &mut self.problems,
                            problem_at(
                                &batch.sheet,
                                row.row,
                                7,
                                "import.problem.conflict",
                                Some(format!(
                                    "{} {}: {} {when}",
                                    batch.code,
                                    goal.code,
                                    now.stored.updated_by_name.clone().unwrap_or_default()
                                )),
                            ),
                        );
                        continue;
                    }
                    count.changed += 1;
                } else {
                    count.new += 1;
                }
                values.push(NewValue {
                    participant_id,
                    participant_code: batch.code.clone(),
                    goal_code: goal.code.clone(),
                    row: row.row,
                    before: now.map(|now| before_value(&goal.code, now, scale)),
                    after: audit_value(&goal.code, &row.answer).to_string(),
                });
                writes.push((assessment_id, participant_id, goal.id, row.answer));
            }
            self.counts.push(count);
        }
        self.answers_written += writes.len();
        if self.writing() && !writes.is_empty() {
            let rows: Vec<OnBehalf<'_>> = writes
                .iter()
                .map(
                    |(assessment_id, participant_id, goal_id, answer)| OnBehalf {
                        assessment_id: *assessment_id,
                        participant_id: *participant_id,
                        goal_id: *goal_id,
                        answer,
                    },
                )
                .collect();
            store::write_on_behalf(tx, &rows, self.actor).await?;
            self.values.keep(tx, values).await?;
        }
        Ok(())
    }
}

/// What an import of participants does (or did).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ParticipantsOutcome {
    pub file_name: String,
    pub file_sha256: String,
    pub applied: bool,
    /// Codes added.
    pub new: Vec<String>,
    /// Codes whose names, kind or accession date change.
    pub updated: Vec<String>,
    pub unchanged: usize,
    #[schema(value_type = Vec<Object>)]
    pub problems: Vec<Problem>,
}

/// Imports participants (or previews the import when `dry_run`): new codes added, existing
/// ones updated, in one statement, one transaction and one audit entry.
pub async fn import_participants(
    pool: &PgPool,
    operator: Operator<'_>,
    upload: Upload,
    dry_run: bool,
    context: &RequestContext,
) -> Result<ParticipantsOutcome, ServiceError> {
    refuse_unless_admin(&operator)?;
    let _permit = IMPORTING.acquire().await.map_err(|_| unreadable())?;
    let file_name = upload.name();
    let file_sha256 = digest(&upload.source).await?;
    let source = upload.source;
    let (rows, mut problems) = tokio::task::spawn_blocking(move || {
        let mut problems = Vec::new();
        let mut reader = participant_file::Reader::default();
        let mut header_ok = false;
        table::read(
            source,
            &[],
            &PARTICIPANT_LIMITS,
            &mut problems,
            |sheet, row, problems| {
                if row.row == 0 {
                    let found = participant_file::check_header(sheet, &row);
                    header_ok = found.is_empty();
                    problems.extend(found);
                } else if header_ok {
                    reader.push(sheet, &row, problems);
                }
            },
        );
        (reader.rows, problems)
    })
    .await
    .map_err(|_| unreadable())?;
    if rows.is_empty() && problems.is_empty() {
        problems.push(Problem::new("file", "import.problem.no_rows"));
    }
    sort_problems(&mut problems);
    let mut tx = storage::Audited::begin(pool, &operator.scope()).await?;
    let codes: Vec<String> = rows.iter().map(|r| r.code.clone()).collect();
    let before: HashMap<String, ParticipantRow> = store::participants_by_code(&mut tx, &codes)
        .await?
        .into_iter()
        .map(|p| (p.code.clone(), p))
        .collect();
    let mut outcome = ParticipantsOutcome {
        file_name,
        file_sha256,
        applied: false,
        new: Vec::new(),
        updated: Vec::new(),
        unchanged: 0,
        problems,
    };
    let mut changes = Vec::new();
    let mut written = Vec::new();
    for row in &rows {
        match before.get(&row.code) {
            None => outcome.new.push(row.code.clone()),
            Some(old) if old == row => {
                outcome.unchanged += 1;
                continue;
            }
            Some(_) => outcome.updated.push(row.code.clone()),
        }
        written.push(json!({ "old": before.get(&row.code), "new": row }));
        changes.push(row.clone());
    }
    if dry_run || !outcome.problems.is_empty() {
        return Ok(outcome);
    }
    if !changes.is_empty() {
        store::upsert_participants(&mut tx, &changes).await?;
    }
    tx.commit(
        &NewEntry::new(
            operator.actor(),
            "participant.import",
            json!({ "file_name": outcome.file_name, "file_sha256": outcome.file_sha256,
                    "new": outcome.new.len(), "updated": outcome.updated.len(),
                    "unchanged": outcome.unchanged, "written": written }),
        )
        .from_request(context),
    )
    .await?;
    outcome.applied = true;
    Ok(outcome)
}

/// The column titles of the kept values as [`values_csv`] writes them.
pub const VALUES_COLUMNS: &str =
    "import,seq,participant_code,goal_code,file_row,change,before,after";

/// A CSV cell: quoted when it holds a comma, a quote or a line break.
fn csv_cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}

/// Every value the imports of `cycle` wrote (or `import` only), as CSV ([`VALUES_COLUMNS`]):
/// oldest import first, each in `seq` order, the rows its audit entry's `values.sha256` covers.
/// Sent in chunks as they are read, so memory does not grow with the import. Admins only; not
/// found for an import of another cycle.
pub async fn values_csv(
    pool: &PgPool,
    operator: Operator<'_>,
    cycle: Uuid,
    import: Option<Uuid>,
) -> Result<
    impl futures_util::Stream<Item = Result<String, std::io::Error>> + Send + 'static,
    ServiceError,
> {
    refuse_unless_admin(&operator)?;
    let mut tx = storage::begin(pool, &operator.scope()).await?;
    cycles::find(&mut tx, cycle)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if let Some(import) = import
        && !store::import_of_cycle(&mut tx, cycle, import).await?
    {
        return Err(ServiceError::NotFound);
    }
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    tokio::spawn(async move {
        use futures_util::TryStreamExt;
        let mut chunk = format!("{VALUES_COLUMNS}\n");
        let mut rows = store::values_of_cycle(&mut tx, cycle, import);
        loop {
            match rows.try_next().await {
                Ok(Some(row)) => {
                    let value = row.value;
                    chunk.push_str(&format!(
                        "{},{},{},{},{},{},{},{}\n",
                        row.import_id,
                        value.seq,
                        csv_cell(&value.participant_code),
                        csv_cell(&value.goal_code),
                        value.file_row,
                        value.change,
                        csv_cell(value.before.as_deref().unwrap_or_default()),
                        csv_cell(&value.after)
                    ));
                    if chunk.len() >= 64 * 1024
                        && sender.send(Ok(std::mem::take(&mut chunk))).await.is_err()
                    {
                        return;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::error!(%error, "reading an import's values failed");
                    let _ = sender.send(Err(std::io::Error::other(error))).await;
                    return;
                }
            }
        }
        if !chunk.is_empty() {
            let _ = sender.send(Ok(chunk)).await;
        }
    });
    Ok(futures_util::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|chunk| (chunk, receiver)) },
    ))
}
