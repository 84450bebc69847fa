//! Snapshots of read models: opaque bytes saved at a ledger position, kept beside the ledger.
//!
//! The projection runner saves its read models here every so often and, at startup, resumes
//! from the newest snapshot instead of replaying the whole ledger; as-of queries start from the
//! newest snapshot at or below the position asked for. A snapshot is a cache, never the truth:
//! losing one only costs replay time.
//!
//! The durable backend keeps each snapshot in its own file ([`SnapshotFiles`]):
//! `<dir>/<name>/<position as 20 digits>.snap`, the bytes followed by a BLAKE3 checksum of name,
//! position and bytes. One file per snapshot because loading one must read that one and nothing
//! else: in a sled tree the leaf holding the newest snapshot also held the older ones (a leaf
//! splits only past 16 entries), so one load read all of them, and every snapshot also passed
//! through sled's log and page table, which sled reads back on every open.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::{fs, io};

use crate::error::StoreError;

/// Most snapshots kept per name; older ones are pruned when a new one is saved.
pub const KEPT_PER_NAME: usize = 32;

/// Longest snapshot name, in bytes.
pub const MAX_NAME_BYTES: usize = 128;

/// One saved snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The last ledger position the snapshot includes.
    pub position: u64,
    pub bytes: Vec<u8>,
}

/// Where snapshots live. Both backends implement it.
pub trait SnapshotStore: Send + Sync + 'static {
    /// Saves `bytes` as the snapshot `name` at `position`, replacing one at the same position
    /// and pruning the oldest beyond [`KEPT_PER_NAME`].
    fn save_snapshot(
        &self,
        name: &str,
        position: u64,
        bytes: Vec<u8>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The newest snapshot `name` at or below `at_or_below`.
    fn load_snapshot(
        &self,
        name: &str,
        at_or_below: u64,
    ) -> impl Future<Output = Result<Option<Snapshot>, StoreError>> + Send;
}

/// Key of a snapshot: the name, a 0 byte, the position big-endian (so keys sort by position).
/// The memory backend's map key, the sled backend's legacy tree key, and part of the checksum.
pub(crate) fn key(name: &str, position: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 9);
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    key.extend_from_slice(&position.to_be_bytes());
    key
}

/// The position at the end of a key made by [`key`].
pub(crate) fn position_of(key: &[u8]) -> u64 {
    let mut position = [0; 8];
    if let Some(tail) = key.len().checked_sub(8).and_then(|start| key.get(start..)) {
        position.copy_from_slice(tail);
    }
    u64::from_be_bytes(position)
}

/// Snapshot names are short identifiers that are also directory names: 1 to
/// [`MAX_NAME_BYTES`] ASCII letters, digits, `.`, `_` and `-`, not starting with `.`. So a name
/// can never leave the snapshot directory (no `/`, no `..`, no `.`) or hide as a dot file, and
/// it never holds the 0 byte that ends a name in [`key`].
pub(crate) fn check_name(name: &str) -> Result<(), StoreError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    if name.is_empty()
        || name.len() > MAX_NAME_BYTES
        || name.starts_with('.')
        || !name.bytes().all(allowed)
    {
        return Err(StoreError::InvalidMetadata {
            reason: "a snapshot name must be 1 to 128 ASCII letters, digits, '.', '_' or '-', \
                     not starting with '.'",
        });
    }
    Ok(())
}

/// Length of the checksum stored after a snapshot's bytes.
const CHECKSUM_BYTES: usize = 32;

/// BLAKE3 of a snapshot's key (name and position) and bytes, stored after the bytes (in a file,
/// and in the legacy sled tree alike).
fn checksum(name: &str, position: u64, bytes: &[u8]) -> [u8; CHECKSUM_BYTES] {
    let key = key(name, position);
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"ledgerdesk.snapshot.v1");
    hasher.update(&(key.len() as u64).to_be_bytes());
    hasher.update(&key);
    hasher.update(bytes);
    *hasher.finalize().as_bytes()
}

