//! Ticket detail views, folded from one stream's envelopes on every read: nothing is kept in
//! memory between queries, so a view is always exactly what the ledger says, and "as of" any
//! position or time is the same fold over a prefix of the stream.
//!
//! The state comes from the aggregate's own `evolve` (through [`Decider::fold`]), so a view
//! can never disagree with what the decider saw; this module adds the timeline (who, what,
//! when, a human-readable sentence per event) and, for incidents, every SLA clock explained by
//! [`itsm_incident::explain_clock`].

use chrono::{DateTime, Utc};
use itsm_catalog::CatalogEvent;
use itsm_change::{Change, ChangeEvent, ChangeRecord, ChangeType, Rejection};
use itsm_eventstore::{CausationId, CommandId, CorrelationId, Envelope};
use itsm_incident::{
    ClockState, Incident, IncidentEvent, LinkTarget, LoggedIncident, ProblemUpdate, StopReason,
    Visibility, explain_clock,
};
use itsm_kernel::Decider;
use itsm_problem::{Problem, ProblemEvent, ProblemRecord};
use itsm_sla::{ClockKind, ClockTimeline};

use crate::{LedgerEvent, ProjectionError, decode};

/// One line of a ticket's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub position: u64,
    pub version: u64,
    pub recorded_at: DateTime<Utc>,
    /// The envelope's actor (`user:<id>:<role>`, `automation:<name>`).
    pub actor: String,
    /// Which command wrote it, the user action it belongs to, and what directly caused it (a
    /// process manager's trigger, say), as the envelope's metadata says.
    pub command_id: Option<CommandId>,
    pub correlation_id: Option<CorrelationId>,
    pub causation_id: Option<CausationId>,
    pub event_type: String,
    /// A sentence for people, e.g. `assigned to network-l2 / bob`.
    pub summary: String,
}

/// Which prefix of a stream to fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// Every envelope.
    Now,
    /// Envelopes at positions up to and including this one.
    Position(u64),
    /// Envelopes up to the first one recorded after this instant. `recorded_at` normally grows
    /// with the position; should it ever go back, the prefix still ends at the first later one.
    Time(DateTime<Utc>),
}

impl AsOf {
    fn includes(self, envelope: &Envelope) -> bool {
        match self {
            AsOf::Now => true,
            AsOf::Position(position) => envelope.position <= position,
            AsOf::Time(time) => envelope.metadata.recorded_at <= time,
        }
    }
}

fn entry(envelope: &Envelope, summary: String) -> TimelineEntry {
    TimelineEntry {
        position: envelope.position,
        version: envelope.version,
        recorded_at: envelope.metadata.recorded_at,
        actor: envelope.metadata.actor.clone(),
        command_id: envelope.metadata.command_id,
        correlation_id: envelope.metadata.correlation_id,
        causation_id: envelope.metadata.causation_id,
        event_type: envelope.event_type.clone(),
        summary,
    }
}

/// One SLA clock of an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockView {
    pub kind: ClockKind,
    /// The current run's state as the incident holds it (due, pause reason, met, breached).
    pub state: ClockState,
    /// Every step of every run, with the due time each step led to.
    pub timeline: ClockTimeline,
}

/// An incident with its full history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentView {
    /// Position of the last folded envelope.
    pub position: u64,
    pub version: u64,
    /// Status, priority, assignment, comments (with visibility), links, ratings, clocks, ...
    pub incident: LoggedIncident,
    pub clocks: Vec<ClockView>,
    pub timeline: Vec<TimelineEntry>,
}

impl IncidentView {
    /// The view of an incident stream's envelopes (envelopes of other aggregates are skipped);
    /// `None` if the incident was not logged in them.
    pub fn from_envelopes(envelopes: &[Envelope]) -> Result<Option<Self>, ProjectionError> {
        Self::as_of(envelopes, AsOf::Now)
    }

    /// The view folded over the prefix `as_of` selects.
    pub fn as_of(envelopes: &[Envelope], as_of: AsOf) -> Result<Option<Self>, ProjectionError> {
        let mut events = Vec::new();
        let mut timeline = Vec::new();
        for envelope in envelopes.iter().take_while(|e| as_of.includes(e)) {
            if let Some(LedgerEvent::Incident(_, event)) = decode(envelope)? {
                timeline.push(entry(envelope, incident_summary(&event)));
                events.push(event);
            }
        }
        Ok(Self::from_events(&events, timeline))
    }

