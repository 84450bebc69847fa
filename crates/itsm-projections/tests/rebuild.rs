//! Random valid histories (real deciders, random commands, rejected ones dropped): applying
//! envelope by envelope while the history grows equals a full rebuild, equals half + snapshot
//! (codec round trip) + the rest; replaying applied envelopes changes nothing; an incident view
//! as of a past position equals the view captured live at that moment.

mod support;

use itsm_catalog::{CatalogCommand, FreezeScope};
use itsm_change::{ChangeCommand, ChangeType, Likelihood, ReviewOutcome, Vote};
use itsm_eventstore::codec;
use itsm_incident::{Escalation, IncidentCommand, LinkTarget, ResolutionCode, Visibility};
use itsm_kernel::{ChangeKey, Impact, IncidentKey, ProblemKey, Urgency};
use itsm_problem::ProblemCommand;
use itsm_projections::ReadModels;
use itsm_projections::dashboard::{DashboardFilter, GroupBy, Period};
use itsm_projections::queues::{QueueFilter, QueueSelector};
use itsm_projections::views::IncidentView;
use itsm_sla::{ClockKind, HoldReason};
use proptest::prelude::*;
use support::*;

#[derive(Debug, Clone)]
enum Op {
    Incident { key: u64, command: u8, a: u8, b: u8 },
    Problem { key: u64, command: u8, a: u8 },
    Change { key: u64, command: u8, a: u8 },
    Freeze { cancel: bool, which: u8 },
    Foreign,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (1..=3u64, any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(key, command, a, b)| Op::Incident { key, command, a, b }),
        2 => (1..=2u64, any::<u8>(), any::<u8>())
            .prop_map(|(key, command, a)| Op::Problem { key, command, a }),
        2 => (1..=2u64, any::<u8>(), any::<u8>())
            .prop_map(|(key, command, a)| Op::Change { key, command, a }),
        1 => (any::<bool>(), any::<u8>()).prop_map(|(cancel, which)| Op::Freeze { cancel, which }),
        1 => Just(Op::Foreign),
    ]
}

fn impact(i: u8) -> Impact {
    [Impact::High, Impact::Medium, Impact::Low][usize::from(i % 3)]
}

fn urgency(i: u8) -> Urgency {
    [Urgency::High, Urgency::Medium, Urgency::Low][usize::from(i % 3)]
}

fn groups(i: u8) -> itsm_kernel::GroupId {
    group(["service-desk", "network-l2", "network-l3"][usize::from(i % 3)])
}

