//! The runner on a real `SledStore` in a temporary directory: it follows the ledger, snapshots,
//! resumes from its snapshot after a restart, answers as-of queries from a snapshot plus replay,
//! and gives read-your-writes with a bounded wait.

mod support;

use std::sync::Arc;
use std::time::Duration;

use itsm_eventstore::{
    Envelope, EventStore, ExpectedVersion, NewEvent, SledConfig, SledStore, SnapshotStore, StreamId,
};
use itsm_incident::IncidentCommand;
use itsm_projections::{
    Projection, ProjectionRunner, ReadModels, RunnerConfig, RunnerError, rebuild,
};
use support::*;

/// Long enough for a loaded CI machine; the waits end as soon as the position is reached.
const PATIENCE: Duration = Duration::from_secs(30);

fn open(dir: &tempfile::TempDir) -> Arc<SledStore> {
    let config = SledConfig {
        cache_capacity: 16 * 1024 * 1024,
        ..SledConfig::default()
    };
    Arc::new(SledStore::open(dir.path(), &config).expect("store opens"))
}

/// A runner that snapshots every `every` events by count alone (no pacing by cost), so the
/// positions of its snapshots do not depend on timing.
async fn start(
    store: &Arc<SledStore>,
    every: u64,
) -> Result<ProjectionRunner<SledStore>, RunnerError> {
    let config = RunnerConfig {
        snapshot_every: every,
        snapshot_cost_factor: 0,
    };
    ProjectionRunner::start(Arc::clone(store), config).await
}

/// Appends `envelopes` (built by the support ledger) to a real store, one append each.
async fn append_all(store: &SledStore, envelopes: &[Envelope]) {
    for envelope in envelopes {
        let event = NewEvent::new(
            envelope.event_type.clone(),
            envelope.schema_version,
            envelope.payload.clone(),
        );
        let stream = StreamId::new(envelope.stream_id.as_str()).expect("valid stream");
        store
            .append(
                stream,
                ExpectedVersion::Any,
                vec![event],
                envelope.metadata.clone(),
            )
            .await
            .expect("appended");
    }
}

