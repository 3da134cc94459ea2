//! The authorization policy: what each role may do, in one place a reader can audit.
//!
//! Handlers ask `principal.require(Permission::…)` before acting; storage enforces the same rules
//! again with row-level security (migrations/0007_row_level_security.sql).

use uuid::Uuid;

use super::{Credential, Principal};
use crate::domain::role::{DelegationRole, Role};

/// Something a user may or may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Create users, change roles and memberships, disable, reset passwords, end sessions.
    ManageUsers,
    /// Read the audit log.
    ReadAuditLog,
    /// Define framework versions, their mappings, participants and cycles (the secretariat).
    ManageCatalogue,
    /// Accept or return submissions, and allow a late submission (the secretariat).
    ReviewSubmissions,
    /// Raise a clarification request on an answer (analysts and admins).
    RaiseClarification,
    /// Compare participants: a cycle's heat map, ranking, distributions and movers (analysts
    /// and admins; delegations see only the anonymous distribution, in their own report).
    CompareParticipants,
    /// Change one's own password, second factor and API tokens. Only from a browser session:
    /// a token never mints tokens or changes the credentials of its owner.
    ManageOwnCredentials,
    /// Read one participant's own records (national goals, assessment states, snapshots).
    ReadParticipant(Uuid),
    /// Read one participant's assessment and its answers: staff always, the delegation always,
    /// analysts once it is submitted (they never read drafts).
    ReadAssessment { participant: Uuid, submitted: bool },
    /// Edit one participant's draft answers and national goals.
    EditParticipant(Uuid),
    /// Submit one participant's assessment.
    SubmitForParticipant(Uuid),
    /// Run one delegation's team: invite members, change them between contributor and viewer,
    /// disable them, assign goals (its head; admins for every delegation).
    ManageTeam(Uuid),
}

impl Principal {
    /// Whether this user may do it.
    pub fn may(&self, permission: Permission) -> bool {
        use DelegationRole::*;
        use Permission::*;
        match (permission, self.role) {
            (ManageUsers | ReadAuditLog | ManageCatalogue | ReviewSubmissions, Role::Admin) => true,
            (ManageUsers | ReadAuditLog | ManageCatalogue | ReviewSubmissions, _) => false,
            (ManageOwnCredentials, _) => matches!(self.credential, Credential::Session { .. }),
            (RaiseClarification | CompareParticipants, role) => {
                matches!(role, Role::Admin | Role::Analyst)
            }
            (ReadParticipant(_), Role::Admin | Role::Analyst) => true,
            (ReadParticipant(p), Role::Delegation { participant_id, .. }) => p == participant_id,
            (ReadAssessment { .. }, Role::Admin) => true,
            (ReadAssessment { submitted, .. }, Role::Analyst) => submitted,
            (ReadAssessment { participant, .. }, Role::Delegation { participant_id, .. }) => {
                participant == participant_id
            }
            (
                EditParticipant(p),
                Role::Delegation {
                    participant_id,
                    role: Head | Contributor,
                },
            ) => p == participant_id,
            (
                SubmitForParticipant(p),
                Role::Delegation {
                    participant_id,
                    role: Head,
                },
            ) => p == participant_id,
            (EditParticipant(_) | SubmitForParticipant(_), _) => false,
            (ManageTeam(_), Role::Admin) => true,
            (
                ManageTeam(p),
                Role::Delegation {
                    participant_id,
                    role: Head,
                },
            ) => p == participant_id,
            (ManageTeam(_), _) => false,
        }
    }

    /// `Ok` when permitted; the caller turns `Err` into 403.
    pub fn require(&self, permission: Permission) -> Result<(), Denied> {
        if self.may(permission) {
            Ok(())
        } else {
            tracing::warn!(user_id = %self.user_id, ?permission, "permission denied");
            Err(Denied)
        }
    }
}

/// A refused permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("permission denied")]
pub struct Denied;

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role) -> Principal {
        Principal {
            user_id: Uuid::new_v4(),
            email: "x@example.org".into(),
            display_name: "X".into(),
            role,
            credential: Credential::Session {
                id_hash: vec![],
                handle: Uuid::new_v4(),
                csrf_token: "t".into(),
            },
            must_change_password: false,
            second_factor_pending: false,
            has_second_factor: true,
            time_zone: "UTC".into(),
        }
    }

    #[test]
    fn roles_get_exactly_what_the_product_brief_gives_them() {
        let own = Uuid::new_v4();
        let other = Uuid::new_v4();
        let delegation = |role| Role::Delegation {
            participant_id: own,
            role,
        };
        let admin = principal(Role::Admin);
        let analyst = principal(Role::Analyst);
        let head = principal(delegation(DelegationRole::Head));
        let contributor = principal(delegation(DelegationRole::Contributor));
        let viewer = principal(delegation(DelegationRole::Viewer));

        assert!(admin.may(Permission::ManageUsers) && admin.may(Permission::ReadAuditLog));
        assert!(admin.may(Permission::ManageCatalogue));
        for p in [&analyst, &head, &contributor, &viewer] {
            assert!(!p.may(Permission::ManageUsers) && !p.may(Permission::ReadAuditLog));
            assert!(!p.may(Permission::ManageCatalogue));
        }
        assert!(analyst.may(Permission::ReadParticipant(other)));
        assert!(analyst.may(Permission::CompareParticipants));
        assert!(admin.may(Permission::CompareParticipants));
        for p in [&head, &contributor, &viewer] {
            assert!(
                !p.may(Permission::CompareParticipants),
                "delegations never compare"
            );
        }
        assert!(
            !analyst.may(Permission::ReadAssessment {
                participant: other,
                submitted: false
            }),
            "never drafts"
        );
        assert!(analyst.may(Permission::ReadAssessment {
            participant: other,
            submitted: true
        }));
        assert!(viewer.may(Permission::ReadAssessment {
            participant: own,
            submitted: false
        }));
        assert!(!viewer.may(Permission::ReadAssessment {
            participant: other,
            submitted: true
        }));
        assert!(!analyst.may(Permission::EditParticipant(other)));
        assert!(
            !admin.may(Permission::EditParticipant(own)),
            "admins review, they do not edit answers"
        );
        for p in [&head, &contributor, &viewer] {
            assert!(p.may(Permission::ReadParticipant(own)));
            assert!(!p.may(Permission::ReadParticipant(other)));
            assert!(!p.may(Permission::EditParticipant(other)));
        }
        assert!(contributor.may(Permission::EditParticipant(own)));
        assert!(!viewer.may(Permission::EditParticipant(own)));
        assert!(head.may(Permission::SubmitForParticipant(own)));
        assert!(!contributor.may(Permission::SubmitForParticipant(own)));
        assert!(head.may(Permission::ManageTeam(own)));
        assert!(
            !head.may(Permission::ManageTeam(other)),
            "never another delegation"
        );
        assert!(
            admin.may(Permission::ManageTeam(other)),
            "admins manage everyone"
        );
        for p in [&analyst, &contributor, &viewer] {
            assert!(!p.may(Permission::ManageTeam(own)));
        }
    }

    #[test]
    fn a_token_cannot_manage_its_owners_credentials() {
        let mut admin = principal(Role::Admin);
        assert!(admin.may(Permission::ManageOwnCredentials));
        admin.credential = Credential::Token { id: Uuid::new_v4() };
        assert!(!admin.may(Permission::ManageOwnCredentials));
        assert!(
            admin.may(Permission::ManageUsers),
            "otherwise a token acts as its owner"
        );
    }
}
