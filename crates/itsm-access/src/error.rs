//! Why the token table refuses a command.

use chrono::{DateTime, Utc};
use itsm_kernel::{Name, TextError};

/// Every way an access command can be refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("invalid input: {0}")]
    Validation(#[from] TextError),
    #[error("only an admin may {command}")]
    NotPermitted { command: &'static str },
    #[error("a token named {name} already exists")]
    DuplicateName { name: Name },
    #[error("a token with this hash already exists")]
    DuplicateHash,
    #[error("no token is named {name}")]
    UnknownToken { name: Name },
    #[error("token {name} is already revoked")]
    AlreadyRevoked { name: Name },
    #[error("the expiry {expires_at} is not in the future (now {now})")]
    ExpiryInPast {
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
}
