//! What the comparison page reads besides its figures: the report, every cycle (to move to
//! another) and the historical imports that made the cycle's snapshots.
//!
//! Read in one transaction, in the reader's scope, from the read replica when there is one. What
//! the primary answered is kept in memory per reader, cycle and section while none of
//! [`COMPARISON_PAGE_READS`] changes (`storage::coherence`), so a page read again sends no
//! statement. Nothing is kept or waited for while the replica answers: only the primary's changes
//! are announced.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use super::reports::{ImportRecord, cached_comparison};
use super::{ReadPool, ServiceError};
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::domain::report::CycleRef;
use crate::domain::report::comparison::CycleComparison;
use crate::storage::coherence::{Coherence, Memo, Table};
use crate::storage::read_pool::{Read, Source};
use crate::storage::{self, reports as store};

/// What the comparison page reads.
pub struct ComparisonPageInputs {
    pub report: Arc<CycleComparison>,
    pub cycles: Vec<CycleRef>,
    pub imports: Vec<ImportRecord>,
}

/// The tables [`comparison_page`] reads or that decide what the reader may see: the cycles and
/// their versions, the report's key (`cycle_report_state`, changed by every submission), the
/// imports with who made them, and the reader's role.
pub const COMPARISON_PAGE_READS: &[Table] = &[
    Table::Cycles,
    Table::Frameworks,
    Table::CycleReportState,
    Table::CycleImports,
    Table::Users,
    Table::DelegationMemberships,
];

/// The comparison page's reads kept in memory, by reader, cycle and section.
pub type ComparisonPageMemo = Memo<(Uuid, Uuid, Option<Uuid>), KeptComparisonPage>;

/// Comparison pages kept at most.
const COMPARISON_PAGES_KEPT: usize = 256;

/// A comparison page's reads are read again at least this often even if nothing changed.
const KEPT_AT_MOST: Duration = Duration::from_secs(600);

/// The memo of comparison pages' reads, trusted through `coherence`.
pub fn comparison_page_memo(coherence: Coherence) -> ComparisonPageMemo {
    Memo::new(coherence, COMPARISON_PAGE_READS, COMPARISON_PAGES_KEPT)
}

/// [`ComparisonPageInputs`] as the memo keeps them: the report by a weak reference, so that a
/// report lives no longer than the report cache keeps it (a few), however many pages are kept.
#[derive(Clone)]
pub struct KeptComparisonPage {
    report: Weak<CycleComparison>,
    cycles: Vec<CycleRef>,
    imports: Vec<ImportRecord>,
}

impl KeptComparisonPage {
    fn of(inputs: &ComparisonPageInputs) -> Self {
        Self {
            report: Arc::downgrade(&inputs.report),
            cycles: inputs.cycles.clone(),
            imports: inputs.imports.clone(),
        }
    }

    /// The inputs again, while the report cache still holds the report.
    fn inputs(&self) -> Option<ComparisonPageInputs> {
        Some(ComparisonPageInputs {
            report: self.report.upgrade()?,
            cycles: self.cycles.clone(),
            imports: self.imports.clone(),
        })
    }
}

/// The comparison page's reads for `me`: from memory when nothing they depend on changed, else
/// from the replica when it answers, else from the primary (and then kept).
pub async fn comparison_page(
    reads: &ReadPool,
    memo: &ComparisonPageMemo,
    me: &Principal,
    cycle: Uuid,
    focus_section: Option<Uuid>,
) -> Result<Read<ComparisonPageInputs>, ServiceError> {
    if !me.may(Permission::CompareParticipants) {
        return Err(ServiceError::Forbidden);
    }
    let key = (me.user_id, cycle, focus_section);
    let replica_up = reads.replica_health().is_some_and(|replica| replica.up);
    let ticket = if replica_up {
        None
    } else {
        match memo.get_with(&key, KeptComparisonPage::inputs).await {
            Ok(kept) => {
                return Ok(Read {
                    value: kept,
                    source: Source::Primary,
                    stale_as_of: None,
                });
            }
            Err(ticket) => Some(ticket),
        }
    };
    let read = reads
        .run(|pool| async move { read_on(&pool, me, cycle, focus_section).await })
        .await?;
    if let Some(ticket) = ticket
        && read.source == Source::Primary
    {
        memo.put(
            ticket,
            key,
            KeptComparisonPage::of(&read.value),
            KEPT_AT_MOST,
        );
    }
    Ok(read)
}

/// One transaction on `pool`, in the reader's scope: a page whose report is cached is BEGIN, the
/// heads, the cycles, the imports and COMMIT.
async fn read_on(
    pool: &PgPool,
    me: &Principal,
    cycle: Uuid,
    focus_section: Option<Uuid>,
) -> Result<ComparisonPageInputs, ServiceError> {
    let mut tx = storage::begin(pool, &me.scope()).await?;
    let report = cached_comparison(&mut tx, cycle, focus_section).await?;
    let cycles = store::cycles(&mut tx).await?;
    let imports = storage::imports::of_cycle(&mut tx, cycle).await?;
    tx.commit().await?;
    Ok(ComparisonPageInputs {
        report,
        cycles,
        imports,
    })
}
