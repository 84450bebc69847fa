//! The snapshot format of [`ReadModels`](crate::ReadModels): framed, chunked, delta-coded.
//!
//! Why not one `codec::encode` of the whole models: the codec refuses to decode more than
//! `itsm_eventstore::codec::DECODE_LIMIT` (64 MiB) of claimed memory in one call, which a desk
//! passes at about 100 000 incidents (a snapshot that does not decode is ignored, so every
//! start silently became a full replay). So a snapshot is a sequence of **frames** (`u64` little
//! endian length + one codec value), each far below the limit: small models are one frame,
//! large maps are a count followed by frames of at most `chunk` entries, and the audit index's
//! position lists are delta-coded (consecutive positions cost one byte instead of three to
//! five), which also makes snapshots several times smaller and faster to decode.
//!
//! Layout: [`MAGIC`], then a frame with the chunk size, then each model's frames in a fixed
//! order ([`ReadModels::encode_snapshot`](crate::ReadModels::encode_snapshot)). Any defect
//! (bad magic, a truncated frame, a count that does not add up, trailing bytes) is a
//! `CodecError`: the runner treats the snapshot as missing and replays.

use itsm_eventstore::{CodecError, codec};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// First bytes of every snapshot (format 2: the queues' horizon was added; a format-1 snapshot
/// is refused and the models replayed once).
pub const MAGIC: &[u8; 8] = b"LDSNAP02";
/// Entries per frame of a chunked sequence (far below the codec's limit for every entry type
/// the models hold).
pub const CHUNK: usize = 65_536;

fn malformed(what: &str) -> CodecError {
    CodecError::Decode(format!("snapshot: {what}"))
}

/// Builds a snapshot.
#[derive(Debug)]
pub(crate) struct SnapshotWriter {
    out: Vec<u8>,
    chunk: usize,
}

impl SnapshotWriter {
    pub(crate) fn new(chunk: usize) -> Result<Self, CodecError> {
        let mut writer = SnapshotWriter {
            out: MAGIC.to_vec(),
            chunk: chunk.max(1),
        };
        writer.value(&(writer.chunk as u64))?;
        Ok(writer)
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.out
    }

    /// One frame holding `value`.
    pub(crate) fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        let start = self.out.len();
        self.out.extend_from_slice(&[0; 8]);
        codec::encode_into(value, &mut self.out)?;
        let len = (self.out.len() - start - 8) as u64;
        self.out[start..start + 8].copy_from_slice(&len.to_le_bytes());
        Ok(())
    }

    /// A sequence of `len` items: a frame with the count, then frames of at most `chunk` items.
    pub(crate) fn seq<T: Serialize>(
        &mut self,
        len: usize,
        items: impl IntoIterator<Item = T>,
    ) -> Result<(), CodecError> {
        self.value(&(len as u64))?;
        let mut written = 0;
        let mut frame = Vec::with_capacity(self.chunk.min(len));
        for item in items {
            frame.push(item);
            if frame.len() == self.chunk {
                written += frame.len();
                self.value(&frame)?;
                frame.clear();
            }
        }
        written += frame.len();
        if !frame.is_empty() {
            self.value(&frame)?;
        }
        if written == len {
            Ok(())
        } else {
            Err(CodecError::Encode(format!(
                "snapshot: a sequence announced {len} items and had {written}"
            )))
        }
    }

    /// `u64`s as a chunked sequence of wrapping deltas from the previous value (from 0).
    pub(crate) fn deltas(&mut self, values: &[u64]) -> Result<(), CodecError> {
        let mut previous = 0_u64;
        self.seq(
            values.len(),
            values.iter().map(|value| {
                let delta = value.wrapping_sub(previous);
                previous = *value;
                delta
            }),
        )
    }

    /// `i64`s as a chunked sequence of wrapping deltas (the codec zig-zags small negatives).
    pub(crate) fn signed_deltas(&mut self, values: &[i64]) -> Result<(), CodecError> {
        let mut previous = 0_i64;
        self.seq(
            values.len(),
            values.iter().map(|value| {
                let delta = value.wrapping_sub(previous);
                previous = *value;
                delta
            }),
        )
    }
}

/// Reads a snapshot written by [`SnapshotWriter`], frame by frame.
#[derive(Debug)]
pub(crate) struct SnapshotReader<'a> {
    rest: &'a [u8],
}

