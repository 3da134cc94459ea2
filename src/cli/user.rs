//! `pledge user create|list|enable|disable|reset-password`: account management on the server.

use clap::Subcommand;

use crate::auth::accounts::{self, AccountError, NewAccount, Operator, RoleChoice};
use crate::startup::ReadyDatabase;
use crate::storage::audit::RequestContext;
use crate::storage::{self as store, Scope, users};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; prints a one-time password that must be changed at first sign-in.
    Create {
        /// E-mail address (the sign-in name).
        #[arg(long)]
        email: String,
        /// Name shown to others.
        #[arg(long)]
        name: String,
        /// The role: staff (admin, analyst) or a delegation's (head, contributor, viewer).
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The delegation's participant code (ISO 3166-1 alpha-3), for head, contributor, viewer.
        #[arg(long)]
        participant: Option<String>,
    },
    /// List every user: e-mail, role, delegation, whether disabled, second factor, name.
    List,
    /// Disable a user and end their sessions.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled user again (their password is unchanged).
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Give a user a new one-time password (ending their sessions); prints it.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
}

/// The roles `--role` accepts.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    /// Administers the service and reviews submissions.
    Admin,
    /// Reads submitted assessments and compares participants.
    Analyst,
    /// Leads a delegation: edits and submits (needs --participant).
    Head,
    /// Edits a delegation's answers (needs --participant).
    Contributor,
    /// Reads a delegation's assessments (needs --participant).
    Viewer,
}

impl RoleArg {
    fn name(self) -> &'static str {
        match self {
            RoleArg::Admin => "admin",
            RoleArg::Analyst => "analyst",
            RoleArg::Head => "head",
            RoleArg::Contributor => "contributor",
            RoleArg::Viewer => "viewer",
        }
    }
}

pub async fn run(database: &ReadyDatabase, command: UserCommand) -> anyhow::Result<()> {
    let pool = database.plan.app_pool(2).await?;
    let context = RequestContext::default();
    let result = match command {
        UserCommand::Create {
            email,
            name,
            role,
            participant,
        } => {
            let account = NewAccount {
                email: email.clone(),
                display_name: name,
                role: RoleChoice {
                    role: role.name().to_owned(),
                    participant_code: participant,
                },
            };
            accounts::create_user(&pool, Operator::Cli, &account, &context)
                .await
                .map(|(_, password)| println!("created {email}; one-time password: {password}"))
        }
        UserCommand::List => list(&pool).await.map_err(AccountError::from),
        UserCommand::Enable { email } => {
            let id = user_id(&pool, &email).await?;
            accounts::set_disabled(&pool, Operator::Cli, id, false, &context)
                .await
                .map(|()| println!("enabled {email}"))
        }
        UserCommand::Disable { email } => {
            let id = user_id(&pool, &email).await?;
            accounts::set_disabled(&pool, Operator::Cli, id, true, &context)
                .await
                .map(|()| println!("disabled {email}; their sessions are ended"))
        }
        UserCommand::ResetPassword { email } => {
            let id = user_id(&pool, &email).await?;
            accounts::reset_password(&pool, Operator::Cli, id, &context)
                .await
                .map(|password| println!("reset {email}; one-time password: {password}"))
        }
    };
    pool.close().await;
    result.map_err(|error| match error {
        AccountError::Invalid(fields) => anyhow::anyhow!(
            "{}",
            fields
                .iter()
                .map(|(field, key)| format!(
                    "--{}: {}",
                    cli_flag(field),
                    crate::presentation::i18n::Lang::En.tr().t(key)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        AccountError::NotFound => anyhow::anyhow!("no such user"),
        AccountError::Auth(error) => error.into(),
    })
}

async fn list(pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    let mut tx = store::begin(pool, &Scope::System).await?;
    let users = users::list(&mut tx).await?;
    tx.commit().await?;
    let yes_no = |flag: bool| if flag { "yes" } else { "no" }.to_owned();
    let rows: Vec<Vec<String>> = users
        .into_iter()
        .map(|user| {
            vec![
                user.email,
                user.role.to_string(),
                user.participant_code.unwrap_or_else(|| "-".to_owned()),
                yes_no(user.disabled),
                yes_no(user.second_factor),
                user.display_name,
            ]
        })
        .collect();
    super::table::print(
        &["email", "role", "delegation", "disabled", "2fa", "name"],
        &rows,
        "(no users)",
    );
    Ok(())
}

async fn user_id(pool: &sqlx::PgPool, email: &str) -> anyhow::Result<uuid::Uuid> {
    let mut tx = store::begin(pool, &Scope::System).await?;
    let id = users::id_by_email(&mut tx, email).await?;
    tx.commit().await?;
    id.ok_or_else(|| anyhow::anyhow!("no user with the e-mail address {email}"))
}

/// The command-line flag that carries a field.
fn cli_flag(field: &str) -> &str {
    match field {
        "display_name" => "name",
        "role" => "role",
        "participant" => "participant",
        _ => "email",
    }
}
