//! What happened to an incident: the facts in its stream.
//!
//! Every variant has an explicit persisted name and schema version ([`PersistedEvent`]), pinned
//! by the golden fixtures in `tests/golden/`. Events carry what a read model needs without
//! looking anything up: who (`by`), when (`at`), and the computed due time of every clock step.

use chrono::{DateTime, TimeDelta, Utc};
use itsm_kernel::{
    Actor, CustomerTier, GroupId, Impact, IncidentKey, Name, PersistedEvent, Priority, ProblemKey,
    ServiceId, Urgency, UserId,
};
use itsm_sla::{AppliedSla, Calendar, ClockKind, HoldReason};
use serde::{Deserialize, Serialize};

use crate::command::{Attachment, Channel, LinkTarget, ProblemUpdate, ResolutionCode, Visibility};

/// The terms a clock runs under: its target and where it came from. Recorded when a clock
/// starts or is re-targeted, so its due time can be recomputed from the stream alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockTerms {
    /// Business time allowed.
    pub target: TimeDelta,
    /// Share of the target after which a warning is raised.
    pub warning_percent: u8,
    pub policy: Name,
    pub revision: u32,
    pub calendar_name: Name,
    pub calendar: Calendar,
}

/// Why a clock stopped without an [`IncidentEvent::SlaMet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StopReason {
    /// What the clock measures happened, after its deadline: the breach is recorded separately.
    CompletedLate,
    /// The incident was cancelled; the clock counts neither as met nor as breached.
    Cancelled,
}

