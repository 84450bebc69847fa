//! The shared vocabulary of the Ledgerdesk domain.
//!
//! Every aggregate crate speaks in these terms: ids, who acts ([`Actor`], [`Role`]), how urgent
//! something is ([`Impact`], [`Urgency`], [`Priority`]), the [`Decider`] trait that every aggregate
//! implements, the [`text`] rules for free-text inputs, and the [`Spec`] harness its tests are
//! written in.
//!
//! Architecture invariant: this crate does no I/O, reads no clock and makes no random ids. Time,
//! actor and ids arrive from the shell inside a [`Context`] or a command; that is what keeps every
//! decision replayable.
//!
//! Key decision: the decider is two pure functions (`decide`, `evolve`) over an explicit state, not
//! an object with methods, so the shell can cache states, replay history and test decisions
//! without any storage.

mod actor;
mod decider;
mod id;
mod priority;
pub mod spec;
pub mod text;

pub use actor::{Actor, Role};
pub use decider::{Context, Decider, PersistedEvent};
pub use id::{
    ChangeKey, GroupId, IdError, IncidentKey, KeyError, Name, ProblemKey, ServiceId, UserId,
};
pub use priority::{CustomerTier, Impact, Priority, Urgency};
pub use spec::Spec;
pub use text::TextError;