/// The snapshot's bytes if `sealed` (bytes + checksum) is intact for this name and position;
/// `None` for changed, cut or misplaced bytes.
pub(crate) fn unseal(name: &str, position: u64, mut sealed: Vec<u8>) -> Option<Vec<u8>> {
    let split = sealed.len().checked_sub(CHECKSUM_BYTES)?;
    let (bytes, stored) = sealed.split_at(split);
    if checksum(name, position, bytes) != stored {
        return None;
    }
    sealed.truncate(split);
    Some(sealed)
}

/// The checksum [`unseal`] expects after `bytes`.
pub(crate) fn seal(name: &str, position: u64, bytes: &[u8]) -> [u8; CHECKSUM_BYTES] {
    checksum(name, position, bytes)
}

/// Snapshots as files, one per snapshot: `<dir>/<name>/<position, 20 digits>.snap`.
///
/// Crash safety: a save writes `.<position>.<n>.tmp` in the name's directory, syncs it
/// (`sync_all`) and renames it into place, so a `.snap` file is whole or absent, and a reader
/// never sees a half-written one under its final name. The directory itself is not synced after
/// the rename: a power loss may undo the rename (or a pruning), which loses a snapshot or keeps
/// an old one, and a snapshot is a cache: the next start replays a little more. A file changed or
/// cut later still fails its checksum and is skipped for the next older one.
///
/// Blocking file I/O: the sled backend calls it off the async executor.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotFiles {
    dir: PathBuf,
}

const SUFFIX: &str = ".snap";
const TEMP_SUFFIX: &str = ".tmp";
const POSITION_DIGITS: usize = 20;

