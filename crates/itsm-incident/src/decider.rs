//! The incident decider: every business rule of an incident lives here.

use chrono::{DateTime, TimeDelta, Utc};
use itsm_kernel::{Context, Decider, GroupId, Priority, Role};
use itsm_sla::{AppliedSla, ClockKind, due_at, validate_target};

use crate::command::{Escalation, IncidentCommand, LinkTarget, LogIncident, ProblemUpdate};
use crate::error::{Field, IncidentError, check_text};
use crate::event::{ClockTerms, IncidentEvent, StopReason};
use crate::state::{ClockState, IncidentState, LoggedIncident, Status};

/// The incident aggregate.
pub struct Incident;

impl Decider for Incident {
    const NAME: &'static str = "incident";
    type Command = IncidentCommand;
    type Event = IncidentEvent;
    type State = IncidentState;
    type Error = IncidentError;

    fn decide(
        state: &IncidentState,
        command: &IncidentCommand,
        context: &Context,
    ) -> Result<Vec<IncidentEvent>, IncidentError> {
        match (state, command) {
            (None, IncidentCommand::Log(log)) => log_incident(log, context),
            (Some(incident), IncidentCommand::Log(_)) => {
                Err(IncidentError::AlreadyLogged(incident.key))
            }
            (None, _) => Err(IncidentError::NotFound),
            (Some(incident), command) => decide_logged(incident, command, context),
        }
    }

    fn evolve(state: IncidentState, event: &IncidentEvent) -> IncidentState {
        crate::state::evolve(state, event)
    }
}

type Decision = Result<Vec<IncidentEvent>, IncidentError>;

fn log_incident(log: &LogIncident, context: &Context) -> Decision {
    check_text(Field::Title, &log.title)?;
    check_text(Field::Description, &log.description)?;
    let at = context.now;
    let mut events = vec![IncidentEvent::Logged {
        key: log.key,
        title: log.title.clone(),
        description: log.description.clone(),
        channel: log.channel,
        requester: log.requester.clone(),
        tier: log.tier,
        service: log.service.clone(),
        category: log.category.clone(),
        impact: log.impact,
        urgency: log.urgency,
        priority: Priority::from_matrix(log.impact, log.urgency),
        sla: log.sla.clone(),
        at,
        by: context.actor.clone(),
    }];
    events.extend(start_clock(ClockKind::FirstResponse, &log.sla, at));
    events.extend(start_clock(ClockKind::Resolution, &log.sla, at));
    Ok(events)
}

