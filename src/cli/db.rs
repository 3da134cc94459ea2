//! `pledge db start|stop|url`: the private cluster by hand.

use clap::Subcommand;

use crate::cluster::{Durability, PrivateCluster};
use crate::config::DatabaseConfig;
use crate::storage::{self, DATABASE, OWNER_ROLE};

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create (if needed) and start the private cluster; it keeps running until `pledge db stop`.
    Start,
    /// Stop the private cluster.
    Stop,
    /// Print a connection string for psql (as the owner role), valid for the same OS user.
    Url,
}

pub async fn run(database: &DatabaseConfig, command: DbCommand) -> anyhow::Result<()> {
    let DatabaseConfig::Private { data_dir } = database else {
        anyhow::bail!("DATABASE_URL is set: `pledge db` manages only the private cluster");
    };
    let cluster = PrivateCluster::new(data_dir, Durability::Durable)?;
    match command {
        DbCommand::Start => {
            let _lock = cluster.lock()?;
            if !cluster.is_initialized() {
                cluster.initialize()?;
            }
            if cluster.is_running()? {
                println!(
                    "the private cluster in {} is already running",
                    cluster.root().display()
                );
                return Ok(());
            }
            cluster.start()?;
            cluster.mark_started_by_hand()?;
            storage::bootstrap_private(&cluster).await?;
            let mut conn = storage::connect(&cluster.connect_options(OWNER_ROLE, DATABASE)).await?;
            storage::migrate(&mut conn).await?;
            println!(
                "started the private cluster in {}",
                cluster.root().display()
            );
            println!("{}", cluster.url(OWNER_ROLE, DATABASE));
        }
        DbCommand::Stop => {
            let _lock = cluster.lock()?;
            cluster.stop()?;
            println!(
                "the private cluster in {} is stopped",
                cluster.root().display()
            );
        }
        DbCommand::Url => println!("{}", cluster.url(OWNER_ROLE, DATABASE)),
    }
    Ok(())
}
