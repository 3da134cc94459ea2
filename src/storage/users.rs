//! Users and their delegation membership.

use sqlx::PgConnection;
use uuid::Uuid;

/// What a user is in the product: a secretariat admin, an analyst, or a member of one
/// participant's delegation with a delegation role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Analyst,
    Delegation {
        participant_id: Uuid,
        role: DelegationRole,
    },
}

/// A delegation member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelegationRole {
    Head,
    Contributor,
    Viewer,
}

impl DelegationRole {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Head => "head",
            Self::Contributor => "contributor",
            Self::Viewer => "viewer",
        }
    }
}

/// A user to create. The password arrives hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub role: Role,
}

/// Creates a user (and the membership, for a delegation member) in the caller's transaction.
pub async fn insert(conn: &mut PgConnection, user: &NewUser) -> Result<Uuid, sqlx::Error> {
    let role = match user.role {
        Role::Admin => "admin",
        Role::Analyst => "analyst",
        Role::Delegation { .. } => "delegation",
    };
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO users (email, display_name, password_hash, must_change_password, role)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&user.email)
    .bind(&user.display_name)
    .bind(&user.password_hash)
    .bind(user.must_change_password)
    .bind(role)
    .fetch_one(&mut *conn)
    .await?;
    if let Role::Delegation {
        participant_id,
        role,
    } = user.role
    {
        sqlx::query(
            "INSERT INTO delegation_memberships (user_id, participant_id, delegation_role)
             VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(participant_id)
        .bind(role.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}
