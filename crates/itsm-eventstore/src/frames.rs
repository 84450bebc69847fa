//! Framed codec values: the container format of read-model snapshots and process-manager
//! checkpoints.
//!
//! Why frames: [`codec::decode`] refuses more than [`codec::DECODE_LIMIT`] of claimed memory
//! in one call, which one value holding a whole desk's state passes at about 100 000 incidents.
//! So a snapshot is a magic (8 bytes naming its format and version), then a sequence of
//! **frames**: a `u64` little-endian length and one codec value. A long sequence is a frame with
//! its count followed by frames of at most `chunk` items, each far below the limit. Sorted
//! integers can be delta-coded (consecutive positions cost one byte instead of three to five).
//!
//! Any defect (other magic, a truncated frame, a count that does not add up, trailing bytes) is a
//! [`CodecError`] naming what was being read, never a panic; a claimed count never sizes an
//! allocation beyond one chunk.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{self, CodecError};

/// Most items a sequence's vector is sized for before they decode.
const PREALLOCATED_ITEMS: usize = 65_536;

/// Builds framed bytes.
#[derive(Debug)]
pub struct FrameWriter {
    out: Vec<u8>,
    chunk: usize,
}

impl FrameWriter {
    /// Starts with `magic`; sequences are cut into frames of at most `chunk` items.
    pub fn new(magic: &[u8; 8], chunk: usize) -> Self {
        FrameWriter {
            out: magic.to_vec(),
            chunk: chunk.max(1),
        }
    }

    /// Items per frame of a sequence.
    pub fn chunk(&self) -> usize {
        self.chunk
    }

    /// The bytes written.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }

    /// One frame holding `value`.
    pub fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        let start = self.out.len();
        self.out.extend_from_slice(&[0; 8]);
        codec::encode_into(value, &mut self.out)?;
        let len = (self.out.len() - start - 8) as u64;
        self.out[start..start + 8].copy_from_slice(&len.to_le_bytes());
        Ok(())
    }

    /// A sequence of `len` items: a frame with the count, then frames of at most `chunk` items.
    /// Fails if `items` does not hold exactly `len` items.
    pub fn seq<T: Serialize>(
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
                "a sequence announced {len} items and had {written}"
            )))
        }
    }

    /// `u64`s as a sequence of wrapping deltas from the previous value (from 0).
    pub fn deltas(&mut self, values: &[u64]) -> Result<(), CodecError> {
        self.seq(values.len(), delta_coded(values))
    }

    /// `i64`s as a sequence of wrapping deltas (the codec zig-zags small negatives).
    pub fn signed_deltas(&mut self, values: &[i64]) -> Result<(), CodecError> {
        self.seq(values.len(), delta_coded(values))
    }
}

/// An integer that can be delta-coded: wrapping differences, so any sequence round-trips.
trait Delta: Copy + Default {
    fn minus(self, previous: Self) -> Self;
    fn plus(self, previous: Self) -> Self;
}

/// The same wrapping arithmetic for both integer types.
macro_rules! wrapping_delta {
    ($($int:ty),*) => {$(
        impl Delta for $int {
            fn minus(self, previous: Self) -> Self {
                self.wrapping_sub(previous)
            }

            fn plus(self, previous: Self) -> Self {
                self.wrapping_add(previous)
            }
        }
    )*};
}

wrapping_delta!(u64, i64);

/// Each value minus the one before it (the first minus zero).
fn delta_coded<T: Delta>(values: &[T]) -> impl Iterator<Item = T> + '_ {
    let mut previous = T::default();
    values.iter().map(move |value| {
        let delta = value.minus(previous);
        previous = *value;
        delta
    })
}

/// Undoes [`delta_coded`] in place.
fn delta_decoded<T: Delta>(values: &mut [T]) {
    let mut previous = T::default();
    for value in values {
        previous = value.plus(previous);
        *value = previous;
    }
}

/// Reads what a [`FrameWriter`] wrote, frame by frame.
#[derive(Debug)]
pub struct FrameReader<'a> {
    rest: &'a [u8],
    /// What is being read, for error messages ("snapshot", "process checkpoint").
    what: &'static str,
}

impl<'a> FrameReader<'a> {
    /// Checks the magic; `what` names the format in error messages.
    pub fn new(bytes: &'a [u8], magic: &[u8; 8], what: &'static str) -> Result<Self, CodecError> {
        let rest = bytes
            .strip_prefix(magic.as_slice())
            .ok_or_else(|| CodecError::Decode(format!("{what}: other format (magic)")))?;
        Ok(FrameReader { rest, what })
    }

