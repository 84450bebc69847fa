//! What only the durable backend has: reopening, the directory lock, and `verify` finding
//! corruption made with the sled API on the closed database.

mod conformance;

use conformance::{cmd, events, meta, one, stream};
use itsm_eventstore::{
    Defect, Envelope, EventStore, ExpectedVersion, SledConfig, SledStore, SnapshotStore,
    StoreError, StreamId, raw,
};

// Tests corrupt data through the sled API the way a disk or an operator could, with
// `itsm_eventstore::raw` to open the closed store's tree and for the key layout.

fn stored(db: &sled::Db, position: u64) -> Vec<u8> {
    raw::envelope_bytes(db, position).unwrap().unwrap()
}

fn stream_id(name: &str) -> StreamId {
    StreamId::new(name).unwrap()
}

fn config() -> SledConfig {
    SledConfig {
        cache_capacity: 16 * 1024 * 1024,
        ..SledConfig::default()
    }
}

fn open(dir: &tempfile::TempDir) -> SledStore {
    SledStore::open(dir.path(), &config()).unwrap()
}

/// Ten events: stream "a" gets positions 1, 3, 5, 7, 9 and "b" the others.
async fn ten_events(dir: &tempfile::TempDir) -> Vec<Envelope> {
    let store = open(dir);
    for _ in 0..5 {
        for s in ["a", "b"] {
            let payload = vec![0xAB; 32];
            let event = itsm_eventstore::NewEvent::new("Happened", 1, payload);
            store
                .append(stream(s), ExpectedVersion::Any, vec![event], meta())
                .await
                .unwrap();
        }
    }
    store.read_all(1, 100).await.unwrap()
}

/// Change the raw sled tree of a closed store.
fn with_raw_tree(dir: &tempfile::TempDir, change: impl FnOnce(&sled::Db)) {
    // sled's background threads let go of its file lock a moment after the store that used the
    // directory was dropped (the store's own `open` waits for it the same way): retry, bounded.
    let db = raw::open_tree(dir.path()).expect("the raw sled tree of the closed store");
    change(&db);
    db.flush().unwrap();
}

async fn verify(dir: &tempfile::TempDir) -> itsm_eventstore::VerifyReport {
    open(dir).verify().await.unwrap()
}

#[tokio::test]
async fn reopening_keeps_everything_and_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let store = open(&dir);
        store
            .append(
                stream("a"),
                ExpectedVersion::NoStream,
                events(3),
                meta().with_command_id(cmd(1)),
            )
            .await
            .unwrap();
        store
            .append(stream("b"), ExpectedVersion::Any, one(), meta())
            .await
            .unwrap();
        store.read_all(1, 100).await.unwrap()
    };
    let store = open(&dir);
    assert_eq!(store.head(), 4);
    assert_eq!(store.read_all(1, 100).await.unwrap(), first);
    // Stream versions, command ids and the hash chain continue where they were.
    assert!(matches!(
        store
            .append(stream("a"), ExpectedVersion::NoStream, one(), meta())
            .await,
        Err(StoreError::Conflict { actual: 3, .. })
    ));
    let again = store
        .append(
            stream("z"),
            ExpectedVersion::Any,
            one(),
            meta().with_command_id(cmd(1)),
        )
        .await
        .unwrap();
    assert_eq!(
        (again.first_position, again.last_position, again.version),
        (1, 3, 3)
    );
    let next = store
        .append(stream("a"), ExpectedVersion::Exact(3), one(), meta())
        .await
        .unwrap();
    assert_eq!((next.first_position, next.version), (5, 4));
    let fifth = &store.read_all(5, 1).await.unwrap()[0];
    assert_eq!(fifth.prev_hash, first[3].hash);
    assert!(store.verify().await.unwrap().is_ok());
}

#[tokio::test]
async fn a_second_handle_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    match SledStore::open(dir.path(), &config()) {
        Err(StoreError::Locked { path }) => assert_eq!(path, dir.path()),
        other => panic!("expected Locked, got {other:?}"),
    }
    drop(store);
    // Released when the store is dropped.
    assert!(SledStore::open(dir.path(), &config()).is_ok());
}

const CHILD_DIR_VAR: &str = "ITSM_EVENTSTORE_LOCKED_DIR";

/// Runs as the parent; the same test re-runs itself as the child when `CHILD_DIR_VAR` is set,
/// and the child tries to open the directory the parent holds.
#[test]
fn another_process_is_refused_the_directory() {
    if let Ok(dir) = std::env::var(CHILD_DIR_VAR) {
        match SledStore::open(&dir, &config()) {
            Err(StoreError::Locked { .. }) => return,
            other => panic!("expected Locked, got {other:?}"),
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let _store = open(&dir);
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "another_process_is_refused_the_directory"])
        .env(CHILD_DIR_VAR, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "the child process was not refused with Locked: {stdout}"
    );
    // Make sure the child really ran the check (a filter typo would run nothing and pass).
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[tokio::test]
async fn verify_finds_a_changed_payload_byte() {
    let dir = tempfile::tempdir().unwrap();
    ten_events(&dir).await;
    with_raw_tree(&dir, |db| {
        let mut bytes = stored(db, 6);
        let at = bytes.windows(32).position(|w| w == [0xAB; 32]).unwrap();
        bytes[at + 5] ^= 0x01;
        raw::set_envelope_bytes(db, 6, &bytes).unwrap();
    });
    let report = verify(&dir).await;
    assert_eq!(report.first_bad_position(), Some(6));
    assert_eq!(report.first_problem().unwrap().defect, Defect::HashMismatch);
}

#[tokio::test]
async fn verify_finds_a_rewritten_event_by_the_broken_link_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let before = ten_events(&dir).await;
    // Change event 4 and give it a matching hash: only the link from 5 can tell.
    with_raw_tree(&dir, |db| {
        let mut bytes = stored(db, 4);
        let at = bytes.windows(32).position(|w| w == [0xAB; 32]).unwrap();
        bytes[at] = 0xCD;
        raw::set_envelope_bytes(db, 4, &bytes).unwrap();
    });
    let mut changed = before[3].clone();
    changed.payload[0] = 0xCD;
    let new_hash = changed.compute_hash();
    with_raw_tree(&dir, |db| {
        let mut bytes = stored(db, 4);
        // The stored hash is the last field: 32 raw bytes.
        let len = bytes.len();
        bytes[len - 32..].copy_from_slice(&new_hash.0);
        raw::set_envelope_bytes(db, 4, &bytes).unwrap();
    });
    let report = verify(&dir).await;
    assert_eq!(report.first_bad_position(), Some(5), "{report:?}");
    assert_eq!(
        report.first_problem().unwrap().defect,
        Defect::PrevHashMismatch
    );
}

