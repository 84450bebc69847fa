//! An incident as its events leave it.

use std::fmt;

use chrono::{DateTime, Utc};
use itsm_kernel::{
    Actor, ChangeKey, CustomerTier, GroupId, Impact, IncidentKey, Name, Priority, ProblemKey,
    ServiceId, Urgency, UserId,
};
use itsm_sla::{AppliedSla, Clock, ClockKind, HoldReason};
use serde::{Deserialize, Serialize};

use crate::command::{Attachment, Channel, ProblemUpdate, ResolutionCode, Visibility};
use crate::event::ClockTerms;

/// Where an incident is in its lifecycle:
/// `New -> Assigned -> InProgress <-> OnHold -> .. -> Resolved -> Closed`, reopen from
/// resolved or closed, cancel from any open status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    New,
    Assigned,
    InProgress,
    OnHold(HoldReason),
    Resolved,
    Closed,
    Cancelled,
}

impl Status {
    /// New, assigned, in progress or on hold: work remains.
    pub const fn is_open(self) -> bool {
        match self {
            Status::New | Status::Assigned | Status::InProgress | Status::OnHold(_) => true,
            Status::Resolved | Status::Closed | Status::Cancelled => false,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::New => f.write_str("new"),
            Status::Assigned => f.write_str("assigned"),
            Status::InProgress => f.write_str("in progress"),
            Status::OnHold(reason) => write!(f, "on hold ({reason})"),
            Status::Resolved => f.write_str("resolved"),
            Status::Closed => f.write_str("closed"),
            Status::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// One SLA clock of the incident: the pure clock of `itsm-sla` plus what the incident's events
/// recorded about it (policy, warning, breach, outcome).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockState {
    pub clock: Clock,
    pub policy: Name,
    pub revision: u32,
    pub calendar_name: Name,
    /// The hold reason of the open pause, if paused.
    pub paused_for: Option<HoldReason>,
    /// The deadline a warning was raised for, if any.
    pub warned_for: Option<DateTime<Utc>>,
    pub breached: bool,
    pub met: bool,
}

impl ClockState {
    pub fn kind(&self) -> &ClockKind {
        &self.clock.kind
    }

    /// Counting now: started, not paused, not stopped.
    pub fn is_running(&self) -> bool {
        !self.clock.is_stopped() && !self.clock.is_paused()
    }

    /// Running or paused: not yet met or stopped.
    pub fn is_active(&self) -> bool {
        !self.clock.is_stopped()
    }

    /// The current deadline; `None` while paused before reaching it.
    pub fn due(&self) -> Option<DateTime<Utc>> {
        self.clock.due()
    }

    fn from_terms(kind: ClockKind, terms: &ClockTerms, at: DateTime<Utc>) -> Self {
        ClockState {
            clock: Clock::start(
                kind,
                at,
                terms.target,
                terms.warning_percent,
                terms.calendar.clone(),
            ),
            policy: terms.policy.clone(),
            revision: terms.revision,
            calendar_name: terms.calendar_name.clone(),
            paused_for: None,
            warned_for: None,
            breached: false,
            met: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub text: String,
    pub visibility: Visibility,
    pub at: DateTime<Utc>,
    pub by: Actor,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub code: ResolutionCode,
    pub notes: String,
    pub at: DateTime<Utc>,
    pub by: Actor,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    pub score: u8,
    pub comment: String,
    pub at: DateTime<Utc>,
    pub by: Actor,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotedProblemUpdate {
    pub problem: ProblemKey,
    pub update: ProblemUpdate,
    pub at: DateTime<Utc>,
}

/// A logged incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedIncident {
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
    pub priority: Priority,
    /// The SLA in force (the last one applied).
    pub sla: AppliedSla,
    pub status: Status,
    pub logged_at: DateTime<Utc>,
    pub group: Option<GroupId>,
    pub agent: Option<UserId>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Functional escalations so far.
    pub escalation_level: u8,
    /// Managers notified by hierarchical escalations, oldest first.
    pub managers_notified: Vec<UserId>,
    pub major: bool,
    pub parent: Option<IncidentKey>,
    pub problems: Vec<ProblemKey>,
    pub changes: Vec<ChangeKey>,
    pub comments: Vec<Comment>,
    pub attachments: Vec<Attachment>,
    /// The latest resolution; cleared by a reopen.
    pub resolution: Option<Resolution>,
    /// Every rating, oldest first; at most one per resolution.
    pub ratings: Vec<Rating>,
    /// Whether the current resolution has been rated.
    pub rated: bool,
    pub problem_updates: Vec<NotedProblemUpdate>,
    pub reopen_count: u32,
    /// One entry per clock kind: the current run of that clock.
    pub clocks: Vec<ClockState>,
}

impl LoggedIncident {
    pub fn clock(&self, kind: &ClockKind) -> Option<&ClockState> {
        self.clocks.iter().find(|clock| clock.kind() == kind)
    }

    fn clock_mut(&mut self, kind: &ClockKind) -> Option<&mut ClockState> {
        self.clocks.iter_mut().find(|clock| clock.kind() == kind)
    }

    /// Running or paused clocks.
    pub fn active_clocks(&self) -> impl Iterator<Item = &ClockState> {
        self.clocks.iter().filter(|clock| clock.is_active())
    }
}

/// The state of an incident stream: `None` until logged.
pub type IncidentState = Option<LoggedIncident>;

/// Folds one event into the state. Records facts only: every decision was made in `decide`.
pub(crate) fn evolve(state: IncidentState, event: &crate::IncidentEvent) -> IncidentState {
    use crate::IncidentEvent as E;
    if let E::Logged {
        key,
        title,
        description,
        channel,
        requester,
        tier,
        service,
        category,
        impact,
        urgency,
        priority,
        sla,
        at,
        by: _,
    } = event
    {
        return Some(LoggedIncident {
            key: *key,
            title: title.clone(),
            description: description.clone(),
            channel: *channel,
            requester: requester.clone(),
            tier: *tier,
            service: service.clone(),
            category: category.clone(),
            impact: *impact,
            urgency: *urgency,
            priority: *priority,
            sla: sla.clone(),
            status: Status::New,
            logged_at: *at,
            group: None,
            agent: None,
            acknowledged_at: None,
            escalation_level: 0,
            managers_notified: Vec::new(),
            major: false,
            parent: None,
            problems: Vec::new(),
            changes: Vec::new(),
            comments: Vec::new(),
            attachments: Vec::new(),
            resolution: None,
            ratings: Vec::new(),
            rated: false,
            problem_updates: Vec::new(),
            reopen_count: 0,
            clocks: Vec::new(),
        });
    }
    // Any other event before the incident is logged cannot be applied to anything.
    let mut incident = state?;
    match event {
        E::Logged { .. } => {}
        E::Acknowledged { at, .. } => incident.acknowledged_at = Some(*at),
        E::Assigned { group, agent, .. } => {
            incident.group.clone_from(group);
            incident.agent.clone_from(agent);
            if incident.status == Status::New {
                incident.status = Status::Assigned;
            }
        }
        E::WorkStarted { .. } | E::Resumed { .. } => incident.status = Status::InProgress,
        E::PutOnHold { reason, .. } => incident.status = Status::OnHold(*reason),
        E::EscalatedFunctionally {
            to_group, level, ..
        } => {
            incident.group = Some(to_group.clone());
            incident.agent = None;
            incident.escalation_level = *level;
            incident.status = Status::Assigned;
        }
        E::EscalatedHierarchically { manager, .. } => {
            incident.managers_notified.push(manager.clone());
        }
        E::Reprioritized {
            impact,
            urgency,
            priority,
            sla,
            ..
        } => {
            incident.impact = *impact;
            incident.urgency = *urgency;
            incident.priority = *priority;
            incident.sla = sla.clone();
        }
        E::SlaChanged { sla, .. } => incident.sla = sla.clone(),
        E::Resolved {
            code,
            notes,
            at,
            by,
        } => {
            incident.status = Status::Resolved;
            incident.resolution = Some(Resolution {
                code: *code,
                notes: notes.clone(),
                at: *at,
                by: by.clone(),
            });
            incident.rated = false;
        }
        E::Closed { .. } => incident.status = Status::Closed,
        E::Reopened { .. } => {
            incident.status = if incident.group.is_some() {
                Status::Assigned
            } else {
                Status::New
            };
            incident.resolution = None;
            incident.reopen_count = incident.reopen_count.saturating_add(1);
        }
        E::Cancelled { .. } => incident.status = Status::Cancelled,
        E::Commented {
            text,
            visibility,
            at,
            by,
        } => incident.comments.push(Comment {
            text: text.clone(),
            visibility: *visibility,
            at: *at,
            by: by.clone(),
        }),
        E::FileAttached { attachment, .. } => incident.attachments.push(attachment.clone()),
        E::Linked { target, .. } => match target {
            crate::LinkTarget::Problem(problem) => incident.problems.push(*problem),
            crate::LinkTarget::Change(change) => incident.changes.push(*change),
        },
        E::DeclaredMajor { .. } => incident.major = true,
        E::LinkedToMajor { parent, .. } => incident.parent = Some(*parent),
        E::Rated {
            score,
            comment,
            at,
            by,
        } => {
            incident.ratings.push(Rating {
                score: *score,
                comment: comment.clone(),
                at: *at,
                by: by.clone(),
            });
            incident.rated = true;
        }
        E::ProblemUpdateNoted {
            problem,
            update,
            at,
            ..
        } => incident.problem_updates.push(NotedProblemUpdate {
            problem: *problem,
            update: update.clone(),
            at: *at,
        }),
        E::SlaClockStarted {
            clock, terms, at, ..
        } => {
            let started = ClockState::from_terms(clock.clone(), terms, *at);
            match incident.clock_mut(clock) {
                Some(existing) => *existing = started,
                None => incident.clocks.push(started),
            }
        }
        E::SlaClockPaused { clock, reason, at } => {
            if let Some(state) = incident.clock_mut(clock) {
                state.clock.pause(*at);
                state.paused_for = Some(*reason);
            }
        }
        E::SlaClockResumed { clock, at, .. } => {
            if let Some(state) = incident.clock_mut(clock) {
                state.clock.resume(*at);
                state.paused_for = None;
            }
        }
        E::SlaClockRetargeted { clock, terms, .. } => {
            if let Some(state) = incident.clock_mut(clock) {
                state
                    .clock
                    .retarget(terms.target, Some(terms.calendar.clone()));
                state.clock.warning_percent = terms.warning_percent;
                state.policy = terms.policy.clone();
                state.revision = terms.revision;
                state.calendar_name = terms.calendar_name.clone();
            }
        }
        E::SlaWarningRaised { clock, due, .. } => {
            if let Some(state) = incident.clock_mut(clock) {
                state.warned_for = Some(*due);
            }
        }
        E::SlaBreached { clock, .. } => {
            if let Some(state) = incident.clock_mut(clock) {
                state.breached = true;
            }
        }
        E::SlaMet { clock, at, .. } => {
            if let Some(state) = incident.clock_mut(clock) {
                state.clock.stop(*at);
                state.paused_for = None;
                state.met = true;
            }
        }
        E::SlaClockStopped { clock, at, .. } => {
            if let Some(state) = incident.clock_mut(clock) {
                state.clock.stop(*at);
                state.paused_for = None;
            }
        }
    }
    Some(incident)
}
