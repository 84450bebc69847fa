//! Read-model snapshots of `SledStore` as files (`<store>/snapshots/<name>/<position>.snap`):
//! a load reads the one snapshot it returns, a damaged file is skipped for an older one, and a
//! ledger written by the earlier version (snapshots in the sled tree `snapshots`) still restores
//! from that tree until the first file of the name is saved.

mod conformance;

use std::path::{Path, PathBuf};

use conformance::{meta, one, stream};
use itsm_eventstore::{EventStore, ExpectedVersion, SledConfig, SledStore, SnapshotStore, raw};

const LEGACY_TREE: &str = "snapshots";

fn config() -> SledConfig {
    SledConfig {
        cache_capacity: 16 * 1024 * 1024,
        ..SledConfig::default()
    }
}

/// Opens, waiting a bounded time for sled's file lock of a handle dropped a moment ago.
fn open(dir: &Path) -> SledStore {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match SledStore::open(dir, &config()) {
            Err(itsm_eventstore::StoreError::Locked { .. })
                if std::time::Instant::now() < deadline =>
            {
                std::thread::yield_now();
            }
            other => return other.expect("the store opens"),
        }
    }
}

/// Runs `change` on the raw sled database of a closed store.
fn with_raw_sled<T>(dir: &Path, change: impl FnOnce(&sled::Db) -> T) -> T {
    let db = raw::open_tree(dir).expect("the raw sled tree of the closed store");
    let out = change(&db);
    db.flush().expect("the raw database flushes");
    out
}

fn has_legacy_tree(dir: &Path) -> bool {
    with_raw_sled(dir, |db| {
        db.tree_names()
            .iter()
            .any(|name| name == LEGACY_TREE.as_bytes())
    })
}

/// A snapshot the way the earlier version stored it: key `name \0 position (u64 BE)`, value
/// the bytes followed by BLAKE3("ledgerdesk.snapshot.v1", key length BE, key, bytes).
fn put_legacy(db: &sled::Db, name: &str, position: u64, bytes: &[u8]) {
    let mut key = name.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&position.to_be_bytes());
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"ledgerdesk.snapshot.v1");
    hasher.update(&(key.len() as u64).to_be_bytes());
    hasher.update(&key);
    hasher.update(bytes);
    let mut value = bytes.to_vec();
    value.extend_from_slice(hasher.finalize().as_bytes());
    db.open_tree(LEGACY_TREE)
        .expect("the legacy tree")
        .insert(key, value)
        .expect("a legacy snapshot");
}

/// A store with a few events, closed.
async fn ledger(dir: &Path) {
    let store = open(dir);
    for _ in 0..3 {
        store
            .append(stream("a"), ExpectedVersion::Any, one(), meta())
            .await
            .expect("an append");
    }
}

fn snapshot_file(dir: &Path, name: &str, position: u64) -> PathBuf {
    dir.join("snapshots")
        .join(name)
        .join(format!("{position:020}.snap"))
}

async fn loaded(store: &SledStore, name: &str, at_or_below: u64) -> Option<(u64, Vec<u8>)> {
    store
        .load_snapshot(name, at_or_below)
        .await
        .expect("the load")
        .map(|s| (s.position, s.bytes))
}

#[tokio::test]
async fn each_snapshot_is_its_own_file_and_never_enters_sled() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    ledger(dir.path()).await;
    {
        let store = open(dir.path());
        store
            .save_snapshot("models", 2, vec![7; 100])
            .await
            .expect("saved");
    }
    let stored = std::fs::read(snapshot_file(dir.path(), "models", 2)).expect("the file");
    assert_eq!(stored.len(), 100 + 32, "the bytes and their checksum");
    assert_eq!(&stored[..100], &[7; 100][..]);
    assert!(!has_legacy_tree(dir.path()), "no snapshot tree in sled");
    let store = open(dir.path());
    assert_eq!(
        loaded(&store, "models", u64::MAX).await,
        Some((2, vec![7; 100]))
    );
}

#[tokio::test]
async fn the_newest_snapshot_file_is_read_without_opening_the_store() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    assert_eq!(
        SledStore::read_snapshot_file(dir.path(), "models").expect("no directory is no snapshot"),
        None
    );
    ledger(dir.path()).await;
    let store = open(dir.path());
    for (position, byte) in [(1, 1_u8), (2, 2), (3, 3)] {
        store
            .save_snapshot("models", position, vec![byte; 10])
            .await
            .expect("saved");
    }
    // While the store is open (and holds the directory lock), and again once it is closed.
    let newest = |dir: &Path| {
        let read = SledStore::read_snapshot_file(dir, "models")
            .expect("read")
            .expect("a snapshot");
        (read.position, read.bytes)
    };
    assert_eq!(newest(dir.path()), (3, vec![3; 10]));
    drop(store);
    assert_eq!(newest(dir.path()), (3, vec![3; 10]));
    // A changed newest file is skipped for the next older intact one.
    let file = snapshot_file(dir.path(), "models", 3);
    let mut bytes = std::fs::read(&file).expect("the file");
    bytes[0] ^= 0xff;
    std::fs::write(&file, bytes).expect("changed");
    assert_eq!(newest(dir.path()), (2, vec![2; 10]));
}

