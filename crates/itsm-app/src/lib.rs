//! `itsm-app`: the imperative shell around the pure deciders.
//!
//! [`CommandBus::execute`] is the one way events enter the ledger: it loads the aggregate's
//! stream, folds it into a state, runs the pure `decide`, encodes the new events with the
//! ledger's codec and appends them with the stream version it read. When another writer got
//! there first ([`StoreError::Conflict`]) it reloads and decides again, a bounded number of
//! times. Time and ids come from ports ([`Clock`], [`IdSource`]) so tests drive them by hand.
//!
//! # What it must not do
//!
//! - Hold business rules: those live in the deciders; the shell only looks things up and puts
//!   them into commands.
//! - Append without an expected version: every append is `Exact(version read)`, so a decision is
//!   never made on a stale state.
//!
//! # Key decision
//!
//! A command id is made once per `execute` call and reused on every retry and in the stored
//! metadata, so a client that repeats a request after a timeout (same command id) gets the first
//! result back from the store instead of a second copy of the events.

mod bus;
mod cache;
pub mod desk;
mod port;
pub mod process;
pub mod stream;

pub use bus::{
    AppError, CommandBus, CommandOptions, CommandResult, Loaded, MAX_ATTEMPTS, actor_label,
    decode_events,
};
pub use cache::DEFAULT_CACHE_CAPACITY;
pub use desk::{Desk, DeskError};
pub use port::{Clock, IdSource, ManualClock, PortFuture, SystemClock, UuidV7Ids, derived_id};
pub use process::{ProcessConfig, ProcessHandle, ProcessManagers, ProcessStatus};
pub use stream::StreamKind;
