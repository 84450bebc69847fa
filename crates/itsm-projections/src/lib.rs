//! `itsm-projections`: the in-memory read models of Ledgerdesk, folded from ledger envelopes.
//!
//! (Crate documentation is being written; see docs/arch-projections.md.)

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
