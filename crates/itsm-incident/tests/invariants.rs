//! Property tests: random command sequences against the decider. Accepted events are folded
//! with `evolve`; after every step the aggregate's invariants must hold, and `decide` must never
//! panic, whatever the state and the command.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveTime, Utc};
use common::*;
use itsm_incident::{
    Attachment, Escalation, Incident, IncidentCommand, IncidentEvent, IncidentState, LinkTarget,
    ProblemUpdate, ResolutionCode, Status, Visibility, explain_clock,
};
use itsm_kernel::{
    Actor, ChangeKey, Context, Decider, Impact, IncidentKey, Priority, ProblemKey, Urgency, UserId,
};
use itsm_sla::{AppliedSla, Calendar, ClockKind, ClockStatus, HoldReason};
use proptest::prelude::*;

fn office_hours() -> Calendar {
    let utc = Calendar::always_open().timezone();
    let nine = NaiveTime::from_hms_opt(9, 0, 0).expect("valid time");
    let five = NaiveTime::from_hms_opt(17, 0, 0).expect("valid time");
    Calendar::office_hours(utc, nine, five).expect("valid calendar")
}

fn sla_choice(index: u8) -> AppliedSla {
    match index % 4 {
        0 => sla(),
        1 => p2_sla(),
        2 => AppliedSla {
            calendar_name: name("office"),
            calendar: office_hours(),
            ..sla()
        },
        _ => AppliedSla {
            ola: None,
            ..p2_sla()
        },
    }
}

fn impact(index: u8) -> Impact {
    [Impact::High, Impact::Medium, Impact::Low][usize::from(index % 3)]
}

fn urgency(index: u8) -> Urgency {
    [Urgency::High, Urgency::Medium, Urgency::Low][usize::from(index % 3)]
}

fn group_choice(index: u8) -> Option<itsm_kernel::GroupId> {
    match index % 4 {
        0 => None,
        1 => Some(desk()),
        2 => Some(group("network-l2")),
        _ => Some(group("network-l3")),
    }
}

fn clock_choice(index: u8) -> ClockKind {
    match index % 4 {
        0 => ClockKind::FirstResponse,
        1 => ClockKind::Resolution,
        2 => ola("service-desk"),
        _ => ola("network-l2"),
    }
}

/// One generated step; timer steps pick their deadline from the state when `actual` is set, so
/// some of them are accepted.
#[derive(Debug, Clone)]
enum Step {
    Command(Box<IncidentCommand>),
    Timer {
        breach: bool,
        clock: u8,
        actual: bool,
    },
}

fn text(blank: bool) -> String {
    if blank {
        " ".to_owned()
    } else {
        "Something happened".to_owned()
    }
}

