//! Process-manager checkpoints: a manager resumed from its checkpoint at position k and fed
//! k+1..n acts exactly like one that replayed 1..n; a restarted driver subscribes after its
//! checkpoint and still fires what was pending before it; a checkpoint that does not decode
//! (garbage, another format) means a full replay with the same result.

mod common;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use common::*;
use itsm_app::desk::EscalateTo;
use itsm_app::process::checkpoint::snapshot_name;
use itsm_app::process::{AUTO_CLOSE, AutoClose, SLA_TIMER, SlaTimers};
use itsm_app::{Clock, Desk, ManualClock, ProcessConfig, ProcessHandle, ProcessManagers};
use itsm_eventstore::{Envelope, EventStore, MemoryStore, SnapshotStore};
use itsm_incident::ResolutionCode;
use itsm_kernel::{Impact, IncidentKey, Urgency};
use itsm_sla::HoldReason;

/// splitmix64: a deterministic generator, so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let index = usize::try_from(self.below(items.len() as u64)).expect("small");
        items[index]
    }
}

fn all_managers() -> ProcessConfig {
    ProcessConfig {
        auto_close_after: TimeDelta::hours(30),
        ..ProcessConfig::default()
    }
}

struct Desked {
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    desk: Desk<MemoryStore>,
}

impl Desked {
    fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(friday_afternoon()));
        let desk = desk_on(Arc::clone(&store), Arc::clone(&clock));
        Desked { store, clock, desk }
    }

    fn start(&self, config: ProcessConfig) -> ProcessHandle {
        let clock: Arc<dyn Clock> = self.clock.clone();
        ProcessManagers::start(self.desk.bus(), &self.store, &clock, config)
    }
}

/// A random desk history of `steps` steps over a few days, with the managers running (so it
/// holds the warnings, breaches and auto-closes they recorded): incidents logged at P1 or P2,
/// acknowledged, assigned and escalated (OLA clocks), put on hold and resumed (pauses),
/// reprioritized (retargets), resolved, reopened, closed and cancelled. Refused steps are
/// skipped.
async fn random_history(seed: u64, steps: usize) -> (Vec<Envelope>, DateTime<Utc>) {
    let mut rng = Rng(seed);
    let desked = Desked::new();
    let desk = &desked.desk;
    define_catalog(desk).await;
    let managers = desked.start(all_managers());
    let mut keys: Vec<IncidentKey> = Vec::new();
    // Incidents put on hold, resumed first when a resume comes up.
    let mut held: Vec<IncidentKey> = Vec::new();
    for _ in 0..steps {
        // Mostly minutes (steps inside a clock's run), now and then hours (past deadlines).
        let minutes = if rng.below(10) == 0 {
            rng.below(600)
        } else {
            rng.below(30)
        };
        let now = desked.clock.now() + TimeDelta::minutes(i64::try_from(minutes).expect("small"));
        desked.clock.set(now);
        managers.settled(now).await;
        let choice = rng.below(14);
        if keys.is_empty() || choice < 3 {
            let mut new = p1_incident();
            new.urgency = rng.pick(&[Urgency::High, Urgency::Medium]);
            let (key, _) = desk.log_incident(new, &requester()).await.expect("logged");
            keys.push(key);
            continue;
        }
        // Mostly one of the latest few incidents, so steps build on each other (hold after
        // work started, resume after hold, reopen after resolve).
        let recent = keys.len().saturating_sub(4);
        let key = if rng.below(4) == 0 {
            rng.pick(&keys)
        } else {
            rng.pick(&keys[recent..])
        };
        let _refused_or_done = match choice {
            3 => desk.acknowledge(key, &agent()).await,
            4 => {
                let group = if rng.below(2) == 0 {
                    service_desk()
                } else {
                    email_l2()
                };
                desk.assign(key, Some(group), None, &agent()).await
            }
            5 => desk.start_work(key, &agent()).await,
            6 => {
                let held_now = desk
                    .put_on_hold(key, HoldReason::AwaitingCustomer, &agent())
                    .await;
                if held_now.is_ok() {
                    held.push(key);
                }
                held_now
            }
            7 => desk.resume(held.pop().unwrap_or(key), &agent()).await,
            8 => {
                desk.escalate(
                    key,
                    EscalateTo::Group(email_l2()),
                    "Needs L2.".to_owned(),
                    &agent(),
                )
                .await
            }
            9 => {
                let urgency = rng.pick(&[Urgency::High, Urgency::Medium]);
                desk.reprioritize(
                    key,
                    Impact::High,
                    urgency,
                    "Re-assessed.".to_owned(),
                    &agent(),
                )
                .await
            }
            10 | 11 => {
                desk.resolve(key, ResolutionCode::Fixed, "Fixed.".to_owned(), &agent())
                    .await
            }
            12 => {
                desk.reopen(key, "Still broken.".to_owned(), &requester())
                    .await
            }
            _ => desk.cancel(key, "Duplicate.".to_owned(), &agent()).await,
        };
    }
    let end = desked.clock.now();
    managers.settled(end).await;
    managers.stop().await;
    (all_events(&*desked.store).await, end)
}

