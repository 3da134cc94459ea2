//! `pledge participant list|import`: the Allies and partners, as the service knows them, and
//! a file of them imported (`super::imports`).

use clap::Subcommand;

use super::table;
use crate::startup::ReadyDatabase;

#[derive(Debug, Subcommand)]
pub enum ParticipantCommand {
    /// List every participant (Allies first, by code): code, kind, active, name.
    List,
    /// Add and update participants from a CSV or XLSX file: code, name_en, name_fr, kind
    /// (ally or partner), accession_date (YYYY-MM-DD). Existing codes are updated.
    Import {
        /// The CSV or XLSX file.
        file: std::path::PathBuf,
        /// Check the file and print what would change, writing nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub async fn run(database: &ReadyDatabase, command: ParticipantCommand) -> anyhow::Result<()> {
    if let ParticipantCommand::Import { file, dry_run } = &command {
        let pool = database.plan.app_pool(2).await?;
        let imported = super::imports::participants(&pool, file, *dry_run).await;
        pool.close().await;
        return imported;
    }
    let pool = database.plan.app_pool(1).await?;
    let participants = crate::storage::participants::list(&pool).await;
    pool.close().await;
    let rows: Vec<Vec<String>> = participants?
        .into_iter()
        .map(|p| {
            vec![
                p.code,
                p.kind,
                if p.active { "yes" } else { "no" }.to_owned(),
                p.name_en,
            ]
        })
        .collect();
    table::print(
        &["code", "kind", "active", "name"],
        &rows,
        "(no participants)",
    );
    Ok(())
}
