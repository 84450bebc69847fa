//! What happened to a problem.

use chrono::{DateTime, Utc};
use itsm_kernel::{
    Actor, ChangeKey, GroupId, Impact, IncidentKey, PersistedEvent, Priority, ProblemKey,
    ServiceId, Urgency, UserId,
};
use serde::{Deserialize, Serialize};

use crate::ProblemStatus;

/// An event of the problem aggregate. Every event carries the problem's key, who did it and when.
///
/// The ledger stores the bincode encoding of this enum, which includes the variant's index:
/// new variants go at the end, existing ones are never reordered (the golden fixtures in
/// `tests/golden/` fail otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProblemEvent {
    Recorded {
        key: ProblemKey,
        title: String,
        description: String,
        service: ServiceId,
        impact: Impact,
        urgency: Urgency,
        /// From the ITIL matrix at the time of recording.
        priority: Priority,
        by: Actor,
        at: DateTime<Utc>,
    },
    InvestigationStarted {
        key: ProblemKey,
        group: GroupId,
        assignee: Option<UserId>,
        by: Actor,
        at: DateTime<Utc>,
    },
    Reassigned {
        key: ProblemKey,
        group: GroupId,
        assignee: Option<UserId>,
        by: Actor,
        at: DateTime<Utc>,
    },
    RootCauseRecorded {
        key: ProblemKey,
        root_cause: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// The problem is (still) a known error with this workaround, published to the known-error
    /// database. Carries what the known-error read model and the follow-up process manager need:
    /// the linked incidents (the shell sends the workaround to those still open).
    WorkaroundDocumented {
        key: ProblemKey,
        title: String,
        service: ServiceId,
        workaround: String,
        root_cause: Option<String>,
        linked_incidents: Vec<IncidentKey>,
        by: Actor,
        at: DateTime<Utc>,
    },
    IncidentLinked {
        key: ProblemKey,
        incident: IncidentKey,
        /// The published workaround, if the problem is a known error, so the shell can pass it
        /// to the newly linked incident.
        workaround: Option<String>,
        by: Actor,
        at: DateTime<Utc>,
    },
    IncidentUnlinked {
        key: ProblemKey,
        incident: IncidentKey,
        by: Actor,
        at: DateTime<Utc>,
    },
    FixChangeLinked {
        key: ProblemKey,
        change: ChangeKey,
        /// The fix change this one replaces.
        replaced: Option<ChangeKey>,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// The root cause is removed. The shell resolves or notifies the linked incidents still open.
    Resolved {
        key: ProblemKey,
        resolution: String,
        fix_change: Option<ChangeKey>,
        linked_incidents: Vec<IncidentKey>,
        by: Actor,
        at: DateTime<Utc>,
    },
    Closed {
        key: ProblemKey,
        by: Actor,
        at: DateTime<Utc>,
    },
    Reopened {
        key: ProblemKey,
        reason: String,
        /// Where the problem goes back to: `KnownError` if a workaround is documented, else
        /// `UnderInvestigation`.
        status: ProblemStatus,
        by: Actor,
        at: DateTime<Utc>,
    },
    Cancelled {
        key: ProblemKey,
        reason: String,
        linked_incidents: Vec<IncidentKey>,
        by: Actor,
        at: DateTime<Utc>,
    },
}

impl ProblemEvent {
    /// Every persisted name of this enum, one per variant.
    pub const EVENT_TYPES: &'static [&'static str] = &[
        "ProblemRecorded",
        "ProblemInvestigationStarted",
        "ProblemReassigned",
        "ProblemRootCauseRecorded",
        "ProblemWorkaroundDocumented",
        "ProblemIncidentLinked",
        "ProblemIncidentUnlinked",
        "ProblemFixChangeLinked",
        "ProblemResolved",
        "ProblemClosed",
        "ProblemReopened",
        "ProblemCancelled",
    ];

    /// The problem the event belongs to.
    pub fn key(&self) -> ProblemKey {
        match self {
            ProblemEvent::Recorded { key, .. }
            | ProblemEvent::InvestigationStarted { key, .. }
            | ProblemEvent::Reassigned { key, .. }
            | ProblemEvent::RootCauseRecorded { key, .. }
            | ProblemEvent::WorkaroundDocumented { key, .. }
            | ProblemEvent::IncidentLinked { key, .. }
            | ProblemEvent::IncidentUnlinked { key, .. }
            | ProblemEvent::FixChangeLinked { key, .. }
            | ProblemEvent::Resolved { key, .. }
            | ProblemEvent::Closed { key, .. }
            | ProblemEvent::Reopened { key, .. }
            | ProblemEvent::Cancelled { key, .. } => *key,
        }
    }
}

impl PersistedEvent for ProblemEvent {
    fn event_type(&self) -> &'static str {
        match self {
            ProblemEvent::Recorded { .. } => "ProblemRecorded",
            ProblemEvent::InvestigationStarted { .. } => "ProblemInvestigationStarted",
            ProblemEvent::Reassigned { .. } => "ProblemReassigned",
            ProblemEvent::RootCauseRecorded { .. } => "ProblemRootCauseRecorded",
            ProblemEvent::WorkaroundDocumented { .. } => "ProblemWorkaroundDocumented",
            ProblemEvent::IncidentLinked { .. } => "ProblemIncidentLinked",
            ProblemEvent::IncidentUnlinked { .. } => "ProblemIncidentUnlinked",
            ProblemEvent::FixChangeLinked { .. } => "ProblemFixChangeLinked",
            ProblemEvent::Resolved { .. } => "ProblemResolved",
            ProblemEvent::Closed { .. } => "ProblemClosed",
            ProblemEvent::Reopened { .. } => "ProblemReopened",
            ProblemEvent::Cancelled { .. } => "ProblemCancelled",
        }
    }

    fn schema_version(&self) -> u16 {
        match self {
            ProblemEvent::Recorded { .. }
            | ProblemEvent::InvestigationStarted { .. }
            | ProblemEvent::Reassigned { .. }
            | ProblemEvent::RootCauseRecorded { .. }
            | ProblemEvent::WorkaroundDocumented { .. }
            | ProblemEvent::IncidentLinked { .. }
            | ProblemEvent::IncidentUnlinked { .. }
            | ProblemEvent::FixChangeLinked { .. }
            | ProblemEvent::Resolved { .. }
            | ProblemEvent::Closed { .. }
            | ProblemEvent::Reopened { .. }
            | ProblemEvent::Cancelled { .. } => 1,
        }
    }
}
