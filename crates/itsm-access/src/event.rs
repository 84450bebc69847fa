//! What happened to the token table.

use chrono::{DateTime, Utc};
use itsm_kernel::{Actor, Name, PersistedEvent, Role, UserId};
use serde::{Deserialize, Serialize};

use crate::TokenHash;

/// An event of the access aggregate. Every event carries the token's name, who did it and when.
///
/// The ledger stores the bincode encoding of this enum, which includes the variant's index:
/// new variants go at the end, existing ones are never reordered (the golden fixtures in
/// `tests/golden/` fail otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccessEvent {
    Issued {
        name: Name,
        user: UserId,
        role: Role,
        token_hash: TokenHash,
        expires_at: Option<DateTime<Utc>>,
        by: Actor,
        at: DateTime<Utc>,
    },
    Revoked {
        name: Name,
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
}

impl AccessEvent {
    /// Every persisted name of this enum, one per variant.
    pub const EVENT_TYPES: &'static [&'static str] = &["TokenIssued", "TokenRevoked"];

    /// The token the event is about.
    pub fn name(&self) -> &Name {
        match self {
            AccessEvent::Issued { name, .. } | AccessEvent::Revoked { name, .. } => name,
        }
    }
}

impl PersistedEvent for AccessEvent {
    fn event_type(&self) -> &'static str {
        match self {
            AccessEvent::Issued { .. } => "TokenIssued",
            AccessEvent::Revoked { .. } => "TokenRevoked",
        }
    }

    fn schema_version(&self) -> u16 {
        match self {
            AccessEvent::Issued { .. } | AccessEvent::Revoked { .. } => 1,
        }
    }
}
