//! What a user is in the product (PRODUCT.md §2).

use uuid::Uuid;

/// A delegation member's role.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DelegationRole {
    /// The Ally's focal point: submits, manages national goals and members.
    Head,
    /// Edits the draft answers and national goals.
    Contributor,
    /// Reads the Ally's own data.
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

    /// Reads the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "head" => Some(Self::Head),
            "contributor" => Some(Self::Contributor),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }
}

/// A user's role: secretariat admin, analyst, or member of one participant's delegation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Analyst,
    Delegation {
        participant_id: Uuid,
        role: DelegationRole,
    },
}

impl Role {
    /// The `users.role` value.
    pub fn kind(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Delegation { .. } => "delegation",
        }
    }

    /// A short name for people and logs: admin, analyst, head, contributor or viewer.
    pub fn label(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Delegation { role, .. } => role.as_str(),
        }
    }

    /// Rebuilds the role from its stored parts.
    pub fn from_parts(
        kind: &str,
        participant_id: Option<Uuid>,
        delegation_role: Option<&str>,
    ) -> Option<Self> {
        match (
            kind,
            participant_id,
            delegation_role.and_then(DelegationRole::parse),
        ) {
            ("admin", _, _) => Some(Role::Admin),
            ("analyst", _, _) => Some(Role::Analyst),
            ("delegation", Some(participant_id), Some(role)) => Some(Role::Delegation {
                participant_id,
                role,
            }),
            _ => None,
        }
    }

    /// The participant whose delegation this is, for delegation members.
    pub fn participant(&self) -> Option<Uuid> {
        match self {
            Role::Delegation { participant_id, .. } => Some(*participant_id),
            _ => None,
        }
    }
}