/// Instants to ask a core what is due at: spread over the history and the week after it.
fn instants(rng: &mut Rng, envelopes: &[Envelope], end: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let start = envelopes.first().map_or(end, |e| e.metadata.recorded_at);
    let span = (end + TimeDelta::days(7) - start).num_minutes();
    let mut nows: Vec<DateTime<Utc>> = (0..24)
        .map(|_| {
            let minutes =
                i64::try_from(rng.below(u64::try_from(span).expect("positive"))).expect("small");
            start + TimeDelta::minutes(minutes)
        })
        .collect();
    nows.sort();
    nows
}

/// Cut points: 0, the head, a few at random, and right after every SLA event but a clock's
/// start and stop (a warning, a breach, a pause, a resume, a retarget) and every resolution or
/// reopen: the states where a checkpoint has the most to get right.
fn cuts(rng: &mut Rng, envelopes: &[Envelope]) -> Vec<usize> {
    let n = envelopes.len();
    let mut cuts = vec![0, n];
    cuts.extend((0..6).map(|_| usize::try_from(rng.below(n as u64 + 1)).expect("small")));
    let interesting: Vec<usize> = envelopes
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            matches!(
                e.event_type.as_str(),
                "IncidentSlaWarningRaised"
                    | "IncidentSlaBreached"
                    | "IncidentSlaClockPaused"
                    | "IncidentSlaClockResumed"
                    | "IncidentSlaClockRetargeted"
                    | "IncidentResolved"
                    | "IncidentReopened"
            )
        })
        .map(|(index, _)| index + 1)
        .collect();
    // At most about 16 of them, spread over the history.
    cuts.extend(interesting.iter().step_by(interesting.len() / 16 + 1));
    cuts
}

/// Feeds `envelopes` to `core` with `apply`.
fn fed<T>(mut core: T, envelopes: &[Envelope], apply: impl Fn(&mut T, &Envelope)) -> T {
    for envelope in envelopes {
        apply(&mut core, envelope);
    }
    core
}

fn apply_timers(timers: &mut SlaTimers, envelope: &Envelope) {
    timers.apply(envelope).expect("decodes");
}

fn apply_closer(closer: &mut AutoClose, envelope: &Envelope) {
    closer.apply(envelope);
}

