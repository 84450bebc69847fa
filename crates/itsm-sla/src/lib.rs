//! SLA math and vocabulary: business calendars (timezone, weekly working hours, holidays),
//! due-time and elapsed-time arithmetic over them, SLA policy types, and an explainable clock.
//!
//! Architecture invariant: pure functions over values. No I/O, no clock reads, no randomness;
//! the current instant is always an argument. Depends only on `itsm-kernel`, serde, thiserror,
//! chrono and chrono-tz.
//!
//! Key decision: a calendar is turned into a sequence of UTC working intervals, one local day at a
//! time, using the real UTC instants of each local start and end (a nonexistent local time maps
//! to the instant right after the DST gap, an ambiguous one to its earliest instant). Due and
//! elapsed times walk those intervals, never minutes, so they are exact across DST changes and
//! cheap enough to recompute on every replay.

mod business_time;
mod calendar;
pub mod clock;
mod error;
mod policy;

pub use business_time::{Pause, business_elapsed, due_at, due_at_with_pauses};
pub use calendar::{Calendar, MAX_HOLIDAYS, MAX_INTERVALS_PER_DAY, WeeklyHours, WorkingHours};
pub use clock::{Clock, ClockFact, ClockStatus, ClockStep, ClockStepKind, ClockTimeline};
pub use error::SlaError;
pub use policy::{
    AppliedSla, ClockKind, HoldReason, MAX_TARGET, SlaTargets, validate_target,
    validate_warning_percent,
};