#[tokio::test]
async fn verify_finds_a_removed_event() {
    let dir = tempfile::tempdir().unwrap();
    ten_events(&dir).await;
    with_raw_tree(&dir, |db| {
        raw::remove_envelope(db, 3).unwrap();
    });
    let report = verify(&dir).await;
    assert_eq!(report.first_bad_position(), Some(3));
    assert_eq!(
        report.first_problem().unwrap().defect,
        Defect::Missing { count: 1 }
    );
}

#[tokio::test]
async fn verify_finds_undecodable_bytes() {
    let dir = tempfile::tempdir().unwrap();
    ten_events(&dir).await;
    with_raw_tree(&dir, |db| {
        raw::set_envelope_bytes(db, 8, &[0xFF, 0xFF, 0xFF]).unwrap();
    });
    let report = verify(&dir).await;
    assert_eq!(report.first_bad_position(), Some(8));
    assert!(matches!(
        report.first_problem().unwrap().defect,
        Defect::Undecodable { .. }
    ));
}

#[tokio::test]
async fn verify_finds_a_missing_index_entry() {
    let dir = tempfile::tempdir().unwrap();
    ten_events(&dir).await;
    with_raw_tree(&dir, |db| {
        // Stream "a" version 4 is position 7.
        raw::remove_index_entry(db, &stream_id("a"), 4).unwrap();
    });
    let report = verify(&dir).await;
    assert_eq!(report.first_bad_position(), Some(7));
    assert_eq!(
        report.first_problem().unwrap().defect,
        Defect::MissingIndexEntry {
            stream: "a".into(),
            version: 4
        }
    );
}

#[tokio::test]
async fn verify_finds_an_index_entry_pointing_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    ten_events(&dir).await;
    with_raw_tree(&dir, |db| {
        // Stream "b" version 3 is position 6; point it at 2.
        raw::set_index_entry(db, &stream_id("b"), 3, 2).unwrap();
    });
    let report = verify(&dir).await;
    assert_eq!(report.first_bad_position(), Some(6));
    assert_eq!(
        report.first_problem().unwrap().defect,
        Defect::IndexPointsElsewhere {
            stream: "b".into(),
            version: 3,
            index_position: 2
        }
    );
}

#[tokio::test]
async fn verify_finds_a_dangling_index_entry() {
    let dir = tempfile::tempdir().unwrap();
    ten_events(&dir).await;
    with_raw_tree(&dir, |db| {
        raw::set_index_entry(db, &stream_id("ghost"), 1, 9).unwrap();
    });
    let report = verify(&dir).await;
    assert_eq!(report.first_bad_position(), Some(9));
    assert_eq!(
        report.first_problem().unwrap().defect,
        Defect::DanglingIndexEntry {
            stream: "ghost".into(),
            version: 1
        }
    );
}

#[tokio::test]
async fn a_corrupt_last_event_keeps_the_store_readable_but_refuses_appends() {
    let dir = tempfile::tempdir().unwrap();
    let before = ten_events(&dir).await;
    with_raw_tree(&dir, |db| {
        raw::set_envelope_bytes(db, 10, &[1u8, 2, 3]).unwrap();
    });
    let store = open(&dir);
    assert_eq!(store.read_all(1, 9).await.unwrap(), before[..9]);
    let report = store.verify().await.unwrap();
    assert_eq!(report.first_bad_position(), Some(10));
    assert!(matches!(
        store
            .append(stream("a"), ExpectedVersion::Any, one(), meta())
            .await,
        Err(StoreError::Corrupt { position: 10, .. })
    ));
}

#[tokio::test]
async fn a_directory_with_another_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(&dir));
    with_raw_tree(&dir, |db| {
        db.insert(b"meta/format", &99u32.to_be_bytes()).unwrap();
    });
    assert_eq!(
        SledStore::open(dir.path(), &config()).unwrap_err(),
        StoreError::UnsupportedFormat {
            found: 99,
            supported: 2
        }
    );
}

#[tokio::test]
async fn snapshots_survive_a_reopen_and_stay_out_of_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(&dir);
        store
            .append(stream("a"), ExpectedVersion::NoStream, one(), meta())
            .await
            .unwrap();
        store
            .save_snapshot("models", 1, b"state".to_vec())
            .await
            .unwrap();
        // The ledger moves on past the snapshot.
        store
            .append(stream("a"), ExpectedVersion::Any, one(), meta())
            .await
            .unwrap();
    }
    let store = open(&dir);
    let snapshot = store
        .load_snapshot("models", u64::MAX)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (snapshot.position, snapshot.bytes.as_slice()),
        (1, &b"state"[..])
    );
    // Snapshots live in their own files: the ledger and its verification do not see them.
    assert_eq!(store.head(), 2);
    let report = store.verify().await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.events, 2);
}
