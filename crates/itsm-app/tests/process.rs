//! Process managers on a sled ledger with a manual clock: SLA warnings and breaches at the right
//! business instant, restarts that neither lose nor duplicate anything, auto-close, problem
//! follow-up. Tests move the clock and wait for `ProcessHandle::settled`, never for real time.

mod common;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use common::*;
use itsm_app::process::{SlaTimers, TimerKind};
use itsm_app::{
    Clock, CommandBus, Desk, ManualClock, ProcessConfig, ProcessHandle, ProcessManagers, UuidV7Ids,
    stream,
};
use itsm_eventstore::{CausationId, Envelope, EventStore, SledStore, codec};
use itsm_incident::{Incident, IncidentEvent, ResolutionCode};
use itsm_kernel::IncidentKey;
use itsm_sla::ClockKind;

struct Running {
    desk: Desk<SledStore>,
    clock: Arc<ManualClock>,
    managers: ProcessHandle,
}

impl Running {
    fn start(dir: &std::path::Path, now: DateTime<Utc>, config: ProcessConfig) -> Self {
        let store = open_sled(dir);
        let clock = Arc::new(ManualClock::new(now));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let bus = CommandBus::new(
            Arc::clone(&store),
            Arc::clone(&dyn_clock),
            Arc::new(UuidV7Ids),
        );
        let managers = ProcessManagers::start(&bus, &store, &dyn_clock, config);
        Running {
            desk: Desk::with_stream_lookup(bus),
            clock,
            managers,
        }
    }

    fn store(&self) -> &SledStore {
        self.desk.bus().store()
    }

    /// Moves the clock to `at` and waits until the managers acted on everything due by then.
    async fn at(&self, at: DateTime<Utc>) {
        self.clock.set(at);
        self.managers.settled(at).await;
    }

    /// No command a manager sent was refused: its deadlines agree with the decider's.
    fn assert_no_failures(&self) {
        let statuses = self.managers.statuses();
        assert!(statuses.iter().all(|s| s.failures == 0), "{statuses:?}");
    }

    /// Stops the managers and drops every store handle, so the directory can be reopened.
    async fn shut_down(self) {
        self.assert_no_failures();
        self.managers.stop().await;
        drop(self.desk);
    }
}

fn sla_only() -> ProcessConfig {
    ProcessConfig {
        auto_close: false,
        problem_follow_up: false,
        ..ProcessConfig::default()
    }
}

/// (clock, kind, due, at) of every SLA warning and breach of `key`.
async fn sla_marks(
    store: &SledStore,
    key: IncidentKey,
) -> Vec<(ClockKind, TimerKind, DateTime<Utc>, DateTime<Utc>)> {
    let mut marks = Vec::new();
    for envelope in all_events(store).await {
        if envelope.stream_id != stream::incident(key) {
            continue;
        }
        match codec::decode::<IncidentEvent>(&envelope.payload).expect("decodes") {
            IncidentEvent::SlaWarningRaised { clock, due, at, .. } => {
                marks.push((clock, TimerKind::Warning, due, at));
            }
            IncidentEvent::SlaBreached { clock, due, at, .. } => {
                marks.push((clock, TimerKind::Breach, due, at));
            }
            _ => {}
        }
    }
    marks
}

fn logged_envelope(events: &[Envelope], key: IncidentKey) -> Envelope {
    events
        .iter()
        .find(|e| e.stream_id == stream::incident(key) && e.event_type == "IncidentLogged")
        .expect("logged")
        .clone()
}

