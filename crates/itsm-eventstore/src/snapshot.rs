//! Snapshots of read models: opaque bytes saved at a ledger position, kept beside the ledger.
//!
//! The projection runner saves its read models here every so often and, at startup, resumes
//! from the newest snapshot instead of replaying the whole ledger; as-of queries start from the
//! newest snapshot at or below the position asked for. A snapshot is a cache, never the truth:
//! losing one only costs replay time, so saving one does not flush (the ledger's next group
//! commit flushes it along).

use std::future::Future;

use crate::error::StoreError;

/// Most snapshots kept per name; older ones are pruned when a new one is saved.
pub const KEPT_PER_NAME: usize = 32;

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

/// Snapshot names are short identifiers; the 0 byte separates them from the position.
pub(crate) fn check_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name.len() > 128 || name.contains('\0') {
        return Err(StoreError::InvalidMetadata {
            reason: "a snapshot name must be 1 to 128 bytes without NUL",
        });
    }
    Ok(())
}
