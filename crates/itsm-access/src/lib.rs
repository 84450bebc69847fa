//! The access aggregate: who holds a bearer token for the desk, with which role, until when.
//!
//! One stream, `access`, holds every token's history: `TokenIssued` when an admin (or, for the
//! very first admin token, the `bootstrap` automation) issues one, `TokenRevoked` when an admin
//! withdraws it. The gateway folds the stream into its token table at start and follows it, so
//! a token issued or revoked through GraphQL or the CLI takes effect without a restart.
//!
//! Architecture invariant: pure domain code. No I/O, no clock, no randomness; it depends only on
//! `itsm-kernel`. The secret is made and hashed by the shell: only its BLAKE3 hash
//! ([`TokenHash`]) ever reaches a command, an event or the ledger.
//!
//! Key decision: ONE stream for all tokens. Token names and hashes must be unique across all
//! tokens and "is there any token in force?" decides whether bootstrapping is allowed; one
//! consistent state answers both without sagas, and issuing tokens is rare.

mod command;
mod decider;
mod error;
mod event;
mod state;

pub use command::{AccessCommand, BOOTSTRAP, MAX_REASON_LEN, STREAM, TokenHash};
pub use decider::Access;
pub use error::AccessError;
pub use event::AccessEvent;
pub use state::{AccessState, TokenRecord};