fn decide_logged(
    incident: &LoggedIncident,
    command: &IncidentCommand,
    context: &Context,
) -> Decision {
    let status = incident.status;
    let invalid = || {
        Err(IncidentError::InvalidTransition {
            from: status,
            command: command.name(),
        })
    };
    // A cancelled incident accepts nothing; a closed one only a reopen.
    let reopening = matches!(command, IncidentCommand::Reopen { .. });
    if status == Status::Cancelled || (status == Status::Closed && !reopening) {
        return invalid();
    }
    let now = context.now;
    let by = &context.actor;
    match command {
        IncidentCommand::Log(_) => Err(IncidentError::AlreadyLogged(incident.key)),
        IncidentCommand::Acknowledge => {
            if !status.is_open() {
                return invalid();
            }
            if by.role() == Some(Role::Requester) {
                return Err(IncidentError::RequesterCannotAcknowledge);
            }
            if incident.acknowledged_at.is_some() {
                return Err(IncidentError::AlreadyAcknowledged);
            }
            let mut events = vec![IncidentEvent::Acknowledged {
                at: now,
                by: by.clone(),
            }];
            if let Some(clock) = incident
                .clock(&ClockKind::FirstResponse)
                .filter(|clock| clock.is_active())
            {
                events.extend(complete_clock(clock, context));
            }
            Ok(events)
        }
        IncidentCommand::Assign { group, agent, ola } => {
            if !matches!(status, Status::New | Status::Assigned | Status::InProgress) {
                return invalid();
            }
            if group.is_none() && agent.is_none() {
                return Err(IncidentError::NothingToAssign);
            }
            let new_group = group.clone().or_else(|| incident.group.clone());
            if new_group.is_none() {
                return Err(IncidentError::NoAssignmentGroup);
            }
            let group_changed = new_group != incident.group;
            let new_agent = match agent {
                Some(agent) => Some(agent.clone()),
                None if group_changed => None,
                None => incident.agent.clone(),
            };
            if !group_changed && new_agent == incident.agent {
                return Err(IncidentError::AlreadyAssigned);
            }
            let mut events = vec![IncidentEvent::Assigned {
                group: new_group.clone(),
                agent: new_agent,
                at: now,
                by: by.clone(),
            }];
            if let (true, Some(new_group)) = (group_changed, new_group) {
                events.extend(hand_over(incident, new_group, *ola, context)?);
            }
            Ok(events)
        }
        IncidentCommand::StartWork => {
            if status != Status::Assigned {
                return invalid();
            }
            Ok(vec![IncidentEvent::WorkStarted {
                at: now,
                by: by.clone(),
            }])
        }
        IncidentCommand::PutOnHold { reason } => {
            if status != Status::InProgress {
                return invalid();
            }
            let mut events = vec![IncidentEvent::PutOnHold {
                reason: *reason,
                at: now,
                by: by.clone(),
            }];
            if incident.sla.targets.pauses_on(*reason) {
                events.extend(
                    incident
                        .clocks
                        .iter()
                        .filter(|clock| clock.is_running())
                        .map(|clock| IncidentEvent::SlaClockPaused {
                            clock: clock.kind().clone(),
                            reason: *reason,
                            at: now,
                        }),
                );
            }
            Ok(events)
        }
        IncidentCommand::Resume => {
            if !matches!(status, Status::OnHold(_)) {
                return invalid();
            }
            let mut events = vec![IncidentEvent::Resumed {
                at: now,
                by: by.clone(),
            }];
            events.extend(
                incident
                    .clocks
                    .iter()
                    .filter(|clock| clock.is_active() && clock.clock.is_paused())
                    .map(|clock| IncidentEvent::SlaClockResumed {
                        clock: clock.kind().clone(),
                        due: due_after_resume(clock, now),
                        at: now,
                    }),
            );
            Ok(events)
        }
        IncidentCommand::Escalate { to, reason } => match to {
            Escalation::Functional { to_group, ola } => {
                if !matches!(status, Status::Assigned | Status::InProgress) {
                    return invalid();
                }
                check_text(Field::Reason, reason)?;
                if incident.group.as_ref() == Some(to_group) {
                    return Err(IncidentError::EscalationToSameGroup);
                }
                let mut events = vec![IncidentEvent::EscalatedFunctionally {
                    from_group: incident.group.clone(),
                    to_group: to_group.clone(),
                    level: incident.escalation_level.saturating_add(1),
                    reason: reason.clone(),
                    at: now,
                    by: by.clone(),
                }];
                events.extend(hand_over(incident, to_group.clone(), *ola, context)?);
                Ok(events)
            }
            Escalation::Hierarchical { manager } => {
                if !status.is_open() {
                    return invalid();
                }
                check_text(Field::Reason, reason)?;
                Ok(vec![IncidentEvent::EscalatedHierarchically {
                    manager: manager.clone(),
                    reason: reason.clone(),
                    at: now,
                    by: by.clone(),
                }])
            }
        },
        IncidentCommand::Reprioritize {
            impact,
            urgency,
            reason,
            sla,
        } => {
            if !status.is_open() {
                return invalid();
            }
            check_text(Field::Reason, reason)?;
            if (*impact, *urgency) == (incident.impact, incident.urgency) {
                return Err(IncidentError::PriorityUnchanged);
            }
            let mut events = vec![IncidentEvent::Reprioritized {
                old_impact: incident.impact,
                old_urgency: incident.urgency,
                old_priority: incident.priority,
                impact: *impact,
                urgency: *urgency,
                priority: Priority::from_matrix(*impact, *urgency),
                reason: reason.clone(),
                sla: sla.clone(),
                at: now,
                by: by.clone(),
            }];
            events.extend(retarget_all(incident, sla, reason, now));
            Ok(events)
        }
        IncidentCommand::ChangeSla { sla, reason } => {
            if !status.is_open() {
                return invalid();
            }
            check_text(Field::Reason, reason)?;
            if *sla == incident.sla {
                return Err(IncidentError::SlaUnchanged);
            }
            let mut events = vec![IncidentEvent::SlaChanged {
                sla: sla.clone(),
                reason: reason.clone(),
                at: now,
                by: by.clone(),
            }];
            events.extend(retarget_all(incident, sla, reason, now));
            Ok(events)
        }
        IncidentCommand::Resolve { code, notes } => {
            if !matches!(status, Status::New | Status::Assigned | Status::InProgress) {
                return invalid();
            }
            check_text(Field::ResolutionNotes, notes)?;
            let mut events = vec![IncidentEvent::Resolved {
                code: *code,
                notes: notes.clone(),
                at: now,
                by: by.clone(),
            }];
            // A resolution answers the requester too: every clock reaches its goal.
            for clock in incident.active_clocks() {
                events.extend(complete_clock(clock, context));
            }
            Ok(events)
        }
        IncidentCommand::Close => {
            if status != Status::Resolved {
                return invalid();
            }
            Ok(vec![IncidentEvent::Closed {
                at: now,
                by: by.clone(),
            }])
        }
        IncidentCommand::Reopen { reason } => {
            if !matches!(status, Status::Resolved | Status::Closed) {
                return invalid();
            }
            check_text(Field::Reason, reason)?;
            let mut events = vec![IncidentEvent::Reopened {
                reason: reason.clone(),
                at: now,
                by: by.clone(),
            }];
            // A new run of the resolution clock; the first run's outcome stays in the history.
            events.extend(start_clock(ClockKind::Resolution, &incident.sla, now));
            // The group that holds the ticket receives it again, under its last OLA terms.
            let group_ola = incident.group.as_ref().and_then(|group| {
                let kind = ClockKind::Ola {
                    group: group.clone(),
                };
                incident
                    .clock(&kind)
                    .map(|clock| (kind, clock.clock.target))
            });
            if let Some((kind, target)) = group_ola {
                events.push(start_with_terms(
                    kind,
                    terms_with(target, &incident.sla),
                    now,
                ));
            }
            Ok(events)
        }
        IncidentCommand::Cancel { reason } => {
            if !status.is_open() {
                return invalid();
            }
            check_text(Field::Reason, reason)?;
            let mut events = vec![IncidentEvent::Cancelled {
                reason: reason.clone(),
                at: now,
                by: by.clone(),
            }];
            events.extend(
                incident
                    .active_clocks()
                    .map(|clock| IncidentEvent::SlaClockStopped {
                        clock: clock.kind().clone(),
                        reason: StopReason::Cancelled,
                        at: now,
                    }),
            );
            Ok(events)
        }
        IncidentCommand::Comment { text, visibility } => {
            check_text(Field::Comment, text)?;
            if *visibility == crate::Visibility::Internal && by.role() == Some(Role::Requester) {
                return Err(IncidentError::InternalCommentByRequester);
            }
            Ok(vec![IncidentEvent::Commented {
                text: text.clone(),
                visibility: *visibility,
                at: now,
                by: by.clone(),
            }])
        }
        IncidentCommand::AttachFile { attachment } => {
            check_text(Field::AttachmentName, &attachment.name)?;
            check_text(Field::ContentHash, &attachment.content_hash)?;
            check_text(Field::ContentUri, &attachment.uri)?;
            if incident.attachments.iter().any(|existing| {
                existing.name == attachment.name && existing.content_hash == attachment.content_hash
            }) {
                return Err(IncidentError::DuplicateAttachment);
            }
            Ok(vec![IncidentEvent::FileAttached {
                attachment: attachment.clone(),
                at: now,
                by: by.clone(),
            }])
        }
        IncidentCommand::Link { target } => {
            match target {
                LinkTarget::Problem(problem) if incident.problems.contains(problem) => {
                    return Err(IncidentError::ProblemAlreadyLinked(*problem));
                }
                LinkTarget::Change(change) if incident.changes.contains(change) => {
                    return Err(IncidentError::ChangeAlreadyLinked(*change));
                }
                LinkTarget::Problem(_) | LinkTarget::Change(_) => {}
            }
            Ok(vec![IncidentEvent::Linked {
                target: *target,
                at: now,
                by: by.clone(),
            }])
        }
        IncidentCommand::DeclareMajor { reason } => {
            if !status.is_open() {
                return invalid();
            }
            check_text(Field::Reason, reason)?;
            if incident.major {
                return Err(IncidentError::AlreadyMajor);
            }
            if let Some(parent) = incident.parent {
                return Err(IncidentError::ChildCannotBeMajor(parent));
            }
            Ok(vec![IncidentEvent::DeclaredMajor {
                reason: reason.clone(),
                at: now,
                by: by.clone(),
            }])
        }
        IncidentCommand::LinkToMajor { parent } => {
            if !status.is_open() {
                return invalid();
            }
            if *parent == incident.key {
                return Err(IncidentError::OwnParent);
            }
            if incident.major {
                return Err(IncidentError::MajorCannotBeChild);
            }
            if let Some(existing) = incident.parent {
                return Err(IncidentError::AlreadyChildOf(existing));
            }
            Ok(vec![IncidentEvent::LinkedToMajor {
                parent: *parent,
                at: now,
                by: by.clone(),
            }])
        }
        IncidentCommand::Rate { score, comment } => {
            if status != Status::Resolved {
                return invalid();
            }
            if !(1..=5).contains(score) {
                return Err(IncidentError::ScoreOutOfRange(*score));
            }
            check_text(Field::RatingComment, comment)?;
            if by.user_id() != Some(&incident.requester) {
                return Err(IncidentError::NotTheRequester);
            }
            if incident.rated {
                return Err(IncidentError::AlreadyRated);
            }
            Ok(vec![IncidentEvent::Rated {
                score: *score,
                comment: comment.clone(),
                at: now,
                by: by.clone(),
            }])
        }
        IncidentCommand::RecordSlaWarning { clock, due } => {
            let state = incident
                .clock(clock)
                .ok_or_else(|| IncidentError::NoSuchClock(clock.clone()))?;
            // Idempotent: the timer may send the same deadline again after a restart.
            if state.warned_for == Some(*due) || state.breached {
                return Ok(Vec::new());
            }
            check_deadline(state, *due)?;
            let warning_at = state.clock.warning_at().unwrap_or(DateTime::<Utc>::MAX_UTC);
            if now < warning_at {
                return Err(IncidentError::NotYetDue {
                    clock: clock.clone(),
                    at: warning_at,
                });
            }
            Ok(vec![IncidentEvent::SlaWarningRaised {
                clock: clock.clone(),
                due: *due,
                at: now,
                by: by.clone(),
            }])
        }
        IncidentCommand::RecordSlaBreach { clock, due } => {
            let state = incident
                .clock(clock)
                .ok_or_else(|| IncidentError::NoSuchClock(clock.clone()))?;
            // Idempotent, and a clock breaches at most once per run.
            if state.breached {
                return Ok(Vec::new());
            }
            check_deadline(state, *due)?;
            if now < *due {
                return Err(IncidentError::NotYetDue {
                    clock: clock.clone(),
                    at: *due,
                });
            }
            Ok(vec![IncidentEvent::SlaBreached {
                clock: clock.clone(),
                due: *due,
                at: now,
                by: by.clone(),
            }])
        }
        IncidentCommand::NoteProblemUpdate { problem, update } => {
            if !incident.problems.contains(problem) {
                return Err(IncidentError::ProblemNotLinked(*problem));
            }
            match update {
                ProblemUpdate::WorkaroundAvailable { workaround } => {
                    check_text(Field::ProblemUpdate, workaround)?;
                }
                ProblemUpdate::KnownError | ProblemUpdate::Resolved { .. } => {}
            }
            Ok(vec![IncidentEvent::ProblemUpdateNoted {
                problem: *problem,
                update: update.clone(),
                at: now,
                by: by.clone(),
            }])
        }
    }
}