/// Every fact of an incident's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IncidentEvent {
    Logged {
        key: IncidentKey,
        title: String,
        description: String,
        channel: Channel,
        requester: UserId,
        tier: CustomerTier,
        service: ServiceId,
        category: Name,
        impact: Impact,
        urgency: Urgency,
        priority: Priority,
        sla: AppliedSla,
        at: DateTime<Utc>,
        by: Actor,
    },
    Acknowledged {
        at: DateTime<Utc>,
        by: Actor,
    },
    /// The assignment after the change (both parts, so readers need no earlier event).
    Assigned {
        group: Option<GroupId>,
        agent: Option<UserId>,
        at: DateTime<Utc>,
        by: Actor,
    },
    WorkStarted {
        at: DateTime<Utc>,
        by: Actor,
    },
    PutOnHold {
        reason: HoldReason,
        at: DateTime<Utc>,
        by: Actor,
    },
    Resumed {
        at: DateTime<Utc>,
        by: Actor,
    },
    /// Moved to the next support tier; the agent is cleared, the new group picks it up.
    EscalatedFunctionally {
        from_group: Option<GroupId>,
        to_group: GroupId,
        /// 1 for the first functional escalation, 2 for the second, ...
        level: u8,
        reason: String,
        at: DateTime<Utc>,
        by: Actor,
    },
    EscalatedHierarchically {
        manager: UserId,
        reason: String,
        at: DateTime<Utc>,
        by: Actor,
    },
    Reprioritized {
        old_impact: Impact,
        old_urgency: Urgency,
        old_priority: Priority,
        impact: Impact,
        urgency: Urgency,
        priority: Priority,
        reason: String,
        sla: AppliedSla,
        at: DateTime<Utc>,
        by: Actor,
    },
    SlaChanged {
        sla: AppliedSla,
        reason: String,
        at: DateTime<Utc>,
        by: Actor,
    },
    Resolved {
        code: ResolutionCode,
        notes: String,
        at: DateTime<Utc>,
        by: Actor,
    },
    Closed {
        at: DateTime<Utc>,
        by: Actor,
    },
    Reopened {
        reason: String,
        at: DateTime<Utc>,
        by: Actor,
    },
    Cancelled {
        reason: String,
        at: DateTime<Utc>,
        by: Actor,
    },
    Commented {
        text: String,
        visibility: Visibility,
        at: DateTime<Utc>,
        by: Actor,
    },
    FileAttached {
        attachment: Attachment,
        at: DateTime<Utc>,
        by: Actor,
    },
    Linked {
        target: LinkTarget,
        at: DateTime<Utc>,
        by: Actor,
    },
    DeclaredMajor {
        reason: String,
        at: DateTime<Utc>,
        by: Actor,
    },
    LinkedToMajor {
        parent: IncidentKey,
        at: DateTime<Utc>,
        by: Actor,
    },
    Rated {
        score: u8,
        comment: String,
        at: DateTime<Utc>,
        by: Actor,
    },
    ProblemUpdateNoted {
        problem: ProblemKey,
        update: ProblemUpdate,
        at: DateTime<Utc>,
        by: Actor,
    },
    /// A clock starts counting at `at`.
    SlaClockStarted {
        clock: ClockKind,
        terms: ClockTerms,
        due: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    SlaClockPaused {
        clock: ClockKind,
        reason: HoldReason,
        at: DateTime<Utc>,
    },
    /// Counting again; `due` is the deadline moved by the paused business time.
    SlaClockResumed {
        clock: ClockKind,
        due: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// New terms apply from the clock's start; `due` is `None` while the clock is paused.
    SlaClockRetargeted {
        clock: ClockKind,
        old_target: TimeDelta,
        terms: ClockTerms,
        due: Option<DateTime<Utc>>,
        reason: String,
        at: DateTime<Utc>,
    },
    SlaWarningRaised {
        clock: ClockKind,
        due: DateTime<Utc>,
        at: DateTime<Utc>,
        by: Actor,
    },
    /// The deadline passed. The clock keeps running until what it measures happens.
    SlaBreached {
        clock: ClockKind,
        due: DateTime<Utc>,
        at: DateTime<Utc>,
        by: Actor,
    },
    /// What the clock measures happened in time; the clock stops.
    SlaMet {
        clock: ClockKind,
        due: DateTime<Utc>,
        /// Business time used (pauses excluded).
        elapsed: TimeDelta,
        at: DateTime<Utc>,
    },
    SlaClockStopped {
        clock: ClockKind,
        reason: StopReason,
        at: DateTime<Utc>,
    },
}

impl IncidentEvent {
    /// Every persisted name, in declaration order.
    pub const EVENT_TYPES: [&'static str; 29] = [
        "IncidentLogged",
        "IncidentAcknowledged",
        "IncidentAssigned",
        "IncidentWorkStarted",
        "IncidentPutOnHold",
        "IncidentResumed",
        "IncidentEscalatedFunctionally",
        "IncidentEscalatedHierarchically",
        "IncidentReprioritized",
        "IncidentSlaChanged",
        "IncidentResolved",
        "IncidentClosed",
        "IncidentReopened",
        "IncidentCancelled",
        "IncidentCommented",
        "IncidentFileAttached",
        "IncidentLinked",
        "IncidentDeclaredMajor",
        "IncidentLinkedToMajor",
        "IncidentRated",
        "IncidentProblemUpdateNoted",
        "IncidentSlaClockStarted",
        "IncidentSlaClockPaused",
        "IncidentSlaClockResumed",
        "IncidentSlaClockRetargeted",
        "IncidentSlaWarningRaised",
        "IncidentSlaBreached",
        "IncidentSlaMet",
        "IncidentSlaClockStopped",
    ];

    /// When it happened.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            IncidentEvent::Logged { at, .. }
            | IncidentEvent::Acknowledged { at, .. }
            | IncidentEvent::Assigned { at, .. }
            | IncidentEvent::WorkStarted { at, .. }
            | IncidentEvent::PutOnHold { at, .. }
            | IncidentEvent::Resumed { at, .. }
            | IncidentEvent::EscalatedFunctionally { at, .. }
            | IncidentEvent::EscalatedHierarchically { at, .. }
            | IncidentEvent::Reprioritized { at, .. }
            | IncidentEvent::SlaChanged { at, .. }
            | IncidentEvent::Resolved { at, .. }
            | IncidentEvent::Closed { at, .. }
            | IncidentEvent::Reopened { at, .. }
            | IncidentEvent::Cancelled { at, .. }
            | IncidentEvent::Commented { at, .. }
            | IncidentEvent::FileAttached { at, .. }
            | IncidentEvent::Linked { at, .. }
            | IncidentEvent::DeclaredMajor { at, .. }
            | IncidentEvent::LinkedToMajor { at, .. }
            | IncidentEvent::Rated { at, .. }
            | IncidentEvent::ProblemUpdateNoted { at, .. }
            | IncidentEvent::SlaClockStarted { at, .. }
            | IncidentEvent::SlaClockPaused { at, .. }
            | IncidentEvent::SlaClockResumed { at, .. }
            | IncidentEvent::SlaClockRetargeted { at, .. }
            | IncidentEvent::SlaWarningRaised { at, .. }
            | IncidentEvent::SlaBreached { at, .. }
            | IncidentEvent::SlaMet { at, .. }
            | IncidentEvent::SlaClockStopped { at, .. } => *at,
        }
    }

    /// The clock an SLA event is about; `None` for the other events.
    pub fn clock(&self) -> Option<&ClockKind> {
        match self {
            IncidentEvent::SlaClockStarted { clock, .. }
            | IncidentEvent::SlaClockPaused { clock, .. }
            | IncidentEvent::SlaClockResumed { clock, .. }
            | IncidentEvent::SlaClockRetargeted { clock, .. }
            | IncidentEvent::SlaWarningRaised { clock, .. }
            | IncidentEvent::SlaBreached { clock, .. }
            | IncidentEvent::SlaMet { clock, .. }
            | IncidentEvent::SlaClockStopped { clock, .. } => Some(clock),
            IncidentEvent::Logged { .. }
            | IncidentEvent::Acknowledged { .. }
            | IncidentEvent::Assigned { .. }
            | IncidentEvent::WorkStarted { .. }
            | IncidentEvent::PutOnHold { .. }
            | IncidentEvent::Resumed { .. }
            | IncidentEvent::EscalatedFunctionally { .. }
            | IncidentEvent::EscalatedHierarchically { .. }
            | IncidentEvent::Reprioritized { .. }
            | IncidentEvent::SlaChanged { .. }
            | IncidentEvent::Resolved { .. }
            | IncidentEvent::Closed { .. }
            | IncidentEvent::Reopened { .. }
            | IncidentEvent::Cancelled { .. }
            | IncidentEvent::Commented { .. }
            | IncidentEvent::FileAttached { .. }
            | IncidentEvent::Linked { .. }
            | IncidentEvent::DeclaredMajor { .. }
            | IncidentEvent::LinkedToMajor { .. }
            | IncidentEvent::Rated { .. }
            | IncidentEvent::ProblemUpdateNoted { .. } => None,
        }
    }
}

