//! Chunks: the values of format 2's `E/{first position}` keys (see [`crate::keys`]).
//!
//! A chunk holds consecutive envelopes as frames, `[length: u32 big endian][stored envelope]`,
//! the first at the key's position and each next one a position later. The frames must fill the
//! chunk exactly: a length that runs past its end, or a chunk that is empty, is corrupt at the
//! frame's position. Each envelope still carries its own position and hash, which readers check
//! (`decode_checked`), so a frame that is lost or doubled inside a chunk is refused, not served
//! under another position.

use crate::envelope::{Envelope, encode_stored_into};
use crate::error::StoreError;
use crate::keys;

/// The most bytes of a chunk: an envelope that would take a chunk past it starts the next one
/// (an envelope larger than this is a chunk of its own).
///
/// Why 7 KiB: sled 0.34.7 splits a leaf past 16 entries whatever their size and writes a leaf
/// of more than a quarter segment (512 KiB / 4, less headers) as a separate blob file. Its page
/// cache charges a blob page by the pointer it logs, not by its size, so blob leaves are never
/// paged out: with 64 KiB chunks a `verify` of 14.5 M events at 1M incidents grew to 6.8 GB
/// RSS with a 32 MiB cache. 17 chunks of 7 KiB stay under a quarter segment. In a raw-sled probe
/// of `logIncident`-shaped writes (three 1 200-byte envelopes, 64 per flush), 7 KiB chunks wrote
/// 33 500 mutations/s against 17 100 with one key per envelope (64 KiB chunks: 39 100).
pub(crate) const CHUNK_BYTES: usize = 7 * 1024;

const LENGTH_BYTES: usize = 4;

/// The frames of the chunk at `first`: `(position, stored envelope bytes)`. A malformed frame
/// is yielded as `Corrupt` at its position and ends the walk.
pub(crate) fn frames(first: u64, chunk: &[u8]) -> Frames<'_> {
    Frames {
        position: first,
        rest: chunk,
        started: false,
    }
}

pub(crate) struct Frames<'a> {
    position: u64,
    rest: &'a [u8],
    started: bool,
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<(u64, &'a [u8]), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() && self.started {
            return None;
        }
        self.started = true;
        let position = self.position;
        let framed = self
            .rest
            .split_first_chunk::<LENGTH_BYTES>()
            .and_then(|(length, tail)| {
                let length = usize::try_from(u32::from_be_bytes(*length)).ok()?;
                (length > 0 && length <= tail.len()).then(|| tail.split_at(length))
            });
        if let Some((bytes, rest)) = framed {
            self.rest = rest;
            self.position += 1;
            return Some(Ok((position, bytes)));
        }
        self.rest = &[];
        Some(Err(StoreError::Corrupt {
            position,
            reason: "the chunk holding this position is malformed".to_owned(),
        }))
    }
}