    /// A decode error about this format.
    pub fn malformed(&self, detail: &str) -> CodecError {
        CodecError::Decode(format!("{}: {detail}", self.what))
    }

    /// Fails unless every byte was read.
    pub fn finish(self) -> Result<(), CodecError> {
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
            .ok_or_else(|| self.malformed("truncated frame length"))?;
        let len = usize::try_from(u64::from_le_bytes(*len))
            .map_err(|_| self.malformed("frame length overflows"))?;
        if len > rest.len() {
            return Err(self.malformed("truncated frame"));
        }
        let (frame, rest) = rest.split_at(len);
        self.rest = rest;
        Ok(frame)
    }

    /// The next frame's value.
    pub fn value<T: DeserializeOwned>(&mut self) -> Result<T, CodecError> {
        codec::decode(self.frame()?)
    }

    /// A sequence written by [`FrameWriter::seq`]; no frame may hold more than `chunk` items.
    pub fn seq<T: DeserializeOwned>(&mut self, chunk: usize) -> Result<Vec<T>, CodecError> {
        let len: u64 = self.value()?;
        let len = usize::try_from(len).map_err(|_| self.malformed("sequence length overflows"))?;
        // Never trust a claimed length (or chunk) for an allocation: grow with what decodes.
        let mut items = Vec::with_capacity(len.min(chunk).min(PREALLOCATED_ITEMS));
        while items.len() < len {
            let mut frame: Vec<T> = self.value()?;
            if frame.is_empty() || frame.len() > chunk || items.len() + frame.len() > len {
                return Err(self.malformed("a sequence's frames do not add up to its count"));
            }
            items.append(&mut frame);
        }
        Ok(items)
    }

    /// `u64`s written by [`FrameWriter::deltas`].
    pub fn deltas(&mut self, chunk: usize) -> Result<Vec<u64>, CodecError> {
        let mut values = self.seq(chunk)?;
        delta_decoded(&mut values);
        Ok(values)
    }

    /// `i64`s written by [`FrameWriter::signed_deltas`].
    pub fn signed_deltas(&mut self, chunk: usize) -> Result<Vec<i64>, CodecError> {
        let mut values = self.seq(chunk)?;
        delta_decoded(&mut values);
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: &[u8; 8] = b"TESTFR01";

    #[test]
    fn chunked_sequences_and_deltas_round_trip_across_frames() {
        let mut writer = FrameWriter::new(MAGIC, 3);
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

        let mut reader = FrameReader::new(&bytes, MAGIC, "test").expect("magic");
        assert_eq!(reader.seq::<String>(3).expect("decodes"), words);
        assert_eq!(
            reader.deltas(3).expect("decodes"),
            [5, 6, 7, 100, 3, u64::MAX]
        );
        assert_eq!(
            reader.signed_deltas(3).expect("decodes"),
            [-4, 10, i64::MIN, i64::MAX]
        );
        assert!(reader.seq::<u8>(3).expect("decodes").is_empty());
        reader.finish().expect("nothing left over");
    }

    #[test]
    fn a_sequence_must_hold_the_items_it_announces() {
        let mut writer = FrameWriter::new(MAGIC, 4);
        assert!(
            writer.seq(3, [1_u8, 2]).is_err(),
            "fewer items than announced"
        );
    }

    #[test]
    fn a_frame_larger_than_the_chunk_is_refused() {
        let mut writer = FrameWriter::new(MAGIC, 8);
        writer.seq(8, 0_u32..8).expect("encodes");
        let bytes = writer.finish();
        let mut reader = FrameReader::new(&bytes, MAGIC, "test").expect("magic");
        assert!(
            reader.seq::<u32>(4).is_err(),
            "8 items in a frame of at most 4"
        );
    }

    #[test]
    fn damaged_bytes_are_errors_not_panics() {
        let mut writer = FrameWriter::new(MAGIC, 2);
        writer.seq(5, 0_u32..5).expect("encodes");
        let bytes = writer.finish();
        for cut in 0..bytes.len() {
            let outcome = FrameReader::new(&bytes[..cut], MAGIC, "test").and_then(|mut reader| {
                let items = reader.seq::<u32>(2)?;
                reader.finish().map(|()| items)
            });
            assert!(outcome.is_err(), "bytes cut at {cut} are refused");
        }
        assert!(
            FrameReader::new(&bytes, b"TESTFR99", "test").is_err(),
            "other magic"
        );
        let mut long = bytes.clone();
        long.push(0);
        let mut reader = FrameReader::new(&long, MAGIC, "test").expect("magic");
        assert_eq!(reader.seq::<u32>(2).expect("decodes"), [0, 1, 2, 3, 4]);
        assert!(reader.finish().is_err(), "a trailing byte is refused");
    }
}
