//! `pledge participant list`: the Allies and partners, as the service knows them.

use clap::Subcommand;

use super::table;
use crate::startup::ReadyDatabase;

#[derive(Debug, Subcommand)]
pub enum ParticipantCommand {
    /// List every participant (Allies first, by code): code, kind, active, name.
    List,
}

pub async fn run(database: &ReadyDatabase, command: ParticipantCommand) -> anyhow::Result<()> {
    let ParticipantCommand::List = command;
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
