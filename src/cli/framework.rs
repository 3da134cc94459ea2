//! `pledge framework list|import|export`: framework documents on the command line.

use std::path::PathBuf;

use clap::Subcommand;
use uuid::Uuid;

use crate::auth::Operator;
use crate::presentation::i18n::Lang;
use crate::services::{ServiceError, frameworks as service};
use crate::startup::ReadyDatabase;
use crate::storage::audit::RequestContext;
use crate::storage::{self, Scope};

#[derive(Debug, Subcommand)]
pub enum FrameworkCommand {
    /// List every framework version: family, version, frozen, sections, goals, cycles, id.
    List,
    /// Import a framework document (JSON); every problem is listed and nothing is stored unless
    /// there are none. Prints the new version's id.
    Import {
        /// The document (format pledge-framework/1, see docs/framework-format.md).
        file: PathBuf,
    },
    /// Export a framework version as a JSON document that imports back identically.
    Export {
        /// The version's id, or `family:version` (e.g. cyber-defence-pledge:2016-illustrative).
        framework: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

pub async fn run(database: &ReadyDatabase, command: FrameworkCommand) -> anyhow::Result<()> {
    let pool = database.plan.app_pool(2).await?;
    let result = match command {
        FrameworkCommand::List => list(&pool).await,
        FrameworkCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            match service::import(&pool, Operator::Cli, &text, &RequestContext::default()).await {
                Ok(id) => {
                    println!("{id}");
                    Ok(())
                }
                Err(error) => Err(describe(error, &file)),
            }
        }
        FrameworkCommand::Export { framework, output } => {
            let id = resolve(&pool, &framework).await?;
            let record = service::load(&pool, &Scope::System, id)
                .await
                .map_err(|e| describe(e, &PathBuf::new()))?;
            let document = service::export(&record);
            match output {
                Some(path) => std::fs::write(&path, document + "\n")
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display())),
                None => {
                    println!("{document}");
                    Ok(())
                }
            }
        }
    };
    pool.close().await;
    result
}

async fn resolve(pool: &sqlx::PgPool, framework: &str) -> anyhow::Result<Uuid> {
    if let Ok(id) = Uuid::parse_str(framework) {
        return Ok(id);
    }
    let (family, version) = framework
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("name a framework by its id or as family:version"))?;
    let mut tx = storage::begin(pool, &Scope::System).await?;
    let id: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM frameworks WHERE family = $1 AND version = $2")
            .bind(family)
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    id.ok_or_else(|| anyhow::anyhow!("no framework {family} version {version}"))
}

fn describe(error: ServiceError, file: &std::path::Path) -> anyhow::Error {
    let tr = Lang::En.tr();
    match error {
        ServiceError::Problems(problems) => anyhow::anyhow!(
            "{} is refused, nothing was stored ({} problems):\n{}",
            file.display(),
            problems.len(),
            problems
                .iter()
                .map(|p| format!(
                    "  {}: {}",
                    if p.path.is_empty() {
                        "(document)"
                    } else {
                        &p.path
                    },
                    crate::web::error::problem_message(&tr, p)
                ))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        ServiceError::Invalid(fields) => anyhow::anyhow!(
            "{}",
            fields
                .iter()
                .map(|(f, k)| format!("{f}: {}", tr.t(k)))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        ServiceError::NotFound => anyhow::anyhow!("no such framework"),
        ServiceError::Forbidden => anyhow::anyhow!("not allowed"),
        ServiceError::Refused(key) => anyhow::anyhow!("{}", tr.t(key)),
        ServiceError::Conflict => anyhow::anyhow!("{}", tr.t("error.stale")),
        ServiceError::Sql(error) => error.into(),
        ServiceError::Export(error) => error.into(),
    }
}

async fn list(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let mut tx = storage::begin(pool, &Scope::System).await?;
    let frameworks = storage::frameworks::list(&mut tx).await?;
    tx.commit().await?;
    let rows: Vec<Vec<String>> = frameworks
        .into_iter()
        .map(|f| {
            vec![
                f.family,
                f.version,
                if f.frozen { "yes" } else { "no" }.to_owned(),
                f.sections.to_string(),
                f.goals.to_string(),
                f.cycles.to_string(),
                f.id.to_string(),
            ]
        })
        .collect();
    super::table::print(
        &[
            "family", "version", "frozen", "sections", "goals", "cycles", "id",
        ],
        &rows,
        "(no framework versions)",
    );
    Ok(())
}
