//! `pledge user create|disable|reset-password`: account management on the server.

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
        /// admin, analyst, head, contributor or viewer.
        #[arg(long)]
        role: String,
        /// The delegation's participant code (ISO 3166-1 alpha-3), for head, contributor, viewer.
        #[arg(long)]
        participant: Option<String>,
    },
    /// Disable a user and end their sessions.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Give a user a new one-time password (ending their sessions); prints it.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
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
                    role,
                    participant_code: participant,
                },
            };
            accounts::create_user(&pool, Operator::Cli, &account, &context)
                .await
                .map(|(_, password)| println!("created {email}; one-time password: {password}"))
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
