//! The head record: the last durable position and its hash, kept in a small file beside sled.
//!
//! Why it exists: sled 0.34.7 recovers its log by scanning records until the first one whose
//! checksum fails, and treats everything from there on as a torn write. A byte flipped anywhere in
//! the live part of `sled/db` therefore opens as a *shorter* database without any error: the
//! ledger loses its tail and `verify` walks a chain that is consistent, just incomplete. Nothing
//! inside sled can notice, because whatever records the head inside sled is dropped with the
//! tail. So the writer overwrites this record after every flushed batch, and `open` checks that
//! the ledger still contains the position and hash it names.
//!
//! The record is written in place (one 80-byte `pwrite` at offset 0) without its own fsync: it
//! is written only after the flush that made its batch durable returned, so it never names more
//! than the ledger holds, and a record that is stale after a crash (older than the ledger) only
//! protects a shorter prefix, it is never wrong. A record that fails its checksum is reported,
//! not ignored: the file can be removed by an operator who accepts the ledger as it is.
//!
//! Format: `LDHEAD01` (8 bytes), position (u64 big endian), hash (32 bytes), BLAKE3 of the
//! previous 48 bytes (32 bytes).

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
#[cfg(unix)]
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::envelope::Hash;
use crate::error::StoreError;
use crate::ledger::Tip;

/// The file name inside the store directory.
pub(crate) const FILE: &str = "ledger.head";

const MAGIC: &[u8; 8] = b"LDHEAD01";
const LEN: usize = 80;

fn encode(tip: Tip) -> [u8; LEN] {
    let mut out = [0u8; LEN];
    out[..8].copy_from_slice(MAGIC);
    out[8..16].copy_from_slice(&tip.position.to_be_bytes());
    out[16..48].copy_from_slice(&tip.hash.0);
    let check = blake3::hash(&out[..48]);
    out[48..].copy_from_slice(check.as_bytes());
    out
}

fn decode(bytes: &[u8]) -> Option<Tip> {
    let bytes: &[u8; LEN] = bytes.try_into().ok()?;
    if &bytes[..8] != MAGIC || blake3::hash(&bytes[..48]).as_bytes() != &bytes[48..] {
        return None;
    }
    Some(Tip {
        position: u64::from_be_bytes(bytes[8..16].try_into().ok()?),
        hash: Hash(bytes[16..48].try_into().ok()?),
    })
}

/// Reads the record in `dir`: `None` when there is none yet (a new store, or one written before
/// the record existed).
pub(crate) fn read(dir: &Path) -> Result<Option<Tip>, StoreError> {
    let path = dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => decode(&bytes).map(Some).ok_or_else(|| StoreError::Corrupt {
            position: 0,
            reason: format!(
                "the head record {FILE} is damaged ({} bytes, checksum or format wrong); \
                 remove it only to accept the ledger as it now is",
                bytes.len()
            ),
        }),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::storage(&e)),
    }
}

/// The writer's handle on the record.
pub(crate) struct HeadRecord {
    file: File,
}

impl HeadRecord {
    pub(crate) fn open(dir: &Path) -> Result<Self, StoreError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(FILE))
            .map_err(|e| StoreError::storage(&e))?;
        Ok(HeadRecord { file })
    }

    /// Records `tip`, which must be durable already. A failure leaves the older record, which is
    /// still true (it names a prefix of the ledger), so the caller may go on.
    pub(crate) fn store(&self, tip: Tip) -> Result<(), StoreError> {
        let bytes = encode(tip);
        #[cfg(unix)]
        let written = self.file.write_all_at(&bytes, 0);
        #[cfg(not(unix))]
        let written = {
            use std::io::{Seek, SeekFrom, Write};
            let mut file = &self.file;
            file.seek(SeekFrom::Start(0))
                .and_then(|_| file.write_all(&bytes))
        };
        written.map_err(|e| StoreError::storage(&e))
    }
}

/// Checks on open that the ledger still holds what the record names. `last` is the position of
/// the last event key sled recovered; `hash_at` gives the stored hash at a position (`None`
/// when the envelope there does not decode: that is the open-but-refuse-appends case, reported
/// by `verify`, not here).
pub(crate) fn check(
    record: Tip,
    last: u64,
    hash_at: impl FnOnce(u64) -> Result<Option<Hash>, StoreError>,
) -> Result<(), StoreError> {
    if record.position == 0 {
        return Ok(());
    }
    if last < record.position {
        return Err(StoreError::Corrupt {
            position: last + 1,
            reason: format!(
                "the ledger ends at position {last}, but its head record says position {} \
                 (hash {}) was durable: events {}..={} are missing (the storage engine \
                 dropped the end of its log, which it does at a damaged record)",
                record.position,
                record.hash,
                last + 1,
                record.position
            ),
        });
    }
    match hash_at(record.position)? {
        Some(hash) if hash != record.hash => Err(StoreError::Corrupt {
            position: record.position,
            reason: format!(
                "the event at position {} has hash {hash}, but the head record says {}",
                record.position, record.hash
            ),
        }),
        Some(_) | None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tip(position: u64, byte: u8) -> Tip {
        Tip {
            position,
            hash: Hash([byte; 32]),
        }
    }

    #[test]
    fn a_record_round_trips_and_any_flipped_bit_is_refused() {
        let bytes = encode(tip(42, 7));
        assert_eq!(decode(&bytes), Some(tip(42, 7)));
        for i in 0..LEN {
            for bit in 0..8 {
                let mut damaged = bytes;
                damaged[i] ^= 1 << bit;
                assert_eq!(decode(&damaged), None, "byte {i} bit {bit}");
            }
        }
        assert_eq!(decode(&bytes[..LEN - 1]), None);
        assert_eq!(decode(&[]), None);
    }

    #[test]
    fn the_record_is_rewritten_in_place_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        let record = HeadRecord::open(dir.path()).unwrap();
        record.store(tip(1, 1)).unwrap();
        record.store(tip(900, 2)).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(tip(900, 2)));
        std::fs::write(dir.path().join(FILE), b"garbage").unwrap();
        assert!(matches!(
            read(dir.path()),
            Err(StoreError::Corrupt { position: 0, .. })
        ));
    }

    #[test]
    fn a_ledger_shorter_than_its_record_is_refused_at_the_first_missing_position() {
        let unused = |_| panic!("no lookup needed");
        assert!(matches!(
            check(tip(10, 1), 7, unused),
            Err(StoreError::Corrupt { position: 8, .. })
        ));
        assert!(matches!(
            check(tip(10, 1), 12, |_| Ok(Some(Hash([2; 32])))),
            Err(StoreError::Corrupt { position: 10, .. })
        ));
        assert_eq!(check(tip(10, 1), 12, |_| Ok(Some(Hash([1; 32])))), Ok(()));
        assert_eq!(check(tip(10, 1), 10, |_| Ok(None)), Ok(()));
        assert_eq!(check(tip(0, 0), 0, unused), Ok(()));
    }
}
