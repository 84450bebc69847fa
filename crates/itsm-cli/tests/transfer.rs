//! `export`, `import`, `rebuild`, `token create` and `schema` through the real binary.

use std::path::Path;
use std::process::{Command, Output};

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

#[track_caller]
fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed ({:?}): {}\n{}",
        output.status,
        stderr(output),
        stdout(output)
    );
    stdout(output)
}

/// The secret printed by `token create` (the line after the "secret" line).
fn secret_of(printed: &str) -> String {
    let mut lines = printed
        .lines()
        .skip_while(|line| !line.starts_with("secret"));
    lines.next();
    lines.next().expect("a secret line").trim().to_owned()
}

#[test]
fn export_then_import_then_export_gives_an_identical_file_and_the_same_head_hash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = dir.path().join("source");
    ok(&ledgerdesk(&source, &["demo", "--incidents", "15"]));
    let issued = ok(&ledgerdesk(
        &source,
        &["token", "create", "--role", "admin", "--name", "root"],
    ));
    let secret = secret_of(&issued);
    let first = dir.path().join("first.jsonl");
    let exported = ok(&ledgerdesk(
        &source,
        &["export", "--out", first.to_str().unwrap()],
    ));
    assert!(exported.contains("exported"), "{exported}");

    let text = std::fs::read_to_string(&first).expect("export");
    assert!(text.lines().count() > 100);
    let line: serde_json::Value =
        serde_json::from_str(text.lines().next().unwrap()).expect("JSON Lines");
    for field in [
        "position",
        "stream",
        "version",
        "type",
        "schema_version",
        "payload",
        "actor",
        "command_id",
        "correlation_id",
        "causation_id",
        "recorded_at",
        "prev_hash",
        "hash",
    ] {
        assert!(line.get(field).is_some(), "{field} in {line}");
    }
    assert!(!text.contains(&secret), "no token secret is exported");
    assert!(text.contains("\"stream\":\"access\""), "token hashes are");

    let copy = dir.path().join("copy");
    let imported = ok(&ledgerdesk(&copy, &["import", first.to_str().unwrap()]));
    assert!(imported.contains("ledger ok"), "{imported}");
    let second = dir.path().join("second.jsonl");
    ok(&ledgerdesk(
        &copy,
        &["export", "--out", second.to_str().unwrap()],
    ));
    assert!(
        std::fs::read(&first).unwrap() == std::fs::read(&second).unwrap(),
        "the round trip is byte-identical"
    );
    let head = |data: &Path| {
        let verified = ok(&ledgerdesk(data, &["verify"]));
        verified
            .split("head hash ")
            .nth(1)
            .expect("a head hash")
            .trim()
            .to_owned()
    };
    assert_eq!(head(&source), head(&copy));

    // The copy is a working desk: its tokens and read models come back.
    let rebuilt = ok(&ledgerdesk(&copy, &["rebuild"]));
    assert!(
        rebuilt.contains("rebuilt the read models from position 1"),
        "{rebuilt}"
    );
    assert!(
        rebuilt.contains(&format!("events applied        {}", text.lines().count())),
        "{rebuilt}"
    );

    // `replay` is the same command.
    let replayed = ok(&ledgerdesk(&copy, &["replay"]));
    assert!(replayed.contains("undecodable payloads  0"), "{replayed}");

    // A data directory with events refuses an import.
    let again = ledgerdesk(&copy, &["import", first.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("import only fills an empty one"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn an_import_of_a_changed_export_is_refused_at_the_changed_event() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = dir.path().join("source");
    ok(&ledgerdesk(&source, &["demo", "--incidents", "3"]));
    let file = dir.path().join("ledger.jsonl");
    ok(&ledgerdesk(
        &source,
        &["export", "--out", file.to_str().unwrap()],
    ));
    let text = std::fs::read_to_string(&file).unwrap();
    // Rename the actor of event 7: the hash no longer matches.
    let changed: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 6 {
                let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
                value["actor"] = serde_json::Value::from("mallory");
                value.to_string()
            } else {
                line.to_owned()
            }
        })
        .collect();
    let tampered = dir.path().join("tampered.jsonl");
    std::fs::write(&tampered, changed.join("\n") + "\n").unwrap();
    let copy = dir.path().join("copy");
    let refused = ledgerdesk(&copy, &["import", tampered.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    assert!(
        stderr(&refused).contains("position 7"),
        "{}",
        stderr(&refused)
    );
    assert!(stderr(&refused).contains("hash"), "{}", stderr(&refused));

    // A line that is not an envelope is refused with its line number.
    let garbage = dir.path().join("garbage.jsonl");
    std::fs::write(&garbage, "{\"position\": 1}\n").unwrap();
    let refused = ledgerdesk(
        &dir.path().join("other"),
        &["import", garbage.to_str().unwrap()],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("line 1"), "{}", stderr(&refused));
}

#[test]
fn token_create_issues_offline_and_prints_the_secret_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = ok(&ledgerdesk(
        dir.path(),
        &["token", "create", "--role", "admin", "--name", "ops"],
    ));
    let secret = secret_of(&first);
    assert_eq!(secret.len(), 64, "{first}");
    let second = ok(&ledgerdesk(
        dir.path(),
        &[
            "token",
            "create",
            "--role",
            "agent",
            "--name",
            "alex-laptop",
            "--user",
            "alex.agent",
            "--expires",
            "2099-01-01T00:00:00Z",
        ],
    ));
    assert!(second.contains("alex.agent"), "{second}");
    assert!(second.contains("expires 2099-01-01"), "{second}");
    assert_ne!(secret_of(&second), secret);

    // Names are unique.
    let duplicate = ledgerdesk(
        dir.path(),
        &["token", "create", "--role", "agent", "--name", "ops"],
    );
    assert_eq!(duplicate.status.code(), Some(2));
    assert!(
        stderr(&duplicate).contains("CONFLICT"),
        "{}",
        stderr(&duplicate)
    );

    // The ledger holds the issue events, and no secret.
    let events = ok(&ledgerdesk(dir.path(), &["events", "--json"]));
    assert_eq!(
        events.matches("\"type\":\"TokenIssued\"").count(),
        2,
        "{events}"
    );
    assert!(!events.contains(&secret));
    assert!(ok(&ledgerdesk(dir.path(), &["verify"])).contains("ledger ok: 2 events"));
}

#[test]
fn token_create_refuses_an_unknown_role_and_a_past_expiry() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = ledgerdesk(
        dir.path(),
        &["token", "create", "--role", "wizard", "--name", "x"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("invalid value"),
        "{}",
        stderr(&output)
    );
    let output = ledgerdesk(
        dir.path(),
        &[
            "token",
            "create",
            "--role",
            "admin",
            "--name",
            "x",
            "--expires",
            "2001-01-01T00:00:00Z",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("VALIDATION"),
        "{}",
        stderr(&output)
    );
    let output = ledgerdesk(dir.path(), &["token", "create", "--role", "admin"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--name"), "{}", stderr(&output));
}

#[test]
fn schema_prints_the_sdl_without_touching_a_data_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("never-created");
    let output = ledgerdesk(&data, &["schema"]);
    let sdl = ok(&output);
    assert!(sdl.contains("type QueryRoot"), "{sdl}");
    assert!(sdl.contains("scalar Position"), "{sdl}");
    assert!(!data.exists());
}
