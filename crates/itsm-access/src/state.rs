//! What the token table knows after folding its events.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use itsm_kernel::{Actor, Name, Role, UserId};

use crate::TokenHash;

/// One issued token (revoked or not). The secret itself is never known here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub name: Name,
    pub user: UserId,
    pub role: Role,
    pub token_hash: TokenHash,
    pub expires_at: Option<DateTime<Utc>>,
    pub issued_by: Actor,
    pub issued_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    /// Neither revoked nor expired at `now` (a token is valid strictly before its expiry).
    pub fn is_in_force(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

/// Every token ever issued, by name, and the hashes in use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessState {
    pub tokens: BTreeMap<Name, TokenRecord>,
    /// Hashes of every token ever issued: a hash is never reused, even after a revocation.
    pub hashes: BTreeSet<TokenHash>,
}

impl AccessState {
    pub fn token(&self, name: &Name) -> Option<&TokenRecord> {
        self.tokens.get(name)
    }

    /// The tokens in force at `now`.
    pub fn in_force(&self, now: DateTime<Utc>) -> impl Iterator<Item = &TokenRecord> {
        self.tokens
            .values()
            .filter(move |token| token.is_in_force(now))
    }
}
