//! Given / when / then specs for every change command: its success path and each way it is
//! rejected.

use chrono::{DateTime, TimeZone, Utc};
use itsm_change::{
    Authorization, Change, ChangeCommand, ChangeError, ChangeEvent, ChangeType, FreezeWindow,
    Likelihood, MAX_NOTE_LEN, MAX_TEXT_LEN, MAX_TITLE_LEN, Rejection, ReviewOutcome, Risk,
    ScheduledChange, Status, Vote,
};
use itsm_kernel::spec::{default_actor, default_now};
use itsm_kernel::{Actor, ChangeKey, Impact, Name, Role, ServiceId, Spec, TextError, UserId};

const KEY: ChangeKey = ChangeKey::new(7);

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, day, hour, 0, 0)
        .single()
        .expect("valid date")
}

fn user(name: &str) -> UserId {
    UserId::new(name).expect("valid user id")
}

fn name(text: &str) -> Name {
    Name::new(text).expect("valid name")
}

fn email() -> ServiceId {
    ServiceId::new("email").expect("valid service id")
}

fn vpn() -> ServiceId {
    ServiceId::new("vpn").expect("valid service id")
}

/// The spec's default actor: an agent, who raises and implements changes.
fn agent() -> Actor {
    default_actor()
}

fn manager() -> Actor {
    Actor::user(user("cm.jones"), Role::ChangeManager)
}

fn requester() -> Actor {
    Actor::user(user("rita"), Role::Requester)
}

fn member(name: &str) -> Actor {
    Actor::user(user(name), Role::Agent)
}

fn now() -> DateTime<Utc> {
    default_now()
}

fn template() -> ChangeType {
    ChangeType::Standard {
        template: name("restart-mail-relay"),
    }
}

fn raise(change_type: ChangeType) -> ChangeCommand {
    ChangeCommand::Raise {
        key: KEY,
        change_type,
        title: "Upgrade the mail relay".to_owned(),
        description: "Move the relay to the supported release.".to_owned(),
        service: email(),
        impact: Impact::High,
        likelihood: Likelihood::Low,
        implementation_plan: "Drain, upgrade, undrain.".to_owned(),
        backout_plan: "Restore the snapshot.".to_owned(),
        requested_by: user("rita"),
    }
}

fn raised(change_type: ChangeType) -> ChangeEvent {
    ChangeEvent::Raised {
        key: KEY,
        change_type,
        title: "Upgrade the mail relay".to_owned(),
        description: "Move the relay to the supported release.".to_owned(),
        service: email(),
        impact: Impact::High,
        likelihood: Likelihood::Low,
        risk: Risk::Medium,
        implementation_plan: "Drain, upgrade, undrain.".to_owned(),
        backout_plan: "Restore the snapshot.".to_owned(),
        requested_by: user("rita"),
        by: agent(),
        at: now(),
    }
}

fn submitted_event() -> ChangeEvent {
    ChangeEvent::Submitted {
        key: KEY,
        by: agent(),
        at: now(),
    }
}

fn assess(cab: &[&str], required_approvals: u8) -> ChangeCommand {
    ChangeCommand::Assess {
        impact: Impact::Medium,
        likelihood: Likelihood::Medium,
        notes: "Tested in staging.".to_owned(),
        cab: cab.iter().map(|m| user(m)).collect(),
        required_approvals,
    }
}

fn assessed_event(cab: &[&str], required_approvals: u8) -> ChangeEvent {
    ChangeEvent::Assessed {
        key: KEY,
        impact: Impact::Medium,
        likelihood: Likelihood::Medium,
        risk: Risk::Medium,
        notes: "Tested in staging.".to_owned(),
        cab: cab.iter().map(|m| user(m)).collect(),
        required_approvals,
        by: manager(),
        at: now(),
    }
}

fn vote_event(approver: &str, vote: Vote) -> ChangeEvent {
    ChangeEvent::ApprovalRecorded {
        key: KEY,
        approver: user(approver),
        vote,
        comment: String::new(),
        by: member(approver),
        at: now(),
    }
}

fn approve(approver: &str) -> ChangeCommand {
    ChangeCommand::RecordApproval {
        approver: user(approver),
        vote: Vote::Approve,
        comment: "Looks safe.".to_owned(),
    }
}

fn draft() -> Vec<ChangeEvent> {
    vec![raised(ChangeType::Normal)]
}

fn submitted() -> Vec<ChangeEvent> {
    let mut history = draft();
    history.push(submitted_event());
    history
}

/// A normal change with CAB alice, bob, carol and a quorum of 2.
fn assessed() -> Vec<ChangeEvent> {
    let mut history = submitted();
    history.push(assessed_event(&["alice", "bob", "carol"], 2));
    history
}

fn authorized() -> Vec<ChangeEvent> {
    let mut history = assessed();
    history.extend([
        vote_event("alice", Vote::Approve),
        vote_event("bob", Vote::Approve),
        ChangeEvent::Authorized {
            key: KEY,
            basis: Authorization::Cab {
                approvers: vec![user("alice"), user("bob")],
            },
            by: member("bob"),
            at: now(),
        },
    ]);
    history
}

fn emergency_authorized() -> Vec<ChangeEvent> {
    vec![
        raised(ChangeType::Emergency),
        submitted_event(),
        assessed_event(&["erin"], 1),
        vote_event("erin", Vote::Approve),
        ChangeEvent::Authorized {
            key: KEY,
            basis: Authorization::EmergencyCab {
                approvers: vec![user("erin")],
            },
            by: member("erin"),
            at: now(),
        },
    ]
}

/// Scheduled for Monday 22:00 .. 23:00.
fn scheduled() -> Vec<ChangeEvent> {
    let mut history = authorized();
    history.push(scheduled_event(at(5, 22), at(5, 23), vec![], vec![]));
    history
}

