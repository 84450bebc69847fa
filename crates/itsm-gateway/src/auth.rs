//! Who is calling: bearer tokens resolved to a [`Principal`], and the role check every resolver
//! makes through [`require`].
//!
//! Tokens live in the ledger (stream `access`, decider `itsm_access::Access`) as BLAKE3 hashes
//! only. [`Tokens`] is the gateway's table of them: loaded at start, kept current by a follower
//! task on `subscribe_all` (see [`Tokens::follow`]), and, for a token it does not know, brought
//! up to date from the stream's tail at most once per request and only when the ledger moved
//! (so a token issued by another writer a moment ago works, while a flood of forged tokens costs
//! no reads). Secrets are made by [`new_secret`] from `/dev/urandom` (the gateway is a shell
//! crate, I/O is allowed here; no extra dependency needed) and are shown once, never logged.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, PoisonError, RwLock};

use async_graphql::Context;
use chrono::{DateTime, Utc};
use itsm_access::{Access, AccessCommand, AccessError, AccessEvent, BOOTSTRAP, TokenHash};
use itsm_app::{AppError, CommandBus, CommandResult};
use itsm_eventstore::{Envelope, EventStore, StoreError, StreamId, Subscription, codec};
use itsm_kernel::{Actor, Name, Role, UserId};

use crate::error::ApiError;
use crate::roles::{self, Access as RoleAccess};

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

/// The ledger stream of the access aggregate.
pub fn access_stream() -> StreamId {
    // Proven infallible: a short fixed ASCII name.
    StreamId::new(itsm_access::STREAM).expect("the access stream name is valid")
}

/// The automation that may issue the first admin token while no token is in force.
pub fn bootstrap_actor() -> Actor {
    Actor::automation(BOOTSTRAP)
}

/// One known token.
#[derive(Debug, Clone)]
struct Entry {
    principal: Principal,
    /// The stored hash again, as a `blake3::Hash`, whose `==` is constant-time.
    hash: blake3::Hash,
    expires_at: Option<DateTime<Utc>>,
    revoked: bool,
}

/// What a presented hash is.
enum Lookup {
    Valid(Principal),
    /// Known, but revoked or expired.
    Refused,
    Unknown,
}

#[derive(Debug, Default)]
struct Table {
    by_hash: HashMap<[u8; 32], Entry>,
    /// Ledger tokens by name, for revocations.
    by_name: HashMap<Name, [u8; 32]>,
    /// Version of the access stream applied so far.
    version: u64,
    /// Ledger head at the last catch-up: an unknown token triggers a read only past it.
    checked_head: u64,
}

/// Known tokens, by hash.
///
/// Lookup is by hash in a map, then the stored hash is compared to the presented one with
/// `blake3::Hash`'s constant-time equality. The map probe itself is not constant-time, which
/// is harmless: its timing depends on the BLAKE3 output of the guess, which an attacker cannot
/// steer towards a stored hash.
#[derive(Debug, Default)]
pub struct Tokens {
    table: RwLock<Table>,
}