fn command() -> impl Strategy<Value = Step> {
    let any_u8 = any::<u8>;
    let command = prop_oneof![
        1 => (any_u8(), any_u8(), any_u8(), any::<bool>()).prop_map(|(i, u, s, blank)| {
            let mut log = log_incident();
            log.impact = impact(i);
            log.urgency = urgency(u);
            log.sla = sla_choice(s);
            log.title = text(blank);
            IncidentCommand::Log(Box::new(log))
        }),
        3 => Just(IncidentCommand::Acknowledge),
        3 => (any_u8(), any::<bool>(), 0..300i64).prop_map(|(g, with_agent, ola)| {
            IncidentCommand::Assign {
                group: group_choice(g),
                agent: with_agent.then(|| UserId::new("bob").expect("valid id")),
                ola: (ola > 0).then(|| minutes(ola)),
            }
        }),
        3 => Just(IncidentCommand::StartWork),
        3 => (0..3usize).prop_map(|r| IncidentCommand::PutOnHold {
            reason: HoldReason::ALL[r]
        }),
        3 => Just(IncidentCommand::Resume),
        1 => (any_u8(), any::<bool>(), any::<bool>()).prop_map(|(g, functional, blank)| {
            IncidentCommand::Escalate {
                to: if functional {
                    Escalation::Functional {
                        to_group: group_choice(g).unwrap_or_else(desk),
                        ola: Some(minutes(i64::from(g) + 1)),
                    }
                } else {
                    Escalation::Hierarchical {
                        manager: UserId::new("carol").expect("valid id"),
                    }
                },
                reason: text(blank),
            }
        }),
        1 => (any_u8(), any_u8(), any_u8(), any::<bool>()).prop_map(|(i, u, s, blank)| {
            IncidentCommand::Reprioritize {
                impact: impact(i),
                urgency: urgency(u),
                reason: text(blank),
                sla: sla_choice(s),
            }
        }),
        1 => (any_u8(), any::<bool>()).prop_map(|(s, blank)| IncidentCommand::ChangeSla {
            sla: sla_choice(s),
            reason: text(blank),
        }),
        3 => any::<bool>().prop_map(|blank| IncidentCommand::Resolve {
            code: ResolutionCode::Fixed,
            notes: text(blank),
        }),
        2 => Just(IncidentCommand::Close),
        2 => any::<bool>().prop_map(|blank| IncidentCommand::Reopen { reason: text(blank) }),
        1 => any::<bool>().prop_map(|blank| IncidentCommand::Cancel { reason: text(blank) }),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(internal, blank)| IncidentCommand::Comment {
            text: text(blank),
            visibility: if internal {
                Visibility::Internal
            } else {
                Visibility::Public
            },
        }),
        1 => (0..3u8).prop_map(|n| IncidentCommand::AttachFile {
            attachment: Attachment {
                name: format!("log-{n}.txt"),
                content_hash: format!("blake3:{n}"),
                uri: format!("blob://{n}"),
                size_bytes: u64::from(n),
            },
        }),
        1 => (1..4u64, any::<bool>()).prop_map(|(n, problem)| IncidentCommand::Link {
            target: if problem {
                LinkTarget::Problem(ProblemKey::new(n))
            } else {
                LinkTarget::Change(ChangeKey::new(n))
            },
        }),
        1 => any::<bool>().prop_map(|blank| IncidentCommand::DeclareMajor { reason: text(blank) }),
        1 => (40..44u64).prop_map(|n| IncidentCommand::LinkToMajor {
            parent: IncidentKey::new(n)
        }),
        3 => (0..7u8, any::<bool>()).prop_map(|(score, blank)| IncidentCommand::Rate {
            score,
            comment: if blank { String::new() } else { "ok".to_owned() },
        }),
        1 => (1..4u64, any::<bool>()).prop_map(|(n, known)| IncidentCommand::NoteProblemUpdate {
            problem: ProblemKey::new(n),
            update: if known {
                ProblemUpdate::KnownError
            } else {
                ProblemUpdate::WorkaroundAvailable {
                    workaround: "Restart the client".to_owned(),
                }
            },
        }),
    ];
    prop_oneof![
        4 => command.prop_map(|command| Step::Command(Box::new(command))),
        1 => (any::<bool>(), any::<u8>(), any::<bool>())
            .prop_map(|(breach, clock, actual)| Step::Timer { breach, clock, actual }),
    ]
}

fn actor(index: u8) -> Actor {
    match index % 3 {
        0 => agent(),
        1 => requester(),
        _ => timer(),
    }
}

fn build(step: &Step, state: &IncidentState, now: DateTime<Utc>) -> IncidentCommand {
    match step {
        Step::Command(command) => (**command).clone(),
        Step::Timer {
            breach,
            clock,
            actual,
        } => {
            let clock = clock_choice(*clock);
            let due = state
                .as_ref()
                .and_then(|incident| incident.clock(&clock))
                .and_then(itsm_incident::ClockState::due)
                .filter(|_| *actual)
                .unwrap_or(now);
            if *breach {
                IncidentCommand::RecordSlaBreach { clock, due }
            } else {
                IncidentCommand::RecordSlaWarning { clock, due }
            }
        }
    }
}

