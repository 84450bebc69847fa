//! A real I/O fault under the running `ledgerdesk serve`, no code hooks: the server starts
//! through `sh -c "trap '' XFSZ; exec ledgerdesk serve ..."` (an ignored signal stays ignored
//! across `exec`), and `prlimit --pid <pid> --fsize=<size>` lowers its file-size limit to the
//! size of sled's log file, so the next write of the log fails with EFBIG, as on a full disk.
//!
//! sled 0.34.7 keeps that I/O error and fails every later flush until the database is
//! reopened, so the store stops writing and the server stops with a clear message and exit code
//! 2 (docs/ARCHITECTURE.md, event store). The test checks: the caller of the failing write gets
//! `STORAGE_UNAVAILABLE`; the server exits as documented; restarted (as a supervisor would) on
//! the same data directory without the limit (the fault cleared), it serves every acknowledged
//! note, nothing of the failed write, a clean `verifyLedger`, and takes writes again.

use std::process::Command;
use std::time::{Duration, Instant};

use itsm_e2e::support::client::{COMMENT, Client, comment_input};
use itsm_e2e::support::{
    Desk, Role, Server, binary, email_service_with_an_incident, error_code, position,
};
use serde_json::json;

/// How long the server may take to stop after the failure.
const STOP_WAIT: Duration = Duration::from_secs(30);

fn prlimit_fsize(pid: u32, soft: &str) {
    let output = Command::new("prlimit")
        .arg("--pid")
        .arg(pid.to_string())
        .arg(format!("--fsize={soft}:unlimited"))
        .output()
        .expect("prlimit (util-linux) runs");
    assert!(
        output.status.success(),
        "prlimit failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .len()
}

async fn note(agent: &Client, key: &str, text: &str) -> serde_json::Value {
    agent
        .gql(COMMENT, comment_input(key, text))
        .await
        .unwrap_or_else(|failure| panic!("{text}: no answer: {failure:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_fails_with_efbig_is_refused_and_a_restart_serves_everything_acknowledged() {
    let mut desk = Desk::on(Server::start_in_shell("trap '' XFSZ")).await;
    let key =
        email_service_with_an_incident(&desk, ("always", "UTC", "00:00", "24:00"), (240, 960))
            .await;
    let agent = Client::new(desk.address(), desk.token(Role::Agent));
    let sled_log = desk.server.ledger_dir().join("sled").join("db");
    let server_log = desk.server.ledger_dir().with_file_name("server.log");

    // Acknowledged notes; enough that sled's log file is well past the server's own log file,
    // which the same limit applies to (a failing log write would hide the exit message).
    let mut acknowledged = Vec::new();
    for n in 0..500 {
        let text = format!("acknowledged note {n}");
        let answer = note(&agent, &key, &text).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        acknowledged.push((
            text,
            position(&answer["data"]["commentOnIncident"]["position"]),
        ));
        if n >= 20 && file_size(&sled_log) > file_size(&server_log) + 64 * 1024 {
            break;
        }
    }
    let limit = file_size(&sled_log);
    assert!(
        limit > file_size(&server_log) + 64 * 1024,
        "sled's log ({limit} bytes) did not outgrow the server log"
    );

    println!(
        "{} notes acknowledged; sled's log is {limit} bytes: that is the file-size limit now",
        acknowledged.len()
    );
    prlimit_fsize(desk.server.pid(), &limit.to_string());
    let failed = note(&agent, &key, "the note the disk refused").await;
    assert!(failed["data"].is_null(), "{failed}");
    assert_eq!(
        error_code(&failed).as_deref(),
        Some("STORAGE_UNAVAILABLE"),
        "{failed}"
    );

    // The server stops by itself: the store takes no writes until it is reopened.
    let deadline = Instant::now() + STOP_WAIT;
    let status = loop {
        if let Some(status) = desk.server.exit_status() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server still runs after a failed write; log:\n{}",
            desk.server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let log = desk.server.log();
    assert_eq!(status.code(), Some(2), "{status}; log:\n{log}");
    assert!(
        log.contains("stopped: the ledger cannot be written"),
        "no clear message in the log:\n{log}"
    );
    assert!(
        log.contains("File too large"),
        "the log does not name the I/O error:\n{log}"
    );

    // The supervisor restarts it; the new process has no lowered limit: the fault cleared.
    desk.server.restart();
    let agent = Client::new(desk.address(), desk.token(Role::Agent));
    let auditor = Client::new(desk.address(), desk.token(Role::Auditor));
    let view = agent
        .ok(
            "query($key: ID!) { incident(key: $key) { comments { text } position } }",
            json!({"key": key}),
        )
        .await;
    let shown: Vec<&str> = view["incident"]["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .filter_map(|comment| comment["text"].as_str())
        .collect();
    let wanted: Vec<&str> = acknowledged.iter().map(|(text, _)| text.as_str()).collect();
    assert_eq!(
        shown, wanted,
        "every acknowledged note, and nothing of the refused one"
    );
    let last_acknowledged = acknowledged.last().map_or(0, |(_, at)| *at);
    let (head, _) = auditor.heads().await;
    assert!(head >= last_acknowledged);
    let verified = auditor
        .ok("{ verifyLedger { ok events } }", json!({}))
        .await;
    assert_eq!(verified["verifyLedger"]["ok"], json!(true), "{verified}");

    // And it takes writes again.
    let again = note(&agent, &key, "after the fault").await;
    assert!(again.get("errors").is_none(), "{again}");
    assert!(position(&again["data"]["commentOnIncident"]["position"]) > last_acknowledged);

    desk.server.stop();
    let ledger = desk.server.ledger_dir();
    let offline = binary::run(&["--data".as_ref(), ledger.as_os_str(), "verify".as_ref()]);
    assert!(
        offline.status.success(),
        "ledgerdesk verify: {}{}",
        String::from_utf8_lossy(&offline.stdout),
        String::from_utf8_lossy(&offline.stderr)
    );
}
