//! A tiny `genledger` + `scalebench` run: the generated ledger verifies, holds exactly the
//! incidents and open incidents asked for, the projection runner's live models equal a rebuild
//! from position 1, and the snapshot the bench saves restores to the same models. Correctness
//! only: no timing is asserted.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use itsm_benches::scale::bench::{open, rebuild_figures, save_snapshot};
use itsm_benches::scale::generate::{GenOptions, generate};
use itsm_eventstore::{EventStore, SnapshotStore};
use itsm_projections::{Projection, ProjectionRunner, ReadModels, RunnerConfig};

const INCIDENTS: u64 = 240;
const OPEN: u64 = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_generated_ledger_verifies_has_the_counts_asked_for_and_rebuilds_to_the_live_models()
 {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Arc::new(open(dir.path()).expect("a fresh store opens"));
    let report = generate(
        Arc::clone(&store),
        GenOptions {
            incidents: INCIDENTS,
            open: OPEN,
        },
        chrono::Utc::now(),
        false,
    )
    .await
    .expect("the generator runs");
    assert_eq!(
        report.refused, 0,
        "the deciders accepted every planned step"
    );
    assert_eq!(report.events, store.head());

    let verified = store.verify().await.expect("verify runs");
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);

    // Every incident was logged once; the whole history carries the SLA timer's facts too.
    let all = store
        .read_all(1, usize::MAX)
        .await
        .expect("the ledger reads");
    let logged: BTreeSet<&str> = all
        .iter()
        .filter(|e| e.event_type == "IncidentLogged")
        .map(|e| e.stream_id.as_str())
        .collect();
    assert_eq!(logged.len() as u64, INCIDENTS);
    for wanted in [
        "IncidentResolved",
        "IncidentClosed",
        "IncidentRated",
        "IncidentPutOnHold",
        "IncidentEscalatedFunctionally",
        "IncidentSlaBreached",
        "IncidentSlaWarningRaised",
        "IncidentSlaMet",
        "SlaPolicyDefined",
    ] {
        assert!(
            all.iter().any(|e| e.event_type == wanted),
            "the ledger holds {wanted}"
        );
    }
    // Recorded times never go backwards.
    assert!(
        all.windows(2)
            .all(|w| w[0].metadata.recorded_at <= w[1].metadata.recorded_at)
    );
    drop(all);

    // scalebench's rebuild: the open count is the one asked for.
    let (figures, rebuilt) = rebuild_figures(&store, 1).await.expect("rebuild runs");
    assert_eq!(figures[0].bench, "rebuild_all");
    assert!(figures[0].value > 0.0 && figures[0].ceiling > 0.0);
    assert_eq!(rebuilt.queues.open_count() as u64, OPEN);
    assert_eq!(rebuilt.position(), store.head());

    // The live runner (no snapshot yet: a full replay through the subscription) ends equal.
    let runner = ProjectionRunner::start(Arc::clone(&store), RunnerConfig::default())
        .await
        .expect("the runner starts");
    runner
        .wait_for(store.head(), Duration::from_mins(1))
        .await
        .expect("the runner catches up");
    let live = runner.read(Clone::clone);
    runner.stop().await;
    assert_eq!(live, rebuilt, "live models equal the rebuild");

    // The snapshot the bench saves is what a start restores.
    let (figures, bytes) = save_snapshot(&store, &rebuilt)
        .await
        .expect("the snapshot saves");
    assert_eq!(
        figures.iter().map(|f| f.bench).collect::<Vec<_>>(),
        ["snapshot_bytes", "snapshot_encode", "snapshot_decode"]
    );
    let saved = store
        .load_snapshot(ReadModels::NAME, u64::MAX)
        .await
        .expect("snapshots read")
        .expect("a snapshot is there");
    assert_eq!(saved.bytes, bytes);
    let restored = ReadModels::decode_snapshot(&saved.bytes).expect("the snapshot decodes");
    assert_eq!(restored, rebuilt);
}