fn allowed(from: Option<Status>, to: Status, command: &IncidentCommand) -> bool {
    use Status as S;
    let Some(from) = from else {
        return matches!(command, IncidentCommand::Log(_)) && to == S::New;
    };
    from == to
        || matches!(
            (from, to),
            (S::New | S::Assigned | S::InProgress, S::Assigned)
        )
        || matches!((from, to), (S::Assigned | S::OnHold(_), S::InProgress))
        || matches!((from, to), (S::InProgress, S::OnHold(_)))
        || matches!(
            (from, to),
            (S::New | S::Assigned | S::InProgress, S::Resolved)
        )
        || matches!((from, to), (S::Resolved, S::Closed))
        || matches!((from, to), (S::Resolved | S::Closed, S::New | S::Assigned))
        || (from.is_open() && to == S::Cancelled)
}

/// Met and breached events per clock run (a `SlaClockStarted` begins a new run).
#[derive(Default)]
struct Outcomes(BTreeMap<ClockKind, (u32, u32)>);

impl Outcomes {
    fn record(&mut self, event: &IncidentEvent) {
        match event {
            IncidentEvent::SlaClockStarted { clock, .. } => {
                self.0.insert(clock.clone(), (0, 0));
            }
            IncidentEvent::SlaMet { clock, .. } => {
                self.0.entry(clock.clone()).or_default().0 += 1;
            }
            IncidentEvent::SlaBreached { clock, .. } => {
                self.0.entry(clock.clone()).or_default().1 += 1;
            }
            _ => {}
        }
    }

    fn check(&self) -> Result<(), TestCaseError> {
        for (clock, (met, breached)) in &self.0 {
            prop_assert!(
                met + breached <= 1,
                "{clock:?} met {met} and breached {breached} times in one run"
            );
        }
        Ok(())
    }
}

fn check_state(state: &IncidentState, events: &[IncidentEvent]) -> Result<(), TestCaseError> {
    let Some(incident) = state else {
        return Ok(());
    };
    prop_assert_eq!(
        incident.priority,
        Priority::from_matrix(incident.impact, incident.urgency)
    );
    for rating in &incident.ratings {
        prop_assert!((1..=5).contains(&rating.score));
    }
    for clock in &incident.clocks {
        if let Some(due) = clock.due() {
            prop_assert!(
                due >= clock.clock.started_at,
                "{clock:?} is due before it started"
            );
        }
        let timeline = explain_clock(events, clock.kind());
        prop_assert!(
            timeline.is_some(),
            "{:?} cannot explain itself",
            clock.kind()
        );
        if let Some(timeline) = timeline {
            prop_assert_eq!(timeline.due, clock.due());
            let expected = if clock.breached {
                ClockStatus::Breached
            } else if clock.met {
                ClockStatus::Met
            } else if clock.clock.is_stopped() {
                ClockStatus::Stopped
            } else if clock.clock.is_paused() {
                ClockStatus::Paused
            } else {
                ClockStatus::Running
            };
            prop_assert_eq!(timeline.state, expected);
        }
    }
    if !incident.status.is_open() {
        prop_assert!(
            incident.clocks.iter().all(|clock| clock.clock.is_stopped()),
            "a {} incident has a running clock",
            incident.status
        );
    }
    Ok(())
}

/// The due times events record for readers are the ones the state computes from the stream.
fn check_recorded_dues(
    state: &IncidentState,
    new_events: &[IncidentEvent],
) -> Result<(), TestCaseError> {
    for event in new_events {
        let (clock, recorded) = match event {
            IncidentEvent::SlaClockStarted { clock, due, .. }
            | IncidentEvent::SlaClockResumed { clock, due, .. } => (clock, Some(*due)),
            IncidentEvent::SlaClockRetargeted { clock, due, .. } => (clock, *due),
            _ => continue,
        };
        let computed = state
            .as_ref()
            .and_then(|incident| incident.clock(clock))
            .and_then(itsm_incident::ClockState::due);
        prop_assert_eq!(computed, recorded, "{:?}", event);
    }
    Ok(())
}

