//! Runs the load generator against the real `ledgerdesk serve` (spawned on a fresh data
//! directory) with few connections and small counts: every response must succeed, and the
//! ledger must hold every acknowledged `logIncident`. It checks correctness under concurrency,
//! not speed: no timing asserts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use itsm_benches::load::server::Spawned;
use itsm_benches::load::soak::{self, SoakOptions};
use itsm_benches::load::{Phases, SERVICE, Session, run_bench};
use serde_json::{Value, json};

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ sits in the workspace root")
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The workspace's target directory: `CARGO_TARGET_DIR`, or what `cargo metadata` says.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() {
            dir
        } else {
            workspace_root().join(dir)
        };
    }
    let output = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON");
    PathBuf::from(
        metadata["target_directory"]
            .as_str()
            .expect("cargo metadata names the target directory"),
    )
}

/// A debug `ledgerdesk` (built if needed); `LEDGERDESK_BIN` overrides it.
fn ledgerdesk() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("LEDGERDESK_BIN") {
                return PathBuf::from(path);
            }
            let output = Command::new(cargo())
                .args(["build", "-p", "itsm-cli", "--bin", "ledgerdesk"])
                .current_dir(workspace_root())
                .output()
                .expect("cargo build runs");
            assert!(
                output.status.success(),
                "building ledgerdesk failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let path = target_dir()
                .join("debug")
                .join(format!("ledgerdesk{}", std::env::consts::EXE_SUFFIX));
            assert!(path.is_file(), "no binary at {}", path.display());
            path
        })
        .clone()
}

async fn count_nodes(session: &Session, query: &str, variables: &Value, field: &str) -> usize {
    let data = session.query(query, variables).await.expect("the query");
    data[field]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {data}"))
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_succeeds_and_every_acknowledged_incident_is_in_the_ledger() {
    let data = tempfile::tempdir().expect("a temporary data directory");
    let server = Spawned::start(&ledgerdesk(), data.path())
        .await
        .expect("ledgerdesk serve starts");
    let session = Session::new(server.endpoint.clone(), &server.token);

    // Count-bounded phases; the time limit is only a safety net far above what they need.
    let phases = Phases::at(8, 200, 120, 80, Duration::from_mins(2));
    let mut printed = Vec::new();
    let report = run_bench(&session, phases, |figure| printed.push(figure.clone()))
        .await
        .expect("no request fails and the ledger holds every acknowledged incident");
    assert_eq!(report.failures, 0);
    assert_eq!(report.acknowledged, 120);
    let names: Vec<_> = printed.iter().map(|figure| figure.bench).collect();
    assert_eq!(names, ["mutation_log_incident", "query_queue_p99"]);
    for figure in &printed {
        assert_eq!(figure.failures, 0);
        assert!(figure.value > 0.0 && figure.ceiling > 0.0, "{figure:?}");
        assert!(
            (figure.ratio - figure.value / figure.ceiling).abs() <= 1e-9 * figure.ratio.max(1.0),
            "{figure:?}"
        );
        let line: Value = serde_json::from_str(&figure.to_json_line()).expect("a JSON line");
        for field in [
            "bench", "value", "unit", "ceiling", "ratio", "p50_ms", "p99_ms",
        ] {
            assert!(line.get(field).is_some(), "{field} missing in {line}");
        }
    }
    assert_eq!(printed[1].requests, 80);

    // Read back through another read model: the fresh ledger lists exactly the logged ones.
    let (head, _) = session.health().await.expect("/healthz");
    let listed = count_nodes(
        &session,
        "query($service: String, $at: Position) { incidents(filter: { service: $service }, \
         first: 200, atLeast: $at) { nodes { key } } }",
        &json!({"service": SERVICE, "at": head.to_string()}),
        "incidents",
    )
    .await;
    assert_eq!(listed, 120);

    // A few seconds of the soak: every worker works at least one incident to resolution.
    let options = SoakOptions {
        connections: 4,
        duration: Duration::from_secs(2),
        sample_every: Duration::from_secs(1),
        pid: Some(server.pid()),
    };
    let summary = soak::run(&session, options, |_| {})
        .await
        .expect("no soak request fails");
    assert_eq!(summary.failures, 0);
    assert!(summary.incidents_resolved >= 4, "{summary:?}");
    assert!(summary.samples >= 2, "{summary:?}");
    assert!(
        summary.rss_first_kib.is_some_and(|kib| kib > 0),
        "{summary:?}"
    );
    assert!(summary.events > 0, "{summary:?}");
    // Every soak incident was resolved: the group's queue is empty once the read side caught up.
    let (head, _) = session.health().await.expect("/healthz");
    let open = session
        .query(
            "query($at: Position) { queue(group: \"loadgen-desk\", atLeast: $at) { totalCount } }",
            &json!({"at": head.to_string()}),
        )
        .await
        .expect("the queue");
    assert_eq!(open["queue"]["totalCount"], 0, "{open}");

    server.stop().await.expect("the server stops cleanly");
}

#[test]
fn loadgen_refuses_unknown_arguments_and_missing_targets() {
    let unknown = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("--fast")
        .status()
        .expect("loadgen runs");
    assert_eq!(unknown.code(), Some(2));
    let no_target = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("--quick")
        .status()
        .expect("loadgen runs");
    assert_eq!(no_target.code(), Some(2));
}