fn scheduled_event(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    collisions: Vec<ChangeKey>,
    freeze_overrides: Vec<Name>,
) -> ChangeEvent {
    ChangeEvent::Scheduled {
        key: KEY,
        service: email(),
        from,
        to,
        collisions,
        freeze_overrides,
        by: manager(),
        at: now(),
    }
}

fn implementing() -> Vec<ChangeEvent> {
    let mut history = scheduled();
    history.push(ChangeEvent::ImplementationStarted {
        key: KEY,
        by: agent(),
        at: at(5, 22),
    });
    history
}

fn implemented() -> Vec<ChangeEvent> {
    let mut history = implementing();
    history.push(ChangeEvent::Implemented {
        key: KEY,
        notes: String::new(),
        by: agent(),
        at: at(5, 23),
    });
    history
}

fn failed() -> Vec<ChangeEvent> {
    let mut history = implementing();
    history.push(ChangeEvent::Failed {
        key: KEY,
        backout_performed: true,
        notes: "Relay did not start; snapshot restored.".to_owned(),
        by: agent(),
        at: at(5, 23),
    });
    history
}

fn reviewed() -> Vec<ChangeEvent> {
    let mut history = implemented();
    history.push(ChangeEvent::Reviewed {
        key: KEY,
        outcome: ReviewOutcome::Successful,
        notes: "Went to plan.".to_owned(),
        by: manager(),
        at: at(6, 9),
    });
    history
}

fn closed() -> Vec<ChangeEvent> {
    let mut history = reviewed();
    history.push(ChangeEvent::Closed {
        key: KEY,
        by: manager(),
        at: at(6, 10),
    });
    history
}

fn cancelled() -> Vec<ChangeEvent> {
    let mut history = draft();
    history.push(ChangeEvent::Cancelled {
        key: KEY,
        reason: "No longer needed.".to_owned(),
        by: requester(),
        at: now(),
    });
    history
}

fn rejected() -> Vec<ChangeEvent> {
    let mut history = assessed();
    history.extend([
        vote_event("alice", Vote::Reject),
        ChangeEvent::Rejected {
            key: KEY,
            reason: Rejection::Vetoed {
                approver: user("alice"),
            },
            by: member("alice"),
            at: now(),
        },
    ]);
    history
}

fn schedule(from: DateTime<Utc>, to: DateTime<Utc>) -> ChangeCommand {
    ChangeCommand::Schedule {
        from,
        to,
        freeze_windows: vec![],
        other_changes: vec![],
    }
}

