//! Damage to the files of a closed `SledStore` directory, the way a disk or an operator could
//! do it: flipped bytes and truncation in sled's log, a damaged or missing head record, changed
//! bytes inside stored values. The store must either refuse to open with an error naming the
//! problem, or hold exactly the ledger it held before; readers never get an envelope whose
//! bytes changed.

mod conformance;

use std::collections::BTreeSet;
use std::path::Path;

use conformance::{meta, stream};
use itsm_eventstore::{
    Envelope, EventStore, ExpectedVersion, NewEvent, SledConfig, SledStore, SnapshotStore,
    StoreError, StreamId, raw,
};

const SLED_DIR: &str = "sled";
const HEAD_FILE: &str = "ledger.head";

fn config() -> SledConfig {
    SledConfig {
        cache_capacity: 16 * 1024 * 1024,
        ..SledConfig::default()
    }
}

/// Opens, waiting a bounded time for sled's file lock of a handle dropped a moment ago.
fn open(dir: &Path) -> Result<SledStore, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match SledStore::open(dir, &config()) {
            Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::yield_now();
            }
            other => return other,
        }
    }
}

/// A ledger of `batches` appends of 3 events each over 7 streams, in its own directory;
/// returns every envelope.
async fn ledger(dir: &Path, batches: u64) -> Vec<Envelope> {
    let store = open(dir).expect("a fresh store opens");
    for i in 0..batches {
        let events = (0..3)
            .map(|j| {
                NewEvent::new(
                    "Happened",
                    1,
                    vec![u8::try_from((i + j) % 251).unwrap(); 200],
                )
            })
            .collect();
        store
            .append(
                stream(&format!("s-{}", i % 7)),
                ExpectedVersion::Any,
                events,
                meta(),
            )
            .await
            .expect("the append");
    }
    let all = store.read_all(1, usize::MAX).await.expect("read back");
    assert_eq!(all.len() as u64, batches * 3);
    all
}

/// What opening a damaged copy gave: refused (with the error), or the ledger it holds.
enum Outcome {
    Refused(StoreError),
    Opened {
        head: u64,
        report: itsm_eventstore::VerifyReport,
        reads: Result<Vec<Envelope>, StoreError>,
    },
}

/// `reads` is the whole log, read by position, after every stream of `original` read through
/// the stream index: the first error of any of them.
async fn outcome(dir: &Path, original: &[Envelope]) -> Outcome {
    let streams: BTreeSet<&StreamId> = original.iter().map(|e| &e.stream_id).collect();
    match open(dir) {
        Err(error) => Outcome::Refused(error),
        Ok(store) => {
            let report = store.verify().await.expect("verify runs");
            let mut reads = Ok(());
            for stream in streams {
                if let Err(error) = store.read_stream(stream, 1).await {
                    reads = Err(error);
                    break;
                }
            }
            let reads = match reads {
                Ok(()) => store.read_all(1, usize::MAX).await,
                Err(error) => Err(error),
            };
            Outcome::Opened {
                head: store.head(),
                report,
                reads,
            }
        }
    }
}

