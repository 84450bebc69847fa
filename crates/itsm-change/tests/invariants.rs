//! Property tests: random command sequences from random actors at moving times. `decide` never
//! panics, and folding the accepted events keeps the change's invariants:
//! - the status only moves along the lifecycle;
//! - a normal change is never scheduled without a CAB quorum of approvals and no reject vote;
//! - a non-emergency change is never scheduled inside a freeze window given in its command;
//! - there is at most one vote per approver, and only CAB members vote;
//! - closed, cancelled and rejected changes accept nothing;
//! - every accepted event round-trips bincode and JSON.

use chrono::{DateTime, Duration, TimeZone, Utc};
use itsm_change::{
    Authorization, Change, ChangeCommand, ChangeEvent, ChangeRecord, ChangeState, ChangeType,
    FreezeWindow, Likelihood, MAX_NOTE_LEN, ReviewOutcome, ScheduledChange, Status, Vote, overlaps,
};
use itsm_kernel::{Actor, ChangeKey, Context, Decider, Impact, Name, Role, ServiceId, UserId};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

const USERS: [&str; 5] = ["alice", "bob", "carol", "rita", "cm.jones"];

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .expect("valid date")
}

fn user(index: usize) -> UserId {
    UserId::new(USERS[index % USERS.len()]).expect("valid user id")
}

fn service(index: u8) -> ServiceId {
    ServiceId::new(if index == 0 { "email" } else { "vpn" }).expect("valid service id")
}

fn hours(n: i64) -> Duration {
    Duration::hours(n)
}

/// A command with its times relative to the step's `now`, turned into a real command when run.
#[derive(Debug, Clone)]
enum Op {
    Raise {
        key: u64,
        change_type: u8,
        text: u8,
        service: u8,
    },
    Submit,
    Assess {
        cab: Vec<usize>,
        quorum: u8,
        text: u8,
    },
    Vote {
        approver: usize,
        approve: bool,
        text: u8,
    },
    Reject {
        text: u8,
    },
    Schedule {
        reschedule: bool,
        slot: (i64, i64),
        freezes: Vec<(Option<u8>, i64, i64)>,
        others: Vec<(u64, u8, i64, i64)>,
    },
    Start,
    Complete {
        text: u8,
    },
    Fail {
        backout: bool,
        text: u8,
    },
    Review {
        outcome: u8,
        text: u8,
    },
    Close,
    Cancel {
        text: u8,
    },
}

fn text(choice: u8) -> String {
    match choice % 4 {
        0 => String::new(),
        1 => "  ".to_owned(),
        2 => "x".repeat(MAX_NOTE_LEN + 1),
        _ => "Reasonable text.".to_owned(),
    }
}

/// Mostly valid text, so that sequences get deep into the lifecycle.
fn text_choice() -> impl Strategy<Value = u8> {
    prop_oneof![10 => Just(3u8), 1 => 0u8..3]
}

fn op() -> impl Strategy<Value = Op> {
    let interval = || (-3i64..24, -2i64..8);
    prop_oneof![
                1 => (1u64..3, 0u8..3, text_choice(), 0u8..2).prop_map(|(key, change_type, text, service)| Op::Raise { key, change_type, text, service }),
        9 => Just(Op::Submit),
        9 => (prop_oneof![4 => proptest::sample::subsequence(vec![0usize, 1, 2, 4], 1..=4), 1 => proptest::collection::vec(0usize..6, 0..4)], prop_oneof![4 => 1u8..3, 1 => 0u8..4], text_choice()).prop_map(|(cab, quorum, text)| Op::Assess { cab, quorum, text }),
        18 => (0usize..5, proptest::bool::weighted(0.85), text_choice()).prop_map(|(approver, approve, text)| Op::Vote { approver, approve, text }),
                1 => text_choice().prop_map(|text| Op::Reject { text }),
        12 => (
            any::<bool>(),
            interval(),
            proptest::collection::vec((proptest::option::of(0u8..2), -3i64..72, -2i64..24), 0..2),
            proptest::collection::vec((1u64..10, 0u8..2, -3i64..72, 1i64..8), 0..3),
        ).prop_map(|(reschedule, slot, freezes, others)| Op::Schedule { reschedule, slot, freezes, others }),
        12 => Just(Op::Start),
        6 => text_choice().prop_map(|text| Op::Complete { text }),
        6 => (any::<bool>(), text_choice()).prop_map(|(backout, text)| Op::Fail { backout, text }),
        9 => (0u8..3, text_choice()).prop_map(|(outcome, text)| Op::Review { outcome, text }),
        9 => Just(Op::Close),
                1 => text_choice().prop_map(|text| Op::Cancel { text }),
    ]
}

