//! The incident aggregate: an interruption of a service, from logging to closure.
//!
//! An incident (`INC-<n>`) moves `New -> Assigned -> InProgress <-> OnHold -> Resolved ->
//! Closed`; it can be reopened from resolved or closed and cancelled while open. A cancelled
//! incident accepts nothing, a closed one nothing but a reopen. Around the lifecycle: priority
//! from impact x urgency, assignment and functional/hierarchical escalation, comments,
//! attachment references, links to problems and changes, major incidents and their children,
//! satisfaction ratings, and several SLA clocks at once (first response, resolution, one OLA
//! clock per assignment group).
//!
//! Architecture invariant: pure. No I/O, no clock reads, no randomness, no other aggregate.
//! Time and actor come in the [`Context`](itsm_kernel::Context); the key, the SLA policy with
//! its calendar and any fact about other records come inside the command.
//!
//! Key decision: SLA deadlines are never stored as the truth. Clock events record their terms
//! (target, policy revision, calendar) and their pauses; the due time is computed from them with
//! `itsm-sla`, and each event also carries the computed due for readers. A priority or policy
//! change re-targets a clock with a new event instead of overwriting anything, so
//! [`explain_clock`] can show every step.

mod command;
mod decider;
mod error;
mod event;
mod explain;
mod state;

pub use command::{
    Attachment, Channel, Escalation, IncidentCommand, LinkTarget, LogIncident, ProblemUpdate,
    ResolutionCode, Visibility,
};
pub use decider::Incident;
pub use error::{Field, IncidentError};
pub use event::{ClockTerms, IncidentEvent, StopReason};
pub use explain::explain_clock;
pub use state::{
    ClockState, Comment, IncidentState, LoggedIncident, NotedProblemUpdate, Rating, Resolution,
    Status,
};