/// The stored bytes of `position` in the chunk at `first`; `None` when the chunk ends before it.
pub(crate) fn frame_at(
    first: u64,
    chunk: &[u8],
    position: u64,
) -> Result<Option<&[u8]>, StoreError> {
    if position < first {
        return Ok(None);
    }
    for frame in frames(first, chunk) {
        let (at, bytes) = frame?;
        if at == position {
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}

/// The last position of the chunk at `first`.
pub(crate) fn last_position(first: u64, chunk: &[u8]) -> Result<u64, StoreError> {
    let mut last = first;
    for frame in frames(first, chunk) {
        last = frame?.0;
    }
    Ok(last)
}

/// Builds the `E/` and `S/` entries of consecutive envelopes into a sled batch: chunks of up to
/// [`CHUNK_BYTES`], and one stream key per run of one stream's consecutive versions.
#[derive(Default)]
pub(crate) struct ChunkWriter {
    chunk: Vec<u8>,
    first: u64,
    next: u64,
    run: Option<Run>,
    key: Vec<u8>,
}

/// Consecutive versions of one stream, waiting for their `S/` key.
struct Run {
    stream: crate::envelope::StreamId,
    first_version: u64,
    next_version: u64,
    positions: Vec<u8>,
}

impl ChunkWriter {
    /// Adds the next envelope; its position must follow the previous one's.
    pub(crate) fn push(
        &mut self,
        batch: &mut sled::Batch,
        env: &Envelope,
    ) -> Result<(), StoreError> {
        self.push_stored(batch, env.position, |out| encode_stored_into(env, out))?;
        self.index(batch, env);
        Ok(())
    }

    /// Adds the stored bytes of the envelope at `position` as they are (the upgrade copies
    /// format-1 envelopes byte for byte). A position that does not follow the previous one
    /// starts a new chunk, so a gap stays a gap.
    pub(crate) fn push_bytes(
        &mut self,
        batch: &mut sled::Batch,
        position: u64,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        self.push_stored(batch, position, |out| {
            out.extend_from_slice(bytes);
            Ok(())
        })
    }

    fn push_stored(
        &mut self,
        batch: &mut sled::Batch,
        position: u64,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if !self.chunk.is_empty() && position != self.next {
            self.close_chunk(batch);
        }
        let start = self.chunk.len();
        self.chunk.extend_from_slice(&[0; LENGTH_BYTES]);
        let framed = encode(&mut self.chunk).and_then(|()| {
            u32::try_from(self.chunk.len() - start - LENGTH_BYTES).map_err(|_| {
                StoreError::Corrupt {
                    position,
                    reason: "an envelope of 4 GiB or more cannot be framed".to_owned(),
                }
            })
        });
        let length = match framed {
            Ok(length) => length,
            Err(e) => {
                self.chunk.truncate(start);
                return Err(e);
            }
        };
        self.chunk[start..start + LENGTH_BYTES].copy_from_slice(&length.to_be_bytes());
        let frame_bytes = self.chunk.len() - start;
        if start > 0 && self.chunk.len() > CHUNK_BYTES {
            // The frame does not fit: the chunk closes without it, and it opens the next one.
            let frame = self.chunk.split_off(start);
            self.close_chunk(batch);
            self.chunk = frame;
        }
        if self.chunk.len() == frame_bytes {
            self.first = position;
        }
        self.next = position + 1;
        Ok(())
    }

    fn close_chunk(&mut self, batch: &mut sled::Batch) {
        if !self.chunk.is_empty() {
            batch.insert(&keys::event(self.first), std::mem::take(&mut self.chunk));
        }
    }

    fn index(&mut self, batch: &mut sled::Batch, env: &Envelope) {
        let continues = self
            .run
            .as_ref()
            .is_some_and(|run| run.stream == env.stream_id && run.next_version == env.version);
        if !continues {
            self.close_run(batch);
            self.run = Some(Run {
                stream: env.stream_id.clone(),
                first_version: env.version,
                next_version: env.version,
                positions: Vec::new(),
            });
        }
        let run = self.run.as_mut().expect("a run was just started");
        run.positions.extend_from_slice(&env.position.to_be_bytes());
        run.next_version += 1;
    }

    fn close_run(&mut self, batch: &mut sled::Batch) {
        if let Some(run) = self.run.take() {
            keys::stream_into(&run.stream, run.first_version, &mut self.key);
            batch.insert(self.key.as_slice(), run.positions);
        }
    }

    /// Puts what is still open into the batch.
    pub(crate) fn finish(&mut self, batch: &mut sled::Batch) {
        self.close_chunk(batch);
        self.close_run(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payloads: &[&[u8]]) -> Vec<u8> {
        let mut chunk = Vec::new();
        for p in payloads {
            chunk.extend_from_slice(&u32::try_from(p.len()).unwrap().to_be_bytes());
            chunk.extend_from_slice(p);
        }
        chunk
    }

    #[test]
    fn frames_are_numbered_from_the_key_position() {
        let chunk = framed(&[b"ab", b"c", b"def"]);
        let got: Vec<(u64, &[u8])> = frames(7, &chunk).map(Result::unwrap).collect();
        assert_eq!(got, vec![(7, &b"ab"[..]), (8, b"c"), (9, b"def")]);
        assert_eq!(frame_at(7, &chunk, 8).unwrap(), Some(&b"c"[..]));
        assert_eq!(frame_at(7, &chunk, 10).unwrap(), None);
        assert_eq!(frame_at(7, &chunk, 6).unwrap(), None);
        assert_eq!(last_position(7, &chunk).unwrap(), 9);
    }

    #[test]
    fn chunks_stay_within_their_size_and_a_gap_starts_a_new_one() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let mut writer = ChunkWriter::default();
        let mut batch = sled::Batch::default();
        let frame = vec![7_u8; 1_000];
        let big = vec![8_u8; CHUNK_BYTES * 2];
        for position in 1..=20 {
            writer.push_bytes(&mut batch, position, &frame).unwrap();
        }
        writer.push_bytes(&mut batch, 21, &big).unwrap();
        writer.push_bytes(&mut batch, 22, &frame).unwrap();
        // 23 is missing.
        writer.push_bytes(&mut batch, 24, &frame).unwrap();
        writer.finish(&mut batch);
        db.apply_batch(batch).unwrap();
        let mut seen = Vec::new();
        for entry in db.iter() {
            let (key, value) = entry.unwrap();
            let first = keys::event_position(&key).unwrap();
            let positions: Vec<u64> = frames(first, &value).map(|f| f.unwrap().0).collect();
            assert!(
                value.len() <= CHUNK_BYTES || positions.len() == 1,
                "{positions:?}"
            );
            seen.push(positions);
        }
        let expected: Vec<Vec<u64>> = vec![
            (1..=7).collect(),
            (8..=14).collect(),
            (15..=20).collect(),
            vec![21],
            vec![22],
            vec![24],
        ];
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_frame_past_the_end_or_an_empty_chunk_is_corrupt_at_its_position() {
        let mut chunk = framed(&[b"ab", b"cd"]);
        chunk.pop();
        let got: Vec<_> = frames(1, &chunk).collect();
        assert_eq!(got.len(), 2);
        assert!(matches!(
            got[1],
            Err(StoreError::Corrupt { position: 2, .. })
        ));
        assert!(last_position(1, &chunk).is_err());
        assert!(matches!(
            last_position(5, &[]),
            Err(StoreError::Corrupt { position: 5, .. })
        ));
        assert!(frame_at(1, &framed(&[b""]), 1).is_err());
    }
}
