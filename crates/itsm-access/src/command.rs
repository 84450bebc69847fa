//! What admins (and the bootstrap automation) ask of the token table.

use std::fmt;

use chrono::{DateTime, Utc};
use itsm_kernel::{Name, Role, UserId};
use serde::{Deserialize, Serialize};

/// The one stream of the access aggregate.
pub const STREAM: &str = "access";

/// The automation allowed to issue the first admin token, while no token is in force.
pub const BOOTSTRAP: &str = "bootstrap";

/// Longest revocation reason, in characters.
pub const MAX_REASON_LEN: usize = 2_000;

/// The BLAKE3 hash of a bearer token: the only form in which a token is ever stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for byte in self.0 {
            hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        hex
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({})", self.to_hex())
    }
}

/// A command to the access aggregate (stream [`STREAM`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccessCommand {
    /// Issues a token named `name` for `user` acting as `role`. The shell made the secret and
    /// passes only its hash.
    Issue {
        name: Name,
        user: UserId,
        role: Role,
        token_hash: TokenHash,
        /// `None`: valid until revoked. Must lie in the future.
        expires_at: Option<DateTime<Utc>>,
    },
    /// Withdraws the token named `name` for good.
    Revoke { name: Name, reason: String },
}

impl AccessCommand {
    /// The command's name, for error messages.
    pub const fn name(&self) -> &'static str {
        match self {
            AccessCommand::Issue { .. } => "IssueToken",
            AccessCommand::Revoke { .. } => "RevokeToken",
        }
    }
}
