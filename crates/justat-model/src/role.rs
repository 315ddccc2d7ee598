//! Roles and the one table that says which role may do what.
//!
//! Every permission check of the application goes through [`Role::allows`]: templates and
//! handlers never compare role names themselves.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// What an account is for. An account has exactly one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A statistician of the service: deliveries, chains, tables, drafts.
    Statistician,
    /// The head of the service: approves publications, dates and embargo lists.
    HeadOfService,
    /// A person listed to see one frozen publication before its release.
    EmbargoRecipient,
    /// The Autorité de la statistique publique: reads embargo lists and access logs.
    Asp,
    /// A steering user of a ministry administration: reads the dashboards granted to them.
    Administration,
    /// Manages accounts and reads the audit log.
    Admin,
}

/// Something an account may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Enter the back office at all.
    EnterBackOffice,
    /// Read the audit log.
    ReadAuditLog,
    /// Create, disable accounts, change their role, reset their password.
    ManageAccounts,
    /// Deliver extracts, run chains, read their reports, manifests and cubes.
    Produce,
    /// Read, in the embargo room, the releases one is listed on.
    ReadUnderEmbargo,
    /// Read the embargo lists, their approvals and access logs (and export them for the ASP).
    ReadEmbargoLists,
    /// Read the steering dashboards of the administration one's account belongs to.
    ReadDashboards,
    /// Edit the year's work programme: operations, the Cnis's opinions and the responses.
    EditProgramme,
    /// Read the survey campaigns' follow-up: statuses, rates, answers, edits, paradata.
    FollowSurveys,
    /// Act on surveys: edit answers, settle a unit's status, close, impute, validate.
    ManageSurveys,
}

impl Role {
    /// Every role, in the order the back office lists them.
    pub const ALL: [Role; 6] = [
        Role::Statistician,
        Role::HeadOfService,
        Role::EmbargoRecipient,
        Role::Asp,
        Role::Administration,
        Role::Admin,
    ];

    /// The stable identifier stored in the database and used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Statistician => "statistician",
            Role::HeadOfService => "head_of_service",
            Role::EmbargoRecipient => "embargo_recipient",
            Role::Asp => "asp",
            Role::Administration => "administration",
            Role::Admin => "admin",
        }
    }

    /// The French label shown to users.
    pub fn label_fr(self) -> &'static str {
        match self {
            Role::Statistician => "Statisticien·ne",
            Role::HeadOfService => "Chef·fe de service",
            Role::EmbargoRecipient => "Destinataire sous embargo",
            Role::Asp => "Autorité de la statistique publique",
            Role::Administration => "Administration (pilotage)",
            Role::Admin => "Administrateur·rice",
        }
    }

    /// Whether this role may do `permission`. This is the only place that decides it.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match permission {
            // Every role has some back-office page (the embargo room, the steering
            // dashboards and the ASP's reading room all live under /admin).
            EnterBackOffice => true,
            ReadAuditLog => matches!(self, Admin | Asp),
            ManageAccounts => matches!(self, Admin),
            Produce => matches!(self, Statistician | HeadOfService),
            ReadUnderEmbargo => matches!(self, EmbargoRecipient),
            ReadEmbargoLists => matches!(self, Statistician | HeadOfService | Asp),
            ReadDashboards => matches!(self, Administration),
            EditProgramme => matches!(self, HeadOfService),
            FollowSurveys => matches!(self, Statistician | HeadOfService | Admin),
            ManageSurveys => matches!(self, Statistician | HeadOfService),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role `{found}`; expected one of: statistician, head_of_service, embargo_recipient, asp, administration, admin"
)]
pub struct UnknownRole {
    /// What was given.
    pub found: String,
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole {
                found: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn permission_table_is_exactly_as_specified() {
        let expected = |role: Role, p: Permission| match p {
            Permission::EnterBackOffice => true,
            Permission::ReadAuditLog => role == Role::Admin || role == Role::Asp,
            Permission::ManageAccounts => role == Role::Admin,
            Permission::Produce => role == Role::Statistician || role == Role::HeadOfService,
            Permission::ReadUnderEmbargo => role == Role::EmbargoRecipient,
            Permission::ReadEmbargoLists => {
                role == Role::Statistician || role == Role::HeadOfService || role == Role::Asp
            }
            Permission::ReadDashboards => role == Role::Administration,
            Permission::EditProgramme => role == Role::HeadOfService,
            Permission::FollowSurveys => {
                role == Role::Statistician || role == Role::HeadOfService || role == Role::Admin
            }
            Permission::ManageSurveys => role == Role::Statistician || role == Role::HeadOfService,
        };
        for role in Role::ALL {
            for p in [
                Permission::EnterBackOffice,
                Permission::ReadAuditLog,
                Permission::ManageAccounts,
                Permission::Produce,
                Permission::ReadUnderEmbargo,
                Permission::ReadEmbargoLists,
                Permission::ReadDashboards,
                Permission::EditProgramme,
                Permission::FollowSurveys,
                Permission::ManageSurveys,
            ] {
                assert_eq!(role.allows(p), expected(role, p), "{role} {p:?}");
            }
        }
    }

    #[test]
    fn statistician_cannot_read_the_audit_log() {
        assert!(!Role::Statistician.allows(Permission::ReadAuditLog));
        assert!(!Role::HeadOfService.allows(Permission::ManageAccounts));
    }
}
