//! Who is calling: bearer tokens resolved to a [`Principal`], and the role check every resolver
//! makes through [`require`].

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use async_graphql::Context;
use itsm_kernel::{Actor, Role, UserId};

use crate::error::ApiError;
use crate::roles::{self, Access};

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: UserId,
    pub role: Role,
    /// The name of the token used (for the log; never the token itself).
    pub token_name: String,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor::user(self.user.clone(), self.role)
    }
}

/// The BLAKE3 hash of a token: the only form in which tokens are kept.
pub fn token_hash(token: &str) -> [u8; 32] {
    *blake3::hash(token.as_bytes()).as_bytes()
}

/// Known tokens, by hash.
#[derive(Debug, Default)]
pub struct Tokens {
    by_hash: RwLock<HashMap<[u8; 32], Principal>>,
}

impl Tokens {
    pub fn insert(&self, hash: [u8; 32], principal: Principal) {
        self.by_hash
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(hash, principal);
    }

    /// The principal of a presented token, if it is known.
    pub fn verify(&self, token: &str) -> Option<Principal> {
        let hash = token_hash(token);
        self.by_hash
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&hash)
            .cloned()
    }
}

/// The caller of this request, or `UNAUTHENTICATED`.
pub fn principal<'a>(ctx: &'a Context<'_>) -> Result<&'a Principal, ApiError> {
    ctx.data_opt::<Principal>().ok_or(ApiError::Unauthenticated)
}

/// Checks the role table for `operation`: the caller and whether they are limited to their own
/// tickets (`Access::Own`), or `UNAUTHENTICATED` / `FORBIDDEN`.
pub fn require<'a>(
    ctx: &'a Context<'_>,
    operation: &str,
) -> Result<(&'a Principal, Access), ApiError> {
    let principal = principal(ctx)?;
    match roles::access(principal.role, operation) {
        Access::No => Err(ApiError::Forbidden(format!(
            "the {} role may not call {operation}",
            principal.role
        ))),
        access => Ok((principal, access)),
    }
}