fn run(ledger: &mut Ledger, op: &Op, now: chrono::DateTime<chrono::Utc>) {
    // Rejections are expected: random commands are often invalid in the current state.
    let _ = match op {
        Op::Incident { key, command, a, b } => {
            let bob = agent("bob");
            let (command, actor) = match command % 18 {
                0 | 1 => {
                    let mut log = log(*key);
                    log.impact = impact(*a);
                    log.urgency = urgency(*b);
                    if a % 2 == 0 {
                        log.sla = sla_on(30, 240, berlin_always_open());
                    }
                    (IncidentCommand::Log(Box::new(log)), bob)
                }
                2 => (IncidentCommand::Acknowledge, bob),
                3 => (
                    IncidentCommand::Assign {
                        group: Some(groups(*a)),
                        agent: (b % 2 == 0).then(|| user(["bob", "carol"][usize::from(b % 4 / 2)])),
                        ola: Some(minutes(120)),
                    },
                    bob,
                ),
                4 => (IncidentCommand::StartWork, bob),
                5 => (
                    IncidentCommand::PutOnHold {
                        reason: HoldReason::ALL[usize::from(a % 3)],
                    },
                    bob,
                ),
                6 => (IncidentCommand::Resume, bob),
                7 => (
                    IncidentCommand::Escalate {
                        to: Escalation::Functional {
                            to_group: groups(*a),
                            ola: Some(minutes(60)),
                        },
                        reason: "needs network".to_owned(),
                    },
                    bob,
                ),
                8 => (
                    IncidentCommand::Reprioritize {
                        impact: impact(*a),
                        urgency: urgency(*b),
                        reason: "business impact changed".to_owned(),
                        sla: sla(30, 240),
                    },
                    bob,
                ),
                9 => (
                    IncidentCommand::Resolve {
                        code: ResolutionCode::Fixed,
                        notes: "fixed".to_owned(),
                    },
                    agent(["bob", "carol"][usize::from(a % 2)]),
                ),
                10 => (IncidentCommand::Close, bob),
                11 => (
                    IncidentCommand::Reopen {
                        reason: "still broken".to_owned(),
                    },
                    bob,
                ),
                12 => (
                    IncidentCommand::Cancel {
                        reason: "duplicate".to_owned(),
                    },
                    bob,
                ),
                13 => (
                    IncidentCommand::Comment {
                        text: "any news?".to_owned(),
                        visibility: if a % 3 == 0 {
                            Visibility::Internal
                        } else {
                            Visibility::Public
                        },
                    },
                    if b % 2 == 0 { requester("alice") } else { bob },
                ),
                14 => (
                    IncidentCommand::Rate {
                        score: a % 5 + 1,
                        comment: "ok".to_owned(),
                    },
                    requester("alice"),
                ),
                15 | 16 => {
                    let clock = if a % 2 == 0 {
                        ClockKind::FirstResponse
                    } else {
                        ClockKind::Resolution
                    };
                    let due = ledger
                        .incidents
                        .get(key)
                        .and_then(|state| state.as_ref())
                        .and_then(|incident| incident.clock(&clock))
                        .and_then(itsm_incident::ClockState::due)
                        .unwrap_or(now);
                    let command = if command % 18 == 15 {
                        IncidentCommand::RecordSlaBreach { clock, due }
                    } else {
                        IncidentCommand::RecordSlaWarning { clock, due }
                    };
                    (command, timer())
                }
                _ => (
                    IncidentCommand::Link {
                        target: LinkTarget::Problem(ProblemKey::new(u64::from(a % 2) + 1)),
                    },
                    bob,
                ),
            };
            ledger.incident(*key, command, &actor, now)
        }
        Op::Problem { key, command, a } => {
            let command = match command % 9 {
                0 => ProblemCommand::Record {
                    key: ProblemKey::new(*key),
                    title: "VPN drops under load".to_owned(),
                    description: "Tunnels reset.".to_owned(),
                    service: service("vpn"),
                    impact: impact(*a),
                    urgency: urgency(*a / 3),
                },
                1 => ProblemCommand::StartInvestigation {
                    group: groups(*a),
                    assignee: None,
                },
                2 => ProblemCommand::RecordRootCause {
                    root_cause: "MTU mismatch on the concentrator".to_owned(),
                },
                3 => ProblemCommand::DocumentWorkaround {
                    workaround: "Lower the client MTU to 1400".to_owned(),
                },
                4 => ProblemCommand::LinkIncident {
                    incident: IncidentKey::new(u64::from(a % 4) + 1),
                },
                5 => ProblemCommand::Resolve {
                    resolution: "Concentrator patched".to_owned(),
                },
                6 => ProblemCommand::Close,
                7 => ProblemCommand::Reopen {
                    reason: "came back".to_owned(),
                },
                _ => ProblemCommand::Cancel {
                    reason: "not a problem".to_owned(),
                },
            };
            ledger.problem(*key, command, &agent("bob"), now)
        }
        Op::Change { key, command, a } => {
            let from = now + minutes(60 + i64::from(*a) * 10);
            let command = match command % 8 {
                0 => ChangeCommand::Raise {
                    key: ChangeKey::new(*key),
                    change_type: if a % 2 == 0 {
                        ChangeType::Standard {
                            template: name("restart-gateway"),
                        }
                    } else {
                        ChangeType::Emergency
                    },
                    title: "Restart the VPN gateway".to_owned(),
                    description: "Clears the tunnels.".to_owned(),
                    service: service("vpn"),
                    impact: impact(*a),
                    likelihood: Likelihood::Low,
                    implementation_plan: "restart".to_owned(),
                    backout_plan: "none needed".to_owned(),
                    requested_by: user("bob"),
                },
                1 => ChangeCommand::Submit,
                2 => ChangeCommand::Schedule {
                    from,
                    to: from + minutes(90),
                    freeze_windows: Vec::new(),
                    other_changes: Vec::new(),
                },
                3 => ChangeCommand::StartImplementation,
                4 => ChangeCommand::CompleteImplementation {
                    notes: "done".to_owned(),
                },
                5 => ChangeCommand::Review {
                    outcome: ReviewOutcome::Successful,
                    notes: "fine".to_owned(),
                },
                6 => ChangeCommand::Close,
                _ => ChangeCommand::RecordApproval {
                    approver: user("maria"),
                    vote: Vote::Approve,
                    comment: "ok".to_owned(),
                },
            };
            ledger.change(*key, command, &manager(), now)
        }
        Op::Freeze { cancel, which } => {
            let window = name(["year-end", "release"][usize::from(which % 2)]);
            let command = if *cancel {
                CatalogCommand::CancelFreezeWindow {
                    window,
                    reason: "lifted".to_owned(),
                }
            } else {
                CatalogCommand::DefineFreezeWindow {
                    window,
                    scope: if which % 4 < 2 {
                        FreezeScope::Global
                    } else {
                        FreezeScope::Service(service("vpn"))
                    },
                    from: now + minutes(600),
                    to: now + minutes(1200),
                    reason: "quiet period".to_owned(),
                }
            };
            ledger.catalog(command, &service_manager(), now)
        }
        Op::Foreign => {
            ledger.foreign(now);
            Ok(Vec::new())
        }
    };
}