/// The SLA timers resumed from a checkpoint at every cut give the same due actions and next
/// deadlines as a replay of the whole history, at every instant asked. Before the checkpoint,
/// the first core has already sent what was due at the cut's time and queued retries (as the
/// running driver does), which the checkpoint must neither carry nor lose: a replay re-arms
/// them, and so must a resumed core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumed_sla_timers_act_exactly_like_a_full_replay() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 1..=6_u64 {
        let (envelopes, end) = random_history(seed, 160).await;
        seen.extend(envelopes.iter().map(|e| e.event_type.clone()));
        let mut rng = Rng(seed ^ 0x00C0_FFEE);
        let replayed = fed(SlaTimers::new(), &envelopes, apply_timers);
        assert!(
            replayed.clocks() > 0,
            "seed {seed}: the history leaves clocks running"
        );
        for k in cuts(&mut rng, &envelopes) {
            let mut before = fed(SlaTimers::new(), &envelopes[..k], apply_timers);
            if let Some(last) = envelopes[..k].last() {
                let at = last.metadata.recorded_at;
                for action in before.due(at) {
                    before.retry(&action, at + TimeDelta::seconds(30));
                }
            }
            let bytes = before
                .encode_checkpoint(k as u64)
                .expect("the state encodes");
            let (position, resumed) = SlaTimers::decode_checkpoint(&bytes).expect("decodes");
            assert_eq!(position, k as u64);
            let mut resumed = fed(resumed, &envelopes[k..], apply_timers);
            let mut reference = fed(SlaTimers::new(), &envelopes, apply_timers);
            assert_eq!(resumed.clocks(), reference.clocks(), "seed {seed} cut {k}");
            let mut fired = 0;
            for now in instants(&mut rng, &envelopes, end) {
                assert_eq!(
                    resumed.next_deadline(),
                    reference.next_deadline(),
                    "seed {seed} cut {k} before {now}"
                );
                let due = reference.due(now);
                fired += due.len();
                assert_eq!(resumed.due(now), due, "seed {seed} cut {k} at {now}");
            }
            assert_eq!(resumed.next_deadline(), reference.next_deadline());
            assert!(
                fired > 0 || reference.next_deadline().is_none(),
                "seed {seed} cut {k}: something was compared"
            );
        }
    }
    for kind in [
        "IncidentSlaClockStarted",
        "IncidentSlaClockPaused",
        "IncidentSlaClockResumed",
        "IncidentSlaClockRetargeted",
        "IncidentSlaWarningRaised",
        "IncidentSlaBreached",
        "IncidentSlaMet",
        "IncidentReopened",
    ] {
        assert!(seen.contains(kind), "the histories hold {kind}: {seen:?}");
    }
}

/// The same for auto-close: resolutions waiting at the cut are closed at the same instants.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumed_auto_close_acts_exactly_like_a_full_replay() {
    let quiet = all_managers().auto_close_after;
    for seed in 11..=14_u64 {
        let (envelopes, end) = random_history(seed, 160).await;
        let mut rng = Rng(seed ^ 0xBEEF);
        let mut any_waiting = false;
        for k in cuts(&mut rng, &envelopes) {
            let mut before = fed(AutoClose::new(quiet), &envelopes[..k], apply_closer);
            if let Some(last) = envelopes[..k].last() {
                let at = last.metadata.recorded_at;
                for action in before.due(at) {
                    before.retry(&action, at + TimeDelta::seconds(30));
                }
            }
            let bytes = before.encode_checkpoint(k as u64).expect("encodes");
            let (position, resumed) = AutoClose::decode_checkpoint(&bytes, quiet).expect("decodes");
            assert_eq!(position, k as u64);
            let mut resumed = fed(resumed, &envelopes[k..], apply_closer);
            let mut reference = fed(AutoClose::new(quiet), &envelopes, apply_closer);
            assert_eq!(resumed.waiting(), reference.waiting());
            any_waiting |= reference.waiting() > 0 || before.waiting() > 0;
            for now in instants(&mut rng, &envelopes, end) {
                assert_eq!(resumed.next_deadline(), reference.next_deadline());
                assert_eq!(resumed.due(now), reference.due(now), "seed {seed} cut {k}");
            }
        }
        assert!(any_waiting, "seed {seed}: some resolution was waiting");
    }
}

/// Every SLA warning and breach in the ledger, as (incident stream, event type, due).
async fn sla_marks(store: &MemoryStore) -> Vec<(String, String, String)> {
    let mut marks: Vec<(String, String, String)> = all_events(store)
        .await
        .into_iter()
        .filter(|e| {
            e.event_type == "IncidentSlaWarningRaised" || e.event_type == "IncidentSlaBreached"
        })
        .map(|e| {
            let event: itsm_incident::IncidentEvent =
                itsm_eventstore::codec::decode(&e.payload).expect("decodes");
            (e.stream_id.to_string(), e.event_type, format!("{event:?}"))
        })
        .collect();
    marks.sort();
    marks
}