    /// The view of an incident's events with their timeline entries (one each, in order; the
    /// last gives the view's position and version); `None` if the events do not log an
    /// incident. What [`IncidentView::as_of`] folds after decoding, and what a mutation's
    /// answer folds from the events it has just written.
    pub fn from_events(events: &[IncidentEvent], timeline: Vec<TimelineEntry>) -> Option<Self> {
        let incident = Incident::fold(events)?;
        let last = timeline.last()?;
        let (position, version) = (last.position, last.version);
        let clocks = incident
            .clocks
            .iter()
            .filter_map(|state| {
                Some(ClockView {
                    kind: state.kind().clone(),
                    state: state.clone(),
                    timeline: explain_clock(events, state.kind())?,
                })
            })
            .collect();
        Some(IncidentView {
            position,
            version,
            incident,
            clocks,
            timeline,
        })
    }

    /// As of a ledger position.
    pub fn as_of_position(
        envelopes: &[Envelope],
        position: u64,
    ) -> Result<Option<Self>, ProjectionError> {
        Self::as_of(envelopes, AsOf::Position(position))
    }

    /// As of an instant.
    pub fn as_of_time(
        envelopes: &[Envelope],
        time: DateTime<Utc>,
    ) -> Result<Option<Self>, ProjectionError> {
        Self::as_of(envelopes, AsOf::Time(time))
    }
}

/// A problem with its full history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemView {
    pub position: u64,
    pub version: u64,
    pub problem: ProblemRecord,
    pub timeline: Vec<TimelineEntry>,
}

impl ProblemView {
    pub fn from_envelopes(envelopes: &[Envelope]) -> Result<Option<Self>, ProjectionError> {
        Self::as_of(envelopes, AsOf::Now)
    }

    pub fn as_of(envelopes: &[Envelope], as_of: AsOf) -> Result<Option<Self>, ProjectionError> {
        let mut events = Vec::new();
        let mut timeline = Vec::new();
        let mut last = (0, 0);
        for envelope in envelopes.iter().take_while(|e| as_of.includes(e)) {
            if let Some(LedgerEvent::Problem(_, event)) = decode(envelope)? {
                timeline.push(entry(envelope, problem_summary(&event)));
                last = (envelope.position, envelope.version);
                events.push(event);
            }
        }
        let state = Problem::fold(&events);
        Ok(state.record().map(|problem| ProblemView {
            position: last.0,
            version: last.1,
            problem: problem.clone(),
            timeline,
        }))
    }
}

/// A change with its full history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeView {
    pub position: u64,
    pub version: u64,
    pub change: ChangeRecord,
    pub timeline: Vec<TimelineEntry>,
}

impl ChangeView {
    pub fn from_envelopes(envelopes: &[Envelope]) -> Result<Option<Self>, ProjectionError> {
        Self::as_of(envelopes, AsOf::Now)
    }

    pub fn as_of(envelopes: &[Envelope], as_of: AsOf) -> Result<Option<Self>, ProjectionError> {
        let mut events = Vec::new();
        let mut timeline = Vec::new();
        let mut last = (0, 0);
        for envelope in envelopes.iter().take_while(|e| as_of.includes(e)) {
            if let Some(LedgerEvent::Change(_, event)) = decode(envelope)? {
                timeline.push(entry(envelope, change_summary(&event)));
                last = (envelope.position, envelope.version);
                events.push(event);
            }
        }
        let state = Change::fold(&events);
        Ok(state.record().map(|change| ChangeView {
            position: last.0,
            version: last.1,
            change: change.clone(),
            timeline,
        }))
    }
}

/// A sentence for any decoded event (used by the timelines and the audit log).
pub fn summary(event: &LedgerEvent) -> String {
    match event {
        LedgerEvent::Catalog(event) => catalog_summary(event),
        LedgerEvent::Incident(_, event) => incident_summary(event),
        LedgerEvent::Problem(_, event) => problem_summary(event),
        LedgerEvent::Change(_, event) => change_summary(event),
    }
}