impl Tokens {
    /// Adds a token outside the ledger, valid until the process ends (tests and development).
    pub fn insert(&self, hash: [u8; 32], principal: Principal) {
        self.write().by_hash.insert(
            hash,
            Entry {
                principal,
                hash: blake3::Hash::from(hash),
                expires_at: None,
                revoked: false,
            },
        );
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn lookup(&self, hash: &[u8; 32], now: DateTime<Utc>) -> Lookup {
        let table = self.read();
        let Some(entry) = table.by_hash.get(hash) else {
            return Lookup::Unknown;
        };
        if entry.hash != blake3::Hash::from(*hash) {
            return Lookup::Unknown;
        }
        if entry.revoked || entry.expires_at.is_some_and(|expiry| now >= expiry) {
            return Lookup::Refused;
        }
        Lookup::Valid(entry.principal.clone())
    }

    /// The principal of a presented token if this table knows it and it is in force at `now`
    /// (neither revoked nor expired). Reads nothing; see [`Tokens::authenticate`].
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Principal> {
        match self.lookup(&token_hash(token), now) {
            Lookup::Valid(principal) => Some(principal),
            Lookup::Refused | Lookup::Unknown => None,
        }
    }

    /// The principal of a token with hash `hash` at `now`. An unknown hash brings the table up
    /// to date from the access stream first, once, and only if the ledger moved since the last
    /// time.
    pub async fn authenticate<S: EventStore>(
        &self,
        store: &S,
        hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Option<Principal> {
        match self.lookup(hash, now) {
            Lookup::Valid(principal) => return Some(principal),
            Lookup::Refused => return None,
            Lookup::Unknown => {}
        }
        if store.head() == self.read().checked_head {
            return None;
        }
        if let Err(error) = self.catch_up(store).await {
            tracing::warn!(%error, "the token table could not catch up");
            return None;
        }
        match self.lookup(hash, now) {
            Lookup::Valid(principal) => Some(principal),
            Lookup::Refused | Lookup::Unknown => None,
        }
    }

    /// How many ledger tokens are in force at `now` (tokens added with [`Tokens::insert`] do
    /// not count). Zero on a fresh desk: time to bootstrap an admin token.
    pub fn in_force(&self, now: DateTime<Utc>) -> usize {
        let table = self.read();
        table
            .by_name
            .values()
            .filter_map(|hash| table.by_hash.get(hash))
            .filter(|entry| !entry.revoked && entry.expires_at.is_none_or(|expiry| now < expiry))
            .count()
    }

    /// Version of the access stream this table has applied.
    pub fn version(&self) -> u64 {
        self.read().version
    }

    /// Applies one envelope of the access stream if it is the next one; envelopes already
    /// applied (or of other streams) are ignored. Returns whether it was applied.
    pub fn apply(&self, envelope: &Envelope) -> Result<bool, StoreError> {
        if envelope.stream_id.as_str() != itsm_access::STREAM {
            return Ok(false);
        }
        let event: AccessEvent = codec::decode(&envelope.payload)?;
        let mut table = self.write();
        if envelope.version != table.version + 1 {
            return Ok(false);
        }
        table.version = envelope.version;
        match event {
            AccessEvent::Issued {
                name,
                user,
                role,
                token_hash: TokenHash(hash),
                expires_at,
                ..
            } => {
                let principal = Principal {
                    user,
                    role,
                    token_name: name.to_string(),
                };
                table.by_name.insert(name, hash);
                table.by_hash.insert(
                    hash,
                    Entry {
                        principal,
                        hash: blake3::Hash::from(hash),
                        expires_at,
                        revoked: false,
                    },
                );
            }
            AccessEvent::Revoked { name, .. } => {
                if let Some(hash) = table.by_name.get(&name).copied()
                    && let Some(entry) = table.by_hash.get_mut(&hash)
                {
                    entry.revoked = true;
                }
            }
        }
        Ok(true)
    }

    /// Reads the access stream past the version applied and applies it.
    pub async fn catch_up<S: EventStore>(&self, store: &S) -> Result<(), StoreError> {
        let head = store.head();
        let from = self.version() + 1;
        let envelopes = store.read_stream(&access_stream(), from).await?;
        for envelope in &envelopes {
            self.apply(envelope)?;
        }
        let mut table = self.write();
        table.checked_head = table.checked_head.max(head);
        Ok(())
    }

    /// Follows the ledger from `subscription` and applies every access envelope, until the
    /// store closes. Subscribe before the first [`Tokens::catch_up`] so nothing falls between.
    pub fn follow<S: EventStore>(
        self: &Arc<Self>,
        store: Arc<S>,
        mut subscription: Subscription,
    ) -> tokio::task::JoinHandle<()> {
        let tokens = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                match subscription.next().await {
                    Ok(envelope) => {
                        if envelope.stream_id.as_str() != itsm_access::STREAM {
                            continue;
                        }
                        let applied = tokens.apply(&envelope);
                        // Not the next version (a gap cannot happen, but be sure): read the tail.
                        if !matches!(applied, Ok(true))
                            && envelope.version > tokens.version()
                            && let Err(error) = tokens.catch_up(&*store).await
                        {
                            tracing::error!(%error, "the token table could not catch up");
                        }
                    }
                    Err(StoreError::Closed) => return,
                    Err(error) => {
                        tracing::error!(%error, "the token follower stopped");
                        return;
                    }
                }
            }
        })
    }
}