impl<'a> SnapshotReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Result<Self, CodecError> {
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| malformed("not a read-model snapshot (magic)"))?;
        let mut reader = SnapshotReader { rest };
        let chunk: u64 = reader.value()?;
        if chunk == 0 {
            return Err(malformed("chunk size 0"));
        }
        Ok(reader)
    }

    /// Fails unless every byte was read.
    pub(crate) fn finish(self) -> Result<(), CodecError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(CodecError::TrailingBytes {
                trailing: self.rest.len(),
            })
        }
    }

    fn frame(&mut self) -> Result<&'a [u8], CodecError> {
        let (len, rest) = self
            .rest
            .split_first_chunk::<8>()
            .ok_or_else(|| malformed("truncated frame length"))?;
        let len = usize::try_from(u64::from_le_bytes(*len))
            .map_err(|_| malformed("frame length overflows"))?;
        if len > rest.len() {
            return Err(malformed("truncated frame"));
        }
        let (frame, rest) = rest.split_at(len);
        self.rest = rest;
        Ok(frame)
    }

    pub(crate) fn value<T: DeserializeOwned>(&mut self) -> Result<T, CodecError> {
        codec::decode(self.frame()?)
    }

    /// A sequence written by [`SnapshotWriter::seq`].
    pub(crate) fn seq<T: DeserializeOwned>(&mut self) -> Result<Vec<T>, CodecError> {
        let len: u64 = self.value()?;
        let len = usize::try_from(len).map_err(|_| malformed("sequence length overflows"))?;
        // Never trust a claimed length for an allocation: grow with what actually decodes.
        let mut items = Vec::with_capacity(len.min(CHUNK));
        while items.len() < len {
            let mut frame: Vec<T> = self.value()?;
            if frame.is_empty() || items.len() + frame.len() > len {
                return Err(malformed("a sequence's frames do not add up to its count"));
            }
            items.append(&mut frame);
        }
        Ok(items)
    }

    pub(crate) fn deltas(&mut self) -> Result<Vec<u64>, CodecError> {
        let mut values: Vec<u64> = self.seq()?;
        let mut previous = 0_u64;
        for value in &mut values {
            previous = previous.wrapping_add(*value);
            *value = previous;
        }
        Ok(values)
    }

    pub(crate) fn signed_deltas(&mut self) -> Result<Vec<i64>, CodecError> {
        let mut values: Vec<i64> = self.seq()?;
        let mut previous = 0_i64;
        for value in &mut values {
            previous = previous.wrapping_add(*value);
            *value = previous;
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_sequences_and_deltas_round_trip_across_frames() {
        let mut writer = SnapshotWriter::new(3).expect("header encodes");
        let words: Vec<String> = (0..10).map(|n| format!("w{n}")).collect();
        writer.seq(words.len(), words.iter()).expect("encodes");
        writer
            .deltas(&[5, 6, 7, 100, 3, u64::MAX])
            .expect("encodes");
        writer
            .signed_deltas(&[-4, 10, i64::MIN, i64::MAX])
            .expect("encodes");
        writer.seq::<u8>(0, []).expect("an empty sequence encodes");
        let bytes = writer.finish();

        let mut reader = SnapshotReader::new(&bytes).expect("header decodes");
        assert_eq!(reader.seq::<String>().expect("decodes"), words);
        assert_eq!(
            reader.deltas().expect("decodes"),
            [5, 6, 7, 100, 3, u64::MAX]
        );
        assert_eq!(
            reader.signed_deltas().expect("decodes"),
            [-4, 10, i64::MIN, i64::MAX]
        );
        assert!(reader.seq::<u8>().expect("decodes").is_empty());
        reader.finish().expect("nothing left over");
    }

    #[test]
    fn a_sequence_must_hold_the_items_it_announces() {
        let mut writer = SnapshotWriter::new(4).expect("header encodes");
        assert!(
            writer.seq(3, [1_u8, 2]).is_err(),
            "fewer items than announced"
        );
    }

    #[test]
    fn damaged_snapshots_are_errors_not_panics() {
        let mut writer = SnapshotWriter::new(2).expect("header encodes");
        writer.seq(5, 0_u32..5).expect("encodes");
        let bytes = writer.finish();
        for cut in 0..bytes.len() {
            let outcome = SnapshotReader::new(&bytes[..cut]).and_then(|mut reader| {
                let items = reader.seq::<u32>()?;
                reader.finish().map(|()| items)
            });
            assert!(outcome.is_err(), "a snapshot cut at {cut} is refused");
        }
        assert!(SnapshotReader::new(b"LDSNAP99").is_err(), "wrong magic");
        let mut long = bytes.clone();
        long.push(0);
        let mut reader = SnapshotReader::new(&long).expect("header decodes");
        reader.seq::<u32>().expect("items decode");
        assert!(reader.finish().is_err(), "trailing bytes are refused");
    }
}
