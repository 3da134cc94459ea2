//! `pledge cycle import` and `pledge participant import`: bulk imports from the command line,
//! with the same checks, preview and single transaction as the pages and the API
//! (`services::imports`). A CSV is streamed from disk; problems are printed with their place
//! and the command fails (exit status 1) without writing anything.

use std::path::Path;

use crate::auth::Operator;
use crate::import::Purpose;
use crate::import::table::Source;
use crate::presentation::i18n::Lang;
use crate::services::imports::{self, Upload};
use crate::services::{ServiceError, exports};
use crate::storage::audit::RequestContext;
use crate::web::error::problem_message;

fn upload(file: &std::path::Path) -> Upload {
    Upload {
        file_name: file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
        source: Source::Path(file.to_path_buf()),
    }
}

fn print_problems(problems: &[crate::domain::problem::Problem]) {
    let tr = Lang::En.tr();
    for problem in problems {
        eprintln!("{}: {}", problem.path, problem_message(&tr, problem));
    }
}

fn failed(error: ServiceError, what: &str) -> anyhow::Error {
    match error {
        ServiceError::NotFound => anyhow::anyhow!("no cycle has the code or id {what:?}"),
        ServiceError::Refused(key) => anyhow::anyhow!("{}", Lang::En.tr().t(key)),
        ServiceError::Problems(problems) => {
            print_problems(&problems);
            anyhow::anyhow!("the file was refused: nothing was written")
        }
        other => anyhow::anyhow!("the import failed: {other}"),
    }
}

/// `pledge cycle import CYCLE FILE [--dry-run] [--purpose historical|on-behalf]`.
pub async fn cycle(
    pool: &sqlx::PgPool,
    cycle: &str,
    file: &Path,
    purpose: Purpose,
    dry_run: bool,
) -> anyhow::Result<()> {
    let id = exports::find_cycle(pool, cycle)
        .await
        .map_err(|e| failed(e, cycle))?;
    let outcome = imports::import_answers(
        pool,
        Operator::Cli,
        id,
        purpose,
        upload(file),
        dry_run,
        &RequestContext::default(),
    )
    .await
    .map_err(|e| failed(e, cycle))?;
    let rows: Vec<Vec<String>> = outcome
        .participants
        .iter()
        .map(|p| {
            vec![
                p.participant_code.clone(),
                p.new.to_string(),
                p.changed.to_string(),
                p.unchanged.to_string(),
                p.refused.to_string(),
            ]
        })
        .collect();
    super::table::print(
        &["participant", "new", "changed", "unchanged", "refused"],
        &rows,
        "(no participant)",
    );
    let totals = outcome.totals();
    println!(
        "{} rows, {} participants: {} new, {} changed, {} unchanged, {} refused; SHA-256 {}",
        outcome.rows,
        outcome.participants.len(),
        totals.new,
        totals.changed,
        totals.unchanged,
        totals.refused,
        outcome.file_sha256
    );
    if !outcome.problems.is_empty() {
        print_problems(&outcome.problems);
        anyhow::bail!(
            "{} problem(s): the file was refused, nothing was written",
            outcome.problems.len()
        );
    }
    if outcome.applied {
        println!(
            "imported into cycle {} ({})",
            outcome.cycle_code,
            purpose.as_str()
        );
    } else {
        println!("dry run: nothing was written");
    }
    Ok(())
}

/// `pledge participant import FILE [--dry-run]`.
pub async fn participants(pool: &sqlx::PgPool, file: &Path, dry_run: bool) -> anyhow::Result<()> {
    let outcome = imports::import_participants(
        pool,
        Operator::Cli,
        upload(file),
        dry_run,
        &RequestContext::default(),
    )
    .await
    .map_err(|e| failed(e, ""))?;
    println!(
        "{} new, {} updated, {} unchanged; SHA-256 {}",
        outcome.new.len(),
        outcome.updated.len(),
        outcome.unchanged,
        outcome.file_sha256
    );
    if !outcome.problems.is_empty() {
        print_problems(&outcome.problems);
        anyhow::bail!(
            "{} problem(s): the file was refused, nothing was written",
            outcome.problems.len()
        );
    }
    println!(
        "{}",
        if outcome.applied {
            "imported"
        } else {
            "dry run: nothing was written"
        }
    );
    Ok(())
}

/// `historical` or `on-behalf` (as `--purpose`).
pub fn parse_purpose(text: &str) -> Result<Purpose, String> {
    Purpose::parse(text)
        .ok_or_else(|| format!("{text:?} is not a purpose: historical or on-behalf"))
}
