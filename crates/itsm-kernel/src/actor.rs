//! Who does something: a person with a role, or an automation acting on the desk's behalf.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::UserId;

/// What a person may do. The gateway maps roles to permissions; the domain uses them only
/// where a business rule names a role (for example, only the requester rates an incident).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    Requester,
    Agent,
    ChangeManager,
    ServiceManager,
    Auditor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Requester,
        Role::Agent,
        Role::ChangeManager,
        Role::ServiceManager,
        Role::Auditor,
        Role::Admin,
    ];

    /// The stable lowercase name used in tokens, logs and the role table.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Requester => "requester",
            Role::Agent => "agent",
            Role::ChangeManager => "change_manager",
            Role::ServiceManager => "service_manager",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who caused an event. Recorded with every event so the audit log can say which user or which
/// automation (process manager, rule) did it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Actor {
    User {
        id: UserId,
        role: Role,
    },
    /// A process manager such as `sla-timer` or `auto-close`.
    Automation {
        name: String,
    },
}

impl Actor {
    pub fn user(id: UserId, role: Role) -> Self {
        Actor::User { id, role }
    }

    pub fn automation(name: impl Into<String>) -> Self {
        Actor::Automation { name: name.into() }
    }

    pub fn user_id(&self) -> Option<&UserId> {
        match self {
            Actor::User { id, .. } => Some(id),
            Actor::Automation { .. } => None,
        }
    }

    pub fn role(&self) -> Option<Role> {
        match self {
            Actor::User { role, .. } => Some(*role),
            Actor::Automation { .. } => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User { id, role } => write!(f, "{id} ({role})"),
            Actor::Automation { name } => write!(f, "automation:{name}"),
        }
    }
}