fn command(op: &Op, now: DateTime<Utc>) -> ChangeCommand {
    match op {
        Op::Raise {
            key,
            change_type,
            text: t,
            service: s,
        } => ChangeCommand::Raise {
            key: ChangeKey::new(*key),
            change_type: match change_type {
                0 => ChangeType::Standard {
                    template: Name::new("restart-relay").expect("valid name"),
                },
                1 => ChangeType::Normal,
                _ => ChangeType::Emergency,
            },
            title: if *t == 3 {
                "Upgrade".to_owned()
            } else {
                text(*t)
            },
            description: "Why and what.".to_owned(),
            service: service(*s),
            impact: Impact::Medium,
            likelihood: Likelihood::High,
            implementation_plan: "Steps.".to_owned(),
            backout_plan: "Undo.".to_owned(),
            requested_by: user(3),
        },
        Op::Submit => ChangeCommand::Submit,
        Op::Assess {
            cab,
            quorum,
            text: t,
        } => ChangeCommand::Assess {
            impact: Impact::High,
            likelihood: Likelihood::Low,
            notes: text(*t),
            cab: cab.iter().map(|i| user(*i)).collect(),
            required_approvals: *quorum,
        },
        Op::Vote {
            approver,
            approve,
            text: t,
        } => ChangeCommand::RecordApproval {
            approver: user(*approver),
            vote: if *approve {
                Vote::Approve
            } else {
                Vote::Reject
            },
            comment: text(*t),
        },
        Op::Reject { text: t } => ChangeCommand::Reject { reason: text(*t) },
        Op::Schedule {
            reschedule,
            slot,
            freezes,
            others,
        } => {
            let from = now + hours(slot.0);
            let to = from + hours(slot.1);
            let freeze_windows = freezes
                .iter()
                .enumerate()
                .map(|(i, (s, start, length))| FreezeWindow {
                    name: Name::new(format!("freeze-{i}")).expect("valid name"),
                    service: s.map(service),
                    from: now + hours(*start),
                    to: now + hours(start + length),
                })
                .collect();
            let other_changes = others
                .iter()
                .map(|(key, s, start, length)| ScheduledChange {
                    key: ChangeKey::new(*key),
                    service: service(*s),
                    from: now + hours(*start),
                    to: now + hours(start + length),
                })
                .collect();
            if *reschedule {
                ChangeCommand::Reschedule {
                    from,
                    to,
                    freeze_windows,
                    other_changes,
                }
            } else {
                ChangeCommand::Schedule {
                    from,
                    to,
                    freeze_windows,
                    other_changes,
                }
            }
        }
        Op::Start => ChangeCommand::StartImplementation,
        Op::Complete { text: t } => ChangeCommand::CompleteImplementation { notes: text(*t) },
        Op::Fail { backout, text: t } => ChangeCommand::Fail {
            backout_performed: *backout,
            notes: text(*t),
        },
        Op::Review { outcome, text: t } => ChangeCommand::Review {
            outcome: match outcome {
                0 => ReviewOutcome::Successful,
                1 => ReviewOutcome::SuccessfulWithIssues,
                _ => ReviewOutcome::Unsuccessful,
            },
            notes: text(*t),
        },
        Op::Close => ChangeCommand::Close,
        Op::Cancel { text: t } => ChangeCommand::Cancel { reason: text(*t) },
    }
}

