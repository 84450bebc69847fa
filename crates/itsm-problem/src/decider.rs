//! A problem's decisions (`decide`) and how its events change the state (`evolve`).

use std::collections::BTreeSet;

use itsm_kernel::{Context, Decider, Priority, text};

use crate::command::{MAX_LINKED_INCIDENTS, MAX_REASON_LEN, MAX_TEXT_LEN, MAX_TITLE_LEN};
use crate::{
    ProblemCommand, ProblemError, ProblemEvent, ProblemRecord, ProblemState, ProblemStatus,
};

/// The problem aggregate, one stream per problem (`problem-<n>`).
pub struct Problem;

/// The statuses in which the investigation is under way: root cause, workaround, fix change and
/// resolution may be recorded.
const INVESTIGATING: [ProblemStatus; 2] =
    [ProblemStatus::UnderInvestigation, ProblemStatus::KnownError];
/// The statuses in which incidents may be linked and unlinked, and the problem cancelled.
const OPEN: [ProblemStatus; 3] = [
    ProblemStatus::Logged,
    ProblemStatus::UnderInvestigation,
    ProblemStatus::KnownError,
];

impl Decider for Problem {
    const NAME: &'static str = "problem";
    type Command = ProblemCommand;
    type Event = ProblemEvent;
    type State = ProblemState;
    type Error = ProblemError;

    fn decide(
        state: &ProblemState,
        command: &ProblemCommand,
        context: &Context,
    ) -> Result<Vec<ProblemEvent>, ProblemError> {
        let by = context.actor.clone();
        let at = context.now;
        if let ProblemCommand::Record {
            key,
            title,
            description,
            service,
            impact,
            urgency,
        } = command
        {
            if let Some(existing) = &state.record {
                return Err(ProblemError::AlreadyRecorded { key: existing.key });
            }
            text::required("title", title, MAX_TITLE_LEN)?;
            text::bounded("description", description, MAX_TEXT_LEN)?;
            return Ok(vec![ProblemEvent::Recorded {
                key: *key,
                title: title.clone(),
                description: description.clone(),
                service: service.clone(),
                impact: *impact,
                urgency: *urgency,
                priority: Priority::from_matrix(*impact, *urgency),
                by,
                at,
            }]);
        }
        let problem = state.record.as_ref().ok_or(ProblemError::NotFound)?;
        let key = problem.key;
        let require = |allowed: &[ProblemStatus]| {
            if allowed.contains(&problem.status) {
                Ok(())
            } else {
                Err(ProblemError::InvalidTransition {
                    from: problem.status,
                    command: command.name(),
                })
            }
        };
        let linked = || problem.linked_incidents.iter().copied().collect::<Vec<_>>();
        match command {
            // Handled above; listed so that a new command variant still forces a decision here.
            ProblemCommand::Record { .. } => Err(ProblemError::AlreadyRecorded { key }),
            ProblemCommand::StartInvestigation { group, assignee } => {
                require(&[ProblemStatus::Logged])?;
                Ok(vec![ProblemEvent::InvestigationStarted {
                    key,
                    group: group.clone(),
                    assignee: assignee.clone(),
                    by,
                    at,
                }])
            }
            ProblemCommand::Reassign { group, assignee } => {
                require(&INVESTIGATING)?;
                if problem.group.as_ref() == Some(group) && problem.assignee == *assignee {
                    return Err(ProblemError::AlreadyAssigned);
                }
                Ok(vec![ProblemEvent::Reassigned {
                    key,
                    group: group.clone(),
                    assignee: assignee.clone(),
                    by,
                    at,
                }])
            }
            ProblemCommand::RecordRootCause { root_cause } => {
                require(&INVESTIGATING)?;
                text::required("root cause", root_cause, MAX_TEXT_LEN)?;
                Ok(vec![ProblemEvent::RootCauseRecorded {
                    key,
                    root_cause: root_cause.clone(),
                    by,
                    at,
                }])
            }
            ProblemCommand::DocumentWorkaround { workaround } => {
                require(&INVESTIGATING)?;
                text::required("workaround", workaround, MAX_TEXT_LEN)?;
                Ok(vec![ProblemEvent::WorkaroundDocumented {
                    key,
                    title: problem.title.clone(),
                    service: problem.service.clone(),
                    workaround: workaround.clone(),
                    root_cause: problem.root_cause.clone(),
                    linked_incidents: linked(),
                    by,
                    at,
                }])
            }
            ProblemCommand::LinkIncident { incident } => {
                require(&OPEN)?;
                if problem.linked_incidents.contains(incident) {
                    return Err(ProblemError::IncidentAlreadyLinked {
                        incident: *incident,
                    });
                }
                if problem.linked_incidents.len() >= MAX_LINKED_INCIDENTS {
                    return Err(ProblemError::TooManyLinkedIncidents {
                        max: MAX_LINKED_INCIDENTS,
                    });
                }
                Ok(vec![ProblemEvent::IncidentLinked {
                    key,
                    incident: *incident,
                    workaround: problem.workaround.clone(),
                    by,
                    at,
                }])
            }
            ProblemCommand::UnlinkIncident { incident } => {
                require(&OPEN)?;
                if !problem.linked_incidents.contains(incident) {
                    return Err(ProblemError::IncidentNotLinked {
                        incident: *incident,
                    });
                }
                Ok(vec![ProblemEvent::IncidentUnlinked {
                    key,
                    incident: *incident,
                    by,
                    at,
                }])
            }
            ProblemCommand::LinkFixChange { change } => {
                require(&INVESTIGATING)?;
                if problem.fix_change == Some(*change) {
                    return Err(ProblemError::FixChangeAlreadyLinked { change: *change });
                }
                Ok(vec![ProblemEvent::FixChangeLinked {
                    key,
                    change: *change,
                    replaced: problem.fix_change,
                    by,
                    at,
                }])
            }
            ProblemCommand::Resolve { resolution } => {
                require(&INVESTIGATING)?;
                text::required("resolution", resolution, MAX_TEXT_LEN)?;
                if problem.root_cause.is_none() {
                    return Err(ProblemError::RootCauseMissing);
                }
                Ok(vec![ProblemEvent::Resolved {
                    key,
                    resolution: resolution.clone(),
                    fix_change: problem.fix_change,
                    linked_incidents: linked(),
                    by,
                    at,
                }])
            }
            ProblemCommand::Close => {
                require(&[ProblemStatus::Resolved])?;
                Ok(vec![ProblemEvent::Closed { key, by, at }])
            }
            ProblemCommand::Reopen { reason } => {
                require(&[ProblemStatus::Resolved])?;
                text::required("reason", reason, MAX_REASON_LEN)?;
                let status = if problem.workaround.is_some() {
                    ProblemStatus::KnownError
                } else {
                    ProblemStatus::UnderInvestigation
                };
                Ok(vec![ProblemEvent::Reopened {
                    key,
                    reason: reason.clone(),
                    status,
                    by,
                    at,
                }])
            }
            ProblemCommand::Cancel { reason } => {
                require(&OPEN)?;
                text::required("reason", reason, MAX_REASON_LEN)?;
                Ok(vec![ProblemEvent::Cancelled {
                    key,
                    reason: reason.clone(),
                    linked_incidents: linked(),
                    by,
                    at,
                }])
            }
        }
    }