fn or_none<T: std::fmt::Display>(value: Option<&T>) -> String {
    value.map_or_else(|| "nobody".to_owned(), ToString::to_string)
}

/// The one-line summary of an incident event in a timeline.
pub fn incident_summary(event: &IncidentEvent) -> String {
    use IncidentEvent as E;
    match event {
        E::Logged {
            key,
            title,
            service,
            priority,
            requester,
            ..
        } => format!("{key} logged for {requester} on {service} as {priority}: {title}"),
        E::Acknowledged { by, .. } => format!("acknowledged by {by}"),
        E::Assigned { group, agent, .. } => format!(
            "assigned to group {} / agent {}",
            or_none(group.as_ref()),
            or_none(agent.as_ref())
        ),
        E::WorkStarted { .. } => "work started".to_owned(),
        E::PutOnHold { reason, .. } => format!("put on hold ({reason})"),
        E::Resumed { .. } => "resumed".to_owned(),
        E::EscalatedFunctionally {
            to_group,
            level,
            reason,
            ..
        } => format!("escalated to {to_group} (level {level}): {reason}"),
        E::EscalatedHierarchically {
            manager, reason, ..
        } => format!("escalated to manager {manager}: {reason}"),
        E::Reprioritized {
            old_priority,
            priority,
            reason,
            ..
        } => format!("priority {old_priority} -> {priority}: {reason}"),
        E::SlaChanged { sla, reason, .. } => format!(
            "SLA changed to {} revision {}: {reason}",
            sla.policy, sla.revision
        ),
        E::Resolved { code, notes, .. } => format!("resolved ({code:?}): {notes}"),
        E::Closed { .. } => "closed".to_owned(),
        E::Reopened { reason, .. } => format!("reopened: {reason}"),
        E::Cancelled { reason, .. } => format!("cancelled: {reason}"),
        E::Commented { visibility, by, .. } => match visibility {
            Visibility::Public => format!("public comment by {by}"),
            Visibility::Internal => format!("internal note by {by}"),
        },
        E::FileAttached { attachment, .. } => format!(
            "attached {} ({} bytes)",
            attachment.name, attachment.size_bytes
        ),
        E::Linked { target, .. } => match target {
            LinkTarget::Problem(problem) => format!("linked to problem {problem}"),
            LinkTarget::Change(change) => format!("linked to change {change}"),
        },
        E::DeclaredMajor { reason, .. } => format!("declared a major incident: {reason}"),
        E::LinkedToMajor { parent, .. } => format!("linked to major incident {parent}"),
        E::Rated { score, .. } => format!("rated {score}/5"),
        E::ProblemUpdateNoted {
            problem, update, ..
        } => match update {
            ProblemUpdate::WorkaroundAvailable { .. } => {
                format!("problem {problem}: workaround available")
            }
            ProblemUpdate::KnownError => format!("problem {problem} is a known error"),
            ProblemUpdate::Resolved { fix } => match fix {
                Some(change) => format!("problem {problem} resolved by change {change}"),
                None => format!("problem {problem} resolved"),
            },
        },
        E::SlaClockStarted { clock, due, .. } => format!("{clock} clock started, due {due}"),
        E::SlaClockPaused { clock, reason, .. } => format!("{clock} clock paused ({reason})"),
        E::SlaClockResumed { clock, due, .. } => format!("{clock} clock resumed, due {due}"),
        E::SlaClockRetargeted {
            clock, due, reason, ..
        } => match due {
            Some(due) => format!("{clock} clock re-targeted, due {due}: {reason}"),
            None => format!("{clock} clock re-targeted (paused): {reason}"),
        },
        E::SlaWarningRaised { clock, due, .. } => format!("{clock} due soon ({due})"),
        E::SlaBreached { clock, due, .. } => format!("{clock} breached (was due {due})"),
        E::SlaMet { clock, .. } => format!("{clock} met"),
        E::SlaClockStopped { clock, reason, .. } => match reason {
            StopReason::CompletedLate => format!("{clock} completed late"),
            StopReason::Cancelled => format!("{clock} clock stopped (cancelled)"),
        },
    }
}

