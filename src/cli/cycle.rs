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
    let result = async {
        let id = exports::find_cycle(&pool, &cycle).await?;
        exports::cycle_report(&pool, Operator::Cli, id, format, &RequestContext::default()).await
    }
    .await;
    let file = match result {
        Ok(file) => file,
        Err(ServiceError::NotFound) => anyhow::bail!("no cycle has the code or id {cycle:?}"),
        Err(error) => anyhow::bail!("the export failed: {error}"),
    };
    match output {
        Some(path) => std::fs::write(&path, &file.bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        None => std::io::stdout().write_all(&file.bytes)?,
    }
    pool.close().await;
    Ok(())
}
