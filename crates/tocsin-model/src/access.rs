//! People and what they may do: roles, permissions, user ids.
//!
//! A role is a bundle of [`Permission`]s, fixed here so that the console,
//! the API, the command line and the tests read the same table. What data a
//! person sees is a separate question, answered by their [`crate::Scope`]:
//! an agency contact holds the same read permission as an analyst, over
//! their agency's subtree only.

use crate::named_enum;

named_enum! {
    /// What a person does at the center (or at an agency).
    Role {
        /// Runs Tocsin: users, inventory, everything an analyst does.
        Admin => "admin",
        /// The SOC's analysts: triage and handle alerts, operate inputs.
        Analyst => "analyst",
        /// The center's and the department's leadership: read-only
        /// dashboards, alerts and reports of the whole province.
        Leader => "leader",
        /// An agency's IT contact: their agency and its descendants only.
        AgencyContact => "agency_contact",
        /// Reads everything and the audit log; changes nothing.
        Auditor => "auditor",
    }
}

named_enum! {
    /// One thing a route or a command needs. Each route of the console and
    /// the API names the one it needs; [`Role::may`] decides.
    Permission {
        /// Read agency-owned data (agencies, assets, alerts, events), as far
        /// as the caller's scope reaches, and the dashboard.
        Read => "read",
        /// Change an alert (acknowledge, close…).
        Triage => "triage",
        /// See how the center's own machinery runs: inputs, dead letters,
        /// metrics, rules.
        Operate => "operate",
        /// Replay dead letters and change the inventory.
        Administer => "administer",
        /// Create, change and disable users.
        ManageUsers => "manage_users",
        /// Read and export the audit log.
        Audit => "audit",
    }
}

impl Role {
    /// Whether this role holds `p`.
    pub fn may(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Analyst => matches!(p, Read | Triage | Operate),
            Role::Leader => matches!(p, Read),
            Role::AgencyContact => matches!(p, Read),
            Role::Auditor => matches!(p, Read | Operate | Audit),
        }
    }

    /// Whether this role's scope is one agency's subtree (it must be bound
    /// to an agency) rather than the province.
    pub fn is_agency_bound(self) -> bool {
        self == Role::AgencyContact
    }

    /// Whether every permission of `other` is also this role's: a person
    /// may hand a token a role no stronger than their own.
    pub fn covers(self, other: Role) -> bool {
        Permission::ALL
            .iter()
            .all(|p| !other.may(*p) || self.may(*p))
    }
}

/// A user's number in the store.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct UserId(pub i64);

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Who made a change, as the audit log records it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Actor {
    /// A user name, or the tool that acted (`cli`, `demo`, `pipeline`).
    pub name: String,
    /// The user, when a person acted.
    pub user: Option<UserId>,
    /// The address the request came from, when it came over the network.
    pub address: Option<std::net::IpAddr>,
}

impl Actor {
    /// A tool of the center acting on its own (`cli`, `demo`).
    pub fn system(name: &str) -> Actor {
        Actor {
            name: name.to_string(),
            user: None,
            address: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_administrator_manages_users_and_only_auditors_and_admins_read_the_audit() {
        for r in Role::ALL {
            assert_eq!(r.may(Permission::ManageUsers), *r == Role::Admin, "{r}");
            assert_eq!(
                r.may(Permission::Audit),
                matches!(r, Role::Admin | Role::Auditor),
                "{r}"
            );
            assert!(r.may(Permission::Read), "{r}");
        }
        assert!(!Role::Leader.may(Permission::Triage));
        assert!(!Role::AgencyContact.may(Permission::Operate));
        assert!(!Role::Auditor.may(Permission::Triage));
    }

    #[test]
    fn a_role_covers_itself_and_weaker_ones_only() {
        assert!(Role::Admin.covers(Role::Analyst));
        assert!(Role::Analyst.covers(Role::Leader));
        assert!(!Role::Analyst.covers(Role::Auditor));
        assert!(!Role::Leader.covers(Role::Analyst));
        for r in Role::ALL {
            assert!(r.covers(*r));
        }
    }

    #[test]
    fn roles_read_as_written_and_refuse_typos() {
        assert_eq!(
            "agency_contact".parse::<Role>().unwrap(),
            Role::AgencyContact
        );
        assert!("admn".parse::<Role>().is_err());
    }
}