/// The terms of a clock of `kind` under `sla`, if the SLA has a target for it.
fn terms_for(kind: &ClockKind, sla: &AppliedSla) -> Option<ClockTerms> {
    sla.target_of(kind).map(|target| terms_with(target, sla))
}

fn terms_with(target: TimeDelta, sla: &AppliedSla) -> ClockTerms {
    ClockTerms {
        target,
        warning_percent: sla.targets.warning_percent(),
        policy: sla.policy.clone(),
        revision: sla.revision,
        calendar_name: sla.calendar_name.clone(),
        calendar: sla.calendar.clone(),
    }
}

/// Starts a clock of `kind` at `at`, if the SLA has a target for it.
fn start_clock(kind: ClockKind, sla: &AppliedSla, at: DateTime<Utc>) -> Option<IncidentEvent> {
    let terms = terms_for(&kind, sla)?;
    Some(start_with_terms(kind, terms, at))
}

fn start_with_terms(kind: ClockKind, terms: ClockTerms, at: DateTime<Utc>) -> IncidentEvent {
    let due = due_at(at, terms.target, &terms.calendar);
    IncidentEvent::SlaClockStarted {
        clock: kind,
        terms,
        due,
        at,
    }
}

/// What the clock measures happened now: met in time, or late (breach recorded once).
fn complete_clock(state: &ClockState, context: &Context) -> Vec<IncidentEvent> {
    let now = context.now;
    let clock = state.kind().clone();
    if state.breached {
        return vec![IncidentEvent::SlaClockStopped {
            clock,
            reason: StopReason::CompletedLate,
            at: now,
        }];
    }
    match state.due() {
        Some(due) if now > due => vec![
            IncidentEvent::SlaBreached {
                clock: clock.clone(),
                due,
                at: now,
                by: context.actor.clone(),
            },
            IncidentEvent::SlaClockStopped {
                clock,
                reason: StopReason::CompletedLate,
                at: now,
            },
        ],
        // Running and in time, or paused before its deadline.
        Some(_) | None => vec![IncidentEvent::SlaMet {
            clock,
            due: due_after_resume(state, now),
            elapsed: state.clock.elapsed(now),
            at: now,
        }],
    }
}

