//! `pledge cycle list|export|import`: the cycles, a cycle report as a file, and a cycle's
//! answers imported from one (`super::imports`), from the command line.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use crate::auth::Operator;
use crate::export::Format;
use crate::presentation::i18n::Lang;
use crate::services::{ServiceError, exports};
use crate::startup::ReadyDatabase;
use crate::storage::audit::RequestContext;

#[derive(Debug, Subcommand)]
pub enum CycleCommand {
    /// List the cycles, newest first: code, state, opening day, deadline, submissions, framework.
    List {
        /// Only cycles in this state (planned, open, closed, published).
        #[arg(long)]
        state: Option<String>,
    },
    /// Export a cycle report: csv (one row per participant × goal), xlsx (summary, a sheet per
    /// section, answers, about), json (the full report with a data dictionary) or pdf (the
    /// printed report). Stamped with the cycle, the snapshot digests and the time of
    /// generation; recorded in the audit log.
    Export {
        /// The cycle's code (e.g. 2025) or id.
        cycle: String,
        #[arg(long, value_enum)]
        format: Format,
        /// The language of the file's texts (headers, sheet names, the PDF's words): en or fr.
        /// The figures are the same in every language.
        #[arg(long, default_value = "en", value_parser = parse_lang)]
        lang: Lang,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Import a cycle's answers from one tidy file (CSV, or XLSX with an "Answers" sheet): the
    /// cycle report's own layout, so an export can be edited and imported back. All or
    /// nothing, in one transaction, recorded in the audit log (docs/migrating.md).
    Import {
        /// The cycle's code (e.g. 2025) or id.
        cycle: String,
        /// The CSV or XLSX file.
        file: PathBuf,
        /// Check the file and print what would change, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// historical (past returns, as accepted snapshots, on a planned or closed cycle) or
        /// on-behalf (into the delegations' drafts, unconfirmed, on an open cycle).
        #[arg(long, default_value = "historical", value_parser = super::imports::parse_purpose)]
        purpose: crate::import::Purpose,
    },
}

pub async fn run(database: &ReadyDatabase, command: CycleCommand) -> anyhow::Result<()> {
    let pool = database.plan.app_pool(2).await?;
    let (cycle, format, lang, output) = match command {
        CycleCommand::List { state } => {
            let listed = list(&pool, state.as_deref()).await;
            pool.close().await;
            return listed;
        }
        CycleCommand::Export {
            cycle,
            format,
            lang,
            output,
        } => (cycle, format, lang, output),
        CycleCommand::Import {
            cycle,
            file,
            dry_run,
            purpose,
        } => {
            let imported = super::imports::cycle(&pool, &cycle, &file, purpose, dry_run).await;
            pool.close().await;
            return imported;
        }
    };
    let result = match &output {
        Some(path) => write_file(&pool, &cycle, (format, lang), path).await,
        None => {
            let mut stdout = std::io::stdout().lock();
            let written = write_report(&pool, &cycle, (format, lang), &mut stdout).await;
            written.and_then(|()| {
                stdout
                    .flush()
                    .map_err(|e| ServiceError::Export(crate::export::ExportError::Io(e)))
            })
        }
    };
    pool.close().await;
    match result {
        Ok(()) => Ok(()),
        Err(ServiceError::NotFound) => anyhow::bail!("no cycle has the code or id {cycle:?}"),
        Err(error) => anyhow::bail!("the export failed: {error}"),
    }
}

async fn list(pool: &sqlx::PgPool, state: Option<&str>) -> anyhow::Result<()> {
    use crate::domain::cycle::CycleState;
    let wanted = match state {
        None => None,
        Some(text) => Some(CycleState::parse(text).ok_or_else(|| {
            let names: Vec<&str> = CycleState::ALL.iter().map(|s| s.as_str()).collect();
            anyhow::anyhow!(
                "--state {text:?} is not a cycle state: use one of {}",
                names.join(", ")
            )
        })?),
    };
    let cycles = crate::services::cycles::list(pool, Operator::Cli).await?;
    let rows: Vec<Vec<String>> = cycles
        .into_iter()
        .filter(|cycle| wanted.is_none_or(|state| cycle.state == state))
        .map(|cycle| {
            vec![
                cycle.code,
                cycle.state.to_string(),
                cycle.opens_on.to_string(),
                cycle.deadline.to_string(),
                format!("{}/{}", cycle.submitted, cycle.assessments),
                cycle.framework_version,
                cycle.id.to_string(),
            ]
        })
        .collect();
    super::table::print(
        &[
            "code",
            "state",
            "opens",
            "deadline",
            "submitted",
            "framework",
            "id",
        ],
        &rows,
        "(no cycles)",
    );
    Ok(())
}

/// `en` or `fr` (as `--lang`).
fn parse_lang(text: &str) -> Result<Lang, String> {
    match text.trim() {
        "en" => Ok(Lang::En),
        "fr" => Ok(Lang::Fr),
        other => Err(format!(
            "{other:?} is not a language of the product: en or fr"
        )),
    }
}

/// Writes the report to a temporary file beside `path` and renames it to `path` only once it
/// is complete and on disk: a failed export leaves any earlier file as it was and removes its
/// temporary file; a killed one may leave a `.tmp…` file, never a partial file under `path`.
async fn write_file(
    pool: &sqlx::PgPool,
    cycle: &str,
    format: (Format, Lang),
    path: &std::path::Path,
) -> Result<(), ServiceError> {
    let io = |e: std::io::Error| {
        let e = std::io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        ServiceError::Export(crate::export::ExportError::Io(e))
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(directory).map_err(io)?;
    {
        let mut out = std::io::BufWriter::new(file.as_file_mut());
        write_report(pool, cycle, format, &mut out).await?;
        out.flush().map_err(io)?;
    }
    file.as_file().sync_all().map_err(io)?;
    file.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Writes the report; CSV and JSON chunk by chunk as they are read, the other formats whole.
async fn write_report(
    pool: &sqlx::PgPool,
    cycle: &str,
    (format, lang): (Format, Lang),
    out: &mut dyn Write,
) -> Result<(), ServiceError> {
    use futures_util::StreamExt;
    let id = exports::find_cycle(pool, cycle).await?;
    let context = RequestContext::default();
    let io = |e: std::io::Error| ServiceError::Export(crate::export::ExportError::Io(e));
    if format.streams() {
        let chunks =
            exports::cycle_report_streamed(pool, Operator::Cli, id, format, lang, &context)
                .await?
                .into_chunks();
        futures_util::pin_mut!(chunks);
        while let Some(chunk) = chunks.next().await {
            out.write_all(&chunk?).map_err(io)?;
        }
    } else {
        let file = exports::cycle_report(pool, Operator::Cli, id, format, lang, &context).await?;
        out.write_all(&file.bytes).map_err(io)?;
    }
    Ok(())
}
