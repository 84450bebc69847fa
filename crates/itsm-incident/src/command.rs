//! What can be asked of an incident, and the value types commands and events share.
//!
//! Everything the decision needs from outside the incident's own history is in the command:
//! the key (allocated by the shell), the SLA policy and calendar in force ([`AppliedSla`],
//! looked up in the catalog for service x priority x customer tier), the next-tier group of a
//! functional escalation, the manager of a hierarchical one.

use chrono::{DateTime, TimeDelta, Utc};
use itsm_kernel::{
    ChangeKey, CustomerTier, GroupId, Impact, IncidentKey, Name, ProblemKey, ServiceId, Urgency,
    UserId,
};
use itsm_sla::{AppliedSla, ClockKind, HoldReason};
use serde::{Deserialize, Serialize};

/// How the incident reached the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Channel {
    Email,
    Portal,
    Phone,
    Chat,
    Api,
}

/// Who may read a comment: everybody including the requester, or IT staff only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Visibility {
    Public,
    Internal,
}

/// How an incident was resolved; dashboards group by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResolutionCode {
    /// The fault was fixed.
    Fixed,
    /// Service restored with a workaround; the cause remains (usually a linked problem).
    Workaround,
    /// Fixed by implementing a change.
    ResolvedByChange,
    /// Could not be reproduced; nothing was wrong on our side.
    NoFaultFound,
    /// The requester needed guidance, not a fix.
    UserError,
    /// Another incident covers it.
    Duplicate,
}

/// A reference to a stored file: the incident never holds bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attachment {
    /// The file name shown to people.
    pub name: String,
    /// Content hash, e.g. `blake3:<hex>`; identifies the bytes.
    pub content_hash: String,
    /// Where the bytes are stored.
    pub uri: String,
    pub size_bytes: u64,
}

/// Another record this incident relates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LinkTarget {
    /// The problem investigating this incident's cause.
    Problem(ProblemKey),
    /// A change that caused or fixes it.
    Change(ChangeKey),
}

/// Where an escalation goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Escalation {
    /// To the next support tier: the ticket moves to `to_group` (the shell knows the tier chain).
    /// `ola` is that group's OLA target under the policy in force (`None`: the group has none).
    Functional {
        to_group: GroupId,
        ola: Option<TimeDelta>,
    },
    /// Management attention: `manager` is notified; the ticket stays where it is.
    Hierarchical { manager: UserId },
}

/// What happened to a linked problem, as the problem follow-up process reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProblemUpdate {
    /// A workaround was documented; agents can apply it to this incident.
    WorkaroundAvailable { workaround: String },
    /// The problem became a known error.
    KnownError,
    /// The root cause was fixed, possibly by a change.
    Resolved { fix: Option<ChangeKey> },
}

/// The data of a new incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogIncident {
    /// Allocated by the shell (`INC-<n>`).
    pub key: IncidentKey,
    pub title: String,
    pub description: String,
    pub channel: Channel,
    pub requester: UserId,
    pub tier: CustomerTier,
    pub service: ServiceId,
    pub category: Name,
    pub impact: Impact,
    pub urgency: Urgency,
    /// The policy for service x priority x tier, with its calendar.
    pub sla: AppliedSla,
}