impl PersistedEvent for IncidentEvent {
    fn event_type(&self) -> &'static str {
        match self {
            IncidentEvent::Logged { .. } => "IncidentLogged",
            IncidentEvent::Acknowledged { .. } => "IncidentAcknowledged",
            IncidentEvent::Assigned { .. } => "IncidentAssigned",
            IncidentEvent::WorkStarted { .. } => "IncidentWorkStarted",
            IncidentEvent::PutOnHold { .. } => "IncidentPutOnHold",
            IncidentEvent::Resumed { .. } => "IncidentResumed",
            IncidentEvent::EscalatedFunctionally { .. } => "IncidentEscalatedFunctionally",
            IncidentEvent::EscalatedHierarchically { .. } => "IncidentEscalatedHierarchically",
            IncidentEvent::Reprioritized { .. } => "IncidentReprioritized",
            IncidentEvent::SlaChanged { .. } => "IncidentSlaChanged",
            IncidentEvent::Resolved { .. } => "IncidentResolved",
            IncidentEvent::Closed { .. } => "IncidentClosed",
            IncidentEvent::Reopened { .. } => "IncidentReopened",
            IncidentEvent::Cancelled { .. } => "IncidentCancelled",
            IncidentEvent::Commented { .. } => "IncidentCommented",
            IncidentEvent::FileAttached { .. } => "IncidentFileAttached",
            IncidentEvent::Linked { .. } => "IncidentLinked",
            IncidentEvent::DeclaredMajor { .. } => "IncidentDeclaredMajor",
            IncidentEvent::LinkedToMajor { .. } => "IncidentLinkedToMajor",
            IncidentEvent::Rated { .. } => "IncidentRated",
            IncidentEvent::ProblemUpdateNoted { .. } => "IncidentProblemUpdateNoted",
            IncidentEvent::SlaClockStarted { .. } => "IncidentSlaClockStarted",
            IncidentEvent::SlaClockPaused { .. } => "IncidentSlaClockPaused",
            IncidentEvent::SlaClockResumed { .. } => "IncidentSlaClockResumed",
            IncidentEvent::SlaClockRetargeted { .. } => "IncidentSlaClockRetargeted",
            IncidentEvent::SlaWarningRaised { .. } => "IncidentSlaWarningRaised",
            IncidentEvent::SlaBreached { .. } => "IncidentSlaBreached",
            IncidentEvent::SlaMet { .. } => "IncidentSlaMet",
            IncidentEvent::SlaClockStopped { .. } => "IncidentSlaClockStopped",
        }
    }

    fn schema_version(&self) -> u16 {
        // Every variant is at its first version; bump per variant with an upcaster.
        1
    }
}