/// Who sends a step: a user from the pool with a role, or an automation.
fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        6 => (0usize..5, prop_oneof![3 => Just(Role::ChangeManager), 2 => Just(Role::Agent), 1 => Just(Role::Requester)])
            .prop_map(|(i, role)| Actor::user(user(i), role)),
        1 => Just(Actor::automation("process-manager")),
    ]
}

#[derive(Debug, Clone)]
struct Step {
    actor: Actor,
    /// How far the clock moved since the previous step.
    advance_hours: i64,
    op: Op,
}

fn step() -> impl Strategy<Value = Step> {
    (actor(), prop_oneof![3 => Just(0i64), 2 => 1i64..12], op()).prop_map(
        |(actor, advance_hours, op)| Step {
            actor,
            advance_hours,
            op,
        },
    )
}

/// The lifecycle's edges; self-loops are votes below quorum and reschedules.
fn allowed(from: Option<Status>, to: Status) -> bool {
    use Status::{
        Assessed, Authorized, Cancelled, Closed, Draft, Failed, Implemented, Implementing,
        Rejected, Reviewed, Scheduled, Submitted,
    };
    match from {
        None => to == Draft,
        Some(from) => matches!(
            (from, to),
            (Draft, Submitted | Cancelled)
                | (
                    Submitted | Assessed,
                    Assessed | Authorized | Rejected | Cancelled
                )
                | (Authorized, Scheduled | Cancelled)
                | (Scheduled, Scheduled | Implementing | Cancelled)
                | (Implementing, Implemented | Failed)
                | (Implemented | Failed, Reviewed)
                | (Reviewed, Closed)
        ),
    }
}

fn check_record(record: &ChangeRecord) -> Result<(), TestCaseError> {
    for (i, vote) in record.votes.iter().enumerate() {
        prop_assert!(
            record.votes[..i]
                .iter()
                .all(|v| v.approver != vote.approver),
            "two votes by {}",
            vote.approver
        );
        prop_assert!(
            record.cab.contains(&vote.approver),
            "{} voted off the CAB",
            vote.approver
        );
    }
    prop_assert!(record.approvals() <= record.cab.len());
    Ok(())
}

/// Checks a `Scheduled` / `Rescheduled` event against the state before it and its command.
fn check_scheduling(
    before: &ChangeRecord,
    command: &ChangeCommand,
    event: &ChangeEvent,
) -> Result<(), TestCaseError> {
    prop_assert!(matches!(
        before.status,
        Status::Authorized | Status::Scheduled
    ));
    match (&before.change_type, &before.authorization) {
        (ChangeType::Normal, Some(Authorization::Cab { approvers })) => {
            prop_assert!(approvers.len() >= usize::from(before.required_approvals));
            prop_assert!(before.required_approvals >= 1);
            prop_assert!(before.votes.iter().all(|v| v.vote == Vote::Approve));
        }
        (ChangeType::Emergency, Some(Authorization::EmergencyCab { .. }))
        | (ChangeType::Standard { .. }, Some(Authorization::PreApproved { .. })) => {}
        (change_type, authorization) => {
            return Err(TestCaseError::fail(format!(
                "{change_type:?} scheduled with authorization {authorization:?}"
            )));
        }
    }
    let (ChangeCommand::Schedule { freeze_windows, .. }
    | ChangeCommand::Reschedule { freeze_windows, .. }) = command
    else {
        return Err(TestCaseError::fail(format!(
            "{command:?} scheduled the change"
        )));
    };
    let (ChangeEvent::Scheduled {
        from,
        to,
        freeze_overrides,
        collisions,
        ..
    }
    | ChangeEvent::Rescheduled {
        from,
        to,
        freeze_overrides,
        collisions,
        ..
    }) = event
    else {
        return Err(TestCaseError::fail("not a scheduling event"));
    };
    let frozen: Vec<&Name> = freeze_windows
        .iter()
        .filter(|w| w.applies_to(&before.service) && overlaps(*from, *to, w.from, w.to))
        .map(|w| &w.name)
        .collect();
    if before.change_type.is_emergency() {
        prop_assert_eq!(freeze_overrides.iter().collect::<Vec<_>>(), frozen);
    } else {
        prop_assert!(
            frozen.is_empty(),
            "scheduled inside freeze windows {frozen:?}"
        );
        prop_assert!(freeze_overrides.is_empty());
    }
    prop_assert!(!collisions.contains(&before.key));
    Ok(())
}