/// Makes temporary file names unique within the process (the store's directory lock keeps other
/// processes out), so two saves of one name at one position never share a temporary file.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl SnapshotFiles {
    pub(crate) fn new(dir: PathBuf) -> Self {
        SnapshotFiles { dir }
    }

    fn name_dir(&self, name: &str) -> Result<PathBuf, StoreError> {
        check_name(name)?;
        Ok(self.dir.join(name))
    }

    /// Saves one snapshot and prunes the oldest of its name beyond [`KEPT_PER_NAME`].
    pub(crate) fn save(&self, name: &str, position: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let dir = self.name_dir(name)?;
        fs::create_dir_all(&dir).map_err(|e| StoreError::storage(&e))?;
        let temp = dir.join(format!(
            ".{position:020}.{}{TEMP_SUFFIX}",
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = write_synced(&temp, bytes, &seal(name, position, bytes))
            .and_then(|()| fs::rename(&temp, dir.join(file_name(position))));
        if let Err(e) = written {
            let _gone_or_left_for_the_next_open = fs::remove_file(&temp);
            return Err(StoreError::storage(&e));
        }
        let mut positions = positions(&dir).map_err(|e| StoreError::storage(&e))?;
        positions.sort_unstable();
        let excess = positions.len().saturating_sub(KEPT_PER_NAME);
        for old in positions.into_iter().take(excess) {
            match fs::remove_file(dir.join(file_name(old))) {
                // Another save pruned it first.
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(StoreError::storage(&e));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The newest intact snapshot `name` at or below `at_or_below`: files are read newest first,
    /// one at a time, and the first whose checksum holds is returned. A missing directory is no
    /// snapshot; a file that cannot be read, is cut or changed is skipped for the next older one.
    pub(crate) fn load(
        &self,
        name: &str,
        at_or_below: u64,
    ) -> Result<Option<Snapshot>, StoreError> {
        let dir = self.name_dir(name)?;
        let mut positions = match positions(&dir) {
            Ok(positions) => positions,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::storage(&e)),
        };
        positions.retain(|&p| p <= at_or_below);
        positions.sort_unstable_by(|a, b| b.cmp(a));
        for position in positions {
            let Ok(sealed) = fs::read(dir.join(file_name(position))) else {
                // Pruned meanwhile, or unreadable: a cache miss, not a failure.
                continue;
            };
            if let Some(bytes) = unseal(name, position, sealed) {
                return Ok(Some(Snapshot { position, bytes }));
            }
        }
        Ok(None)
    }

    /// Syncs the directory of `name`, so its snapshot files survive a power loss: before the
    /// last copy of older snapshots (the legacy sled tree) is dropped.
    pub(crate) fn sync_dir(&self, name: &str) -> Result<(), StoreError> {
        let dir = self.name_dir(name)?;
        fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::storage(&e))
    }

    /// Removes temporary files a killed save left behind. Called while opening, under the
    /// store's directory lock, before any save of this process can have started one.
    pub(crate) fn remove_unfinished(&self) -> io::Result<()> {
        let names = match fs::read_dir(&self.dir) {
            Ok(names) => names,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for name in names {
            let name = name?;
            if !name.file_type()?.is_dir() {
                continue;
            }
            for file in fs::read_dir(name.path())? {
                let file = file?;
                let file_name = file.file_name();
                let file_name = file_name.to_string_lossy();
                if file_name.starts_with('.') && file_name.ends_with(TEMP_SUFFIX) {
                    fs::remove_file(file.path())?;
                }
            }
        }
        Ok(())
    }
}

fn file_name(position: u64) -> String {
    format!("{position:020}{SUFFIX}")
}

/// The position a snapshot file is named after; `None` for any other file.
fn parse_file_name(file_name: &str) -> Option<u64> {
    let digits = file_name.strip_suffix(SUFFIX)?;
    if digits.len() != POSITION_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Positions of the snapshot files in `dir` (unordered).
fn positions(dir: &Path) -> io::Result<Vec<u64>> {
    let mut positions = Vec::new();
    for entry in fs::read_dir(dir)? {
        if let Some(position) = parse_file_name(&entry?.file_name().to_string_lossy()) {
            positions.push(position);
        }
    }
    Ok(positions)
}

fn write_synced(path: &Path, bytes: &[u8], checksum: &[u8]) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.write_all(checksum)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> (tempfile::TempDir, SnapshotFiles) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let files = SnapshotFiles::new(dir.path().join("snapshots"));
        (dir, files)
    }

    fn snap_path(files: &SnapshotFiles, name: &str, position: u64) -> PathBuf {
        files.dir.join(name).join(file_name(position))
    }

    fn position_at(files: &SnapshotFiles, name: &str, at: u64) -> Option<u64> {
        files
            .load(name, at)
            .expect("the load reads the directory")
            .map(|s| s.position)
    }

    #[test]
    fn each_snapshot_is_one_file_named_by_its_position() {
        let (_dir, files) = files();
        files.save("read-models", 7, b"seven").expect("saved");
        let path = snap_path(&files, "read-models", 7);
        assert!(path.ends_with("snapshots/read-models/00000000000000000007.snap"));
        let stored = fs::read(&path).expect("the snapshot's file");
        assert_eq!(&stored[..5], b"seven");
        assert_eq!(stored.len(), 5 + CHECKSUM_BYTES);
        assert_eq!(parse_file_name("00000000000000000007.snap"), Some(7));
        assert_eq!(parse_file_name(&file_name(u64::MAX)), Some(u64::MAX));
        for other in [
            "7.snap",
            "0000000000000000000a.snap",
            ".00000000000000000007.0.tmp",
        ] {
            assert_eq!(parse_file_name(other), None, "{other}");
        }
    }

    #[test]
    fn the_newest_at_or_below_is_loaded_and_a_save_at_the_same_position_replaces() {
        let (_dir, files) = files();
        assert_eq!(files.load("m", u64::MAX).expect("no directory yet"), None);
        for position in [10, 30, 20] {
            files
                .save("m", position, &position.to_be_bytes())
                .expect("saved");
        }
        assert_eq!(position_at(&files, "m", 9), None);
        assert_eq!(position_at(&files, "m", 10), Some(10));
        assert_eq!(position_at(&files, "m", 29), Some(20));
        assert_eq!(position_at(&files, "m", u64::MAX), Some(30));
        files.save("m", 20, b"again").expect("replaced");
        let at_20 = files.load("m", 20).expect("loaded").expect("a snapshot");
        assert_eq!(at_20.bytes, b"again");
        let in_dir = positions(&files.dir.join("m")).expect("listed");
        assert_eq!(in_dir.len(), 3, "one file per position: {in_dir:?}");
    }

    #[test]
    fn pruning_keeps_the_newest_of_the_name_only() {
        let (_dir, files) = files();
        files.save("other", 1, b"x").expect("saved");
        let kept = u64::try_from(KEPT_PER_NAME).expect("small");
        for position in 1..=kept + 3 {
            files.save("m", position, b"m").expect("saved");
        }
        let mut left = positions(&files.dir.join("m")).expect("listed");
        left.sort_unstable();
        assert_eq!(left, (4..=kept + 3).collect::<Vec<_>>());
        assert_eq!(position_at(&files, "other", u64::MAX), Some(1));
    }

    #[test]
    fn loading_the_newest_reads_no_other_file() {
        let (_dir, files) = files();
        for position in [1_u8, 2, 3] {
            files
                .save("m", u64::from(position), &[position; 64])
                .expect("saved");
        }
        // The older two: one gone, one garbled into a directory (a read of it would fail).
        fs::remove_file(snap_path(&files, "m", 1)).expect("removed");
        fs::remove_file(snap_path(&files, "m", 2)).expect("removed");
        fs::create_dir(snap_path(&files, "m", 2)).expect("a directory in its place");
        let newest = files
            .load("m", u64::MAX)
            .expect("loaded")
            .expect("a snapshot");
        assert_eq!((newest.position, newest.bytes), (3, vec![3; 64]));
    }

    #[test]
    fn a_cut_changed_or_moved_file_is_skipped_for_the_older_one() {
        let (_dir, files) = files();
        for position in [1_u8, 2] {
            files
                .save("m", u64::from(position), &[position; 64])
                .expect("saved");
        }
        let newest = snap_path(&files, "m", 2);
        let whole = fs::read(&newest).expect("read");
        let changed = {
            let mut bytes = whole.clone();
            bytes[3] ^= 0x04;
            bytes
        };
        for (what, bytes) in [
            ("cut", whole[..whole.len() - 1].to_vec()),
            ("cut to less than a checksum", whole[..10].to_vec()),
            ("empty", Vec::new()),
            ("changed", changed),
        ] {
            fs::write(&newest, &bytes).expect("damaged");
            let loaded = files
                .load("m", u64::MAX)
                .expect("loaded")
                .expect("the older one");
            assert_eq!((loaded.position, loaded.bytes), (1, vec![1; 64]), "{what}");
        }
        // Intact bytes under another position's name fail the checksum as well.
        fs::write(&newest, fs::read(snap_path(&files, "m", 1)).expect("read")).expect("moved");
        assert_eq!(position_at(&files, "m", u64::MAX), Some(1));
        fs::write(snap_path(&files, "m", 1), b"").expect("damaged");
        assert_eq!(position_at(&files, "m", u64::MAX), None);
    }

    #[test]
    fn unfinished_temporary_files_are_removed_and_never_loaded() {
        let (_dir, files) = files();
        files.save("m", 1, b"one").expect("saved");
        let temp = files.dir.join("m").join(".00000000000000000002.0.tmp");
        fs::write(&temp, b"half").expect("a killed save's file");
        assert_eq!(position_at(&files, "m", u64::MAX), Some(1));
        files.remove_unfinished().expect("cleaned");
        assert!(!temp.exists());
        assert_eq!(position_at(&files, "m", u64::MAX), Some(1));
    }

    #[test]
    fn names_that_could_leave_the_directory_are_refused() {
        let (dir, files) = files();
        for name in [
            "", ".", "..", "../x", "a/b", "/abs", ".hidden", "a\0b", "a b", "é",
        ] {
            assert!(
                matches!(
                    files.save(name, 1, b"x"),
                    Err(StoreError::InvalidMetadata { .. })
                ),
                "{name:?}"
            );
            assert!(files.load(name, 1).is_err(), "{name:?}");
        }
        assert!(check_name(&"n".repeat(MAX_NAME_BYTES)).is_ok());
        assert!(check_name(&"n".repeat(MAX_NAME_BYTES + 1)).is_err());
        assert!(check_name("read-models.v2_a").is_ok());
        // Nothing was written anywhere.
        assert!(!files.dir.exists());
        assert_eq!(fs::read_dir(dir.path()).expect("listed").count(), 0);
    }
}
