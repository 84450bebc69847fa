//! `itsm-app`: the imperative shell around the pure deciders.
//!
//! - [`CommandBus`] is the one way events enter the ledger: it loads the aggregate's stream
//!   (a cached state plus the stream's tail), runs the pure `decide`, encodes the new events
//!   with the ledger's codec and appends them with the stream version it read. When another
//!   writer got there first ([`StoreError::Conflict`](itsm_eventstore::StoreError)) it drops
//!   the cached state, reloads and decides again, a bounded number of times.
//! - [`Desk`] is the application API for the gateway and the CLI: one method per domain
//!   command, doing the cross-aggregate lookups (SLA policy and OLA targets from the catalog,
//!   freeze windows, other scheduled changes via a [`desk::ChangeLookup`]) and mapping every
//!   failure to one [`DeskError`].
//! - [`process`] holds the process managers (SLA timers, auto-close, problem follow-up),
//!   started together by [`ProcessManagers::start`].
//! - Time and ids come from ports ([`Clock`], [`IdSource`]) so tests drive them by hand: a
//!   [`ManualClock`] wakes every [`Clock::sleep_until`] it moves past.
//!
//! # What it must not do
//!
//! - Hold business rules: those live in the deciders; the shell only looks things up and puts
//!   them into commands.
//! - Append without an expected version: every append is `Exact(version read)`, so a decision is
//!   never made on a stale state (a cached state is only ever behind, never wrong, and the tail
//!   read or the conflict brings it up to date).
//! - Read real time in process managers: deadlines wait on the [`Clock`] port.
//!
//! # Key decision
//!
//! Command ids are the idempotency key of the whole shell. A caller may give one
//! ([`CommandOptions`]); the bus reuses it on every retry, and the store answers a repeated id
//! with the first result and writes nothing. Process managers derive theirs from the facts
//! that triggered them (BLAKE3 of e.g. `sla-breach|incident-42|resolution|<due>`), so they can
//! rebuild their state from position 1 after a restart and re-send freely: nothing is lost
//! (the ledger is the source of truth) and nothing is written twice.

mod bus;
mod cache;
pub mod desk;
mod port;
pub mod process;
pub mod stream;

pub use bus::{
    AppError, CommandBus, CommandOptions, CommandResult, Loaded, MAX_ATTEMPTS, Written,
    actor_label, decode_events,
};
pub use cache::DEFAULT_CACHE_CAPACITY;
pub use desk::{Desk, DeskError};
pub use port::{Clock, IdSource, ManualClock, PortFuture, SystemClock, UuidV7Ids, derived_id};
pub use process::{ProcessConfig, ProcessHandle, ProcessManagers, ProcessStatus};
pub use stream::StreamKind;