// Friday 2026-01-09 16:30 Berlin: a P1's first response is due at 16:45, its warning at 16:42.
fn logged_at() -> DateTime<Utc> {
    utc(2026, 1, 9, 15, 30, 0)
}
fn first_response_warning() -> DateTime<Utc> {
    utc(2026, 1, 9, 15, 42, 0)
}

fn sla_only() -> ProcessConfig {
    ProcessConfig {
        auto_close: false,
        problem_follow_up: false,
        ..ProcessConfig::default()
    }
}

/// A clean stop saves each manager's checkpoint at the head; the next start subscribes after
/// it (it applies only the envelopes written since) and a warning pending from before the
/// checkpoint still fires, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_manager_resumes_after_its_checkpoint_and_fires_what_was_pending() {
    let desked = Desked::new();
    define_catalog(&desked.desk).await;
    let managers = desked.start(all_managers());
    desked.clock.set(logged_at());
    let first = log_p1(&desked.desk).await;
    managers.settled(logged_at()).await;
    managers.stop().await;
    let checkpointed = desked.store.head();
    for manager in [SLA_TIMER, AUTO_CLOSE, "problem-follow-up"] {
        let saved = desked
            .store
            .load_snapshot(&snapshot_name(manager), u64::MAX)
            .await
            .expect("readable")
            .expect("saved at the stop");
        assert_eq!(saved.position, checkpointed, "{manager}");
    }

    // Written while no manager ran.
    let second = log_p1(&desked.desk).await;
    let head = desked.store.head();
    assert!(head > checkpointed);

    let managers = desked.start(all_managers());
    managers.settled(logged_at()).await;
    for status in managers.statuses() {
        assert_eq!(status.resumed_from, checkpointed);
        assert_eq!(status.applied, head - checkpointed, "only what came after");
        assert_eq!(status.position, head);
    }
    assert!(sla_marks(&desked.store).await.is_empty());
    desked.clock.set(first_response_warning());
    managers.settled(first_response_warning()).await;
    let marks = sla_marks(&desked.store).await;
    let warned: Vec<&str> = marks.iter().map(|(stream, ..)| stream.as_str()).collect();
    assert_eq!(
        warned,
        vec![
            itsm_app::stream::incident(first).as_str(),
            itsm_app::stream::incident(second).as_str()
        ],
        "both first-response warnings, once each: {marks:?}"
    );
    managers.stop().await;
}

/// Runs the same story (a P1 logged, the managers stopped, restarted at the warning) on a store
/// where the SLA timer's newest checkpoint is `bytes` at the head, and returns the statuses
/// after the restart and the warnings written.
async fn restart_over(
    bytes: impl Fn(&[u8]) -> Vec<u8>,
) -> (itsm_app::ProcessStatus, Vec<(String, String, String)>) {
    let desked = Desked::new();
    define_catalog(&desked.desk).await;
    let managers = desked.start(sla_only());
    desked.clock.set(logged_at());
    log_p1(&desked.desk).await;
    managers.settled(logged_at()).await;
    managers.stop().await;
    let name = snapshot_name(SLA_TIMER);
    let saved = desked
        .store
        .load_snapshot(&name, u64::MAX)
        .await
        .expect("readable")
        .expect("saved");
    desked
        .store
        .save_snapshot(&name, saved.position, bytes(&saved.bytes))
        .await
        .expect("saved");
    desked.clock.set(first_response_warning());
    let managers = desked.start(sla_only());
    managers.settled(first_response_warning()).await;
    let status = managers.statuses()[0];
    managers.stop().await;
    (status, sla_marks(&desked.store).await)
}

