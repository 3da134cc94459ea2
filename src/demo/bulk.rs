//! Writing a whole cycle of submissions at once, for data loaded rather than typed: the demo at
//! scale, and tests that need many submitted participants (such as the GCI 2020 check). Scores
//! come from the same path as a submission ([`snapshot::freeze`]); rows go in with a fixed
//! number of statements per chunk, never one per participant.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::framework::{Framework, RollUp};
use crate::domain::scoring::AnswerState;
use crate::domain::snapshot::{self, SnapshotGoal, SnapshotHeader, SnapshotSection};
use crate::storage::assessments::{self, AssessmentRow, SnapshotRow};
use crate::storage::cycles::{self, CycleRow};
use crate::storage::frameworks::StoredFramework;

/// Snapshots written per statement batch: bounds the size of one statement's arrays.
const CHUNK: usize = 250;

/// A stored framework version as snapshots need it.
pub struct FrameworkParts {
    pub roll_up: RollUp,
    pub sections: Vec<SnapshotSection>,
    /// In document order.
    pub goals: Vec<SnapshotGoal>,
}

impl FrameworkParts {
    pub fn new(framework: &Framework, stored: &StoredFramework) -> Self {
        Self {
            roll_up: framework.roll_up,
            sections: framework
                .sections
                .iter()
                .zip(&stored.section_ids)
                .map(|(section, id)| SnapshotSection {
                    id: *id,
                    code: section.code.clone(),
                })
                .collect(),
            goals: framework
                .sections
                .iter()
                .enumerate()
                .flat_map(|(index, section)| section.goals.iter().map(move |goal| (index, goal)))
                .zip(&stored.goal_ids)
                .map(|((section, goal), id)| SnapshotGoal {
                    id: *id,
                    code: goal.code.clone(),
                    section,
                    weight: goal.weight,
                    scale: goal.scale.score_scale(),
                })
                .collect(),
        }
    }
}

/// One participant's submission: an answer per goal, in goal order.
pub struct Submission {
    pub participant_id: Uuid,
    pub participant_code: String,
    pub answers: Vec<AnswerState>,
    /// `submitted` or `accepted`.
    pub state: &'static str,
    pub submitted_at: OffsetDateTime,
}

/// Creates the cycle and, for each submission, an assessment with its revision-1 snapshot.
/// Runs in the caller's transaction, which must have the system scope.
pub async fn write_cycle(
    conn: &mut PgConnection,
    parts: &FrameworkParts,
    cycle: &CycleRow,
    submissions: &[Submission],
) -> Result<Uuid, sqlx::Error> {
    let cycle_id = cycles::insert(conn, cycle).await?;
    write_submissions(conn, parts, cycle_id, &cycle.code, submissions).await?;
    Ok(cycle_id)
}

/// Adds submissions (revision 1 each) to an existing cycle, for participants without an
/// assessment in it.
pub async fn write_submissions(
    conn: &mut PgConnection,
    parts: &FrameworkParts,
    cycle_id: Uuid,
    cycle_code: &str,
    submissions: &[Submission],
) -> Result<(), sqlx::Error> {
    for chunk in submissions.chunks(CHUNK) {
        let rows: Vec<AssessmentRow> = chunk
            .iter()
            .map(|s| AssessmentRow {
                id: Uuid::new_v4(),
                cycle_id,
                participant_id: s.participant_id,
                state: "draft",
                last_activity_at: Some(s.submitted_at),
            })
            .collect();
        assessments::insert_assessments(conn, &rows).await?;
        let snapshots: Vec<SnapshotRow> = chunk
            .iter()
            .zip(&rows)
            .map(|(s, row)| SnapshotRow {
                id: Uuid::new_v4(),
                assessment_id: row.id,
                participant_id: s.participant_id,
                cycle_id,
                revision: 1,
                frozen: snapshot::freeze(
                    &SnapshotHeader {
                        participant_code: &s.participant_code,
                        cycle_code,
                        revision: 1,
                    },
                    parts.roll_up,
                    &parts.sections,
                    &parts.goals,
                    &s.answers,
                ),
                submitted_by: None,
                submitted_at: s.submitted_at,
            })
            .collect();
        assessments::insert_snapshots(conn, &snapshots).await?;
        let states: Vec<(Uuid, &'static str)> = rows
            .iter()
            .zip(chunk)
            .map(|(r, s)| (r.id, s.state))
            .collect();
        assessments::set_states(conn, &states).await?;
    }
    Ok(())
}
