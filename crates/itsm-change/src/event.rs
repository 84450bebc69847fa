//! Change events: the facts of a change's life, as stored in the ledger.

use chrono::{DateTime, Utc};
use itsm_kernel::{Actor, ChangeKey, Impact, Name, PersistedEvent, ServiceId, UserId};
use serde::{Deserialize, Serialize};

use crate::{Likelihood, Risk};

/// How a change is authorized.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChangeType {
    /// A pre-approved, low-risk change made from a named template: authorized on submission,
    /// no assessment and no CAB.
    Standard { template: Name },
    /// Assessed by a change manager, then authorized by a quorum of the CAB named in the
    /// assessment.
    Normal,
    /// Expedited: assessed and authorized by an emergency CAB (quorum may be 1) and allowed to
    /// be scheduled inside freeze windows.
    Emergency,
}

impl ChangeType {
    pub fn is_emergency(&self) -> bool {
        matches!(self, ChangeType::Emergency)
    }
}

/// A CAB member's vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Vote {
    Approve,
    Reject,
}

/// Why a change was authorized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Authorization {
    /// A standard change: its template is the approval.
    PreApproved { template: Name },
    /// A normal change: these CAB members approved, reaching the quorum.
    Cab { approvers: Vec<UserId> },
    /// An emergency change: these emergency CAB members approved, reaching the quorum.
    EmergencyCab { approvers: Vec<UserId> },
}

/// Why a change was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rejection {
    /// A CAB member voted to reject: one reject vote rejects the change.
    Vetoed { approver: UserId },
    /// The change manager declined the change.
    Declined { reason: String },
}

/// The verdict of the post-implementation review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReviewOutcome {
    /// The change met its objectives without incident.
    Successful,
    /// The change met its objectives, but with issues worth learning from.
    SuccessfulWithIssues,
    /// The change did not meet its objectives.
    Unsuccessful,
}

