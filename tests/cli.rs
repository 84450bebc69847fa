//! The `ledgerdesk` command line around a served ledger: offline commands refuse a directory a
//! server holds; once it stopped, `verify`, `export`, `import` into a fresh directory and
//! `token create` work, and a server on the imported ledger is the same desk (same chain head,
//! same tokens, same tickets).

use std::ffi::OsStr;
use std::path::Path;

use itsm_e2e::support::binary::run;
use itsm_e2e::support::{Desk, Role, Server, email_service_with_an_incident, position};
use serde_json::json;

fn ledgerdesk(data: &Path, args: &[&str]) -> std::process::Output {
    let mut all: Vec<&OsStr> = vec![OsStr::new("--data"), data.as_os_str()];
    all.extend(args.iter().map(OsStr::new));
    run(&all)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_ledger_imports_into_the_same_desk_and_offline_commands_respect_the_lock() {
    let mut desk = Desk::start().await;
    let key = email_service_with_an_incident(
        &desk,
        ("office", "Europe/Berlin", "08:00", "18:00"),
        (60, 480),
    )
    .await;
    let verified = desk
        .ok(
            Role::Auditor,
            "{ verifyLedger { ok events headHash } }",
            json!({}),
        )
        .await;
    let head = desk.ledger_head().await;
    assert_eq!(position(&verified["verifyLedger"]["events"]), head);
    let dir = desk.server.ledger_dir();

    // While the server holds the directory, offline commands refuse with exit code 2.
    let refused = ledgerdesk(
        &dir,
        &["token", "create", "--role", "agent", "--name", "late"],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("in use"),
        "a clear message: {}",
        text(&refused.stderr)
    );

    desk.server.stop();
    let verify = ledgerdesk(&dir, &["verify"]);
    assert!(verify.status.success(), "verify: {}", text(&verify.stderr));

    let files = tempfile::tempdir().expect("a temporary directory");
    let export = files.path().join("ledger.jsonl");
    let exported = ledgerdesk(
        &dir,
        &["export", "--out", export.to_str().expect("UTF-8 path")],
    );
    assert!(
        exported.status.success(),
        "export: {}",
        text(&exported.stderr)
    );
    let lines = std::fs::read_to_string(&export).expect("the export file");
    assert_eq!(
        u64::try_from(lines.lines().count()).expect("a count"),
        head,
        "one line per event"
    );

    let fresh = tempfile::tempdir().expect("a fresh data directory");
    let target = fresh.path().join("ledger");
    let import = export.to_str().expect("UTF-8 path");
    let imported = ledgerdesk(&target, &["import", import]);
    assert!(
        imported.status.success(),
        "import: {}",
        text(&imported.stderr)
    );
    let again = ledgerdesk(&target, &["import", import]);
    assert!(
        !again.status.success(),
        "a second import into a full directory is refused"
    );
    let verify = ledgerdesk(&target, &["verify"]);
    assert!(verify.status.success(), "verify: {}", text(&verify.stderr));
    // A token issued offline on the imported ledger (the last line is the secret).
    let created = ledgerdesk(
        &target,
        &[
            "token",
            "create",
            "--role",
            "auditor",
            "--name",
            "offline-auditor",
            "--user",
            "olga",
        ],
    );
    assert!(
        created.status.success(),
        "token create: {}",
        text(&created.stderr)
    );
    let secret = text(&created.stdout)
        .lines()
        .last()
        .expect("the secret")
        .trim()
        .to_owned();

    // The imported ledger served: same chain head, same tokens, same tickets.
    desk.server = Server::start_existing(fresh, desk.token(Role::Admin));
    let after = desk
        .ok(
            Role::Auditor,
            "{ verifyLedger { ok events headHash } }",
            json!({}),
        )
        .await;
    assert_eq!(after["verifyLedger"]["ok"], json!(true), "{after}");
    assert_eq!(
        position(&after["verifyLedger"]["events"]),
        head + 1,
        "the import plus the offline token"
    );
    let incident = desk
        .ok(
            Role::Requester,
            "query($key: ID!, $atLeast: Position) { incident(key: $key, atLeast: $atLeast) { key status requester } }",
            json!({"key": key, "atLeast": head.to_string()}),
        )
        .await;
    assert_eq!(
        incident["incident"]["status"].as_str(),
        Some("New"),
        "{incident}"
    );
    let me = desk
        .gql_as(&secret, "{ me { user role } }", json!({}))
        .await;
    assert_eq!(
        me["data"]["me"],
        json!({"user": "olga", "role": "auditor"}),
        "{me}"
    );
    // The chain up to the old head is the very same: the event there has the old head hash.
    let events = desk
        .ok(
            Role::Auditor,
            "query($from: Position) { events(fromPosition: $from, first: 1) { hash } }",
            json!({"from": head.to_string()}),
        )
        .await;
    assert_eq!(
        events["events"][0]["hash"],
        verified["verifyLedger"]["headHash"]
    );
}