/// Acceptable: refused with a `Corrupt` or `Storage` error; or opened at the original head with
/// the damage reported by `verify` (a first bad position) and not served (reads fail with a
/// typed error); or opened whole: the same envelopes, verified clean. Never a shorter ledger,
/// never a changed envelope served.
fn assert_never_silently_wrong(what: &str, outcome: &Outcome, original: &[Envelope]) {
    match outcome {
        Outcome::Refused(StoreError::Corrupt { .. } | StoreError::Storage { .. }) => {}
        Outcome::Refused(other) => panic!("{what}: refused with an unexpected error: {other:?}"),
        Outcome::Opened {
            head,
            report,
            reads,
        } => {
            let last = original.last().expect("a non-empty ledger");
            assert_eq!(*head, last.position, "{what}: opened with another head");
            match reads {
                Ok(reads) => {
                    let differs = reads.iter().zip(original).position(|(a, b)| a != b);
                    assert!(
                        reads.as_slice() == original,
                        "{what}: served other envelopes: {} of {}, first different at {differs:?}: {:?}",
                        reads.len(),
                        original.len(),
                        differs.map(|i| (&reads[i].stream_id, reads[i].version, reads[i].position))
                    );
                    assert!(
                        report.is_ok(),
                        "{what}: served, yet verify found {report:?}"
                    );
                    assert_eq!(report.head_hash, last.hash, "{what}: another head hash");
                }
                Err(StoreError::Corrupt { .. } | StoreError::Storage { .. }) => {
                    assert!(
                        !report.is_ok(),
                        "{what}: reads fail, yet verify finds nothing"
                    );
                }
                Err(other) => panic!("{what}: reads failed with an unexpected error: {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn flipped_bytes_in_the_log_are_refused_or_harmless_never_a_shorter_ledger() {
    let base = tempfile::tempdir().unwrap();
    let original = ledger(base.path(), 400).await;
    let db = base.path().join(SLED_DIR).join("db");
    let len = std::fs::metadata(&db).unwrap().len();
    let mut refused = 0;
    let mut reported = 0;
    let steps = 40_u64;
    for step in 0..steps {
        let offset = len * step / steps + step % 7;
        let copy = tempfile::tempdir().unwrap();
        itsm_testkit::copy_dir(base.path(), copy.path());
        let file = copy.path().join(SLED_DIR).join("db");
        let mut bytes = std::fs::read(&file).unwrap();
        let at = usize::try_from(offset).unwrap();
        bytes[at] ^= 0xFF;
        std::fs::write(&file, bytes).unwrap();
        let got = outcome(copy.path(), &original).await;
        match &got {
            Outcome::Refused(_) => refused += 1,
            Outcome::Opened { report, .. } if !report.is_ok() => {
                reported += 1;
                eprintln!(
                    "byte {offset}: opened, verify reports {:?}",
                    report.first_problem()
                );
            }
            Outcome::Opened { .. } => {}
        }
        assert_never_silently_wrong(&format!("byte {offset} of {len} flipped"), &got, &original);
    }
    // The sweep must have hit live records, or it proved nothing.
    assert!(
        refused > 0,
        "no flipped byte was noticed: the sweep missed the log"
    );
    eprintln!(
        "{steps} bytes flipped in a {len}-byte log: {refused} refused to open, {reported} opened \
         with the damage reported by verify and not served, the rest whole"
    );
}

#[tokio::test]
async fn a_truncated_log_is_refused_at_the_first_missing_position() {
    let base = tempfile::tempdir().unwrap();
    let original = ledger(base.path(), 400).await;
    let db = base.path().join(SLED_DIR).join("db");
    let len = std::fs::metadata(&db).unwrap().len();
    for keep in [0, len / 4, len / 2, len * 3 / 4, len - 4096, len - 1] {
        let copy = tempfile::tempdir().unwrap();
        itsm_testkit::copy_dir(base.path(), copy.path());
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(copy.path().join(SLED_DIR).join("db"))
            .unwrap();
        file.set_len(keep).unwrap();
        drop(file);
        let got = outcome(copy.path(), &original).await;
        assert_never_silently_wrong(&format!("log cut to {keep} of {len}"), &got, &original);
        if let Outcome::Refused(StoreError::Corrupt { position, reason }) = &got {
            assert!(
                (1..=original.len() as u64).contains(position),
                "names a ledger position: {position} {reason}"
            );
            assert!(reason.contains("head record"), "{reason}");
        }
    }
}

#[tokio::test]
async fn without_the_head_record_a_shortened_log_would_open_as_valid() {
    // Why the head record exists: the same damage, once with and once without it.
    let base = tempfile::tempdir().unwrap();
    let original = ledger(base.path(), 400).await;
    let db = base.path().join(SLED_DIR).join("db");
    let len = std::fs::metadata(&db).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);
    let with_record = outcome(base.path(), &original).await;
    let Outcome::Refused(StoreError::Corrupt { position, .. }) = with_record else {
        panic!("a log cut in half was not refused");
    };
    std::fs::remove_file(base.path().join(HEAD_FILE)).unwrap();
    let Outcome::Opened { head, report, .. } = outcome(base.path(), &original).await else {
        panic!("without a head record sled's shortened log opens");
    };
    let clean = report.is_ok();
    assert_eq!(
        position,
        head + 1,
        "the refusal named the first missing position"
    );
    assert!(clean, "the shortened chain verifies on its own");
    assert!(head < original.len() as u64);
}

#[tokio::test]
async fn a_damaged_head_record_is_refused_and_a_missing_one_is_written_again() {
    let dir = tempfile::tempdir().unwrap();
    let original = ledger(dir.path(), 5).await;
    let head_file = dir.path().join(HEAD_FILE);
    let mut bytes = std::fs::read(&head_file).unwrap();
    bytes[20] ^= 1;
    std::fs::write(&head_file, &bytes).unwrap();
    match open(dir.path()) {
        Err(StoreError::Corrupt { reason, .. }) => {
            assert!(reason.contains(HEAD_FILE), "{reason}");
        }
        other => panic!("a damaged head record was accepted: {other:?}"),
    }
    std::fs::remove_file(&head_file).unwrap();
    let store = open(dir.path()).unwrap();
    assert_eq!(store.head(), original.len() as u64);
    drop(store);
    assert_eq!(
        std::fs::read(&head_file).unwrap().len(),
        80,
        "written again"
    );
    assert!(open(dir.path()).is_ok());
}

/// Changes stored values through the sled API (sled's own checksums stay valid).
fn with_raw_tree(dir: &Path, change: impl FnOnce(&sled::Db)) {
    let db = raw::open_tree(dir).expect("the raw sled tree of the closed store");
    change(&db);
    db.flush().unwrap();
}

fn stored(db: &sled::Db, position: u64) -> Vec<u8> {
    raw::envelope_bytes(db, position).unwrap().unwrap()
}

#[tokio::test]
async fn readers_never_get_an_envelope_whose_bytes_changed() {
    let dir = tempfile::tempdir().unwrap();
    let original = ledger(dir.path(), 5).await;
    with_raw_tree(dir.path(), |db| {
        let mut bytes = stored(db, 6);
        let at = bytes.len() - 100;
        bytes[at] ^= 0x01;
        raw::set_envelope_bytes(db, 6, &bytes).unwrap();
    });
    let store = open(dir.path()).unwrap();
    assert_eq!(store.read_all(1, 5).await.unwrap(), original[..5]);
    assert!(matches!(
        store.read_all(1, 100).await,
        Err(StoreError::Corrupt { position: 6, .. })
    ));
    let of_stream = original[5].stream_id.clone();
    assert!(matches!(
        store.read_stream(&of_stream, 1).await,
        Err(StoreError::Corrupt { position: 6, .. })
    ));
    // A subscriber may get the good prefix first (its catch-up reads pages), then the error.
    let mut subscription = store.subscribe_all(1);
    let mut delivered = Vec::new();
    let error = loop {
        match subscription.next().await {
            Ok(envelope) if delivered.len() < 5 => delivered.push(envelope),
            Ok(envelope) => panic!("served position {} past the damage", envelope.position),
            Err(error) => break error,
        }
    };
    assert_eq!(delivered, original[..delivered.len()]);
    assert!(
        matches!(error, StoreError::Corrupt { position: 6, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_rewritten_event_with_a_matching_hash_is_not_served_after_its_predecessor() {
    let dir = tempfile::tempdir().unwrap();
    let original = ledger(dir.path(), 5).await;
    // Event 4 swapped for event 5's bytes: decodes, own hash fine, position and link wrong.
    with_raw_tree(dir.path(), |db| {
        raw::set_envelope_bytes(db, 4, &stored(db, 5)).unwrap();
    });
    let store = open(dir.path()).unwrap();
    assert!(matches!(
        store.read_all(1, 100).await,
        Err(StoreError::Corrupt { position: 4, .. })
    ));
    assert_eq!(store.read_all(1, 3).await.unwrap(), original[..3]);
}

#[tokio::test]
async fn a_stream_index_pointing_at_another_stream_is_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let original = ledger(dir.path(), 5).await;
    // s-0 v1..3 are positions 1..3; point s-0 v2 at position 4 (stream s-1).
    with_raw_tree(dir.path(), |db| {
        raw::set_index_entry(db, &stream("s-0"), 2, 4).unwrap();
    });
    let store = open(dir.path()).unwrap();
    assert_eq!(original[3].stream_id.as_str(), "s-1");
    assert!(matches!(
        store.read_stream(&stream("s-0"), 1).await,
        Err(StoreError::Corrupt { position: 4, .. })
    ));
}

#[tokio::test]
async fn a_snapshot_whose_bytes_changed_is_skipped_for_the_older_one() {
    let dir = tempfile::tempdir().unwrap();
    ledger(dir.path(), 10).await;
    {
        let store = open(dir.path()).unwrap();
        store
            .save_snapshot("models", 10, vec![1; 64])
            .await
            .unwrap();
        store
            .save_snapshot("models", 20, vec![2; 64])
            .await
            .unwrap();
    }
    // Change one byte inside the newest snapshot's file: it would still decode as *something*.
    let newest = dir
        .path()
        .join("snapshots")
        .join("models")
        .join("00000000000000000020.snap");
    let mut bytes = std::fs::read(&newest).expect("the newest snapshot's file");
    bytes[3] ^= 0x04;
    std::fs::write(&newest, bytes).expect("changed");
    let store = open(dir.path()).unwrap();
    let restored = store.load_snapshot("models", u64::MAX).await.unwrap();
    assert_eq!(
        restored.map(|s| (s.position, s.bytes)),
        Some((10, vec![1; 64]))
    );
}
