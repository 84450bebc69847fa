//! The change aggregate: standard, normal and emergency changes from raising to closure.
//!
//! A change (`CHG-<n>`) is raised as a draft, submitted, assessed by a change manager (risk from
//! impact x likelihood, see [`Risk::from_matrix`]), authorized by a CAB quorum (or at once, for a
//! standard change from a pre-approved template), scheduled, implemented or failed (with the
//! backout recorded), reviewed and closed; it can be cancelled before implementation starts.
//!
//! Architecture invariant: this crate is a pure [`Decider`](itsm_kernel::Decider). It does no
//! I/O, reads no clock and depends on no other aggregate or the catalog. Whatever it must know
//! about the world (freeze windows, the other scheduled changes of the service) the shell puts
//! into the command as [`FreezeWindow`]s and [`ScheduledChange`]s.
//!
//! Key decisions:
//! - Only the CAB members named by the assessment vote, each once; the requester may not sit on
//!   the CAB. A member records their own vote, or a change manager records it for them.
//! - One reject vote rejects the change (a veto); approvals authorize it once they reach the
//!   quorum (`required_approvals`, 1..=CAB size). An emergency CAB may have a quorum of 1.
//! - Scheduling inside a freeze window that applies to the service is refused, naming the
//!   window, unless the change is an emergency; then the window is recorded as overridden.
//!   Overlapping changes on the same service are allowed and listed as collisions in the event.
//! - Implementation may not start before the scheduled start.

mod command;
mod decider;
mod error;
mod event;
mod risk;
mod schedule;
mod state;

pub use command::{ChangeCommand, MAX_NOTE_LEN, MAX_TEXT_LEN, MAX_TITLE_LEN};
pub use decider::Change;
pub use error::ChangeError;
pub use event::{Authorization, ChangeEvent, ChangeType, Rejection, ReviewOutcome, Vote};
pub use risk::{Likelihood, Risk};
pub use schedule::{FreezeWindow, ScheduledChange, overlaps};
pub use state::{CabVote, ChangeRecord, ChangeState, Slot, Status};
