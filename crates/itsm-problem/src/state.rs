//! What a problem knows after folding its events.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use itsm_kernel::{
    Actor, ChangeKey, GroupId, Impact, IncidentKey, Priority, ProblemKey, ServiceId, Urgency,
    UserId,
};
use serde::{Deserialize, Serialize};

/// Where a problem is in its lifecycle:
/// `Logged -> UnderInvestigation -> KnownError -> Resolved -> Closed`, with `Cancelled` from any
/// open status and `Reopen` from `Resolved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProblemStatus {
    /// Recorded, nobody investigates yet.
    Logged,
    /// A group (and maybe an agent) looks for the root cause.
    UnderInvestigation,
    /// A workaround is documented and published in the known-error database.
    KnownError,
    /// The root cause is removed (usually by the linked fix change).
    Resolved,
    /// Final: nothing more happens.
    Closed,
    /// Final: not a problem after all (duplicate, not reproducible, ...).
    Cancelled,
}

impl ProblemStatus {
    /// Still being worked on: incidents may be linked and the record changed.
    pub const fn is_open(self) -> bool {
        match self {
            ProblemStatus::Logged
            | ProblemStatus::UnderInvestigation
            | ProblemStatus::KnownError => true,
            ProblemStatus::Resolved | ProblemStatus::Closed | ProblemStatus::Cancelled => false,
        }
    }

    /// No command is accepted any more.
    pub const fn is_final(self) -> bool {
        match self {
            ProblemStatus::Closed | ProblemStatus::Cancelled => true,
            ProblemStatus::Logged
            | ProblemStatus::UnderInvestigation
            | ProblemStatus::KnownError
            | ProblemStatus::Resolved => false,
        }
    }
}

/// A recorded problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemRecord {
    pub key: ProblemKey,
    pub title: String,
    pub description: String,
    pub service: ServiceId,
    pub impact: Impact,
    pub urgency: Urgency,
    pub priority: Priority,
    pub status: ProblemStatus,
    pub group: Option<GroupId>,
    pub assignee: Option<UserId>,
    pub root_cause: Option<String>,
    pub workaround: Option<String>,
    /// Linked incidents, ordered by key.
    pub linked_incidents: BTreeSet<IncidentKey>,
    pub fix_change: Option<ChangeKey>,
    pub resolution: Option<String>,
    pub recorded_by: Actor,
    pub recorded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The state of one problem stream: nothing before `Recorded`, then the record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProblemState {
    pub(crate) record: Option<ProblemRecord>,
}

impl ProblemState {
    /// The problem, once recorded.
    pub fn record(&self) -> Option<&ProblemRecord> {
        self.record.as_ref()
    }

    pub fn status(&self) -> Option<ProblemStatus> {
        self.record.as_ref().map(|record| record.status)
    }

    /// The incidents linked to this problem; the shell asks the incident read model which of
    /// them are still open.
    pub fn linked_incidents(&self) -> impl Iterator<Item = IncidentKey> + '_ {
        self.record
            .iter()
            .flat_map(|record| record.linked_incidents.iter().copied())
    }
}
