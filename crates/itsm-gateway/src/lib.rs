//! `itsm-gateway`: the GraphQL gateway (async-graphql 7.2 on axum 0.8).
//!
//! One endpoint for frontends and integrations: mutations (one per domain command, sent through
//! `itsm_app::Desk`), queries over the read models (`itsm_projections`) and the ledger, and
//! subscriptions over websocket. Build the router with [`app`] and test it with
//! `tower::ServiceExt::oneshot`, no socket needed.
//!
//! # What it must not do
//!
//! - Hold business rules: resolvers parse input, check the role table, call the desk or read a
//!   model, and shape the answer.
//! - Leak internals: every error leaves as a message with `extensions.code`; internal details
//!   go to the log only.
//! - Let domain types derive GraphQL traits: GraphQL types live here and map onto domain types.
//!
//! # Key decisions
//!
//! - Who may call what is one markdown table, docs/ROLES.md, compiled in (`roles`); the tests
//!   read the same file, so the documentation cannot drift from the code.
//! - Mutations answer with the view folded from the ticket's own stream plus the ledger
//!   `position`; queries take `atLeast: Position` to wait (bounded) for the read models to reach
//!   a write, so clients read their own writes without giving up CQRS.
//! - Bearer tokens are ledger facts (`itsm_access`, stream `access`, BLAKE3 hashes only): the
//!   token table is restored at start and follows the ledger, so tokens issued or revoked by
//!   GraphQL or the CLI take effect at once. Limits (body size, depth, complexity, per-token
//!   rate) refuse with a coded GraphQL error before anything is executed; see `server`.

mod auth;
mod documents;
mod error;
mod limits;
mod metrics;
mod mutation;
mod query;
pub mod roles;
mod scalar;
mod schema;
mod server;
mod state;
mod subscription;
mod types;

pub use auth::{
    IssuedToken, NewToken, Principal, Tokens, access_stream, bootstrap_actor, issue_token,
    new_secret, revoke_token, token_hash,
};
pub use error::ApiError;
pub use limits::RateLimiter;
pub use metrics::{Gauges, Metrics, Outcome};
pub use schema::{DeskSchema, build_schema, sdl};
pub use server::{app, serve};
pub use state::{AppState, Limits, Running, TokenFollower};