/// 32 random bytes from the operating system, as 64 lowercase hex characters: a new secret.
pub fn new_secret() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(|error| ApiError::Internal(format!("no randomness from /dev/urandom: {error}")))?;
    Ok(itsm_access::TokenHash(bytes).to_hex())
}

/// What an admin asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub user: String,
    pub role: Role,
    /// `None`: until revoked.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A token just issued: the secret is shown this once and stored nowhere.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub secret: String,
    pub name: Name,
    pub user: UserId,
    pub role: Role,
    pub expires_at: Option<DateTime<Utc>>,
    /// Ledger position of the `TokenIssued` event.
    pub position: u64,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl From<AppError<AccessError>> for ApiError {
    fn from(error: AppError<AccessError>) -> Self {
        match error {
            AppError::Domain(error) => {
                let message = error.to_string();
                match error {
                    AccessError::NotPermitted { .. } => ApiError::Forbidden(message),
                    AccessError::UnknownToken { .. } => ApiError::NotFound(message),
                    AccessError::Validation(_) | AccessError::ExpiryInPast { .. } => {
                        ApiError::Validation(message)
                    }
                    AccessError::DuplicateName { .. }
                    | AccessError::DuplicateHash
                    | AccessError::AlreadyRevoked { .. } => ApiError::Conflict(message),
                }
            }
            AppError::Store(error) => error.into(),
            error @ AppError::TooMuchContention { .. } => ApiError::Conflict(error.to_string()),
            error @ (AppError::Decode { .. } | AppError::Encode(_)) => {
                ApiError::Internal(error.to_string())
            }
        }
    }
}

fn parse_id<T, E: std::fmt::Display>(
    field: &str,
    text: &str,
    parse: impl FnOnce(String) -> Result<T, E>,
) -> Result<T, ApiError> {
    parse(text.to_owned()).map_err(|error| ApiError::Validation(format!("{field}: {error}")))
}

/// Issues a token through the ledger as `by` (an admin, or [`bootstrap_actor`] for the first
/// admin token) and returns its secret, to be shown once. Used by the `issueToken` mutation and
/// the CLI. A gateway learns of it by its follower (or at the token's first use); call
/// [`Tokens::catch_up`] to make it usable at once.
pub async fn issue_token<S: EventStore>(
    bus: &CommandBus<S>,
    new: NewToken,
    by: &Actor,
) -> Result<IssuedToken, ApiError> {
    let name = parse_id("name", &new.name, Name::new)?;
    let user = parse_id("user", &new.user, UserId::new)?;
    let secret = new_secret()?;
    let command = AccessCommand::Issue {
        name: name.clone(),
        user: user.clone(),
        role: new.role,
        token_hash: TokenHash(token_hash(&secret)),
        expires_at: new.expires_at,
    };
    let result = bus
        .execute::<Access>(&access_stream(), &command, by)
        .await?;
    tracing::info!(token = %name, role = %new.role, by = %by, "token issued");
    Ok(IssuedToken {
        secret,
        name,
        user,
        role: new.role,
        expires_at: new.expires_at,
        position: result.position,
    })
}

/// Revokes the token named `name` as `by` (an admin).
pub async fn revoke_token<S: EventStore>(
    bus: &CommandBus<S>,
    name: &str,
    reason: String,
    by: &Actor,
) -> Result<CommandResult, ApiError> {
    let name = parse_id("name", name, Name::new)?;
    let command = AccessCommand::Revoke {
        name: name.clone(),
        reason,
    };
    let result = bus
        .execute::<Access>(&access_stream(), &command, by)
        .await?;
    tracing::info!(token = %name, by = %by, "token revoked");
    Ok(result)
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
) -> Result<(&'a Principal, RoleAccess), ApiError> {
    let principal = principal(ctx)?;
    match roles::access(principal.role, operation) {
        RoleAccess::No => Err(ApiError::Forbidden(format!(
            "the {} role may not call {operation}",
            principal.role
        ))),
        access => Ok((principal, access)),
    }
}