/// A checkpoint of garbage bytes or of another format version is ignored: the manager replays
/// the ledger from position 1 and does exactly what it does with its own checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_that_does_not_decode_means_a_full_replay_with_the_same_result() {
    let (own, expected) = restart_over(<[u8]>::to_vec).await;
    assert!(own.resumed_from > 0, "its own checkpoint is used");
    assert_eq!(
        own.applied,
        own.position - own.resumed_from,
        "only what came after it (the warning)"
    );
    assert_eq!(expected.len(), 1, "the warning: {expected:?}");
    let garbage =
        |bytes: &[u8]| -> Vec<u8> { bytes.iter().map(|b| b.wrapping_mul(31) ^ 0x5A).collect() };
    let old_magic = |bytes: &[u8]| {
        let mut old = bytes.to_vec();
        old[..8].copy_from_slice(b"LDPM0000");
        old
    };
    let truncated = |bytes: &[u8]| bytes[..bytes.len() / 2].to_vec();
    for (what, (status, marks)) in [
        ("garbage", restart_over(garbage).await),
        ("old magic", restart_over(old_magic).await),
        ("truncated", restart_over(truncated).await),
    ] {
        assert_eq!(status.resumed_from, 0, "{what}: replayed from 1");
        assert_eq!(status.applied, status.position, "{what}: the whole ledger");
        assert_eq!(status.failures, 0, "{what}");
        assert_eq!(marks.len(), expected.len(), "{what}: {marks:?}");
        for ((stream, kind, _), (want_stream, want_kind, _)) in marks.iter().zip(&expected) {
            assert_eq!((stream, kind), (want_stream, want_kind), "{what}");
        }
    }
}

/// Managers checkpoint every few events while running; after one is aborted (no checkpoint at
/// the end, as after a kill) the next start resumes from the last periodic checkpoint and every
/// clock still gets exactly one warning and one breach.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_checkpoints_across_aborted_runs_lose_and_duplicate_nothing() {
    let desked = Desked::new();
    define_catalog(&desked.desk).await;
    let config = ProcessConfig {
        checkpoint_every: 3,
        ..sla_only()
    };
    desked.clock.set(logged_at());
    let mut keys = Vec::new();
    let mut resumed = Vec::new();
    let mut now = logged_at();
    for round in 0..6 {
        let managers = desked.start(config);
        managers.settled(now).await;
        resumed.push(managers.statuses()[0].resumed_from);
        for _ in 0..3 {
            keys.push(log_p1(&desked.desk).await);
        }
        now += TimeDelta::minutes(7 + round);
        desked.clock.set(now);
        managers.settled(now).await;
        drop(managers);
    }
    assert!(
        resumed.iter().skip(1).all(|from| *from > 0),
        "each start resumed from a periodic checkpoint: {resumed:?}"
    );
    let end = now + TimeDelta::days(7);
    desked.clock.set(end);
    let managers = desked.start(config);
    managers.settled(end).await;
    managers.stop().await;
    let marks = sla_marks(&desked.store).await;
    for key in keys {
        let stream = itsm_app::stream::incident(key).to_string();
        let kinds: Vec<&str> = marks
            .iter()
            .filter(|(s, ..)| *s == stream)
            .map(|(_, kind, _)| kind.as_str())
            .collect();
        // First response and resolution: one warning and one breach each.
        assert_eq!(
            kinds
                .iter()
                .filter(|k| **k == "IncidentSlaWarningRaised")
                .count(),
            2,
            "{stream}: {kinds:?}"
        );
        assert_eq!(
            kinds
                .iter()
                .filter(|k| **k == "IncidentSlaBreached")
                .count(),
            2,
            "{stream}: {kinds:?}"
        );
    }
}

/// A memory store whose appends by the problem follow-up fail with a storage error while
/// `failing` is set (a transient failure: a full disk, say).
struct Flaky {
    inner: MemoryStore,
    failing: std::sync::atomic::AtomicBool,
}

