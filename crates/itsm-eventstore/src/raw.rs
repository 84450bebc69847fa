//! Direct edits of a closed store's sled tree in the current key layout (see `keys`), for the
//! damage tests and for tools that examine a ledger on disk. Never call these on a tree a
//! [`crate::SledStore`] has open: they bypass the writer, the chain and the head record, which
//! is the point of a damage test.

use std::path::Path;

use crate::chunk;
use crate::envelope::StreamId;
use crate::error::StoreError;
use crate::keys;

/// The sled tree of the closed store in the store directory `dir` (the one
/// [`crate::SledStore::open`] takes), opened the way the store opens it: waiting a moment for the
/// lock a just-dropped store's threads may still hold.
pub fn open_tree(dir: &Path) -> Result<sled::Db, StoreError> {
    crate::sled_store::open_raw_tree(dir)
}

/// A chunk's first position and its frames, as owned byte strings.
type Chunk = (u64, Vec<Vec<u8>>);

/// The chunk holding `position`.
fn chunk_holding(db: &sled::Db, position: u64) -> Result<Option<Chunk>, StoreError> {
    let Some(entry) = db.range(..=keys::event(position)).next_back() else {
        return Ok(None);
    };
    let (key, value) = entry.map_err(|e| StoreError::storage(&e))?;
    let Some(first) = keys::event_position(&key) else {
        return Ok(None);
    };
    let frames = chunk::frames(first, &value)
        .map(|frame| frame.map(|(_, bytes)| bytes.to_vec()))
        .collect::<Result<Vec<_>, _>>()?;
    let holds = position - first < frames.len() as u64;
    Ok(holds.then_some((first, frames)))
}

fn write_chunk(batch: &mut sled::Batch, first: u64, frames: &[Vec<u8>]) {
    if frames.is_empty() {
        return;
    }
    let mut value = Vec::new();
    for frame in frames {
        let length = u32::try_from(frame.len()).expect("a frame under 4 GiB");
        value.extend_from_slice(&length.to_be_bytes());
        value.extend_from_slice(frame);
    }
    batch.insert(&keys::event(first), value);
}

fn missing(position: u64) -> StoreError {
    StoreError::Corrupt {
        position,
        reason: "no chunk holds this position".to_owned(),
    }
}

/// Calls `each` with the position and stored bytes of every envelope, in order, without
/// decoding them (the least a read of the whole log can cost); returns how many there were.
pub fn for_each_stored(db: &sled::Db, mut each: impl FnMut(u64, &[u8])) -> Result<u64, StoreError> {
    let mut count = 0;
    for entry in db.scan_prefix(keys::EVENT_PREFIX) {
        let (key, value) = entry.map_err(|e| StoreError::storage(&e))?;
        let first = keys::event_position(&key).ok_or_else(|| missing(0))?;
        for frame in chunk::frames(first, &value) {
            let (position, bytes) = frame?;
            each(position, bytes);
            count += 1;
        }
    }
    Ok(count)
}

/// The stored bytes of the envelope at `position`.
pub fn envelope_bytes(db: &sled::Db, position: u64) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(chunk_holding(db, position)?.map(|(first, mut frames)| {
        frames.swap_remove(usize::try_from(position - first).expect("a frame index"))
    }))
}

/// Replaces the stored bytes of the envelope at `position` (which must exist) by `bytes`.
pub fn set_envelope_bytes(db: &sled::Db, position: u64, bytes: &[u8]) -> Result<(), StoreError> {
    let (first, mut frames) = chunk_holding(db, position)?.ok_or_else(|| missing(position))?;
    frames[usize::try_from(position - first).expect("a frame index")] = bytes.to_vec();
    let mut batch = sled::Batch::default();
    write_chunk(&mut batch, first, &frames);
    db.apply_batch(batch).map_err(|e| StoreError::storage(&e))
}

/// Removes the envelope at `position` (which must exist): its chunk becomes the chunks before
/// and after it, so every other envelope keeps its position.
pub fn remove_envelope(db: &sled::Db, position: u64) -> Result<(), StoreError> {
    let (first, frames) = chunk_holding(db, position)?.ok_or_else(|| missing(position))?;
    let at = usize::try_from(position - first).expect("a frame index");
    let mut batch = sled::Batch::default();
    batch.remove(&keys::event(first));
    write_chunk(&mut batch, first, &frames[..at]);
    write_chunk(&mut batch, position + 1, &frames[at + 1..]);
    db.apply_batch(batch).map_err(|e| StoreError::storage(&e))
}

/// The index entry holding `version` of `stream`: its key, first version and positions.
fn index_run(
    db: &sled::Db,
    stream: &StreamId,
    version: u64,
) -> Result<Option<(sled::IVec, u64, Vec<u64>)>, StoreError> {
    let prefix = keys::stream_prefix(stream);
    let Some(entry) = db
        .range(prefix.as_slice()..=keys::stream(stream, version).as_slice())
        .next_back()
    else {
        return Ok(None);
    };
    let (key, value) = entry.map_err(|e| StoreError::storage(&e))?;
    let malformed = || StoreError::Corrupt {
        position: 0,
        reason: format!("index entry {key:?} is malformed"),
    };
    let first = keys::version_suffix(&key).ok_or_else(malformed)?;
    let positions: Vec<u64> = keys::positions(&value).ok_or_else(malformed)?.collect();
    let holds = version - first < positions.len() as u64;
    Ok(holds.then_some((key, first, positions)))
}

fn write_run(batch: &mut sled::Batch, stream: &StreamId, first: u64, positions: &[u64]) {
    if !positions.is_empty() {
        let value: Vec<u8> = positions.iter().flat_map(|p| p.to_be_bytes()).collect();
        batch.insert(keys::stream(stream, first), value);
    }
}

/// Makes the stream index say that `version` of `stream` is at `position`.
pub fn set_index_entry(
    db: &sled::Db,
    stream: &StreamId,
    version: u64,
    position: u64,
) -> Result<(), StoreError> {
    let mut batch = sled::Batch::default();
    match index_run(db, stream, version)? {
        Some((_, first, mut positions)) => {
            positions[usize::try_from(version - first).expect("a run index")] = position;
            write_run(&mut batch, stream, first, &positions);
        }
        None => write_run(&mut batch, stream, version, &[position]),
    }
    db.apply_batch(batch).map_err(|e| StoreError::storage(&e))
}

/// Removes the stream index entry of `version` of `stream` (which must exist), keeping the
/// others.
pub fn remove_index_entry(
    db: &sled::Db,
    stream: &StreamId,
    version: u64,
) -> Result<(), StoreError> {
    let (key, first, positions) =
        index_run(db, stream, version)?.ok_or_else(|| StoreError::Corrupt {
            position: 0,
            reason: format!("no index entry holds {stream} v{version}"),
        })?;
    let at = usize::try_from(version - first).expect("a run index");
    let mut batch = sled::Batch::default();
    batch.remove(key);
    write_run(&mut batch, stream, first, &positions[..at]);
    write_run(&mut batch, stream, version + 1, &positions[at + 1..]);
    db.apply_batch(batch).map_err(|e| StoreError::storage(&e))
}