/// The deadline of the clock if it counted again from `now`.
fn due_after_resume(state: &ClockState, now: DateTime<Utc>) -> DateTime<Utc> {
    let mut clock = state.clock.clone();
    clock.resume(now);
    // With no open pause `due_at_with_pauses` always has an answer; `MAX_UTC` is due_at's own
    // "beyond range" value.
    clock.due().unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A new group receives the ticket: the OLA clock of the group that had it reaches its goal,
/// the receiving group's OLA clock starts with `ola` (if it has one) under the policy in force.
fn hand_over(
    incident: &LoggedIncident,
    to: GroupId,
    ola: Option<TimeDelta>,
    context: &Context,
) -> Result<Vec<IncidentEvent>, IncidentError> {
    if let Some(target) = ola {
        validate_target("OLA", target).map_err(IncidentError::Sla)?;
    }
    let mut events: Vec<IncidentEvent> = incident
        .active_clocks()
        .filter(|clock| matches!(clock.kind(), ClockKind::Ola { .. }))
        .flat_map(|clock| complete_clock(clock, context))
        .collect();
    if let Some(target) = ola {
        events.push(start_with_terms(
            ClockKind::Ola { group: to },
            terms_with(target, &incident.sla),
            context.now,
        ));
    }
    Ok(events)
}

/// Every running or paused clock gets the targets of `sla`, counted from its start.
fn retarget_all(
    incident: &LoggedIncident,
    sla: &AppliedSla,
    reason: &str,
    now: DateTime<Utc>,
) -> Vec<IncidentEvent> {
    incident
        .active_clocks()
        .map(|state| {
            // A policy without an OLA target keeps the running OLA clock's target.
            let target = sla.target_of(state.kind()).unwrap_or(state.clock.target);
            let terms = terms_with(target, sla);
            let mut clock = state.clock.clone();
            clock.retarget(terms.target, Some(terms.calendar.clone()));
            IncidentEvent::SlaClockRetargeted {
                clock: state.kind().clone(),
                old_target: state.clock.target,
                terms,
                due: clock.due(),
                reason: reason.to_owned(),
                at: now,
            }
        })
        .collect()
}

/// The timer's deadline must be the clock's current one: a re-targeted or paused clock makes
/// older deadlines stale.
fn check_deadline(state: &ClockState, claimed: DateTime<Utc>) -> Result<(), IncidentError> {
    if !state.is_running() {
        return Err(IncidentError::ClockNotRunning(state.kind().clone()));
    }
    let actual = state.due();
    if actual != Some(claimed) {
        return Err(IncidentError::StaleDue {
            clock: state.kind().clone(),
            claimed,
            actual,
        });
    }
    Ok(())
}