fn round_trips(event: &IncidentEvent) -> Result<(), TestCaseError> {
    let config = bincode::config::standard();
    let bytes = bincode::serde::encode_to_vec(event, config).expect("encodes");
    let (back, _): (IncidentEvent, usize) =
        bincode::serde::decode_from_slice(&bytes, config).expect("decodes");
    prop_assert_eq!(&back, event);
    let json = serde_json::to_string(event).expect("serializes");
    let back: IncidentEvent = serde_json::from_str(&json).expect("deserializes");
    prop_assert_eq!(&back, event);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_histories_keep_every_invariant(
        first_log in prop::bool::weighted(0.9),
        steps in prop::collection::vec((command(), prop_oneof![3 => 0..30i64, 1 => 0..600i64], any::<u8>()), 1..40),
    ) {
        let mut state: IncidentState = None;
        let mut events: Vec<IncidentEvent> = Vec::new();
        let mut outcomes = Outcomes::default();
        let mut now = t(0);
        if first_log {
            let context = Context::new(agent(), now);
            let logged = Incident::decide(&state, &log_command(), &context).expect("logs");
            for event in &logged {
                state = Incident::evolve(state, event);
                outcomes.record(event);
            }
            events.extend(logged);
        }
        for (step, advance, who) in steps {
            now += minutes(advance);
            let command = build(&step, &state, now);
            let context = Context::new(actor(who), now);
            let before = state.as_ref().map(|incident| incident.status);
            let Ok(new_events) = Incident::decide(&state, &command, &context) else {
                continue;
            };
            prop_assert!(
                before != Some(Status::Cancelled),
                "a cancelled incident accepted {command:?}"
            );
            if before == Some(Status::Closed) {
                prop_assert!(
                    matches!(command, IncidentCommand::Reopen { .. }),
                    "a closed incident accepted {command:?}"
                );
            }
            if let IncidentCommand::Rate { score, .. } = &command {
                prop_assert_eq!(before, Some(Status::Resolved));
                prop_assert!((1..=5).contains(score));
            }
            for event in &new_events {
                round_trips(event)?;
                prop_assert_eq!(event.at(), now);
                state = Incident::evolve(state, event);
                outcomes.record(event);
            }
            check_recorded_dues(&state, &new_events)?;
            events.extend(new_events);
            let after = state.as_ref().map(|incident| incident.status);
            prop_assert!(after.is_some(), "accepted {command:?} left no incident");
            if let Some(after) = after {
                prop_assert!(
                    allowed(before, after, &command),
                    "{before:?} -> {after:?} by {command:?}"
                );
            }
            outcomes.check()?;
            check_state(&state, &events)?;
        }
        prop_assert_eq!(Incident::fold(&events), state, "replay gives another state");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// On a 24x7 calendar a hold that pauses the clocks moves every deadline by exactly its length.
    #[test]
    fn a_pausing_hold_moves_every_deadline_by_its_length(
        hold_at in 11..400i64,
        hold_for in 0..2_000i64,
    ) {
        let held = in_progress()
            .run(
                IncidentCommand::PutOnHold {
                    reason: HoldReason::AwaitingCustomer,
                },
                t(hold_at),
            )
            .run(IncidentCommand::Resume, t(hold_at + hold_for));
        let incident = held.state.expect("logged");
        let due = |kind: &ClockKind| incident.clock(kind).and_then(itsm_incident::ClockState::due);
        // Clocks already past their deadline when the hold began do not move.
        let moved = |start: i64, target: i64| {
            if start + target <= hold_at { t(start + target) } else { t(start + target + hold_for) }
        };
        prop_assert_eq!(due(&ClockKind::FirstResponse), Some(moved(0, 60)));
        prop_assert_eq!(due(&ClockKind::Resolution), Some(moved(0, 480)));
        prop_assert_eq!(due(&ola("service-desk")), Some(moved(5, 240)));
    }
}