/// A history of `incidents` incidents on the `vpn` service, each logged, acknowledged and
/// assigned; every third one resolved.
fn history(incidents: u64) -> Vec<Envelope> {
    let mut ledger = Ledger::new();
    ledger.define_catalog(t(0));
    for key in 1..=incidents {
        let at = t(i64::try_from(key).expect("small"));
        ledger.ok_incident(
            key,
            IncidentCommand::Log(Box::new(log(key))),
            &requester("alice"),
            at,
        );
        ledger.ok_incident(key, IncidentCommand::Acknowledge, &agent("bob"), at);
        ledger.ok_incident(
            key,
            IncidentCommand::Assign {
                group: Some(group("network-l2")),
                agent: Some(user("bob")),
                ola: None,
            },
            &agent("bob"),
            at,
        );
        if key % 3 == 0 {
            ledger.ok_incident(
                key,
                IncidentCommand::Resolve {
                    code: itsm_incident::ResolutionCode::Fixed,
                    notes: "Done.".to_owned(),
                },
                &agent("bob"),
                at,
            );
        }
    }
    ledger.envelopes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_follows_the_ledger_and_equals_a_rebuild() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir);
    let runner = start(&store, 0).await.expect("starts");
    let envelopes = history(30);
    append_all(&store, &envelopes).await;
    let head = store.head();
    assert_eq!(head, envelopes.len() as u64);
    assert_eq!(runner.wait_for(head, PATIENCE).await, Ok(head));
    let live = runner.read(Clone::clone);
    assert_eq!(live.position(), head);
    assert_eq!(live, rebuild(&*store).await.expect("rebuilds"));
    assert!(live.approximate_heap_bytes() > 0);
    assert_eq!(runner.stats().undecodable, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_runner_resumes_from_its_snapshot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let envelopes = history(20);
    let (snapshot_at, first_models) = {
        let store = open(&dir);
        let runner = start(&store, 25).await.expect("starts");
        append_all(&store, &envelopes[..60]).await;
        runner.wait_for(60, PATIENCE).await.expect("caught up");
        let stats = runner.stats();
        assert_eq!(stats.started_from_snapshot, 0);
        assert_eq!(stats.last_snapshot, 50, "snapshots after 25 and 50 events");
        let models = runner.read(Clone::clone);
        runner.stop().await;
        (stats.last_snapshot, models)
    };
    // Restart: the same directory, more history written while no runner was running.
    let store = open(&dir);
    append_all(&store, &envelopes[60..]).await;
    let runner = start(&store, 25).await.expect("restarts");
    assert_eq!(runner.stats().started_from_snapshot, snapshot_at);
    let head = store.head();
    runner.wait_for(head, PATIENCE).await.expect("caught up");
    assert_eq!(
        runner.read(Clone::clone),
        rebuild(&*store).await.expect("rebuilds")
    );
    // What the first runner saw is what the ledger said at that position.
    assert_eq!(runner.as_of(60).await.expect("as of 60"), first_models);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_of_a_past_position_equals_the_models_captured_live_at_that_moment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir);
    let runner = start(&store, 7).await.expect("starts");
    let envelopes = history(15);
    let mut captured = Vec::new();
    for chunk in envelopes.chunks(9) {
        append_all(&store, chunk).await;
        let head = store.head();
        runner.wait_for(head, PATIENCE).await.expect("caught up");
        captured.push((head, runner.read(Clone::clone)));
    }
    for (position, live) in captured {
        let past = runner.as_of(position).await.expect("as of");
        assert_eq!(past.position(), position);
        assert_eq!(past, live, "as of {position}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_position_that_never_comes_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir);
    let runner = ProjectionRunner::start(Arc::clone(&store), RunnerConfig::default())
        .await
        .expect("starts");
    append_all(&store, &history(1)).await;
    let head = store.head();
    runner.wait_for(head, PATIENCE).await.expect("caught up");
    assert_eq!(
        runner.wait_for(head + 1, Duration::from_millis(1)).await,
        Err(RunnerError::Lagging {
            wanted: head + 1,
            reached: head
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_restored_by_the_caller_are_used_and_models_beyond_the_head_are_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir);
    let envelopes = history(10);
    append_all(&store, &envelopes[..20]).await;
    let at_20 = rebuild(&*store).await.expect("rebuilds");
    append_all(&store, &envelopes[20..]).await;
    let head = store.head();

    // The store holds no snapshot: a start from position 20 can only come from `restored`.
    let runner =
        ProjectionRunner::start_restored(Arc::clone(&store), RunnerConfig::default(), Some(at_20))
            .await
            .expect("starts");
    assert_eq!(runner.stats().started_from_snapshot, 20);
    runner.wait_for(head, PATIENCE).await.expect("caught up");
    assert_eq!(
        runner.read(Clone::clone),
        rebuild(&*store).await.expect("rebuilds")
    );
    runner.stop().await;

    // Models past the head are not of this ledger: the store's own snapshot is used instead.
    let complete = rebuild(&*store).await.expect("rebuilds");
    store
        .save_snapshot(
            ReadModels::NAME,
            complete.position(),
            complete.encode_snapshot().expect("encodes"),
        )
        .await
        .expect("saved");
    let other = {
        let other_dir = tempfile::tempdir().expect("temp dir");
        let other_store = open(&other_dir);
        append_all(&other_store, &history(20)).await;
        rebuild(&*other_store).await.expect("rebuilds")
    };
    assert!(other.position() > head, "a longer ledger's models");
    let runner =
        ProjectionRunner::start_restored(Arc::clone(&store), RunnerConfig::default(), Some(other))
            .await
            .expect("starts");
    let stats = runner.stats();
    assert_eq!(stats.started_from_snapshot, head);
    assert!(
        stats
            .last_problem
            .is_some_and(|p| p.contains("beyond the ledger head"))
    );
    assert_eq!(runner.read(Clone::clone), complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_that_does_not_decode_is_ignored_and_the_models_are_rebuilt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir);
    append_all(&store, &history(5)).await;
    store
        .save_snapshot(ReadModels::NAME, 3, vec![0xff; 16])
        .await
        .expect("saved");
    let runner = ProjectionRunner::start(Arc::clone(&store), RunnerConfig::default())
        .await
        .expect("starts");
    let stats = runner.stats();
    assert_eq!(stats.started_from_snapshot, 0);
    assert!(
        stats
            .last_problem
            .is_some_and(|p| p.contains("does not decode"))
    );
    let head = store.head();
    runner.wait_for(head, PATIENCE).await.expect("caught up");
    assert_eq!(
        runner.read(Clone::clone),
        rebuild(&*store).await.expect("rebuilds")
    );
}
