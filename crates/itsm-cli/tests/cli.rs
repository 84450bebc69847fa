//! The real `ledgerdesk` binary, run as a user would run it.

use std::path::Path;
use std::process::{Command, Output};

use itsm_eventstore::{SledConfig, SledStore};
use serde_json::Value;

fn ledgerdesk(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ledgerdesk"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("LEDGERDESK_DATA")
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn events(data: &Path) -> Vec<Value> {
    let output = ledgerdesk(data, &["events", "--json", "--limit", "100000"]);
    assert!(
        output.status.success(),
        "events failed: {}",
        stderr(&output)
    );
    stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect()
}

fn count_of(events: &[Value], event_type: &str) -> usize {
    events.iter().filter(|e| e["type"] == event_type).count()
}

#[test]
fn the_demo_writes_a_verified_story_and_a_second_run_adds_another() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = ledgerdesk(dir.path(), &["demo"]);
    assert!(first.status.success(), "demo failed: {}", stderr(&first));
    assert!(stdout(&first).contains("ledger ok"), "{}", stdout(&first));

    let after_first = events(dir.path());
    let positions: Vec<u64> = after_first
        .iter()
        .map(|e| e["position"].as_u64().expect("position"))
        .collect();
    assert_eq!(
        positions,
        (1..=positions.len() as u64).collect::<Vec<_>>(),
        "positions are gap-free from 1"
    );
    for event_type in [
        "CalendarDefined",
        "ServiceDefined",
        "IncidentLogged",
        "IncidentResolved",
        "IncidentRated",
        "ProblemWorkaroundDocumented",
        "ChangeAuthorized",
        "ChangeScheduled",
    ] {
        assert_eq!(count_of(&after_first, event_type), 1, "{event_type}");
    }
    assert!(
        after_first
            .iter()
            .all(|e| e["payload"].get("undecodable").is_none()),
        "every payload decodes"
    );

    let second = ledgerdesk(dir.path(), &["demo"]);
    assert!(
        second.status.success(),
        "second demo failed: {}",
        stderr(&second)
    );
    assert!(stdout(&second).contains("INC-2"), "{}", stdout(&second));
    let after_second = events(dir.path());
    // The catalog is defined once; the story's tickets twice, with new keys.
    assert_eq!(count_of(&after_second, "CalendarDefined"), 1);
    assert_eq!(count_of(&after_second, "IncidentLogged"), 2);
    assert!(after_second.iter().any(|e| e["stream"] == "change-2"));

    let verify = ledgerdesk(dir.path(), &["verify"]);
    assert!(
        verify.status.success(),
        "verify failed: {}",
        stderr(&verify)
    );
    assert!(
        stdout(&verify).contains(&format!("ledger ok: {} events", after_second.len())),
        "{}",
        stdout(&verify)
    );
}

#[test]
fn a_data_directory_held_by_another_process_is_refused_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _held = SledStore::open(dir.path(), &SledConfig::default()).expect("opens");
    let output = ledgerdesk(dir.path(), &["verify"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("is in use by another ledgerdesk process"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_arguments_exit_non_zero_with_usage() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = ledgerdesk(dir.path(), &["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("unrecognized subcommand"),
        "{}",
        stderr(&output)
    );
    let output = ledgerdesk(dir.path(), &["events", "--from", "minus-one"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("invalid value"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_empty_ledger_verifies_and_prints_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(events(dir.path()).is_empty());
    let verify = ledgerdesk(dir.path(), &["verify"]);
    assert!(verify.status.success());
    assert!(
        stdout(&verify).contains("ledger ok: 0 events"),
        "{}",
        stdout(&verify)
    );
}