/// Every queue, paged two at a time from the order index, equals scoring and sorting the whole
/// queue, now and later (customer waits growing past their cap, clocks running out).
fn index_agrees_with_scan(
    models: &ReadModels,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), TestCaseError> {
    let mut selectors = vec![QueueSelector::Unassigned];
    selectors.extend((0..3).map(|i| QueueSelector::Group(groups(i))));
    selectors.extend(["bob", "carol"].map(|name| QueueSelector::Agent(user(name))));
    let filter = QueueFilter::default();
    for later in [0, 90, 60 * 24 * 6] {
        let at = now + minutes(later);
        for selector in &selectors {
            let (mut indexed, mut scanned) = (None, None);
            for _ in 0..20 {
                let a = models.queues.queue(selector, &filter, at, indexed, 2);
                let b = models
                    .queues
                    .queue_by_scan(selector, &filter, at, scanned, 2);
                prop_assert_eq!(&a, &b, "{:?} at {}", selector, at);
                if !a.has_next {
                    break;
                }
                (indexed, scanned) = (a.end_cursor, b.end_cursor);
            }
        }
    }
    Ok(())
}

/// The read models agree with the deciders' own states (a model-based check that does not
/// trust the projections' code).
fn agrees_with_deciders(models: &ReadModels, ledger: &Ledger) -> Result<(), TestCaseError> {
    let queues = &models.queues;
    for (key, state) in &ledger.incidents {
        let Some(incident) = state else { continue };
        let ticket = queues.ticket(IncidentKey::new(*key));
        if incident.status == itsm_incident::Status::Cancelled {
            prop_assert!(ticket.is_none());
            continue;
        }
        let Some(ticket) = ticket else {
            return Err(TestCaseError::fail(format!("incident {key} missing")));
        };
        prop_assert_eq!(ticket.status, incident.status);
        prop_assert_eq!(ticket.priority, incident.priority);
        prop_assert_eq!(
            ticket.group.map(|g| queues.name(g)),
            incident.group.as_ref().map(itsm_kernel::GroupId::as_str)
        );
        prop_assert_eq!(
            ticket.agent.map(|a| queues.name(a)),
            incident.agent.as_ref().map(itsm_kernel::UserId::as_str)
        );
        for (mark, kind) in [
            (ticket.first_response, ClockKind::FirstResponse),
            (ticket.resolution, ClockKind::Resolution),
        ] {
            let clock = incident.clock(&kind);
            let running_due = clock
                .filter(|c| c.is_running())
                .and_then(itsm_incident::ClockState::due)
                .map(|due| due.timestamp());
            prop_assert_eq!(mark.due, running_due, "{} of incident {}", kind, key);
            prop_assert_eq!(mark.breached, clock.is_some_and(|c| c.breached));
        }
        let selector = match &incident.group {
            Some(group) => QueueSelector::Group(group.clone()),
            None => QueueSelector::Unassigned,
        };
        let listed = queues
            .queue(&selector, &QueueFilter::default(), t(0), None, 1_000)
            .items
            .iter()
            .any(|item| item.key.number() == *key);
        prop_assert_eq!(listed, incident.status.is_open());
    }
    let counts = queues.counts(t(0));
    let in_group_or_unassigned: usize = counts
        .iter()
        .filter(|c| !matches!(c.selector, QueueSelector::Agent(_)))
        .map(|c| c.open)
        .sum();
    prop_assert_eq!(in_group_or_unassigned, queues.open_count());
    // Dashboard: volume, backlog at the end and latest ratings agree with the deciders.
    let all_days = Period {
        from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
        to: chrono::NaiveDate::from_ymd_opt(2026, 4, 1).expect("date"),
    };
    let logged: Vec<&itsm_incident::LoggedIncident> = ledger.incidents.values().flatten().collect();
    let open = logged.iter().filter(|i| i.status.is_open()).count();
    let rated = logged.iter().filter(|i| !i.ratings.is_empty()).count();
    let backlog = models
        .dashboard
        .backlog(all_days, &DashboardFilter::default());
    prop_assert_eq!(
        backlog.last().map(|(_, n)| *n),
        Some(i64::try_from(open).expect("small"))
    );
    let totals = models
        .dashboard
        .report(all_days, GroupBy::Nothing, &DashboardFilter::default());
    let volume = totals.first().map_or(0, |row| row.stats.volume);
    prop_assert_eq!(volume, logged.len() as u64);
    let csat: u64 = totals
        .first()
        .map_or(0, |row| row.stats.csat_distribution.iter().sum());
    prop_assert_eq!(csat, rated as u64);
    for (key, state) in &ledger.problems {
        let known = models.known_errors.problem(ProblemKey::new(*key));
        prop_assert_eq!(known.map(|p| p.status), state.status());
    }
    for (key, state) in &ledger.changes {
        let change = models.changes.change(ChangeKey::new(*key));
        prop_assert_eq!(change.map(|c| c.status), state.status());
    }
    Ok(())
}

