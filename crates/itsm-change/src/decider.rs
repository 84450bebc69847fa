//! The change decider: every business rule of a change lives in `decide`.

use chrono::{DateTime, Utc};
use itsm_kernel::{Actor, ChangeKey, Context, Decider, Name, Role, text};

use crate::command::{MAX_NOTE_LEN, MAX_TEXT_LEN, MAX_TITLE_LEN};
use crate::schedule::overlaps;
use crate::{
    Authorization, ChangeCommand, ChangeError, ChangeEvent, ChangeRecord, ChangeState, ChangeType,
    FreezeWindow, Rejection, ReviewOutcome, Risk, ScheduledChange, Status, Vote,
};

/// The change aggregate.
pub struct Change;

impl Decider for Change {
    const NAME: &'static str = "change";
    type Command = ChangeCommand;
    type Event = ChangeEvent;
    type State = ChangeState;
    type Error = ChangeError;

    fn decide(
        state: &ChangeState,
        command: &ChangeCommand,
        context: &Context,
    ) -> Result<Vec<ChangeEvent>, ChangeError> {
        let by = context.actor.clone();
        let at = context.now;
        let ChangeCommand::Raise {
            key,
            change_type,
            title,
            description,
            service,
            impact,
            likelihood,
            implementation_plan,
            backout_plan,
            requested_by,
        } = command
        else {
            let record = state.record().ok_or(ChangeError::NotFound)?;
            return decide_on_existing(record, command, context);
        };
        if let Some(existing) = state.record() {
            return Err(ChangeError::AlreadyRaised { key: existing.key });
        }
        text::required("title", title, MAX_TITLE_LEN)?;
        text::required("description", description, MAX_TEXT_LEN)?;
        text::required("implementation_plan", implementation_plan, MAX_TEXT_LEN)?;
        text::required("backout_plan", backout_plan, MAX_TEXT_LEN)?;
        Ok(vec![ChangeEvent::Raised {
            key: *key,
            change_type: change_type.clone(),
            title: title.clone(),
            description: description.clone(),
            service: service.clone(),
            impact: *impact,
            likelihood: *likelihood,
            risk: Risk::from_matrix(*impact, *likelihood),
            implementation_plan: implementation_plan.clone(),
            backout_plan: backout_plan.clone(),
            requested_by: requested_by.clone(),
            by,
            at,
        }])
    }

    fn evolve(state: ChangeState, event: &ChangeEvent) -> ChangeState {
        state.apply(event)
    }
}