fn problem_summary(event: &ProblemEvent) -> String {
    use ProblemEvent as E;
    match event {
        E::Recorded {
            key,
            title,
            service,
            priority,
            ..
        } => format!("{key} recorded on {service} as {priority}: {title}"),
        E::InvestigationStarted {
            group, assignee, ..
        } => format!(
            "investigation started by {group} / {}",
            or_none(assignee.as_ref())
        ),
        E::Reassigned {
            group, assignee, ..
        } => format!("reassigned to {group} / {}", or_none(assignee.as_ref())),
        E::RootCauseRecorded { root_cause, .. } => format!("root cause: {root_cause}"),
        E::WorkaroundDocumented { workaround, .. } => {
            format!("known error, workaround: {workaround}")
        }
        E::IncidentLinked { incident, .. } => format!("incident {incident} linked"),
        E::IncidentUnlinked { incident, .. } => format!("incident {incident} unlinked"),
        E::FixChangeLinked { change, .. } => format!("fix change {change} linked"),
        E::Resolved { resolution, .. } => format!("resolved: {resolution}"),
        E::Closed { .. } => "closed".to_owned(),
        E::Reopened { reason, .. } => format!("reopened: {reason}"),
        E::Cancelled { reason, .. } => format!("cancelled: {reason}"),
    }
}

fn change_summary(event: &ChangeEvent) -> String {
    use ChangeEvent as E;
    match event {
        E::Raised {
            key,
            change_type,
            title,
            service,
            risk,
            ..
        } => {
            let kind = match change_type {
                ChangeType::Standard { template } => format!("standard ({template})"),
                ChangeType::Normal => "normal".to_owned(),
                ChangeType::Emergency => "emergency".to_owned(),
            };
            format!("{key} raised, {kind} change on {service}, {risk} risk: {title}")
        }
        E::Submitted { .. } => "submitted".to_owned(),
        E::Assessed {
            risk,
            required_approvals,
            ..
        } => format!("assessed: {risk} risk, {required_approvals} approvals needed"),
        E::ApprovalRecorded { approver, vote, .. } => format!("{approver} voted {vote:?}"),
        E::Authorized { .. } => "authorized".to_owned(),
        E::Rejected { reason, .. } => match reason {
            Rejection::Vetoed { approver } => format!("rejected: vetoed by {approver}"),
            Rejection::Declined { reason } => format!("rejected: {reason}"),
        },
        E::Scheduled { from, to, .. } => format!("scheduled {from} - {to}"),
        E::Rescheduled { from, to, .. } => format!("rescheduled to {from} - {to}"),
        E::ImplementationStarted { .. } => "implementation started".to_owned(),
        E::Implemented { .. } => "implemented".to_owned(),
        E::Failed {
            backout_performed, ..
        } => {
            if *backout_performed {
                "failed, backed out".to_owned()
            } else {
                "failed, not backed out".to_owned()
            }
        }
        E::Reviewed { outcome, .. } => format!("reviewed: {outcome:?}"),
        E::Closed { .. } => "closed".to_owned(),
        E::Cancelled { reason, .. } => format!("cancelled: {reason}"),
    }
}

fn catalog_summary(event: &CatalogEvent) -> String {
    match event {
        CatalogEvent::ServiceDefined { service, name, .. } => {
            format!("service {service} defined: {name}")
        }
        CatalogEvent::ServiceRevised { service, .. } => format!("service {service} revised"),
        CatalogEvent::ServiceRetired {
            service, reason, ..
        } => format!("service {service} retired: {reason}"),
        CatalogEvent::CalendarDefined { name, .. } => format!("calendar {name} defined"),
        CatalogEvent::CalendarRevised { name, revision, .. } => {
            format!("calendar {name} revision {revision}")
        }
        CatalogEvent::SlaPolicyDefined {
            policy,
            service,
            priority,
            tier,
            ..
        } => format!("SLA policy {policy} defined for {service} {priority} {tier:?}"),
        CatalogEvent::SlaPolicyRevised {
            policy, revision, ..
        } => format!("SLA policy {policy} revision {revision}"),
        CatalogEvent::FreezeWindowDefined {
            window, from, to, ..
        } => format!("freeze window {window} defined {from} - {to}"),
        CatalogEvent::FreezeWindowCancelled { window, reason, .. } => {
            format!("freeze window {window} cancelled: {reason}")
        }
    }
}