fn apply_all(models: &mut ReadModels, envelopes: &[itsm_eventstore::Envelope]) {
    for envelope in envelopes {
        models
            .apply_envelope(envelope)
            .expect("every envelope of a valid history decodes");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn incremental_equals_rebuild_equals_snapshot_restore(
        ops in proptest::collection::vec((op(), 0..240i64), 1..160),
        split in any::<prop::sample::Index>(),
        replay in any::<prop::sample::Index>(),
    ) {
        let mut ledger = Ledger::new();
        ledger.define_catalog(t(0));
        let mut live = ReadModels::new();
        apply_all(&mut live, &ledger.envelopes);
        let mut captured: Vec<(u64, Option<IncidentView>)> = Vec::new();
        let mut now = t(1);
        for (op, advance) in &ops {
            now += minutes(*advance);
            let before = ledger.envelopes.len();
            run(&mut ledger, op, now);
            apply_all(&mut live, &ledger.envelopes[before..]);
            prop_assert_eq!(live.position(), ledger.envelopes.len() as u64);
            agrees_with_deciders(&live, &ledger)?;
            index_agrees_with_scan(&live, now)?;
            let view = IncidentView::from_envelopes(&ledger.stream("incident-1"))
                .expect("views decode");
            captured.push((live.position(), view));
        }
        let all = &ledger.envelopes;

        let mut rebuilt = ReadModels::new();
        apply_all(&mut rebuilt, all);
        prop_assert_eq!(&rebuilt, &live);

        let half = split.index(all.len() + 1);
        let mut first = ReadModels::new();
        apply_all(&mut first, &all[..half]);
        let snapshot = codec::encode(&first).expect("snapshot encodes");
        let mut restored: ReadModels = codec::decode(&snapshot).expect("snapshot decodes");
        prop_assert_eq!(&restored, &first);
        // The runner's framed format, in its real chunks and in tiny ones (many frames).
        for chunk in [itsm_projections::snapshot::CHUNK, 1, 3] {
            let framed = first.encode_snapshot_in_chunks(chunk).expect("snapshot encodes");
            let decoded = ReadModels::decode_snapshot(&framed).expect("snapshot decodes");
            prop_assert_eq!(&decoded, &first);
        }
        apply_all(&mut restored, &all[half..]);
        prop_assert_eq!(&restored, &live);

        let mut replayed = live.clone();
        let again = &all[replay.index(all.len())];
        replayed.apply_envelope(again).expect("decodes");
        apply_all(&mut replayed, all);
        prop_assert_eq!(&replayed, &live);

        let stream = ledger.stream("incident-1");
        for (position, view) in &captured {
            let as_of = IncidentView::as_of_position(&stream, *position).expect("decodes");
            prop_assert_eq!(&as_of, view);
        }
    }
}

/// Appends `envelopes` to a real store, one append each, keeping stream and metadata.
async fn append_to(store: &itsm_eventstore::SledStore, envelopes: &[itsm_eventstore::Envelope]) {
    use itsm_eventstore::{EventStore, ExpectedVersion, NewEvent};
    for envelope in envelopes {
        let event = NewEvent::new(
            envelope.event_type.clone(),
            envelope.schema_version,
            envelope.payload.clone(),
        );
        store
            .append(
                envelope.stream_id.clone(),
                ExpectedVersion::Any,
                vec![event],
                envelope.metadata.clone(),
            )
            .await
            .expect("appended");
    }
}

proptest! {
    // Each case writes a sled store in a temporary directory and restarts it once: few cases.
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// On a real `SledStore`: the runner's incremental models (snapshotting on the way, stopped
    /// and restarted mid-history on the same directory) equal a full rebuild from the ledger and
    /// the models applied straight from the generated history.
    #[test]
    fn on_sled_the_runner_equals_a_rebuild_across_a_restart(
        ops in proptest::collection::vec((op(), 0..240i64), 1..80),
        split in any::<prop::sample::Index>(),
        every in 1..20u64,
    ) {
        use std::sync::Arc;
        use std::time::Duration;
        use itsm_eventstore::{EventStore, SledConfig, SledStore};
        use itsm_projections::{ProjectionRunner, RunnerConfig, rebuild};

        let mut ledger = Ledger::new();
        ledger.define_catalog(t(0));
        let mut now = t(1);
        for (op, advance) in &ops {
            now += minutes(*advance);
            run(&mut ledger, op, now);
        }
        let all = ledger.envelopes.clone();
        let mut expected = ReadModels::new();
        apply_all(&mut expected, &all);
        let half = split.index(all.len() + 1);

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let config = SledConfig { cache_capacity: 8 * 1024 * 1024, ..SledConfig::default() };
        let patience = Duration::from_secs(30);
        let (live, rebuilt) = runtime.block_on(async {
            {
                let store = Arc::new(SledStore::open(dir.path(), &config).expect("opens"));
                let runner = ProjectionRunner::start(Arc::clone(&store), RunnerConfig { snapshot_every: every, snapshot_cost_factor: 0 })
                    .await
                    .expect("starts");
                append_to(&store, &all[..half]).await;
                runner.wait_for(store.head(), patience).await.expect("caught up");
                runner.stop().await;
            }
            let store = Arc::new(SledStore::open(dir.path(), &config).expect("reopens"));
            let runner = ProjectionRunner::start(Arc::clone(&store), RunnerConfig { snapshot_every: every, snapshot_cost_factor: 0 })
                .await
                .expect("restarts");
            append_to(&store, &all[half..]).await;
            runner.wait_for(store.head(), patience).await.expect("caught up");
            let live = runner.read(Clone::clone);
            runner.stop().await;
            (live, rebuild(&*store).await.expect("rebuilds"))
        });
        prop_assert_eq!(&live, &rebuilt);
        prop_assert_eq!(&live, &expected);
    }
}
