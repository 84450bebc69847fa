//! The snapshot format of [`ReadModels`](crate::ReadModels): framed, chunked, delta-coded.
//!
//! The frames are `itsm_eventstore::frames` (why frames: one codec value of a whole desk's
//! models passes the codec's decode limit at about 100 000 incidents, and a snapshot that does
//! not decode is ignored, so every start would silently replay): small models are one frame,
//! large maps a count followed by frames of at most `chunk` entries, and the audit index's
//! position lists are delta-coded (consecutive positions cost one byte instead of three to
//! five), which also makes snapshots several times smaller and faster to decode.
//!
//! Layout: [`MAGIC`], then a frame with the chunk size, then each model's frames in a fixed
//! order ([`ReadModels::encode_snapshot`](crate::ReadModels::encode_snapshot)). Any defect
//! (bad magic, a truncated frame, a count that does not add up, trailing bytes) is a
//! `CodecError`: the runner treats the snapshot as missing and replays.

use std::ops::{Deref, DerefMut};

use itsm_eventstore::CodecError;
use itsm_eventstore::frames::{FrameReader, FrameWriter};
use serde::de::DeserializeOwned;

/// First bytes of every snapshot (format 2: the queues' horizon was added; a format-1 snapshot
/// is refused and the models replayed once).
pub const MAGIC: &[u8; 8] = b"LDSNAP02";
/// Entries per frame of a chunked sequence (far below the codec's limit for every entry type
/// the models hold).
pub const CHUNK: usize = 65_536;

/// Builds a snapshot: the frames of `itsm_eventstore::frames` after a frame with the chunk size.
#[derive(Debug)]
pub(crate) struct SnapshotWriter(FrameWriter);

impl SnapshotWriter {
    pub(crate) fn new(chunk: usize) -> Result<Self, CodecError> {
        let mut frames = FrameWriter::new(MAGIC, chunk);
        frames.value(&(frames.chunk() as u64))?;
        Ok(SnapshotWriter(frames))
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0.finish()
    }
}

impl Deref for SnapshotWriter {
    type Target = FrameWriter;

    fn deref(&self) -> &FrameWriter {
        &self.0
    }
}

impl DerefMut for SnapshotWriter {
    fn deref_mut(&mut self) -> &mut FrameWriter {
        &mut self.0
    }
}

/// Reads a snapshot written by [`SnapshotWriter`], frame by frame; sequences are read with the
/// chunk size its header names.
#[derive(Debug)]
pub(crate) struct SnapshotReader<'a> {
    frames: FrameReader<'a>,
    chunk: usize,
}

impl<'a> SnapshotReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Result<Self, CodecError> {
        let mut frames = FrameReader::new(bytes, MAGIC, "read-model snapshot")?;
        let chunk: u64 = frames.value()?;
        let chunk = usize::try_from(chunk)
            .ok()
            .filter(|chunk| *chunk > 0)
            .ok_or_else(|| frames.malformed("chunk size"))?;
        Ok(SnapshotReader { frames, chunk })
    }

    /// Fails unless every byte was read.
    pub(crate) fn finish(self) -> Result<(), CodecError> {
        self.frames.finish()
    }

    pub(crate) fn value<T: DeserializeOwned>(&mut self) -> Result<T, CodecError> {
        self.frames.value()
    }

    /// A sequence written by [`FrameWriter::seq`].
    pub(crate) fn seq<T: DeserializeOwned>(&mut self) -> Result<Vec<T>, CodecError> {
        self.frames.seq(self.chunk)
    }

    pub(crate) fn deltas(&mut self) -> Result<Vec<u64>, CodecError> {
        self.frames.deltas(self.chunk)
    }

    pub(crate) fn signed_deltas(&mut self) -> Result<Vec<i64>, CodecError> {
        self.frames.signed_deltas(self.chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_the_chunk_the_sequences_are_read_with() {
        let mut writer = SnapshotWriter::new(3).expect("header encodes");
        let words: Vec<String> = (0..10).map(|n| format!("w{n}")).collect();
        writer.seq(words.len(), words.iter()).expect("encodes");
        writer.deltas(&[5, 6, 7, 100]).expect("encodes");
        let bytes = writer.finish();

        let mut reader = SnapshotReader::new(&bytes).expect("header decodes");
        assert_eq!(reader.seq::<String>().expect("decodes"), words);
        assert_eq!(reader.deltas().expect("decodes"), [5, 6, 7, 100]);
        reader.finish().expect("nothing left over");
    }

    #[test]
    fn another_format_or_a_zero_chunk_is_refused() {
        let bytes = SnapshotWriter::new(2).expect("header encodes").finish();
        let mut other = bytes.clone();
        other[7] = b'9';
        assert!(SnapshotReader::new(&other).is_err(), "wrong magic");
        let mut zero = MAGIC.to_vec();
        zero.extend_from_slice(&1_u64.to_le_bytes());
        zero.push(0);
        assert!(SnapshotReader::new(&zero).is_err(), "chunk size 0");
        assert!(
            SnapshotReader::new(&bytes[..bytes.len() - 1]).is_err(),
            "cut header"
        );
    }
}