impl EventStore for Flaky {
    async fn append(
        &self,
        stream: itsm_eventstore::StreamId,
        expected: itsm_eventstore::ExpectedVersion,
        events: Vec<itsm_eventstore::NewEvent>,
        metadata: itsm_eventstore::Metadata,
    ) -> Result<itsm_eventstore::Appended, itsm_eventstore::StoreError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst)
            && metadata.actor == "automation:problem-follow-up"
        {
            return Err(itsm_eventstore::StoreError::Storage {
                message: "injected".to_owned(),
            });
        }
        self.inner.append(stream, expected, events, metadata).await
    }

    async fn read_stream(
        &self,
        stream: &itsm_eventstore::StreamId,
        from_version: u64,
    ) -> Result<Vec<Envelope>, itsm_eventstore::StoreError> {
        self.inner.read_stream(stream, from_version).await
    }

    async fn read_all(
        &self,
        from_position: u64,
        limit: usize,
    ) -> Result<Vec<Envelope>, itsm_eventstore::StoreError> {
        self.inner.read_all(from_position, limit).await
    }

    fn head(&self) -> u64 {
        self.inner.head()
    }

    fn subscribe_all(&self, from_position: u64) -> itsm_eventstore::Subscription {
        self.inner.subscribe_all(from_position)
    }

    async fn verify(&self) -> Result<itsm_eventstore::VerifyReport, itsm_eventstore::StoreError> {
        self.inner.verify().await
    }
}

impl SnapshotStore for Flaky {
    async fn save_snapshot(
        &self,
        name: &str,
        position: u64,
        bytes: Vec<u8>,
    ) -> Result<(), itsm_eventstore::StoreError> {
        self.inner.save_snapshot(name, position, bytes).await
    }

    async fn load_snapshot(
        &self,
        name: &str,
        at_or_below: u64,
    ) -> Result<Option<itsm_eventstore::Snapshot>, itsm_eventstore::StoreError> {
        self.inner.load_snapshot(name, at_or_below).await
    }
}

/// A follow-up that failed in the store is not checkpointed past: the checkpoint stays right
/// before the problem event, so the next start notes the update (as a full replay would).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_that_failed_in_the_store_is_tried_again_after_a_restart() {
    let store = Arc::new(Flaky {
        inner: MemoryStore::new(),
        failing: std::sync::atomic::AtomicBool::new(false),
    });
    let clock = Arc::new(ManualClock::new(friday_afternoon()));
    let desk = desk_on(Arc::clone(&store), Arc::clone(&clock));
    let follow_up_only = ProcessConfig {
        sla_timers: false,
        auto_close: false,
        ..ProcessConfig::default()
    };
    let start = || {
        let clock: Arc<dyn Clock> = clock.clone();
        ProcessManagers::start(desk.bus(), &store, &clock, follow_up_only)
    };
    define_catalog(&desk).await;
    let incident = log_p1(&desk).await;
    let problem = investigating_gateway_problem(&desk).await;
    desk.link_problem_incident(problem, incident, &agent())
        .await
        .expect("linked");
    let managers = start();
    managers.settled(clock.now()).await;
    store
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let documented = desk
        .document_workaround(problem, "Use webmail.".to_owned(), &agent())
        .await
        .expect("documented")
        .position;
    log_p1(&desk).await;
    managers.settled(clock.now()).await;
    assert!(managers.statuses()[0].failures > 0, "the note was refused");
    managers.stop().await;
    assert_eq!(noted_on(&store.inner, incident).await, 0);
    let saved = store
        .load_snapshot(&snapshot_name("problem-follow-up"), u64::MAX)
        .await
        .expect("readable")
        .expect("saved at the stop");
    assert!(
        saved.position < documented,
        "checkpoint at {} must stay before the failed trigger at {documented}",
        saved.position
    );

    store
        .failing
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let managers = start();
    managers.settled(clock.now()).await;
    assert_eq!(
        noted_on(&store.inner, incident).await,
        1,
        "noted after the restart"
    );
    assert_eq!(managers.statuses()[0].failures, 0);
    managers.stop().await;
}

async fn noted_on(store: &MemoryStore, incident: IncidentKey) -> usize {
    let stream = itsm_app::stream::incident(incident);
    all_events(store)
        .await
        .into_iter()
        .filter(|e| e.stream_id == stream && e.event_type == "IncidentProblemUpdateNoted")
        .count()
}