#[tokio::test]
async fn loading_the_newest_snapshot_reads_none_of_the_older_ones() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    ledger(dir.path()).await;
    {
        let store = open(dir.path());
        for position in [1, 2, 3] {
            store
                .save_snapshot(
                    "models",
                    position,
                    vec![u8::try_from(position).expect("small"); 4096],
                )
                .await
                .expect("saved");
        }
    }
    // The older two: one removed, one garbled into something no read can return.
    std::fs::remove_file(snapshot_file(dir.path(), "models", 1)).expect("removed");
    std::fs::write(snapshot_file(dir.path(), "models", 2), b"garbage").expect("garbled");
    let store = open(dir.path());
    assert_eq!(
        loaded(&store, "models", u64::MAX).await,
        Some((3, vec![3; 4096]))
    );
    // And below it, the garbled one is skipped and the removed one is gone: nothing.
    assert_eq!(loaded(&store, "models", 2).await, None);
}

#[tokio::test]
async fn a_torn_snapshot_file_is_skipped_for_the_older_intact_one() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    ledger(dir.path()).await;
    {
        let store = open(dir.path());
        store
            .save_snapshot("models", 1, vec![1; 4096])
            .await
            .expect("saved");
        store
            .save_snapshot("models", 3, vec![3; 4096])
            .await
            .expect("saved");
    }
    // What a write cut short would leave: the first part of the file.
    let newest = snapshot_file(dir.path(), "models", 3);
    let whole = std::fs::read(&newest).expect("the newest file");
    std::fs::write(&newest, &whole[..whole.len() / 2]).expect("torn");
    let store = open(dir.path());
    assert_eq!(
        loaded(&store, "models", u64::MAX).await,
        Some((1, vec![1; 4096]))
    );
    // A save at the torn one's position replaces it.
    store
        .save_snapshot("models", 3, vec![4; 10])
        .await
        .expect("saved again");
    assert_eq!(
        loaded(&store, "models", u64::MAX).await,
        Some((3, vec![4; 10]))
    );
}

#[tokio::test]
async fn a_temporary_file_of_a_killed_save_is_removed_at_open_and_never_loaded() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    ledger(dir.path()).await;
    {
        let store = open(dir.path());
        store
            .save_snapshot("models", 1, vec![1; 10])
            .await
            .expect("saved");
    }
    let temp = dir
        .path()
        .join("snapshots")
        .join("models")
        .join(".00000000000000000002.0.tmp");
    std::fs::write(&temp, [2; 10]).expect("a half-written save");
    let store = open(dir.path());
    assert!(!temp.exists(), "removed while opening");
    assert_eq!(
        loaded(&store, "models", u64::MAX).await,
        Some((1, vec![1; 10]))
    );
}

#[tokio::test]
async fn a_ledger_of_the_earlier_version_restores_from_its_snapshot_tree() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    ledger(dir.path()).await;
    with_raw_sled(dir.path(), |db| {
        put_legacy(db, "models", 1, b"one");
        put_legacy(db, "models", 2, b"two");
        put_legacy(db, "models-2", 3, b"other");
    });
    let store = open(dir.path());
    assert_eq!(
        loaded(&store, "models", u64::MAX).await,
        Some((2, b"two".to_vec()))
    );
    assert_eq!(
        loaded(&store, "models", 1).await,
        Some((1, b"one".to_vec()))
    );
    assert_eq!(loaded(&store, "models", 0).await, None);
    assert_eq!(
        loaded(&store, "models-2", u64::MAX).await,
        Some((3, b"other".to_vec()))
    );
    // Loading wrote nothing: no snapshot directory.
    assert!(!dir.path().join("snapshots").exists());
    drop(store);
    // A changed byte in the legacy tree is skipped for the older entry there too.
    with_raw_sled(dir.path(), |db| {
        let tree = db.open_tree(LEGACY_TREE).expect("the legacy tree");
        let mut key = b"models\0".to_vec();
        key.extend_from_slice(&2u64.to_be_bytes());
        let mut value = tree.get(&key).expect("read").expect("present").to_vec();
        value[0] ^= 0x01;
        tree.insert(key, value).expect("changed");
    });
    let store = open(dir.path());
    assert_eq!(
        loaded(&store, "models", u64::MAX).await,
        Some((1, b"one".to_vec()))
    );
}

#[tokio::test]
async fn after_the_first_file_save_the_newest_is_the_file_and_the_tree_goes() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    ledger(dir.path()).await;
    with_raw_sled(dir.path(), |db| {
        put_legacy(db, "models", 1, b"one");
        put_legacy(db, "models", 2, b"two");
        put_legacy(db, "models-2", 2, b"other");
    });
    {
        let store = open(dir.path());
        store
            .save_snapshot("models", 3, b"three".to_vec())
            .await
            .expect("saved");
        assert_eq!(
            loaded(&store, "models", u64::MAX).await,
            Some((3, b"three".to_vec()))
        );
        // The name's legacy entries are gone with its first file: below it, nothing.
        assert_eq!(loaded(&store, "models", 2).await, None);
        // Another name's legacy entry stays until that name saves a file.
        assert_eq!(
            loaded(&store, "models-2", u64::MAX).await,
            Some((2, b"other".to_vec()))
        );
    }
    assert!(has_legacy_tree(dir.path()), "models-2 still lives there");
    {
        let store = open(dir.path());
        store
            .save_snapshot("models-2", 3, b"new".to_vec())
            .await
            .expect("saved");
    }
    assert!(
        !has_legacy_tree(dir.path()),
        "the emptied tree is dropped, and its blobs with it"
    );
    let store = open(dir.path());
    assert_eq!(
        loaded(&store, "models", u64::MAX).await,
        Some((3, b"three".to_vec()))
    );
    assert_eq!(
        loaded(&store, "models-2", u64::MAX).await,
        Some((3, b"new".to_vec()))
    );
    // The ledger itself is untouched.
    assert_eq!(store.head(), 3);
    assert!(store.verify().await.expect("verify").is_ok());
}