// Friday 2026-01-09 16:30 Berlin = 15:30 UTC. P1: first response 15 min (warn at 12), resolution
// 4 h (warn at 3 h 12 min) in Mon-Fri 08-18 Berlin: 1 h 30 on Friday, the rest on Monday.
fn logged_at() -> DateTime<Utc> {
    utc(2026, 1, 9, 15, 30, 0)
}
fn first_response_warning() -> DateTime<Utc> {
    utc(2026, 1, 9, 15, 42, 0)
}
fn first_response_due() -> DateTime<Utc> {
    utc(2026, 1, 9, 15, 45, 0)
}
/// Monday 09:42 Berlin.
fn resolution_warning() -> DateTime<Utc> {
    utc(2026, 1, 12, 8, 42, 0)
}
/// Monday 10:30 Berlin.
fn resolution_due() -> DateTime<Utc> {
    utc(2026, 1, 12, 9, 30, 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_and_breaches_fire_at_the_business_instant_and_not_before() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = Running::start(dir.path(), friday_afternoon(), sla_only());
    define_catalog(&app.desk).await;
    app.clock.set(logged_at());
    let key = log_p1(&app.desk).await;
    let second = TimeDelta::seconds(1);

    app.at(first_response_warning() - second).await;
    assert!(sla_marks(app.store(), key).await.is_empty());
    app.at(first_response_warning()).await;
    app.at(first_response_due() - second).await;
    assert_eq!(
        sla_marks(app.store(), key).await,
        vec![(
            ClockKind::FirstResponse,
            TimerKind::Warning,
            first_response_due(),
            first_response_warning()
        )]
    );
    app.at(first_response_due()).await;
    // The whole weekend passes without the resolution clock moving.
    app.at(utc(2026, 1, 11, 23, 0, 0)).await;
    app.at(resolution_warning() - second).await;
    assert_eq!(sla_marks(app.store(), key).await.len(), 2);
    app.at(resolution_warning()).await;
    app.at(resolution_due() - second).await;
    assert_eq!(sla_marks(app.store(), key).await.len(), 3);
    app.at(resolution_due()).await;
    assert_eq!(
        sla_marks(app.store(), key).await,
        vec![
            (
                ClockKind::FirstResponse,
                TimerKind::Warning,
                first_response_due(),
                first_response_warning()
            ),
            (
                ClockKind::FirstResponse,
                TimerKind::Breach,
                first_response_due(),
                first_response_due()
            ),
            (
                ClockKind::Resolution,
                TimerKind::Warning,
                resolution_due(),
                resolution_warning()
            ),
            (
                ClockKind::Resolution,
                TimerKind::Breach,
                resolution_due(),
                resolution_due()
            ),
        ]
    );

    // Recorded as the automation, caused by the command that started the clocks.
    let events = all_events(app.store()).await;
    let logged = logged_envelope(&events, key);
    let marks: Vec<&Envelope> = events
        .iter()
        .filter(|e| {
            e.event_type == "IncidentSlaWarningRaised" || e.event_type == "IncidentSlaBreached"
        })
        .collect();
    assert_eq!(marks.len(), 4);
    for mark in marks {
        assert_eq!(mark.metadata.actor, "automation:sla-timer");
        assert_eq!(
            mark.metadata.causation_id,
            logged
                .metadata
                .command_id
                .map(|id| CausationId::from_uuid(*id.as_uuid()))
        );
        assert_eq!(mark.metadata.correlation_id, logged.metadata.correlation_id);
    }
    app.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_clock_does_not_fire_and_its_deadline_moves() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = Running::start(dir.path(), friday_afternoon(), sla_only());
    define_catalog(&app.desk).await;
    app.clock.set(logged_at());
    let key = log_p1(&app.desk).await;
    app.desk
        .acknowledge(key, &agent())
        .await
        .expect("acknowledged");
    app.desk
        .assign(key, Some(service_desk()), None, &agent())
        .await
        .expect("assigned");
    app.desk.start_work(key, &agent()).await.expect("started");
    app.desk
        .put_on_hold(key, itsm_sla::HoldReason::AwaitingCustomer, &agent())
        .await
        .expect("on hold");
    // Monday past the original due time: the resolution clock is paused, nothing fires.
    app.at(resolution_due() + TimeDelta::hours(1)).await;
    let resolution_marks = |marks: Vec<(ClockKind, TimerKind, DateTime<Utc>, DateTime<Utc>)>| {
        marks
            .into_iter()
            .filter(|m| m.0 == ClockKind::Resolution)
            .count()
    };
    assert_eq!(resolution_marks(sla_marks(app.store(), key).await), 0);
    // On hold since Friday 16:30 Berlin, resumed Monday 11:30: all 4 h remain, due 15:30.
    app.desk.resume(key, &agent()).await.expect("resumed");
    let due = app
        .desk
        .load_incident(key)
        .await
        .expect("exists")
        .clock(&ClockKind::Resolution)
        .and_then(itsm_incident::ClockState::due)
        .expect("running");
    assert_eq!(due, utc(2026, 1, 12, 14, 30, 0));
    app.at(due - TimeDelta::seconds(1)).await;
    assert_eq!(
        resolution_marks(sla_marks(app.store(), key).await),
        1,
        "warning only"
    );
    app.at(due).await;
    assert_eq!(resolution_marks(sla_marks(app.store(), key).await), 2);
    app.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_history_neither_loses_nor_duplicates_a_warning_or_breach() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (first, second) = {
        let app = Running::start(dir.path(), friday_afternoon(), sla_only());
        define_catalog(&app.desk).await;
        app.clock.set(logged_at());
        let first = log_p1(&app.desk).await;
        let second = log_p1(&app.desk).await;
        app.at(first_response_warning()).await;
        assert_eq!(sla_marks(app.store(), first).await.len(), 1);
        app.shut_down().await;
        (first, second)
    };
    // Down over the weekend: the first-response breach and the resolution warning were missed.
    let monday = resolution_warning() + TimeDelta::minutes(5);
    for _ in 0..2 {
        let app = Running::start(dir.path(), monday, sla_only());
        app.managers.settled(monday).await;
        for key in [first, second] {
            let kinds: Vec<(ClockKind, TimerKind)> = sla_marks(app.store(), key)
                .await
                .into_iter()
                .map(|(clock, kind, _, _)| (clock, kind))
                .collect();
            assert_eq!(
                kinds,
                vec![
                    (ClockKind::FirstResponse, TimerKind::Warning),
                    (ClockKind::FirstResponse, TimerKind::Breach),
                    (ClockKind::Resolution, TimerKind::Warning),
                ],
                "{key}"
            );
        }
        app.shut_down().await;
    }
    let app = Running::start(dir.path(), monday, sla_only());
    app.at(resolution_due()).await;
    for key in [first, second] {
        assert_eq!(sla_marks(app.store(), key).await.len(), 4);
    }
    // Re-sending a breach with its derived command id writes nothing, even with a fresh state.
    let mut timers = SlaTimers::new();
    for envelope in all_events(app.store()).await {
        timers.apply(&envelope).expect("decodes");
    }
    let head = app.store().head();
    let events = all_events(app.store()).await;
    let breach = events
        .iter()
        .rev()
        .find(|e| e.event_type == "IncidentSlaBreached")
        .expect("a breach");
    // A command the decider accepts, sent with the breach's command id: the store answers
    // with the breach's own result and writes nothing.
    let again = app
        .desk
        .bus()
        .execute_with::<Incident>(
            &breach.stream_id,
            &itsm_incident::IncidentCommand::Comment {
                text: "re-sent".to_owned(),
                visibility: itsm_incident::Visibility::Internal,
            },
            &itsm_kernel::Actor::automation("sla-timer"),
            itsm_app::CommandOptions {
                command_id: breach.metadata.command_id,
                ..Default::default()
            },
        )
        .await
        .expect("answered from the store");
    assert_eq!(again.position, breach.position);
    assert_eq!(app.store().head(), head);
    assert!(timers.next_deadline().is_none(), "nothing left to fire");
    app.shut_down().await;
}

fn auto_close_only(after: TimeDelta) -> ProcessConfig {
    ProcessConfig {
        sla_timers: false,
        problem_follow_up: false,
        auto_close_after: after,
        ..ProcessConfig::default()
    }
}

async fn closed_events(store: &SledStore, key: IncidentKey) -> Vec<Envelope> {
    events_of(store, stream::incident(key).as_str(), "IncidentClosed").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolved_incidents_are_closed_once_after_the_quiet_period_even_across_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let quiet = TimeDelta::days(2);
    let resolved_at = logged_at() + TimeDelta::hours(1);
    let (closed, reopened) = {
        let app = Running::start(dir.path(), friday_afternoon(), auto_close_only(quiet));
        define_catalog(&app.desk).await;
        app.clock.set(logged_at());
        let closed = log_p1(&app.desk).await;
        let reopened = log_p1(&app.desk).await;
        app.clock.set(resolved_at);
        for key in [closed, reopened] {
            app.desk
                .resolve(
                    key,
                    ResolutionCode::Fixed,
                    "Restarted the gateway.".to_owned(),
                    &agent(),
                )
                .await
                .expect("resolved");
        }
        app.at(resolved_at + TimeDelta::days(1)).await;
        app.desk
            .reopen(reopened, "Still broken.".to_owned(), &requester())
            .await
            .expect("reopened");
        app.at(resolved_at + quiet - TimeDelta::seconds(1)).await;
        assert!(closed_events(app.store(), closed).await.is_empty());
        app.at(resolved_at + quiet).await;
        assert_eq!(closed_events(app.store(), closed).await.len(), 1);
        app.shut_down().await;
        (closed, reopened)
    };
    let app = Running::start(
        dir.path(),
        resolved_at + TimeDelta::days(10),
        auto_close_only(quiet),
    );
    app.managers
        .settled(resolved_at + TimeDelta::days(10))
        .await;
    let close_events = closed_events(app.store(), closed).await;
    assert_eq!(close_events.len(), 1);
    assert_eq!(close_events[0].metadata.actor, "automation:auto-close");
    let resolve = events_of(
        app.store(),
        stream::incident(closed).as_str(),
        "IncidentResolved",
    )
    .await;
    assert_eq!(
        close_events[0].metadata.causation_id,
        resolve[0]
            .metadata
            .command_id
            .map(|id| CausationId::from_uuid(*id.as_uuid()))
    );
    assert!(
        closed_events(app.store(), reopened).await.is_empty(),
        "reopened, not resolved"
    );
    app.shut_down().await;
}

fn follow_up_only() -> ProcessConfig {
    ProcessConfig {
        sla_timers: false,
        auto_close: false,
        ..ProcessConfig::default()
    }
}

async fn noted(store: &SledStore, key: IncidentKey) -> Vec<Envelope> {
    events_of(
        store,
        stream::incident(key).as_str(),
        "IncidentProblemUpdateNoted",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problem_updates_reach_each_open_linked_incident_once_even_across_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (open, closed, problem) = {
        let app = Running::start(dir.path(), friday_afternoon(), follow_up_only());
        define_catalog(&app.desk).await;
        let open = log_p1(&app.desk).await;
        let closed = log_p1(&app.desk).await;
        app.desk
            .resolve(closed, ResolutionCode::Fixed, "Fixed.".to_owned(), &agent())
            .await
            .expect("resolved");
        app.desk.close(closed, &agent()).await.expect("closed");
        let problem = investigating_gateway_problem(&app.desk).await;
        for key in [open, closed] {
            app.desk
                .link_problem_incident(problem, key, &agent())
                .await
                .expect("linked");
        }
        app.desk
            .document_workaround(problem, "Use webmail.".to_owned(), &agent())
            .await
            .expect("documented");
        app.managers.settled(app.clock.now()).await;
        assert_eq!(noted(app.store(), open).await.len(), 1);
        assert!(
            noted(app.store(), closed).await.is_empty(),
            "closed incidents are skipped"
        );
        app.shut_down().await;
        (open, closed, problem)
    };
    let app = Running::start(dir.path(), friday_afternoon(), follow_up_only());
    app.managers.settled(app.clock.now()).await;
    assert_eq!(
        noted(app.store(), open).await.len(),
        1,
        "not noted again after a restart"
    );
    app.desk
        .record_root_cause(problem, "A bad certificate.".to_owned(), &agent())
        .await
        .expect("root cause");
    app.desk
        .resolve_problem(problem, "Certificate replaced.".to_owned(), &agent())
        .await
        .expect("resolved");
    app.managers.settled(app.clock.now()).await;
    let notes = noted(app.store(), open).await;
    assert_eq!(notes.len(), 2);
    assert!(noted(app.store(), closed).await.is_empty());
    let resolved = events_of(
        app.store(),
        stream::problem(problem).as_str(),
        "ProblemResolved",
    )
    .await;
    assert_eq!(notes[1].metadata.actor, "automation:problem-follow-up");
    assert_eq!(
        notes[1].metadata.causation_id,
        resolved[0]
            .metadata
            .command_id
            .map(|id| CausationId::from_uuid(*id.as_uuid()))
    );
    assert_eq!(
        notes[1].metadata.correlation_id,
        resolved[0].metadata.correlation_id
    );
    app.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_linked_only_on_the_problem_side_is_linked_then_noted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = Running::start(dir.path(), friday_afternoon(), follow_up_only());
    define_catalog(&app.desk).await;
    let incident = log_p1(&app.desk).await;
    let problem = record_gateway_problem(&app.desk).await;
    app.desk
        .bus()
        .execute::<itsm_problem::Problem>(
            &stream::problem(problem),
            &itsm_problem::ProblemCommand::LinkIncident { incident },
            &agent(),
        )
        .await
        .expect("linked on the problem only");
    app.desk
        .start_investigation(problem, email_l2(), None, &agent())
        .await
        .expect("investigating");
    app.desk
        .document_workaround(problem, "Use webmail.".to_owned(), &agent())
        .await
        .expect("documented");
    app.managers.settled(app.clock.now()).await;
    let state = app.desk.load_incident(incident).await.expect("exists");
    assert_eq!(state.problems, vec![problem]);
    assert_eq!(state.problem_updates.len(), 1);
    app.shut_down().await;
}

/// A catch-up read never returns `Pending`, so without a yield a recovering manager would keep
/// its runtime thread until it reached the head (a server's /healthz went unanswered for as
/// long as the replay took). On a single-threaded runtime, this test's own future gets a turn
/// while the managers are still recovering, and they still finish.
#[tokio::test(flavor = "current_thread")]
async fn recovering_managers_let_other_tasks_run() {
    use itsm_eventstore::{ExpectedVersion, MemoryStore, Metadata, NewEvent, StreamId};
    let store = Arc::new(MemoryStore::new());
    for _ in 0..20 {
        let events = (0..1_000)
            .map(|_| NewEvent::new("Noted".to_owned(), 1, vec![0]))
            .collect();
        store
            .append(
                StreamId::new("notes").expect("a valid stream id"),
                ExpectedVersion::Any,
                events,
                Metadata::new("automation:test".to_owned(), friday_afternoon()),
            )
            .await
            .expect("appended");
    }
    let head = store.head();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(friday_afternoon()));
    let bus = CommandBus::new(Arc::clone(&store), Arc::clone(&clock), Arc::new(UuidV7Ids));
    let managers = ProcessManagers::start(&bus, &store, &clock, ProcessConfig::default());
    tokio::task::yield_now().await;
    let midway = managers.statuses();
    assert!(
        midway.iter().all(|status| status.position < head),
        "this task ran while the managers were recovering: {midway:?}"
    );
    tokio::time::timeout(
        std::time::Duration::from_mins(1),
        managers.settled(friday_afternoon()),
    )
    .await
    .expect("the managers finish recovering");
    assert!(managers.statuses().iter().all(|s| s.position >= head));
}