/// Everything that can happen to a change. Every variant carries the change key, who caused it
/// (`by`) and when (`at`), so that read models never need to parse stream ids or envelopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeEvent {
    /// The change was raised as a draft. `risk` is the provisional risk from impact x likelihood.
    Raised {
        key: ChangeKey,
        change_type: ChangeType,
        title: String,
        description: String,
        service: ServiceId,
        impact: Impact,
        likelihood: Likelihood,
        risk: Risk,
        implementation_plan: String,
        backout_plan: String,
        requested_by: UserId,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// The draft was submitted for authorization.
    Submitted {
        key: ChangeKey,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// A change manager assessed the risk and named the (emergency) CAB and its quorum.
    Assessed {
        key: ChangeKey,
        impact: Impact,
        likelihood: Likelihood,
        risk: Risk,
        notes: String,
        cab: Vec<UserId>,
        required_approvals: u8,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// A CAB member voted. `by` is who recorded it: the member or a change manager.
    ApprovalRecorded {
        key: ChangeKey,
        approver: UserId,
        vote: Vote,
        comment: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// The change may now be scheduled.
    Authorized {
        key: ChangeKey,
        basis: Authorization,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// The change will not be made. Final.
    Rejected {
        key: ChangeKey,
        reason: Rejection,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// The change was put on the calendar for `[from, to)`. `collisions` lists other changes on
    /// the same service whose slots overlap (a warning, not a refusal); `freeze_overrides` lists
    /// the freeze windows an emergency change was scheduled into.
    Scheduled {
        key: ChangeKey,
        service: ServiceId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        collisions: Vec<ChangeKey>,
        freeze_overrides: Vec<Name>,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// The change was moved from `[previous_from, previous_to)` to `[from, to)`; the warnings
    /// are those of the new slot.
    Rescheduled {
        key: ChangeKey,
        service: ServiceId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        previous_from: DateTime<Utc>,
        previous_to: DateTime<Utc>,
        collisions: Vec<ChangeKey>,
        freeze_overrides: Vec<Name>,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// Implementation began.
    ImplementationStarted {
        key: ChangeKey,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// Implementation finished successfully.
    Implemented {
        key: ChangeKey,
        notes: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// Implementation failed; whether the backout plan was carried out is recorded.
    Failed {
        key: ChangeKey,
        backout_performed: bool,
        notes: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// The post-implementation review was done.
    Reviewed {
        key: ChangeKey,
        outcome: ReviewOutcome,
        notes: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// The change is closed. Final.
    Closed {
        key: ChangeKey,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// The change was withdrawn before implementation. Final.
    Cancelled {
        key: ChangeKey,
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
}

impl ChangeEvent {
    /// Every persisted event name of this aggregate, in declaration order.
    pub const EVENT_TYPES: [&'static str; 14] = [
        "ChangeRaised",
        "ChangeSubmitted",
        "ChangeAssessed",
        "ChangeApprovalRecorded",
        "ChangeAuthorized",
        "ChangeRejected",
        "ChangeScheduled",
        "ChangeRescheduled",
        "ChangeImplementationStarted",
        "ChangeImplemented",
        "ChangeFailed",
        "ChangeReviewed",
        "ChangeClosed",
        "ChangeCancelled",
    ];

    /// The change the event belongs to.
    pub fn key(&self) -> ChangeKey {
        match self {
            ChangeEvent::Raised { key, .. }
            | ChangeEvent::Submitted { key, .. }
            | ChangeEvent::Assessed { key, .. }
            | ChangeEvent::ApprovalRecorded { key, .. }
            | ChangeEvent::Authorized { key, .. }
            | ChangeEvent::Rejected { key, .. }
            | ChangeEvent::Scheduled { key, .. }
            | ChangeEvent::Rescheduled { key, .. }
            | ChangeEvent::ImplementationStarted { key, .. }
            | ChangeEvent::Implemented { key, .. }
            | ChangeEvent::Failed { key, .. }
            | ChangeEvent::Reviewed { key, .. }
            | ChangeEvent::Closed { key, .. }
            | ChangeEvent::Cancelled { key, .. } => *key,
        }
    }
}

impl PersistedEvent for ChangeEvent {
    fn event_type(&self) -> &'static str {
        match self {
            ChangeEvent::Raised { .. } => "ChangeRaised",
            ChangeEvent::Submitted { .. } => "ChangeSubmitted",
            ChangeEvent::Assessed { .. } => "ChangeAssessed",
            ChangeEvent::ApprovalRecorded { .. } => "ChangeApprovalRecorded",
            ChangeEvent::Authorized { .. } => "ChangeAuthorized",
            ChangeEvent::Rejected { .. } => "ChangeRejected",
            ChangeEvent::Scheduled { .. } => "ChangeScheduled",
            ChangeEvent::Rescheduled { .. } => "ChangeRescheduled",
            ChangeEvent::ImplementationStarted { .. } => "ChangeImplementationStarted",
            ChangeEvent::Implemented { .. } => "ChangeImplemented",
            ChangeEvent::Failed { .. } => "ChangeFailed",
            ChangeEvent::Reviewed { .. } => "ChangeReviewed",
            ChangeEvent::Closed { .. } => "ChangeClosed",
            ChangeEvent::Cancelled { .. } => "ChangeCancelled",
        }
    }

    fn schema_version(&self) -> u16 {
        match self {
            ChangeEvent::Raised { .. }
            | ChangeEvent::Submitted { .. }
            | ChangeEvent::Assessed { .. }
            | ChangeEvent::ApprovalRecorded { .. }
            | ChangeEvent::Authorized { .. }
            | ChangeEvent::Rejected { .. }
            | ChangeEvent::Scheduled { .. }
            | ChangeEvent::Rescheduled { .. }
            | ChangeEvent::ImplementationStarted { .. }
            | ChangeEvent::Implemented { .. }
            | ChangeEvent::Failed { .. }
            | ChangeEvent::Reviewed { .. }
            | ChangeEvent::Closed { .. }
            | ChangeEvent::Cancelled { .. } => 1,
        }
    }
}
