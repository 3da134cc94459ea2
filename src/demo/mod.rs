//! The demo history: the illustrative 2016 pledge framework, three cycles (two published, one
//! open), every Ally with answers in varied states and trends, national goals, clarification
//! requests, and one user for each role. Loaded once, in one transaction.

pub mod bulk;
mod history;
mod scale;

pub use scale::{Scale, load as load_scale};

use anyhow::Context;
use sqlx::{Connection, Row};
use uuid::Uuid;

use crate::auth::password;
use crate::domain::framework::Framework;
use crate::storage::audit::{self, Actor, NewEntry};
use crate::storage::users::{self, DelegationRole, NewUser, Role};
use crate::storage::{ConnectionPlan, frameworks};

/// The illustrative framework the demo uses (also an example for `framework import`).
pub const PLEDGE_FRAMEWORK: &str =
    include_str!("../../fixtures/frameworks/cyber-defence-pledge-2016.json");

/// The demo's shared password. Demo accounts exist only in demo data, and a service started
/// without `--demo` refuses this password whatever the account (`AuthConfig::demo`).
pub const DEMO_PASSWORD: &str = "demo-pledge-2026";

/// Where `pledge serve --demo` and `pledge demo` keep their private cluster unless told
/// otherwise: never the real service's `./pledge-data`.
pub const DEMO_DATA_DIR: &str = "./pledge-demo-data";

/// The audit actions the demo loaders write: their entries mark a database as holding demo
/// data (the chain makes the marker hard to remove unnoticed).
const MARKERS: [&str; 2] = ["demo.load", "demo.scale"];

/// Whether the database holds demo data: a demo loader's audit entry, or any demo account
/// (demo data loaded before the marker existed).
pub async fn present(plan: &ConnectionPlan) -> anyhow::Result<bool> {
    let mut conn = plan.owner_connection().await?;
    let mut tx = conn.begin().await?;
    crate::storage::set_scope(&mut tx, &crate::storage::Scope::System).await?;
    let emails: Vec<&str> = DEMO_USERS.iter().map(|user| user.email).collect();
    let present: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM audit_log WHERE action = ANY($1))
             OR EXISTS (SELECT 1 FROM users WHERE lower(email) = ANY($2))",
    )
    .bind(&MARKERS[..])
    .bind(&emails)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(present)
}

/// The delegation the demo's delegation users belong to.
pub const DEMO_DELEGATION: &str = "FRA";

/// One demo account.
pub struct DemoUser {
    pub email: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    role: DemoRole,
}

enum DemoRole {
    Admin,
    Analyst,
    Delegation(DelegationRole),
}

/// One demo user for each role.
pub const DEMO_USERS: [DemoUser; 5] = [
    DemoUser {
        email: "admin@demo.pledge.example",
        name: "Alex Admin",
        description: "admin (secretariat)",
        role: DemoRole::Admin,
    },
    DemoUser {
        email: "analyst@demo.pledge.example",
        name: "Ana Analyst",
        description: "analyst",
        role: DemoRole::Analyst,
    },
    DemoUser {
        email: "head.fra@demo.pledge.example",
        name: "Hélène Head",
        description: "delegation head, France",
        role: DemoRole::Delegation(DelegationRole::Head),
    },
    DemoUser {
        email: "contributor.fra@demo.pledge.example",
        name: "Camille Contributor",
        description: "delegation contributor, France",
        role: DemoRole::Delegation(DelegationRole::Contributor),
    },
    DemoUser {
        email: "viewer.fra@demo.pledge.example",
        name: "Victor Viewer",
        description: "delegation viewer, France",
        role: DemoRole::Delegation(DelegationRole::Viewer),
    },
];

/// What loading did.
#[derive(Debug, Clone)]
pub struct DemoOutcome {
    pub already_loaded: bool,
    pub summary: String,
}

/// Loads the demo history unless it is already there.
pub async fn load(plan: &ConnectionPlan) -> anyhow::Result<DemoOutcome> {
    let framework = Framework::from_json(PLEDGE_FRAMEWORK).map_err(|problems| {
        anyhow::anyhow!("the demo framework fixture is invalid: {problems:?}")
    })?;
    let mut conn = plan.owner_connection().await?;
    let mut tx = conn.begin().await?;
    crate::storage::set_scope(&mut tx, &crate::storage::Scope::System).await?;
    if already_loaded(&mut tx, &framework.family, Some(&framework.version)).await? {
        return Ok(DemoOutcome {
            already_loaded: true,
            summary: String::new(),
        });
    }

    let participants: Vec<(Uuid, String)> =
        sqlx::query("SELECT id, code FROM participants WHERE active ORDER BY code")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("code")?)))
            .collect::<Result<_, sqlx::Error>>()?;
    let delegation = participants
        .iter()
        .find(|(_, code)| code == DEMO_DELEGATION)
        .map(|(id, _)| *id)
        .context("the demo delegation's participant is missing")?;

    let user_ids = create_users(&mut tx, delegation).await?;
    let stored = frameworks::insert(&mut tx, &framework).await?;
    let counts = history::write(
        &mut tx,
        &framework,
        &stored,
        &participants,
        &history::Actors {
            admin: user_ids[0],
            analyst: user_ids[1],
            head: user_ids[2],
            contributor: user_ids[3],
        },
    )
    .await?;
    let summary = format!(
        "{} participants, {} cycles, {} answers, {} snapshots, {} national goals, {} users",
        participants.len(),
        counts.cycles,
        counts.answers,
        counts.snapshots,
        counts.national_goals,
        user_ids.len()
    );
    audit::append(
        &mut tx,
        &NewEntry::new(
            Actor::Cli,
            "demo.load",
            serde_json::json!({
                "participants": participants.len(),
                "cycles": counts.cycles,
                "answers": counts.answers,
                "snapshots": counts.snapshots,
                "national_goals": counts.national_goals,
                "users": user_ids.len(),
            }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(DemoOutcome {
        already_loaded: false,
        summary,
    })
}

pub(crate) async fn create_users(
    conn: &mut sqlx::PgConnection,
    delegation: Uuid,
) -> anyhow::Result<Vec<Uuid>> {
    // One hash for all demo accounts: they share the password, and each hash costs 19 MiB.
    let hash = password::hash(DEMO_PASSWORD.to_owned()).await?;
    let mut ids = Vec::with_capacity(DEMO_USERS.len());
    for user in &DEMO_USERS {
        let role = match user.role {
            DemoRole::Admin => Role::Admin,
            DemoRole::Analyst => Role::Analyst,
            DemoRole::Delegation(role) => Role::Delegation {
                participant_id: delegation,
                role,
            },
        };
        let new = NewUser {
            email: user.email.to_owned(),
            display_name: user.name.to_owned(),
            password_hash: hash.clone(),
            must_change_password: false,
            role,
        };
        ids.push(users::insert(conn, &new).await?);
    }
    Ok(ids)
}

/// Locks the frameworks against a second loader and says whether the demo framework (a family,
/// or one version of it) is there already. Two loaders at once: the second waits on the lock
/// and then finds the data present.
pub(crate) async fn already_loaded(
    tx: &mut sqlx::PgConnection,
    family: &str,
    version: Option<&str>,
) -> Result<bool, sqlx::Error> {
    sqlx::query("LOCK TABLE frameworks IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM frameworks
                        WHERE family = $1 AND ($2::text IS NULL OR version = $2))",
    )
    .bind(family)
    .bind(version)
    .fetch_one(&mut *tx)
    .await
}