fn freeze(
    window: &str,
    service: Option<ServiceId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> FreezeWindow {
    FreezeWindow {
        name: name(window),
        service,
        from,
        to,
    }
}

fn invalid_transition(from: Status, command: &'static str) -> ChangeError {
    ChangeError::InvalidTransition { from, command }
}

fn not_permitted(command: &'static str) -> ChangeError {
    ChangeError::NotPermitted {
        command,
        required: Role::ChangeManager,
    }
}

fn empty(field: &'static str) -> ChangeError {
    ChangeError::Validation(TextError::Empty { field })
}

fn too_long(field: &'static str, len: usize, max: usize) -> ChangeError {
    ChangeError::Validation(TextError::TooLong { field, len, max })
}

/// One command of every kind, each valid in some status.
fn every_command_but_raise() -> Vec<ChangeCommand> {
    vec![
        ChangeCommand::Submit,
        assess(&["alice"], 1),
        approve("alice"),
        ChangeCommand::Reject {
            reason: "No.".to_owned(),
        },
        schedule(at(5, 22), at(5, 23)),
        ChangeCommand::Reschedule {
            from: at(6, 22),
            to: at(6, 23),
            freeze_windows: vec![],
            other_changes: vec![],
        },
        ChangeCommand::StartImplementation,
        ChangeCommand::CompleteImplementation {
            notes: String::new(),
        },
        ChangeCommand::Fail {
            backout_performed: false,
            notes: "Broke.".to_owned(),
        },
        ChangeCommand::Review {
            outcome: ReviewOutcome::Unsuccessful,
            notes: "Lessons.".to_owned(),
        },
        ChangeCommand::Close,
        ChangeCommand::Cancel {
            reason: "Stop.".to_owned(),
        },
    ]
}

// ---- Raise -------------------------------------------------------------------------------------

#[test]
fn raising_a_normal_change_records_a_draft_with_its_provisional_risk() {
    let state = Spec::<Change>::new()
        .when(raise(ChangeType::Normal))
        .then([raised(ChangeType::Normal)]);
    assert_eq!(state.status(), Some(Status::Draft));
}

#[test]
fn raising_a_standard_change_records_its_template() {
    Spec::<Change>::new()
        .when(raise(template()))
        .then([raised(template())]);
}

#[test]
fn raising_a_change_twice_is_rejected() {
    Spec::<Change>::given(draft())
        .when(raise(ChangeType::Normal))
        .then_error(ChangeError::AlreadyRaised { key: KEY });
}

#[test]
fn raising_a_change_with_a_blank_title_is_rejected() {
    let mut command = raise(ChangeType::Normal);
    if let ChangeCommand::Raise { title, .. } = &mut command {
        *title = "   ".to_owned();
    }
    Spec::<Change>::new()
        .when(command)
        .then_error(empty("title"));
}

#[test]
fn raising_a_change_with_an_overlong_title_is_rejected() {
    let mut command = raise(ChangeType::Normal);
    if let ChangeCommand::Raise { title, .. } = &mut command {
        *title = "t".repeat(MAX_TITLE_LEN + 1);
    }
    Spec::<Change>::new().when(command).then_error(too_long(
        "title",
        MAX_TITLE_LEN + 1,
        MAX_TITLE_LEN,
    ));
}

#[test]
fn raising_a_change_without_a_description_or_plans_is_rejected() {
    for field in ["description", "implementation_plan", "backout_plan"] {
        let mut command = raise(ChangeType::Normal);
        if let ChangeCommand::Raise {
            description,
            implementation_plan,
            backout_plan,
            ..
        } = &mut command
        {
            match field {
                "description" => description.clear(),
                "implementation_plan" => implementation_plan.clear(),
                _ => backout_plan.clear(),
            }
        }
        Spec::<Change>::new().when(command).then_error(empty(field));
    }
}

#[test]
fn raising_a_change_with_an_overlong_description_or_plan_is_rejected() {
    let long = "d".repeat(MAX_TEXT_LEN + 1);
    for field in ["description", "implementation_plan", "backout_plan"] {
        let mut command = raise(ChangeType::Normal);
        if let ChangeCommand::Raise {
            description,
            implementation_plan,
            backout_plan,
            ..
        } = &mut command
        {
            match field {
                "description" => description.clone_from(&long),
                "implementation_plan" => implementation_plan.clone_from(&long),
                _ => backout_plan.clone_from(&long),
            }
        }
        Spec::<Change>::new().when(command).then_error(too_long(
            field,
            MAX_TEXT_LEN + 1,
            MAX_TEXT_LEN,
        ));
    }
}

#[test]
fn every_command_on_a_change_never_raised_is_rejected_as_not_found() {
    for command in every_command_but_raise() {
        Spec::<Change>::new()
            .by(manager())
            .when(command)
            .then_error(ChangeError::NotFound);
    }
}

// ---- Submit ------------------------------------------------------------------------------------

#[test]
fn submitting_a_normal_draft_waits_for_assessment() {
    let state = Spec::<Change>::given(draft())
        .when(ChangeCommand::Submit)
        .then([submitted_event()]);
    assert_eq!(state.status(), Some(Status::Submitted));
}

#[test]
fn submitting_a_standard_change_authorizes_it_by_its_template() {
    let state = Spec::<Change>::given([raised(template())])
        .when(ChangeCommand::Submit)
        .then([
            submitted_event(),
            ChangeEvent::Authorized {
                key: KEY,
                basis: Authorization::PreApproved {
                    template: name("restart-mail-relay"),
                },
                by: agent(),
                at: now(),
            },
        ]);
    assert_eq!(state.status(), Some(Status::Authorized));
}

#[test]
fn submitting_a_change_twice_is_rejected() {
    Spec::<Change>::given(submitted())
        .when(ChangeCommand::Submit)
        .then_error(invalid_transition(Status::Submitted, "Submit"));
}

// ---- Assess ------------------------------------------------------------------------------------

#[test]
fn a_change_manager_assesses_a_submitted_change_naming_the_cab_and_quorum() {
    let state = Spec::<Change>::given(submitted())
        .by(manager())
        .when(assess(&["alice", "bob", "carol"], 2))
        .then([assessed_event(&["alice", "bob", "carol"], 2)]);
    let record = state.record().expect("raised");
    assert_eq!(record.status, Status::Assessed);
    assert_eq!(record.risk, Risk::Medium);
}

#[test]
fn assessing_by_an_agent_is_rejected() {
    Spec::<Change>::given(submitted())
        .when(assess(&["alice"], 1))
        .then_error(not_permitted("Assess"));
}

#[test]
fn assessing_a_draft_is_rejected() {
    Spec::<Change>::given(draft())
        .by(manager())
        .when(assess(&["alice"], 1))
        .then_error(invalid_transition(Status::Draft, "Assess"));
}

#[test]
fn assessing_a_standard_change_is_rejected_because_it_is_already_authorized() {
    Spec::<Change>::given([
        raised(template()),
        submitted_event(),
        ChangeEvent::Authorized {
            key: KEY,
            basis: Authorization::PreApproved {
                template: name("restart-mail-relay"),
            },
            by: agent(),
            at: now(),
        },
    ])
    .by(manager())
    .when(assess(&["alice"], 1))
    .then_error(invalid_transition(Status::Authorized, "Assess"));
}

#[test]
fn assessing_without_notes_is_rejected() {
    let mut command = assess(&["alice"], 1);
    if let ChangeCommand::Assess { notes, .. } = &mut command {
        notes.clear();
    }
    Spec::<Change>::given(submitted())
        .by(manager())
        .when(command)
        .then_error(empty("notes"));
}

#[test]
fn assessing_with_overlong_notes_is_rejected() {
    let mut command = assess(&["alice"], 1);
    if let ChangeCommand::Assess { notes, .. } = &mut command {
        *notes = "n".repeat(MAX_NOTE_LEN + 1);
    }
    Spec::<Change>::given(submitted())
        .by(manager())
        .when(command)
        .then_error(too_long("notes", MAX_NOTE_LEN + 1, MAX_NOTE_LEN));
}

#[test]
fn assessing_with_a_quorum_of_zero_is_rejected() {
    Spec::<Change>::given(submitted())
        .by(manager())
        .when(assess(&["alice"], 0))
        .then_error(ChangeError::InvalidQuorum {
            required: 0,
            cab_size: 1,
        });
}

#[test]
fn assessing_with_a_quorum_larger_than_the_cab_is_rejected() {
    Spec::<Change>::given(submitted())
        .by(manager())
        .when(assess(&["alice", "bob"], 3))
        .then_error(ChangeError::InvalidQuorum {
            required: 3,
            cab_size: 2,
        });
}

#[test]
fn assessing_with_an_empty_cab_is_rejected() {
    Spec::<Change>::given(submitted())
        .by(manager())
        .when(assess(&[], 1))
        .then_error(ChangeError::InvalidQuorum {
            required: 1,
            cab_size: 0,
        });
}

#[test]
fn naming_a_cab_member_twice_is_rejected() {
    Spec::<Change>::given(submitted())
        .by(manager())
        .when(assess(&["alice", "bob", "alice"], 2))
        .then_error(ChangeError::DuplicateCabMember {
            member: user("alice"),
        });
}

#[test]
fn putting_the_requester_on_the_cab_is_rejected() {
    Spec::<Change>::given(submitted())
        .by(manager())
        .when(assess(&["alice", "rita"], 1))
        .then_error(ChangeError::RequesterOnCab {
            member: user("rita"),
        });
}

// ---- RecordApproval ----------------------------------------------------------------------------

#[test]
fn an_approval_below_the_quorum_is_recorded_without_authorizing() {
    let state = Spec::<Change>::given(assessed())
        .by(member("alice"))
        .when(approve("alice"))
        .then([ChangeEvent::ApprovalRecorded {
            key: KEY,
            approver: user("alice"),
            vote: Vote::Approve,
            comment: "Looks safe.".to_owned(),
            by: member("alice"),
            at: now(),
        }]);
    let record = state.record().expect("raised");
    assert_eq!(record.status, Status::Assessed);
    assert_eq!(record.approvals(), 1);
}

#[test]
fn the_approval_that_reaches_the_quorum_authorizes_a_normal_change_by_its_cab() {
    let mut history = assessed();
    history.push(vote_event("alice", Vote::Approve));
    Spec::<Change>::given(history)
        .by(member("carol"))
        .when(approve("carol"))
        .then([
            ChangeEvent::ApprovalRecorded {
                key: KEY,
                approver: user("carol"),
                vote: Vote::Approve,
                comment: "Looks safe.".to_owned(),
                by: member("carol"),
                at: now(),
            },
            ChangeEvent::Authorized {
                key: KEY,
                basis: Authorization::Cab {
                    approvers: vec![user("alice"), user("carol")],
                },
                by: member("carol"),
                at: now(),
            },
        ]);
}

#[test]
fn a_single_emergency_cab_approval_authorizes_an_emergency_change() {
    let state = Spec::<Change>::given([
        raised(ChangeType::Emergency),
        submitted_event(),
        assessed_event(&["erin"], 1),
    ])
    .by(member("erin"))
    .when(approve("erin"))
    .then([
        ChangeEvent::ApprovalRecorded {
            key: KEY,
            approver: user("erin"),
            vote: Vote::Approve,
            comment: "Looks safe.".to_owned(),
            by: member("erin"),
            at: now(),
        },
        ChangeEvent::Authorized {
            key: KEY,
            basis: Authorization::EmergencyCab {
                approvers: vec![user("erin")],
            },
            by: member("erin"),
            at: now(),
        },
    ]);
    assert_eq!(state.status(), Some(Status::Authorized));
}

#[test]
fn a_change_manager_may_record_a_members_vote() {
    Spec::<Change>::given(assessed())
        .by(manager())
        .when(approve("bob"))
        .then([ChangeEvent::ApprovalRecorded {
            key: KEY,
            approver: user("bob"),
            vote: Vote::Approve,
            comment: "Looks safe.".to_owned(),
            by: manager(),
            at: now(),
        }]);
}

#[test]
fn one_reject_vote_rejects_the_change() {
    let mut history = assessed();
    history.push(vote_event("alice", Vote::Approve));
    let state = Spec::<Change>::given(history)
        .by(member("bob"))
        .when(ChangeCommand::RecordApproval {
            approver: user("bob"),
            vote: Vote::Reject,
            comment: "No backout test.".to_owned(),
        })
        .then([
            ChangeEvent::ApprovalRecorded {
                key: KEY,
                approver: user("bob"),
                vote: Vote::Reject,
                comment: "No backout test.".to_owned(),
                by: member("bob"),
                at: now(),
            },
            ChangeEvent::Rejected {
                key: KEY,
                reason: Rejection::Vetoed {
                    approver: user("bob"),
                },
                by: member("bob"),
                at: now(),
            },
        ]);
    assert_eq!(state.status(), Some(Status::Rejected));
}

#[test]
fn voting_on_someone_elses_behalf_without_being_a_change_manager_is_rejected() {
    Spec::<Change>::given(assessed())
        .by(member("alice"))
        .when(approve("bob"))
        .then_error(not_permitted("RecordApproval"));
}

#[test]
fn a_vote_by_someone_not_on_the_cab_is_rejected() {
    Spec::<Change>::given(assessed())
        .by(member("mallory"))
        .when(approve("mallory"))
        .then_error(ChangeError::NotCabMember {
            approver: user("mallory"),
        });
}

#[test]
fn voting_twice_is_rejected() {
    let mut history = assessed();
    history.push(vote_event("alice", Vote::Approve));
    Spec::<Change>::given(history)
        .by(member("alice"))
        .when(approve("alice"))
        .then_error(ChangeError::AlreadyVoted {
            approver: user("alice"),
        });
}

#[test]
fn voting_on_a_change_not_yet_assessed_is_rejected() {
    Spec::<Change>::given(submitted())
        .by(member("alice"))
        .when(approve("alice"))
        .then_error(invalid_transition(Status::Submitted, "RecordApproval"));
}

#[test]
fn voting_on_an_authorized_change_is_rejected() {
    Spec::<Change>::given(authorized())
        .by(member("carol"))
        .when(approve("carol"))
        .then_error(invalid_transition(Status::Authorized, "RecordApproval"));
}

#[test]
fn an_overlong_vote_comment_is_rejected() {
    Spec::<Change>::given(assessed())
        .by(member("alice"))
        .when(ChangeCommand::RecordApproval {
            approver: user("alice"),
            vote: Vote::Approve,
            comment: "c".repeat(MAX_NOTE_LEN + 1),
        })
        .then_error(too_long("comment", MAX_NOTE_LEN + 1, MAX_NOTE_LEN));
}

// ---- Reject ------------------------------------------------------------------------------------

#[test]
fn a_change_manager_declines_an_assessed_change() {
    Spec::<Change>::given(assessed())
        .by(manager())
        .when(ChangeCommand::Reject {
            reason: "Duplicate of CHG-3.".to_owned(),
        })
        .then([ChangeEvent::Rejected {
            key: KEY,
            reason: Rejection::Declined {
                reason: "Duplicate of CHG-3.".to_owned(),
            },
            by: manager(),
            at: now(),
        }]);
}

#[test]
fn a_change_manager_may_decline_a_submitted_change_before_assessing_it() {
    let state = Spec::<Change>::given(submitted())
        .by(manager())
        .when(ChangeCommand::Reject {
            reason: "Out of scope.".to_owned(),
        })
        .then([ChangeEvent::Rejected {
            key: KEY,
            reason: Rejection::Declined {
                reason: "Out of scope.".to_owned(),
            },
            by: manager(),
            at: now(),
        }]);
    assert_eq!(state.status(), Some(Status::Rejected));
}

#[test]
fn declining_by_an_agent_is_rejected() {
    Spec::<Change>::given(assessed())
        .when(ChangeCommand::Reject {
            reason: "No.".to_owned(),
        })
        .then_error(not_permitted("Reject"));
}

#[test]
fn declining_without_a_reason_is_rejected() {
    Spec::<Change>::given(assessed())
        .by(manager())
        .when(ChangeCommand::Reject {
            reason: " ".to_owned(),
        })
        .then_error(empty("reason"));
}

#[test]
fn declining_an_authorized_change_is_rejected() {
    Spec::<Change>::given(authorized())
        .by(manager())
        .when(ChangeCommand::Reject {
            reason: "Too late.".to_owned(),
        })
        .then_error(invalid_transition(Status::Authorized, "Reject"));
}

// ---- Schedule ----------------------------------------------------------------------------------

#[test]
fn scheduling_an_authorized_change_puts_it_on_the_calendar() {
    let state = Spec::<Change>::given(authorized())
        .by(manager())
        .when(schedule(at(5, 22), at(5, 23)))
        .then([scheduled_event(at(5, 22), at(5, 23), vec![], vec![])]);
    assert_eq!(state.status(), Some(Status::Scheduled));
}

#[test]
fn scheduling_a_normal_change_the_cab_has_not_authorized_is_rejected() {
    Spec::<Change>::given(assessed())
        .by(manager())
        .when(schedule(at(5, 22), at(5, 23)))
        .then_error(invalid_transition(Status::Assessed, "Schedule"));
}

#[test]
fn scheduling_by_an_agent_is_rejected() {
    Spec::<Change>::given(authorized())
        .when(schedule(at(5, 22), at(5, 23)))
        .then_error(not_permitted("Schedule"));
}

#[test]
fn scheduling_a_slot_that_does_not_end_after_it_starts_is_rejected() {
    Spec::<Change>::given(authorized())
        .by(manager())
        .when(schedule(at(5, 22), at(5, 22)))
        .then_error(ChangeError::EmptySlot {
            from: at(5, 22),
            to: at(5, 22),
        });
}

#[test]
fn scheduling_a_slot_that_starts_in_the_past_is_rejected() {
    Spec::<Change>::given(authorized())
        .by(manager())
        .when(schedule(at(5, 8), at(5, 10)))
        .then_error(ChangeError::StartsInThePast {
            from: at(5, 8),
            now: now(),
        });
}

#[test]
fn scheduling_a_normal_change_inside_a_freeze_window_is_rejected_naming_the_window() {
    Spec::<Change>::given(authorized())
        .by(manager())
        .when(ChangeCommand::Schedule {
            from: at(5, 22),
            to: at(5, 23),
            freeze_windows: vec![
                freeze("vpn-migration", Some(vpn()), at(5, 20), at(6, 6)),
                freeze("mail-freeze", Some(email()), at(5, 21), at(5, 23)),
            ],
            other_changes: vec![],
        })
        .then_error(ChangeError::InFreezeWindow {
            window: name("mail-freeze"),
            from: at(5, 21),
            to: at(5, 23),
        });
}

#[test]
fn a_global_freeze_window_blocks_every_service() {
    Spec::<Change>::given(authorized())
        .by(manager())
        .when(ChangeCommand::Schedule {
            from: at(5, 22),
            to: at(5, 23),
            freeze_windows: vec![freeze("year-end", None, at(5, 22), at(7, 0))],
            other_changes: vec![],
        })
        .then_error(ChangeError::InFreezeWindow {
            window: name("year-end"),
            from: at(5, 22),
            to: at(7, 0),
        });
}

#[test]
fn freeze_windows_of_other_services_or_other_times_do_not_block_scheduling() {
    Spec::<Change>::given(authorized())
        .by(manager())
        .when(ChangeCommand::Schedule {
            from: at(5, 22),
            to: at(5, 23),
            freeze_windows: vec![
                freeze("vpn-migration", Some(vpn()), at(5, 20), at(6, 6)),
                // Ends exactly when the slot starts: the half-open intervals do not overlap.
                freeze("evening", Some(email()), at(5, 18), at(5, 22)),
                freeze("tomorrow", None, at(5, 23), at(6, 6)),
            ],
            other_changes: vec![],
        })
        .then([scheduled_event(at(5, 22), at(5, 23), vec![], vec![])]);
}

#[test]
fn an_emergency_change_may_be_scheduled_inside_a_freeze_window_which_is_recorded_as_overridden() {
    Spec::<Change>::given(emergency_authorized())
        .by(manager())
        .when(ChangeCommand::Schedule {
            from: at(5, 22),
            to: at(5, 23),
            freeze_windows: vec![
                freeze("year-end", None, at(5, 0), at(7, 0)),
                freeze("mail-freeze", Some(email()), at(5, 21), at(5, 23)),
                freeze("vpn-migration", Some(vpn()), at(5, 20), at(6, 6)),
            ],
            other_changes: vec![],
        })
        .then([scheduled_event(
            at(5, 22),
            at(5, 23),
            vec![],
            vec![name("year-end"), name("mail-freeze")],
        )]);
}

#[test]
fn a_malformed_freeze_window_is_rejected() {
    Spec::<Change>::given(authorized())
        .by(manager())
        .when(ChangeCommand::Schedule {
            from: at(5, 22),
            to: at(5, 23),
            freeze_windows: vec![freeze("backwards", None, at(6, 0), at(5, 0))],
            other_changes: vec![],
        })
        .then_error(ChangeError::MalformedFreezeWindow {
            window: name("backwards"),
        });
}

#[test]
fn overlapping_changes_on_the_same_service_are_recorded_as_collisions() {
    let other = |n, service, from, to| ScheduledChange {
        key: ChangeKey::new(n),
        service,
        from,
        to,
    };
    Spec::<Change>::given(authorized())
        .by(manager())
        .when(ChangeCommand::Schedule {
            from: at(5, 22),
            to: at(5, 23),
            freeze_windows: vec![],
            other_changes: vec![
                other(12, email(), at(5, 22), at(6, 1)),
                other(3, email(), at(5, 21), at(5, 23)),
                // Another service, a touching slot and the change itself never collide.
                other(4, vpn(), at(5, 22), at(5, 23)),
                other(5, email(), at(5, 23), at(6, 0)),
                other(7, email(), at(5, 22), at(5, 23)),
            ],
        })
        .then([scheduled_event(
            at(5, 22),
            at(5, 23),
            vec![ChangeKey::new(3), ChangeKey::new(12)],
            vec![],
        )]);
}

// ---- Reschedule --------------------------------------------------------------------------------

#[test]
fn rescheduling_moves_the_slot_and_records_the_previous_one() {
    let state = Spec::<Change>::given(scheduled())
        .by(manager())
        .when(ChangeCommand::Reschedule {
            from: at(6, 22),
            to: at(6, 23),
            freeze_windows: vec![],
            other_changes: vec![ScheduledChange {
                key: ChangeKey::new(9),
                service: email(),
                from: at(6, 21),
                to: at(6, 22) + chrono::Duration::minutes(30),
            }],
        })
        .then([ChangeEvent::Rescheduled {
            key: KEY,
            service: email(),
            from: at(6, 22),
            to: at(6, 23),
            previous_from: at(5, 22),
            previous_to: at(5, 23),
            collisions: vec![ChangeKey::new(9)],
            freeze_overrides: vec![],
            by: manager(),
            at: now(),
        }]);
    let slot = state.record().and_then(|r| r.slot).expect("scheduled");
    assert_eq!((slot.from, slot.to), (at(6, 22), at(6, 23)));
}

#[test]
fn rescheduling_a_change_that_was_never_scheduled_is_rejected() {
    Spec::<Change>::given(authorized())
        .by(manager())
        .when(ChangeCommand::Reschedule {
            from: at(6, 22),
            to: at(6, 23),
            freeze_windows: vec![],
            other_changes: vec![],
        })
        .then_error(invalid_transition(Status::Authorized, "Reschedule"));
}

#[test]
fn rescheduling_by_an_agent_is_rejected() {
    Spec::<Change>::given(scheduled())
        .when(ChangeCommand::Reschedule {
            from: at(6, 22),
            to: at(6, 23),
            freeze_windows: vec![],
            other_changes: vec![],
        })
        .then_error(not_permitted("Reschedule"));
}

#[test]
fn rescheduling_a_normal_change_into_a_freeze_window_is_rejected() {
    Spec::<Change>::given(scheduled())
        .by(manager())
        .when(ChangeCommand::Reschedule {
            from: at(6, 22),
            to: at(6, 23),
            freeze_windows: vec![freeze("year-end", None, at(6, 0), at(8, 0))],
            other_changes: vec![],
        })
        .then_error(ChangeError::InFreezeWindow {
            window: name("year-end"),
            from: at(6, 0),
            to: at(8, 0),
        });
}

#[test]
fn rescheduling_into_the_past_is_rejected() {
    Spec::<Change>::given(scheduled())
        .by(manager())
        .at(at(5, 12))
        .when(ChangeCommand::Reschedule {
            from: at(5, 10),
            to: at(5, 11),
            freeze_windows: vec![],
            other_changes: vec![],
        })
        .then_error(ChangeError::StartsInThePast {
            from: at(5, 10),
            now: at(5, 12),
        });
}

#[test]
fn rescheduling_to_an_empty_slot_is_rejected() {
    Spec::<Change>::given(scheduled())
        .by(manager())
        .when(ChangeCommand::Reschedule {
            from: at(6, 23),
            to: at(6, 22),
            freeze_windows: vec![],
            other_changes: vec![],
        })
        .then_error(ChangeError::EmptySlot {
            from: at(6, 23),
            to: at(6, 22),
        });
}

// ---- StartImplementation -----------------------------------------------------------------------

#[test]
fn implementation_starts_at_the_scheduled_start() {
    let state = Spec::<Change>::given(scheduled())
        .at(at(5, 22))
        .when(ChangeCommand::StartImplementation)
        .then([ChangeEvent::ImplementationStarted {
            key: KEY,
            by: agent(),
            at: at(5, 22),
        }]);
    assert_eq!(state.status(), Some(Status::Implementing));
}

#[test]
fn implementation_may_start_late() {
    Spec::<Change>::given(scheduled())
        .at(at(6, 1))
        .when(ChangeCommand::StartImplementation)
        .then([ChangeEvent::ImplementationStarted {
            key: KEY,
            by: agent(),
            at: at(6, 1),
        }]);
}

#[test]
fn starting_before_the_scheduled_start_is_rejected() {
    Spec::<Change>::given(scheduled())
        .at(at(5, 21))
        .when(ChangeCommand::StartImplementation)
        .then_error(ChangeError::TooEarly {
            scheduled_from: at(5, 22),
            now: at(5, 21),
        });
}

#[test]
fn starting_an_unscheduled_change_is_rejected() {
    Spec::<Change>::given(authorized())
        .when(ChangeCommand::StartImplementation)
        .then_error(invalid_transition(
            Status::Authorized,
            "StartImplementation",
        ));
}

// ---- CompleteImplementation --------------------------------------------------------------------

#[test]
fn completing_the_implementation_records_it_as_implemented() {
    let state = Spec::<Change>::given(implementing())
        .at(at(5, 23))
        .when(ChangeCommand::CompleteImplementation {
            notes: "Relay on the new release.".to_owned(),
        })
        .then([ChangeEvent::Implemented {
            key: KEY,
            notes: "Relay on the new release.".to_owned(),
            by: agent(),
            at: at(5, 23),
        }]);
    assert_eq!(state.status(), Some(Status::Implemented));
}

#[test]
fn completing_a_change_that_is_not_being_implemented_is_rejected() {
    Spec::<Change>::given(scheduled())
        .when(ChangeCommand::CompleteImplementation {
            notes: String::new(),
        })
        .then_error(invalid_transition(
            Status::Scheduled,
            "CompleteImplementation",
        ));
}

#[test]
fn completing_with_overlong_notes_is_rejected() {
    Spec::<Change>::given(implementing())
        .when(ChangeCommand::CompleteImplementation {
            notes: "n".repeat(MAX_NOTE_LEN + 1),
        })
        .then_error(too_long("notes", MAX_NOTE_LEN + 1, MAX_NOTE_LEN));
}

// ---- Fail --------------------------------------------------------------------------------------

#[test]
fn a_failed_implementation_records_whether_the_backout_was_performed() {
    let state = Spec::<Change>::given(implementing())
        .at(at(5, 23))
        .when(ChangeCommand::Fail {
            backout_performed: true,
            notes: "Relay did not start; snapshot restored.".to_owned(),
        })
        .then([ChangeEvent::Failed {
            key: KEY,
            backout_performed: true,
            notes: "Relay did not start; snapshot restored.".to_owned(),
            by: agent(),
            at: at(5, 23),
        }]);
    let record = state.record().expect("raised");
    assert_eq!(record.status, Status::Failed);
    assert_eq!(record.backout_performed, Some(true));
}

#[test]
fn failing_without_notes_is_rejected() {
    Spec::<Change>::given(implementing())
        .when(ChangeCommand::Fail {
            backout_performed: false,
            notes: String::new(),
        })
        .then_error(empty("notes"));
}

#[test]
fn failing_a_change_that_is_not_being_implemented_is_rejected() {
    Spec::<Change>::given(implemented())
        .when(ChangeCommand::Fail {
            backout_performed: true,
            notes: "Oops.".to_owned(),
        })
        .then_error(invalid_transition(Status::Implemented, "Fail"));
}

// ---- Review ------------------------------------------------------------------------------------

#[test]
fn a_change_manager_reviews_an_implemented_change() {
    let state = Spec::<Change>::given(implemented())
        .by(manager())
        .at(at(6, 9))
        .when(ChangeCommand::Review {
            outcome: ReviewOutcome::Successful,
            notes: "Went to plan.".to_owned(),
        })
        .then([ChangeEvent::Reviewed {
            key: KEY,
            outcome: ReviewOutcome::Successful,
            notes: "Went to plan.".to_owned(),
            by: manager(),
            at: at(6, 9),
        }]);
    assert_eq!(state.status(), Some(Status::Reviewed));
}

#[test]
fn a_failed_change_is_reviewed_as_unsuccessful() {
    Spec::<Change>::given(failed())
        .by(manager())
        .when(ChangeCommand::Review {
            outcome: ReviewOutcome::Unsuccessful,
            notes: "Test the snapshot first.".to_owned(),
        })
        .then([ChangeEvent::Reviewed {
            key: KEY,
            outcome: ReviewOutcome::Unsuccessful,
            notes: "Test the snapshot first.".to_owned(),
            by: manager(),
            at: now(),
        }]);
}

#[test]
fn reviewing_a_failed_change_as_successful_is_rejected() {
    for outcome in [
        ReviewOutcome::Successful,
        ReviewOutcome::SuccessfulWithIssues,
    ] {
        Spec::<Change>::given(failed())
            .by(manager())
            .when(ChangeCommand::Review {
                outcome,
                notes: "Fine really.".to_owned(),
            })
            .then_error(ChangeError::ReviewContradictsResult { outcome });
    }
}

#[test]
fn reviewing_by_an_agent_is_rejected() {
    Spec::<Change>::given(implemented())
        .when(ChangeCommand::Review {
            outcome: ReviewOutcome::Successful,
            notes: "Fine.".to_owned(),
        })
        .then_error(not_permitted("Review"));
}

#[test]
fn reviewing_without_notes_is_rejected() {
    Spec::<Change>::given(implemented())
        .by(manager())
        .when(ChangeCommand::Review {
            outcome: ReviewOutcome::Successful,
            notes: String::new(),
        })
        .then_error(empty("notes"));
}

#[test]
fn reviewing_a_change_still_being_implemented_is_rejected() {
    Spec::<Change>::given(implementing())
        .by(manager())
        .when(ChangeCommand::Review {
            outcome: ReviewOutcome::Successful,
            notes: "Early.".to_owned(),
        })
        .then_error(invalid_transition(Status::Implementing, "Review"));
}

// ---- Close -------------------------------------------------------------------------------------

#[test]
fn a_change_manager_closes_a_reviewed_change() {
    let state = Spec::<Change>::given(reviewed())
        .by(manager())
        .at(at(6, 10))
        .when(ChangeCommand::Close)
        .then([ChangeEvent::Closed {
            key: KEY,
            by: manager(),
            at: at(6, 10),
        }]);
    assert_eq!(state.status(), Some(Status::Closed));
}

#[test]
fn closing_an_unreviewed_change_is_rejected() {
    Spec::<Change>::given(implemented())
        .by(manager())
        .when(ChangeCommand::Close)
        .then_error(invalid_transition(Status::Implemented, "Close"));
}

#[test]
fn closing_by_an_agent_is_rejected() {
    Spec::<Change>::given(reviewed())
        .when(ChangeCommand::Close)
        .then_error(not_permitted("Close"));
}

// ---- Cancel ------------------------------------------------------------------------------------

#[test]
fn the_requester_may_cancel_a_draft() {
    let state = Spec::<Change>::given(draft())
        .by(requester())
        .when(ChangeCommand::Cancel {
            reason: "No longer needed.".to_owned(),
        })
        .then([ChangeEvent::Cancelled {
            key: KEY,
            reason: "No longer needed.".to_owned(),
            by: requester(),
            at: now(),
        }]);
    assert_eq!(state.status(), Some(Status::Cancelled));
}

#[test]
fn a_change_manager_may_cancel_a_scheduled_change() {
    Spec::<Change>::given(scheduled())
        .by(manager())
        .when(ChangeCommand::Cancel {
            reason: "Vendor withdrew the release.".to_owned(),
        })
        .then([ChangeEvent::Cancelled {
            key: KEY,
            reason: "Vendor withdrew the release.".to_owned(),
            by: manager(),
            at: now(),
        }]);
}

#[test]
fn cancelling_by_someone_who_neither_requested_nor_manages_changes_is_rejected() {
    Spec::<Change>::given(draft())
        .when(ChangeCommand::Cancel {
            reason: "Mine now.".to_owned(),
        })
        .then_error(not_permitted("Cancel"));
}

#[test]
fn cancelling_without_a_reason_is_rejected() {
    Spec::<Change>::given(draft())
        .by(requester())
        .when(ChangeCommand::Cancel {
            reason: String::new(),
        })
        .then_error(empty("reason"));
}

#[test]
fn cancelling_a_change_being_implemented_is_rejected() {
    Spec::<Change>::given(implementing())
        .by(manager())
        .when(ChangeCommand::Cancel {
            reason: "Too late.".to_owned(),
        })
        .then_error(invalid_transition(Status::Implementing, "Cancel"));
}

// ---- Final statuses ----------------------------------------------------------------------------

#[test]
fn closed_cancelled_and_rejected_changes_accept_no_command() {
    for (history, status) in [
        (closed(), Status::Closed),
        (cancelled(), Status::Cancelled),
        (rejected(), Status::Rejected),
    ] {
        for command in every_command_but_raise() {
            let name = command.name();
            Spec::<Change>::given(history.clone())
                .by(manager())
                .at(at(5, 22))
                .when(command)
                .then_error(invalid_transition(status, name));
        }
        Spec::<Change>::given(history)
            .when(raise(ChangeType::Normal))
            .then_error(ChangeError::AlreadyRaised { key: KEY });
    }
}

#[test]
fn the_full_lifecycle_of_a_normal_change_folds_to_closed() {
    let state = <Change as itsm_kernel::Decider>::fold(&closed());
    let record = state.record().expect("raised");
    assert_eq!(record.status, Status::Closed);
    assert_eq!(record.review, Some(ReviewOutcome::Successful));
    assert_eq!(record.approvals(), 2);
    assert_eq!(
        record.authorization,
        Some(Authorization::Cab {
            approvers: vec![user("alice"), user("bob")]
        })
    );
}

#[test]
fn overlong_reasons_and_notes_are_rejected() {
    let long = || "r".repeat(MAX_NOTE_LEN + 1);
    let cases: [(Vec<ChangeEvent>, ChangeCommand, &'static str); 4] = [
        (
            assessed(),
            ChangeCommand::Reject { reason: long() },
            "reason",
        ),
        (
            implementing(),
            ChangeCommand::Fail {
                backout_performed: false,
                notes: long(),
            },
            "notes",
        ),
        (
            implemented(),
            ChangeCommand::Review {
                outcome: ReviewOutcome::Successful,
                notes: long(),
            },
            "notes",
        ),
        (draft(), ChangeCommand::Cancel { reason: long() }, "reason"),
    ];
    for (history, command, field) in cases {
        Spec::<Change>::given(history)
            .by(manager())
            .when(command)
            .then_error(too_long(field, MAX_NOTE_LEN + 1, MAX_NOTE_LEN));
    }
}

#[test]
fn rescheduling_with_a_malformed_freeze_window_is_rejected() {
    Spec::<Change>::given(scheduled())
        .by(manager())
        .when(ChangeCommand::Reschedule {
            from: at(6, 22),
            to: at(6, 23),
            freeze_windows: vec![freeze("empty", Some(email()), at(6, 0), at(6, 0))],
            other_changes: vec![],
        })
        .then_error(ChangeError::MalformedFreezeWindow {
            window: name("empty"),
        });
}

#[test]
fn an_automation_may_not_record_a_cab_vote() {
    Spec::<Change>::given(assessed())
        .by(Actor::automation("cab-bot"))
        .when(approve("alice"))
        .then_error(not_permitted("RecordApproval"));
}
