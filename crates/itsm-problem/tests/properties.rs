//! Property tests: random command sequences against one problem. `decide` never panics, every
//! accepted command yields events that keep the problem's invariants, a closed or cancelled
//! problem accepts nothing, and folding the accepted history gives the same state as evolving
//! step by step.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use itsm_kernel::{
    Actor, ChangeKey, Context, Decider, GroupId, Impact, IncidentKey, ProblemKey, Role, ServiceId,
    Urgency, UserId,
};
use itsm_problem::{
    MAX_LINKED_INCIDENTS, MAX_REASON_LEN, MAX_TEXT_LEN, MAX_TITLE_LEN, Problem, ProblemCommand,
    ProblemError, ProblemEvent, ProblemState, ProblemStatus,
};
use proptest::prelude::*;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .expect("valid date")
}

/// Mostly valid texts, sometimes blank or one character too long.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z ]{1,20}",
        1 => Just(String::new()),
        1 => Just(" ".to_owned()),
        1 => Just("x".repeat(max + 1)),
    ]
}

fn group() -> impl Strategy<Value = GroupId> {
    prop::sample::select(vec!["messaging", "network"])
        .prop_map(|id| GroupId::new(id).expect("valid id"))
}

fn assignee() -> impl Strategy<Value = Option<UserId>> {
    prop::option::of(
        prop::sample::select(vec!["alice", "bob"]).prop_map(|id| UserId::new(id).expect("valid")),
    )
}

fn incident() -> impl Strategy<Value = IncidentKey> {
    (1u64..6).prop_map(IncidentKey::new)
}

fn impact() -> impl Strategy<Value = Impact> {
    prop::sample::select(vec![Impact::High, Impact::Medium, Impact::Low])
}

fn urgency() -> impl Strategy<Value = Urgency> {
    prop::sample::select(vec![Urgency::High, Urgency::Medium, Urgency::Low])
}

fn command() -> impl Strategy<Value = ProblemCommand> {
    prop_oneof![
        1 => (1u64..3, text(MAX_TITLE_LEN), text(MAX_TEXT_LEN), impact(), urgency()).prop_map(
            |(key, title, description, impact, urgency)| ProblemCommand::Record {
                key: ProblemKey::new(key),
                title,
                description,
                service: ServiceId::new("email").expect("valid id"),
                impact,
                urgency,
            }
        ),
        2 => (group(), assignee())
            .prop_map(|(group, assignee)| ProblemCommand::StartInvestigation { group, assignee }),
        1 => (group(), assignee())
            .prop_map(|(group, assignee)| ProblemCommand::Reassign { group, assignee }),
        2 => text(MAX_TEXT_LEN).prop_map(|root_cause| ProblemCommand::RecordRootCause { root_cause }),
        2 => text(MAX_TEXT_LEN).prop_map(|workaround| ProblemCommand::DocumentWorkaround { workaround }),
        2 => incident().prop_map(|incident| ProblemCommand::LinkIncident { incident }),
        1 => incident().prop_map(|incident| ProblemCommand::UnlinkIncident { incident }),
        1 => (1u64..3).prop_map(|n| ProblemCommand::LinkFixChange { change: ChangeKey::new(n) }),
        2 => text(MAX_TEXT_LEN).prop_map(|resolution| ProblemCommand::Resolve { resolution }),
        1 => Just(ProblemCommand::Close),
        1 => text(MAX_REASON_LEN).prop_map(|reason| ProblemCommand::Reopen { reason }),
        1 => text(MAX_REASON_LEN).prop_map(|reason| ProblemCommand::Cancel { reason }),
    ]
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        Just(Actor::user(
            UserId::new("alice").expect("valid"),
            Role::Agent
        )),
        Just(Actor::automation("problem-follow-up")),
    ]
}

fn check_invariants(state: &ProblemState) {
    let Some(record) = state.record() else {
        return;
    };
    match record.status {
        ProblemStatus::KnownError => assert!(record.workaround.is_some()),
        ProblemStatus::Resolved | ProblemStatus::Closed => {
            assert!(
                record.root_cause.is_some(),
                "resolved only with a root cause"
            );
            assert!(record.resolution.is_some());
        }
        ProblemStatus::Logged => {
            assert!(record.group.is_none());
            assert!(record.root_cause.is_none());
            assert!(record.workaround.is_none());
        }
        ProblemStatus::UnderInvestigation | ProblemStatus::Cancelled => {}
    }
    assert!(record.linked_incidents.len() <= MAX_LINKED_INCIDENTS);
    assert!(record.recorded_at <= record.updated_at);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decide_never_panics_and_accepted_events_keep_the_invariants(
        recorded_first in prop::bool::weighted(0.8),
        mut history in prop::collection::vec((command(), actor(), 0i64..48), 1..40),
    ) {
        if recorded_first {
            // Most histories start with a valid record, so that later statuses are reached often.
            let record = ProblemCommand::Record {
                key: ProblemKey::new(1),
                title: "Mail delivery delays".to_owned(),
                description: String::new(),
                service: ServiceId::new("email").expect("valid id"),
                impact: Impact::Medium,
                urgency: Urgency::High,
            };
            history.insert(0, (record, Actor::automation("intake"), 0));
        }
        let mut state = ProblemState::default();
        let mut reached = Vec::new();
        let mut accepted: Vec<ProblemEvent> = Vec::new();
        let mut now = start();
        for (command, actor, hours) in history {
            now += TimeDelta::hours(hours);
            let context = Context::new(actor, now);
            let before = state.clone();
            let result = Problem::decide(&state, &command, &context);
            if before.status().is_some_and(ProblemStatus::is_final) {
                prop_assert!(result.is_err(), "a final problem accepted {:?}", command);
            }
            match result {
                Ok(events) => {
                    prop_assert_eq!(events.len(), 1, "every problem command records one event");
                    for event in &events {
                        state = Problem::evolve(state, event);
                        let key = state.record().map(|record| record.key);
                        prop_assert_eq!(Some(event.key()), key);
                    }
                    if let Some(previous) = before.record() {
                        prop_assert_eq!(state.record().map(|r| r.key), Some(previous.key));
                    }
                    accepted.extend(events);
                }
                Err(error) => {
                    prop_assert!(!error.to_string().is_empty());
                    if before.record().is_none() {
                        let is_record = matches!(command, ProblemCommand::Record { .. });
                        prop_assert!(
                            is_record || error == ProblemError::NotFound,
                            "an unrecorded problem answers NotFound, got {:?}",
                            error
                        );
                    }
                }
            }
            check_invariants(&state);
            reached.extend(state.status());
        }
        prop_assert_eq!(Problem::fold(&accepted), state);
        if recorded_first {
            prop_assert_eq!(reached.first(), Some(&ProblemStatus::Logged));
        }
    }
}
