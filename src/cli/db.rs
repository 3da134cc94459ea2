//! `pledge db start|stop|url`: the private cluster by hand; `pledge db replica …`: a local
//! streaming replica of it (`cluster::replica`).

use clap::Subcommand;

use crate::cluster::replica::LocalReplica;
use crate::cluster::{Durability, PrivateCluster};
use crate::config::DatabaseConfig;
use crate::storage::{self, APP_ROLE, DATABASE, OWNER_ROLE};

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create (if needed) and start the private cluster; it keeps running until `pledge db stop`.
    Start,
    /// Stop the private cluster.
    Stop,
    /// Print a connection string for psql (as the owner role), valid for the same OS user.
    Url,
    /// A local streaming replica of the private cluster, to try the read replica.
    Replica {
        #[command(subcommand)]
        command: ReplicaCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReplicaCommand {
    /// Make (pg_basebackup, first time only) and start a streaming replica of the running
    /// private cluster in `replica/` of the data directory, on its own socket; prints the
    /// PLEDGE_REPLICA_URL to give `pledge serve`.
    Start,
    /// Stop the replica.
    Stop,
    /// Print the replica's connection string for the service role (PLEDGE_REPLICA_URL).
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
        DbCommand::Replica { command } => replica(&cluster, command)?,
    }
    Ok(())
}

fn replica(cluster: &PrivateCluster, command: ReplicaCommand) -> anyhow::Result<()> {
    let replica = LocalReplica::of(cluster);
    match command {
        ReplicaCommand::Start => {
            if !cluster.is_running()? {
                anyhow::bail!(
                    "the private cluster in {} is not running: start it first (`pledge db start` \
                     or `pledge serve`)",
                    cluster.root().display()
                );
            }
            if replica.is_running()? {
                println!(
                    "the replica in {} is already running",
                    replica.root().display()
                );
            } else {
                if !replica.is_created() {
                    replica.create()?;
                }
                replica.start()?;
                println!(
                    "started a streaming replica of the private cluster in {}",
                    replica.root().display()
                );
            }
            println!("PLEDGE_REPLICA_URL={}", replica.url(APP_ROLE, DATABASE));
        }
        ReplicaCommand::Stop => {
            replica.stop()?;
            println!("the replica in {} is stopped", replica.root().display());
        }
        ReplicaCommand::Url => println!("{}", replica.url(APP_ROLE, DATABASE)),
    }
    Ok(())
}
