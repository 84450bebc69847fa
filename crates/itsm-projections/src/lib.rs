//! `itsm-projections`: the read side of Ledgerdesk. Pure folds of ledger envelopes into the
//! in-memory read models the desk queries, plus ticket views and SLA what-if computed on read.
//!
//! - [`ReadModels`]: every in-memory model behind one ledger position. The runner ([`runner`])
//!   feeds it each envelope with [`ReadModels::apply_envelope`] (envelopes at or below
//!   [`ReadModels::position`] are ignored, so replays are idempotent), snapshots it with
//!   [`ReadModels::encode_snapshot`] (framed and chunked through `itsm_eventstore::codec`, see
//!   [`snapshot`]), and replays a fresh copy from the nearest snapshot for as-of
//!   queries. It holds [`Queues`] (work queues with a documented urgency score), [`SlaDashboard`]
//!   (incremental counters per local day x service x priority x group), [`ChangeCalendar`]
//!   (slots, freeze windows, collisions; feeds `other_changes` of Schedule commands),
//!   [`KnownErrors`] (the known-error database with word search) and [`AuditIndex`] (positions
//!   by actor, event type, stream kind and time).
//! - [`views`]: incident, problem and change detail views with a full timeline, folded from one
//!   stream's envelopes on every read (`as_of` a position or a time folds a prefix).
//! - [`what_if`]: a proposed SLA policy evaluated over the incidents of a past period.
//! - [`event`]: one envelope decoded into its aggregate's event by the stream name
//!   ([`decode`]); streams no aggregate owns decode to `None`.
//!
//! # What it must not do
//!
//! - Depend on the shell (`itsm-app`), the gateway or any I/O: no async, no files, no clock
//!   reads in the read models; `now` is always an argument. (Only the lead's [`runner`] module
//!   touches the store and tokio.)
//! - Decide anything: business rules live in the deciders; a read model records facts and
//!   answers questions. `apply` never fails; a payload that does not decode is reported, counted
//!   as applied, and skipped.
//!
//! # Key decisions
//!
//! - **Ticket views are folded on read, not kept.** A view is the aggregate's own `evolve` over
//!   its stream plus a timeline, so it can never drift from what the decider saw, "as of" is
//!   free, and memory holds only what lists and dashboards need.
//! - **The queue score** (seconds, lower first; see [`queues`]):
//!   `(due - now) + PRIORITY_OFFSET[p] - 2 * min(customer waiting, 5 days) + 30 days if on hold`
//!   with `due` the earliest running first-response/resolution due (or a per-priority fallback)
//!   and offsets 0, 15 min, 30 min, 1 h, 2 h for P1..P5.
//! - **Memory layout**: group, agent, service and user ids are interned to `u32`, times are `i64`
//!   seconds, no descriptions or comments are kept; dashboards are counters, not ticket lists.
//!   At 100 000 open incidents `Queues` + `SlaDashboard` estimate about 410 heap bytes per
//!   ticket (snapshot about 100 bytes); a resolved or closed incident keeps about 255 bytes (a
//!   parked queue record, so a reopen restores it, and its dashboard record, for late ratings and
//!   reopens). `approximate_heap_bytes` on each model gives the figure for benches. The audit
//!   index costs 40 bytes per envelope.

pub mod audit;
pub mod change_calendar;
pub mod dashboard;
mod error;
pub mod event;
mod intern;
pub mod known_errors;
pub mod models;
pub mod projection;
pub mod queues;
pub mod runner;
pub mod snapshot;
pub mod views;
pub mod what_if;

pub use audit::{AuditFilter, AuditIndex};
pub use change_calendar::{
    CalendarChange, CalendarFreeze, CalendarRange, ChangeCalendar, Collision,
};
pub use dashboard::{
    DashboardFilter, DashboardRow, DashboardStats, GroupBy, GroupKey, Period, SlaDashboard,
};
pub use error::ProjectionError;
pub use event::{LedgerEvent, StreamFamily, StreamKind, decode};
pub use known_errors::{KnownError, KnownErrors};
pub use models::ReadModels;
pub use projection::Projection;
pub use queues::{Page, QueueCursor, QueueFilter, QueueItem, QueueSelector, QueueStatus, Queues};
pub use runner::{ProjectionRunner, RunnerConfig, RunnerError, RunnerStats, rebuild};
