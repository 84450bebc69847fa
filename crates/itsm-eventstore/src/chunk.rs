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

/// A chunk is closed once it reaches this many bytes (an envelope is never split, so a chunk
/// can hold one larger envelope). 64 KiB: in a raw-sled probe of `logIncident`-shaped writes,
/// chunks of 8, 16 and 64 KiB wrote 33 000, 34 400 and 35 700 mutations/s against 17 000 with
/// one key per envelope, and random single-envelope reads were fastest at 64 KiB.
pub(crate) const CHUNK_BYTES: usize = 64 * 1024;

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
        if self.chunk.is_empty() {
            self.first = position;
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
        self.next = position + 1;
        if self.chunk.len() >= CHUNK_BYTES {
            self.close_chunk(batch);
        }
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