fn decide_on_existing(
    record: &ChangeRecord,
    command: &ChangeCommand,
    context: &Context,
) -> Result<Vec<ChangeEvent>, ChangeError> {
    let key = record.key;
    let by = context.actor.clone();
    let at = context.now;
    let name = command.name();
    let expect = |allowed: &[Status]| {
        if allowed.contains(&record.status) {
            Ok(())
        } else {
            Err(ChangeError::InvalidTransition {
                from: record.status,
                command: name,
            })
        }
    };
    match command {
        ChangeCommand::Raise { .. } => Err(ChangeError::AlreadyRaised { key }),
        ChangeCommand::Submit => {
            expect(&[Status::Draft])?;
            let submitted = ChangeEvent::Submitted {
                key,
                by: by.clone(),
                at,
            };
            match &record.change_type {
                ChangeType::Standard { template } => Ok(vec![
                    submitted,
                    ChangeEvent::Authorized {
                        key,
                        basis: Authorization::PreApproved {
                            template: template.clone(),
                        },
                        by,
                        at,
                    },
                ]),
                ChangeType::Normal | ChangeType::Emergency => Ok(vec![submitted]),
            }
        }
        ChangeCommand::Assess {
            impact,
            likelihood,
            notes,
            cab,
            required_approvals,
        } => {
            // A standard change never rests in `Submitted`: it is authorized on submission.
            expect(&[Status::Submitted])?;
            require_change_manager(context, name)?;
            text::required("notes", notes, MAX_NOTE_LEN)?;
            for (index, member) in cab.iter().enumerate() {
                if cab[..index].contains(member) {
                    return Err(ChangeError::DuplicateCabMember {
                        member: member.clone(),
                    });
                }
                if member == &record.requested_by {
                    return Err(ChangeError::RequesterOnCab {
                        member: member.clone(),
                    });
                }
            }
            if *required_approvals == 0 || usize::from(*required_approvals) > cab.len() {
                return Err(ChangeError::InvalidQuorum {
                    required: *required_approvals,
                    cab_size: cab.len(),
                });
            }
            Ok(vec![ChangeEvent::Assessed {
                key,
                impact: *impact,
                likelihood: *likelihood,
                risk: Risk::from_matrix(*impact, *likelihood),
                notes: notes.clone(),
                cab: cab.clone(),
                required_approvals: *required_approvals,
                by,
                at,
            }])
        }
        ChangeCommand::RecordApproval {
            approver,
            vote,
            comment,
        } => {
            expect(&[Status::Assessed])?;
            let recorded_by_approver = context.actor.user_id() == Some(approver);
            if !recorded_by_approver && !is_change_manager(&context.actor) {
                return Err(ChangeError::NotPermitted {
                    command: name,
                    required: Role::ChangeManager,
                });
            }
            if !record.cab.contains(approver) {
                return Err(ChangeError::NotCabMember {
                    approver: approver.clone(),
                });
            }
            if record.has_voted(approver) {
                return Err(ChangeError::AlreadyVoted {
                    approver: approver.clone(),
                });
            }
            text::bounded("comment", comment, MAX_NOTE_LEN)?;
            let recorded = ChangeEvent::ApprovalRecorded {
                key,
                approver: approver.clone(),
                vote: *vote,
                comment: comment.clone(),
                by: by.clone(),
                at,
            };
            match vote {
                Vote::Reject => Ok(vec![
                    recorded,
                    ChangeEvent::Rejected {
                        key,
                        reason: Rejection::Vetoed {
                            approver: approver.clone(),
                        },
                        by,
                        at,
                    },
                ]),
                Vote::Approve => {
                    if record.approvals() + 1 < usize::from(record.required_approvals) {
                        return Ok(vec![recorded]);
                    }
                    let approvers = record
                        .votes
                        .iter()
                        .filter(|v| matches!(v.vote, Vote::Approve))
                        .map(|v| v.approver.clone())
                        .chain(std::iter::once(approver.clone()))
                        .collect();
                    let basis = match &record.change_type {
                        ChangeType::Emergency => Authorization::EmergencyCab { approvers },
                        // Standard changes never reach `Assessed`; should one, its CAB decided.
                        ChangeType::Normal | ChangeType::Standard { .. } => {
                            Authorization::Cab { approvers }
                        }
                    };
                    Ok(vec![
                        recorded,
                        ChangeEvent::Authorized { key, basis, by, at },
                    ])
                }
            }
        }
        ChangeCommand::Reject { reason } => {
            expect(&[Status::Submitted, Status::Assessed])?;
            require_change_manager(context, name)?;
            text::required("reason", reason, MAX_NOTE_LEN)?;
            Ok(vec![ChangeEvent::Rejected {
                key,
                reason: Rejection::Declined {
                    reason: reason.clone(),
                },
                by,
                at,
            }])
        }
        ChangeCommand::Schedule {
            from,
            to,
            freeze_windows,
            other_changes,
        } => {
            expect(&[Status::Authorized])?;
            require_change_manager(context, name)?;
            let warnings = plan_slot(record, *from, *to, freeze_windows, other_changes, at)?;
            Ok(vec![ChangeEvent::Scheduled {
                key,
                service: record.service.clone(),
                from: *from,
                to: *to,
                collisions: warnings.collisions,
                freeze_overrides: warnings.freeze_overrides,
                by,
                at,
            }])
        }
        ChangeCommand::Reschedule {
            from,
            to,
            freeze_windows,
            other_changes,
        } => {
            expect(&[Status::Scheduled])?;
            require_change_manager(context, name)?;
            let Some(previous) = record.slot else {
                // A scheduled change always has a slot; reaching here means a broken history.
                return Err(ChangeError::InvalidTransition {
                    from: record.status,
                    command: name,
                });
            };
            let warnings = plan_slot(record, *from, *to, freeze_windows, other_changes, at)?;
            Ok(vec![ChangeEvent::Rescheduled {
                key,
                service: record.service.clone(),
                from: *from,
                to: *to,
                previous_from: previous.from,
                previous_to: previous.to,
                collisions: warnings.collisions,
                freeze_overrides: warnings.freeze_overrides,
                by,
                at,
            }])
        }
        ChangeCommand::StartImplementation => {
            expect(&[Status::Scheduled])?;
            if let Some(slot) = record.slot
                && at < slot.from
            {
                return Err(ChangeError::TooEarly {
                    scheduled_from: slot.from,
                    now: at,
                });
            }
            Ok(vec![ChangeEvent::ImplementationStarted { key, by, at }])
        }
        ChangeCommand::CompleteImplementation { notes } => {
            expect(&[Status::Implementing])?;
            text::bounded("notes", notes, MAX_NOTE_LEN)?;
            Ok(vec![ChangeEvent::Implemented {
                key,
                notes: notes.clone(),
                by,
                at,
            }])
        }
        ChangeCommand::Fail {
            backout_performed,
            notes,
        } => {
            expect(&[Status::Implementing])?;
            text::required("notes", notes, MAX_NOTE_LEN)?;
            Ok(vec![ChangeEvent::Failed {
                key,
                backout_performed: *backout_performed,
                notes: notes.clone(),
                by,
                at,
            }])
        }
        ChangeCommand::Review { outcome, notes } => {
            expect(&[Status::Implemented, Status::Failed])?;
            require_change_manager(context, name)?;
            text::required("notes", notes, MAX_NOTE_LEN)?;
            let claims_success = match outcome {
                ReviewOutcome::Successful | ReviewOutcome::SuccessfulWithIssues => true,
                ReviewOutcome::Unsuccessful => false,
            };
            if record.status == Status::Failed && claims_success {
                return Err(ChangeError::ReviewContradictsResult { outcome: *outcome });
            }
            Ok(vec![ChangeEvent::Reviewed {
                key,
                outcome: *outcome,
                notes: notes.clone(),
                by,
                at,
            }])
        }
        ChangeCommand::Close => {
            expect(&[Status::Reviewed])?;
            require_change_manager(context, name)?;
            Ok(vec![ChangeEvent::Closed { key, by, at }])
        }
        ChangeCommand::Cancel { reason } => {
            expect(&[
                Status::Draft,
                Status::Submitted,
                Status::Assessed,
                Status::Authorized,
                Status::Scheduled,
            ])?;
            let is_requester = context.actor.user_id() == Some(&record.requested_by);
            if !is_requester && !is_change_manager(&context.actor) {
                return Err(ChangeError::NotPermitted {
                    command: name,
                    required: Role::ChangeManager,
                });
            }
            text::required("reason", reason, MAX_NOTE_LEN)?;
            Ok(vec![ChangeEvent::Cancelled {
                key,
                reason: reason.clone(),
                by,
                at,
            }])
        }
    }
}