/// Every command an incident accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentCommand {
    Log(Box<LogIncident>),
    /// First response by the desk (not by a requester): the first-response clock reaches its
    /// goal. A resolution also counts as the first response if none came before.
    Acknowledge,
    /// Gives the ticket to a group and/or an agent. A group that receives it starts an OLA clock
    /// with `ola`, the receiving group's OLA target under the policy in force (looked up by the
    /// shell; `None`: the group has none). Ignored when the group does not change.
    Assign {
        group: Option<GroupId>,
        agent: Option<UserId>,
        ola: Option<TimeDelta>,
    },
    /// `Assigned` -> `InProgress`. Not a first response by itself: acknowledging is explicit.
    StartWork,
    PutOnHold {
        reason: HoldReason,
    },
    Resume,
    Escalate {
        to: Escalation,
        reason: String,
    },
    /// New impact and urgency; `sla` is the policy for the resulting priority (with the OLA
    /// target of the current group). Every running clock is re-targeted.
    Reprioritize {
        impact: Impact,
        urgency: Urgency,
        reason: String,
        sla: AppliedSla,
    },
    /// The policy in force changed (revision, calendar or targets; `sla.ola` is the current
    /// group's OLA target). Every running clock is re-targeted.
    ChangeSla {
        sla: AppliedSla,
        reason: String,
    },
    /// From `New` (first-contact resolution), `Assigned` or `InProgress`; an incident on hold is
    /// resumed first. Every active clock reaches its goal.
    Resolve {
        code: ResolutionCode,
        notes: String,
    },
    Close,
    /// From Resolved or Closed. Starts a new run of the resolution clock (full target from now)
    /// and of the holding group's OLA clock (its last OLA target).
    Reopen {
        reason: String,
    },
    /// From any open status; final. Clocks stop, counting neither as met nor as breached.
    Cancel {
        reason: String,
    },
    Comment {
        text: String,
        visibility: Visibility,
    },
    AttachFile {
        attachment: Attachment,
    },
    Link {
        target: LinkTarget,
    },
    DeclareMajor {
        reason: String,
    },
    LinkToMajor {
        parent: IncidentKey,
    },
    /// Satisfaction with the current resolution: only while resolved (a closed incident accepts
    /// only a reopen), only by the requester (by identity, whatever the role), once per
    /// resolution: after a reopen and a new resolution the requester may rate again, and
    /// read models use the latest rating.
    Rate {
        score: u8,
        comment: String,
    },
    /// From the SLA timer: the clock's warning point for deadline `due` has passed.
    RecordSlaWarning {
        clock: ClockKind,
        due: DateTime<Utc>,
    },
    /// From the SLA timer: deadline `due` of the clock has passed.
    RecordSlaBreach {
        clock: ClockKind,
        due: DateTime<Utc>,
    },
    /// From the problem follow-up: a linked problem changed.
    NoteProblemUpdate {
        problem: ProblemKey,
        update: ProblemUpdate,
    },
}

impl IncidentCommand {
    /// The command's name in errors (`cannot resolve an incident that is closed`).
    pub const fn name(&self) -> &'static str {
        match self {
            IncidentCommand::Log(_) => "log",
            IncidentCommand::Acknowledge => "acknowledge",
            IncidentCommand::Assign { .. } => "assign",
            IncidentCommand::StartWork => "start work on",
            IncidentCommand::PutOnHold { .. } => "put on hold",
            IncidentCommand::Resume => "resume",
            IncidentCommand::Escalate { .. } => "escalate",
            IncidentCommand::Reprioritize { .. } => "reprioritize",
            IncidentCommand::ChangeSla { .. } => "change the SLA of",
            IncidentCommand::Resolve { .. } => "resolve",
            IncidentCommand::Close => "close",
            IncidentCommand::Reopen { .. } => "reopen",
            IncidentCommand::Cancel { .. } => "cancel",
            IncidentCommand::Comment { .. } => "comment on",
            IncidentCommand::AttachFile { .. } => "attach a file to",
            IncidentCommand::Link { .. } => "link",
            IncidentCommand::DeclareMajor { .. } => "declare major",
            IncidentCommand::LinkToMajor { .. } => "link to a major incident",
            IncidentCommand::Rate { .. } => "rate",
            IncidentCommand::RecordSlaWarning { .. } => "record an SLA warning on",
            IncidentCommand::RecordSlaBreach { .. } => "record an SLA breach on",
            IncidentCommand::NoteProblemUpdate { .. } => "note a problem update on",
        }
    }
}
