//! A damaged data directory, on the real binary: a ledger written by `ledgerdesk demo`, then bytes
//! flipped and files cut in sled's directory (`sled/db`, `sled/conf`) and in the head record
//! (`ledger.head`). For each copy, `ledgerdesk verify` either says the ledger is whole (same
//! events, same head hash as before the damage: the byte hit space sled no longer uses) or
//! exits non-zero naming what is wrong; `ledgerdesk serve` then refuses to start, or serves a
//! ledger that still holds the original head and verifies (never a shorter or changed one).

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use itsm_e2e::support::binary::{ledgerdesk, run};

fn ledgerdesk_in(data: &Path, args: &[&str]) -> std::process::Output {
    let mut all: Vec<&OsStr> = vec![OsStr::new("--data"), data.as_os_str()];
    all.extend(args.iter().map(OsStr::new));
    run(&all)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A demo ledger in a temporary directory and the line `verify` printed for it.
fn demo_ledger() -> (tempfile::TempDir, PathBuf, String) {
    let root = tempfile::tempdir().expect("a temporary directory");
    let data = root.path().join("ledger");
    let demo = ledgerdesk_in(&data, &["demo", "--incidents", "60", "--weeks", "1"]);
    assert!(demo.status.success(), "demo: {}", text(&demo.stderr));
    let verified = ledgerdesk_in(&data, &["verify"]);
    assert!(verified.status.success(), "{}", text(&verified.stderr));
    let line = text(&verified.stdout).trim().to_owned();
    assert!(line.starts_with("ledger ok: "), "{line}");
    (root, data, line)
}

/// What `verify` said about a damaged copy.
enum Verdict {
    /// Exit 0 with exactly the line of the undamaged ledger.
    Whole,
    /// A non-zero exit and its message.
    Refused(String),
}

fn verdict(data: &Path, original: &str, what: &str) -> Verdict {
    let output = ledgerdesk_in(data, &["verify"]);
    if output.status.success() {
        let line = text(&output.stdout).trim().to_owned();
        assert_eq!(
            line, original,
            "{what}: verify passed on a different ledger (served as if valid)"
        );
        Verdict::Whole
    } else {
        let message = text(&output.stderr);
        let last = message.lines().last().unwrap_or_default().to_owned();
        assert!(
            last.starts_with("ledgerdesk: "),
            "{what}: no clear message: {message}"
        );
        Verdict::Refused(last)
    }
}

/// `serve` on a directory `verify` refused: it exits with an error instead of listening, or it
/// starts (sled reads pages lazily, and its recovery of a damaged log is not repeatable) and the
/// damage is still reported by `verify` afterwards, or the ledger is whole (it holds the original
/// head at its position). Never a shorter ledger that verifies. Returns what was reported.
fn serve_refuses_or_serves_the_whole_ledger(data: &Path, original: &str, what: &str) -> String {
    let mut child = Command::new(ledgerdesk())
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ledgerdesk starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut first = String::new();
    // Blocks until serve prints its first line or exits (EOF).
    let _read = stdout.read_line(&mut first);
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        if let Some(status) = child.try_wait().expect("poll the server") {
            let output = child.wait_with_output().expect("its output");
            assert!(!status.success(), "{what}: serve exited with success");
            return text(&output.stderr);
        }
        if !first.is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // It started: stop it. The damage must still be reported, or the ledger be whole (holding
    // the original head at its position): serve never turned it into a shorter valid ledger.
    let _killed = child.kill();
    let _reaped = child.wait();
    let (events, head_hash) = parse_ok_line(original);
    let verified = ledgerdesk_in(data, &["verify"]);
    if !verified.status.success() {
        return text(&verified.stderr);
    }
    let from = events.to_string();
    let at_head = ledgerdesk_in(data, &["events", "--from", &from, "--limit", "1", "--json"]);
    let line = text(&at_head.stdout);
    assert!(
        line.contains(&format!("\"hash\":\"{head_hash}\"")),
        "{what}: serve ran on a ledger without the original head {head_hash} at {events}: {line}"
    );
    String::new()
}

/// (events, head hash) of a `ledger ok: N events, M index entries, head hash H` line.
fn parse_ok_line(line: &str) -> (u64, String) {
    let events = line
        .strip_prefix("ledger ok: ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("an event count");
    let hash = line
        .rsplit_once("head hash ")
        .map(|(_, hash)| hash.trim().to_owned())
        .expect("a head hash");
    (events, hash)
}

fn flip(file: &Path, offset: u64) {
    let mut bytes = std::fs::read(file).expect("read the file");
    let at = usize::try_from(offset).expect("an offset in memory");
    bytes[at] ^= 0xFF;
    std::fs::write(file, bytes).expect("write the file");
}

fn cut(file: &Path, keep: u64) {
    let handle = std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .expect("open the file");
    handle.set_len(keep).expect("truncate");
}

#[test]
fn flipped_bytes_in_the_log_are_refused_with_a_message_or_leave_the_ledger_whole() {
    let (_root, data, original) = demo_ledger();
    let db = data.join("sled").join("db");
    let len = std::fs::metadata(&db).expect("sled/db").len();
    let steps = 24_u64;
    let mut refused = Vec::new();
    for step in 0..steps {
        let offset = len * step / steps + 3 * step;
        let copy = tempfile::tempdir().expect("a copy");
        itsm_testkit::copy_dir(&data, copy.path());
        flip(&copy.path().join("sled").join("db"), offset);
        let what = format!("byte {offset} of {len} in sled/db flipped");
        if let Verdict::Refused(message) = verdict(copy.path(), &original, &what) {
            // Serving is checked for the first few: each start costs a process.
            if refused.len() < 3 {
                serve_refuses_or_serves_the_whole_ledger(copy.path(), &original, &what);
            }
            refused.push((offset, message));
        }
    }
    assert!(
        !refused.is_empty(),
        "no flipped byte was noticed: the sweep missed sled's live log"
    );
    eprintln!(
        "corruption: {steps} bytes flipped in a {len}-byte sled/db, {} refused: {refused:?}",
        refused.len()
    );
}

#[test]
fn a_cut_log_is_refused_with_a_message_and_never_served_shorter() {
    let (_root, data, original) = demo_ledger();
    let db = data.join("sled").join("db");
    let len = std::fs::metadata(&db).expect("sled/db").len();
    for keep in [0, len / 3, len * 2 / 3, len - 1] {
        let copy = tempfile::tempdir().expect("a copy");
        itsm_testkit::copy_dir(&data, copy.path());
        cut(&copy.path().join("sled").join("db"), keep);
        let what = format!("sled/db cut to {keep} of {len} bytes");
        match verdict(copy.path(), &original, &what) {
            Verdict::Whole => {}
            Verdict::Refused(message) => {
                assert!(
                    message.contains("position") || message.contains("storage"),
                    "{what}: {message}"
                );
                serve_refuses_or_serves_the_whole_ledger(copy.path(), &original, &what);
            }
        }
    }
    // Cut to nothing: never an empty ledger that verifies.
    let copy = tempfile::tempdir().expect("a copy");
    itsm_testkit::copy_dir(&data, copy.path());
    cut(&copy.path().join("sled").join("db"), 0);
    assert!(
        matches!(
            verdict(copy.path(), &original, "an empty sled/db"),
            Verdict::Refused(_)
        ),
        "an emptied log verified"
    );
}

#[test]
fn a_damaged_head_record_or_sled_config_is_refused() {
    let (_root, data, original) = demo_ledger();
    for (what, file, damage) in [
        ("a flipped byte in ledger.head", "ledger.head", 0_u8),
        ("a cut ledger.head", "ledger.head", 1),
        ("a flipped byte in sled/conf", "sled/conf", 0),
        ("a cut sled/conf", "sled/conf", 1),
    ] {
        let copy = tempfile::tempdir().expect("a copy");
        itsm_testkit::copy_dir(&data, copy.path());
        let path = copy.path().join(file);
        if damage == 0 {
            flip(&path, 12);
        } else {
            cut(&path, 10);
        }
        match verdict(copy.path(), &original, what) {
            Verdict::Refused(message) => {
                serve_refuses_or_serves_the_whole_ledger(copy.path(), &original, what);
                if file == "ledger.head" {
                    assert!(message.contains("ledger.head"), "{what}: {message}");
                }
            }
            Verdict::Whole => assert!(
                file.starts_with("sled/"),
                "{what}: the head record's damage went unnoticed"
            ),
        }
    }
    // Without the head record the ledger is accepted as it is (and the record written again).
    let copy = tempfile::tempdir().expect("a copy");
    itsm_testkit::copy_dir(&data, copy.path());
    std::fs::remove_file(copy.path().join("ledger.head")).expect("remove the record");
    assert!(matches!(
        verdict(copy.path(), &original, "no head record"),
        Verdict::Whole
    ));
    assert!(copy.path().join("ledger.head").is_file());
}