fn round_trips(event: &ChangeEvent) -> Result<(), TestCaseError> {
    let bytes = bincode::serde::encode_to_vec(event, bincode::config::standard())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let (back, _): (ChangeEvent, usize) =
        bincode::serde::decode_from_slice(&bytes, bincode::config::standard())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, event);
    let json = serde_json::to_string(event).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: ChangeEvent =
        serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, event);
    Ok(())
}

/// Runs the steps, checking every invariant; returns every status the change was in.
fn run(steps: &[Step]) -> Result<Vec<Status>, TestCaseError> {
    let mut visited = Vec::new();
    let mut state = ChangeState::default();
    let mut now = base();
    for step in steps {
        now += hours(step.advance_hours);
        let command = command(&step.op, now);
        let context = Context::new(step.actor.clone(), now);
        let before = state.status();
        let result = Change::decide(&state, &command, &context);
        if before.is_some_and(Status::is_final) {
            prop_assert!(result.is_err(), "{before:?} accepted {command:?}");
        }
        let Ok(events) = result else { continue };
        prop_assert!(!events.is_empty(), "accepted {command:?} without an event");
        for event in &events {
            round_trips(event)?;
            if let Some(record) = state.record() {
                prop_assert_eq!(event.key(), record.key);
                if matches!(
                    event,
                    ChangeEvent::Scheduled { .. } | ChangeEvent::Rescheduled { .. }
                ) {
                    check_scheduling(record, &command, event)?;
                }
            }
            let from = state.status();
            state = Change::evolve(state, event);
            let to = state
                .status()
                .ok_or_else(|| TestCaseError::fail("no change after an event"))?;
            prop_assert!(allowed(from, to), "{from:?} -> {to:?} by {command:?}");
            visited.push(to);
        }
        if let Some(record) = state.record() {
            check_record(record)?;
        }
    }
    Ok(visited)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decide_never_panics_and_accepted_events_keep_the_invariants(
        raise in (0u8..3, 0u8..2),
        steps in proptest::collection::vec(step(), 10..80),
    ) {
        // Start most histories with a valid raise, so the steps explore a real change.
        let mut all = vec![Step {
            actor: Actor::user(user(3), Role::Requester),
            advance_hours: 0,
            op: Op::Raise { key: 1, change_type: raise.0, text: 3, service: raise.1 },
        }];
        all.extend(steps);
        run(&all)?;
    }
}

#[test]
fn the_generator_reaches_every_status() {
    // Guards the property above against a generator that never gets past the first steps.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = ((0u8..3, 0u8..2), proptest::collection::vec(step(), 10..80));
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..400 {
        let ((change_type, s), steps) =
            strategy.new_tree(&mut runner).expect("generates").current();
        let mut all = vec![Step {
            actor: Actor::user(user(3), Role::Requester),
            advance_hours: 0,
            op: Op::Raise {
                key: 1,
                change_type,
                text: 3,
                service: s,
            },
        }];
        all.extend(steps);
        let visited = run(&all).expect("the invariants hold");
        seen.extend(visited.iter().map(|s| s.as_str()));
    }
    let all = [
        Status::Draft,
        Status::Submitted,
        Status::Assessed,
        Status::Authorized,
        Status::Rejected,
        Status::Scheduled,
        Status::Implementing,
        Status::Implemented,
        Status::Failed,
        Status::Reviewed,
        Status::Closed,
        Status::Cancelled,
    ];
    let missing: Vec<_> = all
        .iter()
        .map(|s| s.as_str())
        .filter(|s| !seen.contains(s))
        .collect();
    assert!(missing.is_empty(), "never reached: {missing:?}");
}
