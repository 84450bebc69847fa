//! A real I/O fault under the running `ledgerdesk serve`, no code hooks: the server starts
//! through `sh -c "trap '' XFSZ; exec ledgerdesk serve ..."` (an ignored signal stays ignored
//! across `exec`), and `prlimit --pid <pid> --fsize=<size>` lowers its file-size limit to the
//! size of sled's log file, so the next write of the log fails with EFBIG, as on a full disk.
//!
//! sled 0.34.7 keeps that I/O error and fails every later flush until the database is
//! reopened, so the store stops writing, and the server drops it and reopens the ledger on its
//! own, waiting while the fault lasts (docs/ARCHITECTURE.md, event store). The test checks: the
//! caller of the failing write gets `STORAGE_UNAVAILABLE`; once the limit is raised again (the
//! fault cleared) the same process, on the same address, takes writes again, serves every
//! acknowledged note and nothing of the refused ones, passes `verifyLedger`, and the offline
//! `ledgerdesk verify` after it stops.

use std::process::Command;
use std::time::{Duration, Instant};

use itsm_e2e::support::client::{COMMENT, Client, comment_input};
use itsm_e2e::support::{
    Desk, Role, Server, binary, email_service_with_an_incident, error_code, position,
};
use serde_json::json;

/// How long the server may take to serve writes again once the fault cleared (its reopen
/// pause grows to at most 30 s while the fault lasts).
const RECOVERY_WAIT: Duration = Duration::from_mins(1);

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
async fn a_write_that_fails_with_efbig_is_refused_and_the_server_serves_again_once_the_fault_clears()
 {
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

    // The store takes no writes until it is reopened: the server drops it and reopens the
    // ledger by itself, waiting while the fault lasts. Clear the fault: raise the limit again.
    prlimit_fsize(desk.server.pid(), "unlimited");
    let deadline = Instant::now() + RECOVERY_WAIT;
    let mut refused = vec!["the note the disk refused".to_owned()];
    let after = loop {
        let text = format!("after the fault, attempt {}", refused.len());
        let answer = agent.gql(COMMENT, comment_input(&key, &text)).await;
        if let Ok(answer) = answer {
            if answer.get("errors").is_none() {
                break (
                    text,
                    position(&answer["data"]["commentOnIncident"]["position"]),
                );
            }
            assert_eq!(
                error_code(&answer).as_deref(),
                Some("STORAGE_UNAVAILABLE"),
                "{answer}"
            );
        }
        assert!(
            desk.server.exit_status().is_none(),
            "the server exited instead of reopening the ledger; log:\n{}",
            desk.server.log()
        );
        assert!(
            Instant::now() < deadline,
            "the server does not take writes again after the fault cleared; log:\n{}",
            desk.server.log()
        );
        refused.push(text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "{} write(s) refused, then the same process took writes again",
        refused.len()
    );
    let log = desk.server.log();
    assert!(
        log.contains("the ledger cannot be written: reopening it"),
        "the log does not say the ledger is reopened:\n{log}"
    );
    assert!(
        log.contains("File too large"),
        "the log does not name the I/O error:\n{log}"
    );
    assert!(
        desk.server.exit_status().is_none(),
        "the same process serves again"
    );

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
    let mut wanted: Vec<&str> = acknowledged.iter().map(|(text, _)| text.as_str()).collect();
    wanted.push(after.0.as_str());
    assert_eq!(
        shown, wanted,
        "every acknowledged note, and nothing of the refused ones ({refused:?})"
    );
    let last_acknowledged = acknowledged.last().map_or(0, |(_, at)| *at);
    let (head, _) = auditor.heads().await;
    assert!(head >= last_acknowledged);
    let verified = auditor
        .ok("{ verifyLedger { ok events } }", json!({}))
        .await;
    assert_eq!(verified["verifyLedger"]["ok"], json!(true), "{verified}");

    assert!(after.1 > last_acknowledged);

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
