//! `pledge cycle export`: a cycle report as a file from the command line.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use crate::auth::Operator;
use crate::export::Format;
use crate::services::{ServiceError, exports};
use crate::startup::ReadyDatabase;
use crate::storage::audit::RequestContext;

#[derive(Debug, Subcommand)]
pub enum CycleCommand {
    /// Export a cycle report: csv (one row per participant × goal), xlsx (summary, a sheet per
    /// section, answers, about) or json (the full report with a data dictionary). Stamped with
    /// the cycle, the snapshot digests and the time of generation; recorded in the audit log.
    Export {
        /// The cycle's code (e.g. 2025) or id.
        cycle: String,
        #[arg(long, value_enum)]
        format: Format,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

pub async fn run(database: &ReadyDatabase, command: CycleCommand) -> anyhow::Result<()> {
    let pool = database.plan.app_pool(2).await?;
    let CycleCommand::Export {
        cycle,
        format,
        output,
    } = command;
    let mut out: Box<dyn Write> = match &output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let result = write_report(&pool, &cycle, format, &mut out).await;
    pool.close().await;
    match result {
        Ok(()) => Ok(out.flush()?),
        Err(error) => {
            drop(out);
            // A file cut short must not pass for a report.
            if let Some(path) = &output {
                let _ = std::fs::remove_file(path);
            }
            match error {
                ServiceError::NotFound => anyhow::bail!("no cycle has the code or id {cycle:?}"),
                error => anyhow::bail!("the export failed: {error}"),
            }
        }
    }
}

/// Writes the report; CSV chunk by chunk as it is read, the other formats whole.
async fn write_report(
    pool: &sqlx::PgPool,
    cycle: &str,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), ServiceError> {
    use futures_util::StreamExt;
    let id = exports::find_cycle(pool, cycle).await?;
    let context = RequestContext::default();
    let io = |e: std::io::Error| ServiceError::Export(crate::export::ExportError::Io(e));
    if format == Format::Csv {
        let chunks = exports::cycle_report_csv(pool, Operator::Cli, id, &context)
            .await?
            .into_chunks();
        futures_util::pin_mut!(chunks);
        while let Some(chunk) = chunks.next().await {
            out.write_all(&chunk?).map_err(io)?;
        }
    } else {
        let file = exports::cycle_report(pool, Operator::Cli, id, format, &context).await?;
        out.write_all(&file.bytes).map_err(io)?;
    }
    Ok(())
}
