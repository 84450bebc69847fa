//! The state of one change, folded from its events.

use std::fmt;

use chrono::{DateTime, Utc};
use itsm_kernel::{ChangeKey, Impact, ServiceId, UserId};
use serde::{Deserialize, Serialize};

use crate::{Authorization, ChangeEvent, ChangeType, Likelihood, ReviewOutcome, Risk, Vote};

/// Where a change is in its lifecycle.
///
/// `Draft -> Submitted -> Assessed -> Authorized | Rejected -> Scheduled -> Implementing ->
/// Implemented | Failed -> Reviewed -> Closed`, and `Cancelled` from any status before
/// `Implementing`. A standard change goes `Submitted -> Authorized` without assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    Draft,
    Submitted,
    Assessed,
    Authorized,
    Rejected,
    Scheduled,
    Implementing,
    Implemented,
    Failed,
    Reviewed,
    Closed,
    Cancelled,
}

impl Status {
    /// Final statuses accept no command at all.
    pub const fn is_final(self) -> bool {
        match self {
            Status::Rejected | Status::Closed | Status::Cancelled => true,
            Status::Draft
            | Status::Submitted
            | Status::Assessed
            | Status::Authorized
            | Status::Scheduled
            | Status::Implementing
            | Status::Implemented
            | Status::Failed
            | Status::Reviewed => false,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Assessed => "assessed",
            Status::Authorized => "authorized",
            Status::Rejected => "rejected",
            Status::Scheduled => "scheduled",
            Status::Implementing => "implementing",
            Status::Implemented => "implemented",
            Status::Failed => "failed",
            Status::Reviewed => "reviewed",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recorded CAB vote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CabVote {
    pub approver: UserId,
    pub vote: Vote,
}

/// The planned implementation slot `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// A change that has been raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    pub key: ChangeKey,
    pub change_type: ChangeType,
    pub title: String,
    pub description: String,
    pub service: ServiceId,
    pub impact: Impact,
    pub likelihood: Likelihood,
    /// Provisional from raising, then the assessed risk.
    pub risk: Risk,
    pub implementation_plan: String,
    pub backout_plan: String,
    pub requested_by: UserId,
    pub status: Status,
    /// The (emergency) CAB named by the assessment; empty before it and for standard changes.
    pub cab: Vec<UserId>,
    pub required_approvals: u8,
    pub votes: Vec<CabVote>,
    pub authorization: Option<Authorization>,
    pub slot: Option<Slot>,
    pub backout_performed: Option<bool>,
    pub review: Option<ReviewOutcome>,
}

impl ChangeRecord {
    /// How many CAB members voted to approve.
    pub fn approvals(&self) -> usize {
        self.votes
            .iter()
            .filter(|v| matches!(v.vote, Vote::Approve))
            .count()
    }

    pub fn has_voted(&self, approver: &UserId) -> bool {
        self.votes.iter().any(|v| &v.approver == approver)
    }
}

/// The aggregate's state: nothing before `Raised`, a [`ChangeRecord`] after.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeState {
    record: Option<ChangeRecord>,
}

impl ChangeState {
    pub fn record(&self) -> Option<&ChangeRecord> {
        self.record.as_ref()
    }

    pub fn status(&self) -> Option<Status> {
        self.record.as_ref().map(|r| r.status)
    }

    /// Folds one event in. Records facts only: every rule was checked by `decide`. An event other
    /// than `Raised` on a change that was never raised leaves the state as it is.
    pub(crate) fn apply(mut self, event: &ChangeEvent) -> Self {
        if let ChangeEvent::Raised {
            key,
            change_type,
            title,
            description,
            service,
            impact,
            likelihood,
            risk,
            implementation_plan,
            backout_plan,
            requested_by,
            by: _,
            at: _,
        } = event
        {
            self.record = Some(ChangeRecord {
                key: *key,
                change_type: change_type.clone(),
                title: title.clone(),
                description: description.clone(),
                service: service.clone(),
                impact: *impact,
                likelihood: *likelihood,
                risk: *risk,
                implementation_plan: implementation_plan.clone(),
                backout_plan: backout_plan.clone(),
                requested_by: requested_by.clone(),
                status: Status::Draft,
                cab: Vec::new(),
                required_approvals: 0,
                votes: Vec::new(),
                authorization: None,
                slot: None,
                backout_performed: None,
                review: None,
            });
            return self;
        }
        if let Some(record) = self.record.as_mut() {
            record.apply(event);
        }
        self
    }
}

impl ChangeRecord {
    fn apply(&mut self, event: &ChangeEvent) {
        match event {
            // Handled by `ChangeState::apply`; a second `Raised` cannot be decided.
            ChangeEvent::Raised { .. } => {}
            ChangeEvent::Submitted { .. } => self.status = Status::Submitted,
            ChangeEvent::Assessed {
                impact,
                likelihood,
                risk,
                cab,
                required_approvals,
                ..
            } => {
                self.impact = *impact;
                self.likelihood = *likelihood;
                self.risk = *risk;
                self.cab.clone_from(cab);
                self.required_approvals = *required_approvals;
                self.status = Status::Assessed;
            }
            ChangeEvent::ApprovalRecorded { approver, vote, .. } => self.votes.push(CabVote {
                approver: approver.clone(),
                vote: *vote,
            }),
            ChangeEvent::Authorized { basis, .. } => {
                self.authorization = Some(basis.clone());
                self.status = Status::Authorized;
            }
            ChangeEvent::Rejected { .. } => self.status = Status::Rejected,
            ChangeEvent::Scheduled { from, to, .. } | ChangeEvent::Rescheduled { from, to, .. } => {
                self.slot = Some(Slot {
                    from: *from,
                    to: *to,
                });
                self.status = Status::Scheduled;
            }
            ChangeEvent::ImplementationStarted { .. } => self.status = Status::Implementing,
            ChangeEvent::Implemented { .. } => self.status = Status::Implemented,
            ChangeEvent::Failed {
                backout_performed, ..
            } => {
                self.backout_performed = Some(*backout_performed);
                self.status = Status::Failed;
            }
            ChangeEvent::Reviewed { outcome, .. } => {
                self.review = Some(*outcome);
                self.status = Status::Reviewed;
            }
            ChangeEvent::Closed { .. } => self.status = Status::Closed,
            ChangeEvent::Cancelled { .. } => self.status = Status::Cancelled,
        }
    }
}