    fn evolve(mut state: ProblemState, event: &ProblemEvent) -> ProblemState {
        if let ProblemEvent::Recorded {
            key,
            title,
            description,
            service,
            impact,
            urgency,
            priority,
            by,
            at,
        } = event
        {
            state.record = Some(ProblemRecord {
                key: *key,
                title: title.clone(),
                description: description.clone(),
                service: service.clone(),
                impact: *impact,
                urgency: *urgency,
                priority: *priority,
                status: ProblemStatus::Logged,
                group: None,
                assignee: None,
                root_cause: None,
                workaround: None,
                linked_incidents: BTreeSet::new(),
                fix_change: None,
                resolution: None,
                recorded_by: by.clone(),
                recorded_at: *at,
                updated_at: *at,
            });
            return state;
        }
        // Every other event is about a recorded problem; decide never emits one before.
        let Some(problem) = state.record.as_mut() else {
            return state;
        };
        match event {
            ProblemEvent::Recorded { .. } => {}
            ProblemEvent::InvestigationStarted {
                group,
                assignee,
                at,
                ..
            } => {
                problem.status = ProblemStatus::UnderInvestigation;
                problem.group = Some(group.clone());
                problem.assignee.clone_from(assignee);
                problem.updated_at = *at;
            }
            ProblemEvent::Reassigned {
                group,
                assignee,
                at,
                ..
            } => {
                problem.group = Some(group.clone());
                problem.assignee.clone_from(assignee);
                problem.updated_at = *at;
            }
            ProblemEvent::RootCauseRecorded { root_cause, at, .. } => {
                problem.root_cause = Some(root_cause.clone());
                problem.updated_at = *at;
            }
            ProblemEvent::WorkaroundDocumented { workaround, at, .. } => {
                problem.status = ProblemStatus::KnownError;
                problem.workaround = Some(workaround.clone());
                problem.updated_at = *at;
            }
            ProblemEvent::IncidentLinked { incident, at, .. } => {
                problem.linked_incidents.insert(*incident);
                problem.updated_at = *at;
            }
            ProblemEvent::IncidentUnlinked { incident, at, .. } => {
                problem.linked_incidents.remove(incident);
                problem.updated_at = *at;
            }
            ProblemEvent::FixChangeLinked { change, at, .. } => {
                problem.fix_change = Some(*change);
                problem.updated_at = *at;
            }
            ProblemEvent::Resolved { resolution, at, .. } => {
                problem.status = ProblemStatus::Resolved;
                problem.resolution = Some(resolution.clone());
                problem.updated_at = *at;
            }
            ProblemEvent::Closed { at, .. } => {
                problem.status = ProblemStatus::Closed;
                problem.updated_at = *at;
            }
            ProblemEvent::Reopened { status, at, .. } => {
                problem.status = *status;
                problem.resolution = None;
                problem.updated_at = *at;
            }
            ProblemEvent::Cancelled { at, .. } => {
                problem.status = ProblemStatus::Cancelled;
                problem.updated_at = *at;
            }
        }
        state
    }
}
