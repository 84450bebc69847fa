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
fn the_demo_writes_weeks_of_verified_history_at_past_times_and_a_second_run_adds_the_story() {
    let dir = tempfile::tempdir().expect("temp dir");
    let started = chrono::Utc::now();
    let first = ledgerdesk(dir.path(), &["demo", "--incidents", "40"]);
    assert!(first.status.success(), "demo failed: {}", stderr(&first));
    assert!(stdout(&first).contains("ledger ok"), "{}", stdout(&first));
    assert!(
        stdout(&first).contains("manual clock"),
        "the output says how past times are made: {}",
        stdout(&first)
    );

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
    // The catalog: three calendars in three time zones, services, policies per priority x tier.
    assert_eq!(count_of(&after_first, "CalendarDefined"), 3);
    assert_eq!(count_of(&after_first, "ServiceDefined"), 3);
    assert_eq!(count_of(&after_first, "SlaPolicyDefined"), 30);
    let zones: Vec<String> = after_first
        .iter()
        .filter(|e| e["type"] == "CalendarDefined")
        .map(|e| e["payload"].to_string())
        .collect();
    for zone in ["Europe/Berlin", "America/New_York", "Asia/Tokyo"] {
        assert!(zones.iter().any(|z| z.contains(zone)), "{zone}: {zones:?}");
    }
    // History with breaches, escalations, CSAT, problems and changes.
    assert!(count_of(&after_first, "IncidentLogged") > 30);
    for event_type in [
        "IncidentSlaBreached",
        "IncidentSlaWarningRaised",
        "IncidentEscalatedFunctionally",
        "IncidentRated",
        "IncidentClosed",
        "ProblemWorkaroundDocumented",
        "ChangeAuthorized",
        "ChangeScheduled",
        "ChangeImplemented",
    ] {
        assert!(count_of(&after_first, event_type) > 0, "{event_type}");
    }
    assert!(
        after_first
            .iter()
            .all(|e| e["payload"].get("undecodable").is_none()),
        "every payload decodes"
    );
    // Past timestamps, in ledger order, ending no later than now.
    let times: Vec<chrono::DateTime<chrono::Utc>> = after_first
        .iter()
        .map(|e| {
            e["recorded_at"]
                .as_str()
                .expect("recorded_at")
                .parse()
                .expect("RFC 3339")
        })
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "time never goes back"
    );
    assert!(
        times[0] < started - chrono::TimeDelta::days(21),
        "{}",
        times[0]
    );
    assert!(*times.last().expect("events") <= chrono::Utc::now());

    let second = ledgerdesk(dir.path(), &["demo"]);
    assert!(
        second.status.success(),
        "second demo failed: {}",
        stderr(&second)
    );
    assert!(
        stdout(&second).contains("No room for history"),
        "{}",
        stdout(&second)
    );
    let after_second = events(dir.path());
    // The catalog is defined once; the second run adds only the present-day story.
    assert_eq!(count_of(&after_second, "CalendarDefined"), 3);
    assert_eq!(
        count_of(&after_second, "IncidentLogged"),
        count_of(&after_first, "IncidentLogged") + 1
    );
    let story_incident = format!("INC-{}", count_of(&after_second, "IncidentLogged"));
    let times: Vec<chrono::DateTime<chrono::Utc>> = after_second
        .iter()
        .map(|e| {
            e["recorded_at"]
                .as_str()
                .expect("recorded_at")
                .parse()
                .expect("RFC 3339")
        })
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "the second run's story comes after the first run's events"
    );
    assert!(*times.last().expect("events") <= chrono::Utc::now());
    assert!(
        stdout(&second).contains(&story_incident),
        "{}",
        stdout(&second)
    );

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

/// `tests/fixtures/format1-ledger` is a demo ledger written by the release before storage
/// format 2 (`demo --incidents 12 --weeks 1`, then `verify`), and `format1-ledger.export.jsonl`
/// that release's lossless export of it.
#[test]
fn a_ledger_of_the_previous_storage_format_is_upgraded_once_with_every_event_unchanged() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    itsm_testkit::copy_dir(&fixtures.join("format1-ledger"), &data);

    let verified = ledgerdesk(&data, &["verify"]);
    assert!(verified.status.success(), "{}", stderr(&verified));
    let log = stderr(&verified);
    assert!(
        log.contains("upgrading the ledger's storage from format 1 to 2"),
        "{log}"
    );
    assert!(
        log.contains("ledger storage upgraded: 212 events, 212 stream index entries"),
        "{log}"
    );
    assert!(
        stdout(&verified).contains("ledger ok: 212 events, 212 index entries"),
        "{}",
        stdout(&verified)
    );

    let export = dir.path().join("export.jsonl");
    let exported = ledgerdesk(&data, &["export", "--out", export.to_str().unwrap()]);
    assert!(exported.status.success(), "{}", stderr(&exported));
    let before = std::fs::read_to_string(fixtures.join("format1-ledger.export.jsonl")).unwrap();
    let after = std::fs::read_to_string(&export).unwrap();
    assert_eq!(after.lines().count(), 212);
    assert!(after == before, "the upgraded ledger exports other events");
    assert!(
        !stderr(&exported).contains("upgrading"),
        "upgraded a second time: {}",
        stderr(&exported)
    );
    assert!(!data.join("sled.next").exists() && !data.join("sled.old").exists());
}
