//! The problem aggregate: `PRB-<n>`, from logging through investigation, root cause and known
//! error to resolution and closure.
//!
//! Lifecycle: `Logged -> UnderInvestigation -> KnownError -> Resolved -> Closed`; `Cancel` from
//! any open status, `Reopen` from `Resolved` (back to `KnownError` if a workaround exists, else to
//! `UnderInvestigation`). Documenting a workaround is what makes a problem a known error and
//! publishes it to the known-error database; there is no separate publish step. Resolving needs a
//! recorded root cause.
//!
//! Architecture invariant: pure domain code. No I/O, no clock, no randomness; it depends only on
//! `itsm-kernel`, never on another aggregate. The key is allocated by the shell and arrives in
//! [`ProblemCommand::Record`]; linked incidents and changes are plain keys, and whether a linked
//! incident is still open is the shell's question to the incident read model.
//!
//! Key decision: the events that matter to linked incidents (`ProblemWorkaroundDocumented`,
//! `ProblemResolved`, `ProblemCancelled`) carry the list of linked incidents, so the follow-up
//! process manager reacts to one event without loading the problem.

mod command;
mod decider;
mod error;
mod event;
mod state;

pub use command::{
    MAX_LINKED_INCIDENTS, MAX_REASON_LEN, MAX_TEXT_LEN, MAX_TITLE_LEN, ProblemCommand,
};
pub use decider::Problem;
pub use error::ProblemError;
pub use event::ProblemEvent;
pub use state::{ProblemRecord, ProblemState, ProblemStatus};