fn is_change_manager(actor: &Actor) -> bool {
    actor.role() == Some(Role::ChangeManager)
}

fn require_change_manager(context: &Context, command: &'static str) -> Result<(), ChangeError> {
    if is_change_manager(&context.actor) {
        Ok(())
    } else {
        Err(ChangeError::NotPermitted {
            command,
            required: Role::ChangeManager,
        })
    }
}

/// What a valid slot warns about.
struct SlotWarnings {
    collisions: Vec<ChangeKey>,
    freeze_overrides: Vec<Name>,
}

/// Checks a proposed slot `[from, to)` against time, freeze windows and other changes.
fn plan_slot(
    record: &ChangeRecord,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    freeze_windows: &[FreezeWindow],
    other_changes: &[ScheduledChange],
    now: DateTime<Utc>,
) -> Result<SlotWarnings, ChangeError> {
    if from >= to {
        return Err(ChangeError::EmptySlot { from, to });
    }
    if from < now {
        return Err(ChangeError::StartsInThePast { from, now });
    }
    let mut freeze_overrides = Vec::new();
    for window in freeze_windows {
        if !window.is_well_formed() {
            return Err(ChangeError::MalformedFreezeWindow {
                window: window.name.clone(),
            });
        }
        if !window.applies_to(&record.service) || !overlaps(from, to, window.from, window.to) {
            continue;
        }
        if !record.change_type.is_emergency() {
            return Err(ChangeError::InFreezeWindow {
                window: window.name.clone(),
                from: window.from,
                to: window.to,
            });
        }
        if !freeze_overrides.contains(&window.name) {
            freeze_overrides.push(window.name.clone());
        }
    }
    let mut collisions: Vec<ChangeKey> = other_changes
        .iter()
        .filter(|other| {
            other.key != record.key
                && other.service == record.service
                && overlaps(from, to, other.from, other.to)
        })
        .map(|other| other.key)
        .collect();
    collisions.sort_unstable();
    collisions.dedup();
    Ok(SlotWarnings {
        collisions,
        freeze_overrides,
    })
}
