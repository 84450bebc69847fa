//! Checkpoints of the process managers: a manager's state at a ledger position, so a start
//! resumes from there instead of replaying the whole ledger.
//!
//! A checkpoint holds only what the events made of the state (the SLA timers' clocks, the
//! auto-close resolutions), never the deadline heaps: a heap is rebuilt from the state when the
//! checkpoint is read, with exactly the entries a full replay of the ledger up to the
//! checkpoint's position would have live. So a checkpoint taken while a command was in flight
//! (sent but its event not yet applied) or after a failure (a retry entry in the heap) arms the
//! deadline again, and the resumed manager re-sends it as a full replay would; the derived
//! command id makes the re-send write nothing if the first one landed. Stale heap entries are
//! not carried over either (they were never going to fire).
//!
//! Format: [`MAGIC`] (8 bytes: name and format version), then the frames of
//! `itsm_eventstore::frames` (`u64` little-endian length + one codec value): first the manager's
//! automation name and the position, then the manager's own frames; long sequences as a count
//! followed by frames of at most [`CHUNK`] items, so no frame comes near the codec's 64 MiB
//! decode limit. Any defect (other
//! magic, another manager's name, a truncated frame, a count that does not add up, trailing
//! bytes) is a [`CodecError`]: the driver logs it and replays from position 1.

use std::ops::{Deref, DerefMut};

use chrono::{DateTime, TimeDelta, Utc};
use itsm_eventstore::frames::{FrameReader, FrameWriter};
use itsm_eventstore::{CausationId, CodecError, CorrelationId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::process::cause::Cause;

/// First bytes of every process-manager checkpoint (format 1).
pub const MAGIC: &[u8; 8] = b"LDPM0001";

/// Items per frame of a sequence.
pub const CHUNK: usize = 16_384;

/// The snapshot name a manager's checkpoints are saved under, e.g. `process.sla-timer`.
pub fn snapshot_name(manager: &str) -> String {
    format!("process.{manager}")
}

fn malformed(what: &str) -> CodecError {
    CodecError::Decode(format!("process checkpoint: {what}"))
}

/// Builds a checkpoint: the frames of `itsm_eventstore::frames`, the first holding the
/// manager's name and the position.
#[derive(Debug)]
pub(crate) struct Writer(FrameWriter);

impl Writer {
    pub(crate) fn new(manager: &str, position: u64) -> Result<Self, CodecError> {
        let mut frames = FrameWriter::new(MAGIC, CHUNK);
        frames.value(&(manager, position))?;
        Ok(Writer(frames))
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0.finish()
    }
}

impl Deref for Writer {
    type Target = FrameWriter;

    fn deref(&self) -> &FrameWriter {
        &self.0
    }
}

impl DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut FrameWriter {
        &mut self.0
    }
}

/// Reads a checkpoint written by [`Writer`], frame by frame.
#[derive(Debug)]
pub(crate) struct Reader<'a>(FrameReader<'a>);

impl<'a> Reader<'a> {
    /// Checks the magic and the manager's name; returns the reader and the position.
    pub(crate) fn new(bytes: &'a [u8], manager: &str) -> Result<(Self, u64), CodecError> {
        let mut frames = FrameReader::new(bytes, MAGIC, "process checkpoint")?;
        let (name, position): (String, u64) = frames.value()?;
        if name != manager {
            return Err(malformed(&format!("written by {name}, not {manager}")));
        }
        Ok((Reader(frames), position))
    }

    /// A sequence written by [`FrameWriter::seq`].
    pub(crate) fn seq<T: DeserializeOwned>(&mut self) -> Result<Vec<T>, CodecError> {
        self.0.seq(CHUNK)
    }

    /// Fails unless every byte was read.
    pub(crate) fn finish(self) -> Result<(), CodecError> {
        self.0.finish()
    }
}

/// A checkpoint that holds nothing but its position (a stateless manager's).
pub fn encode_position(manager: &str, position: u64) -> Result<Vec<u8>, CodecError> {
    Ok(Writer::new(manager, position)?.finish())
}

/// Reads a checkpoint made by [`encode_position`]; returns its position.
pub fn decode_position(bytes: &[u8], manager: &str) -> Result<u64, CodecError> {
    let (reader, position) = Reader::new(bytes, manager)?;
    reader.finish()?;
    Ok(position)
}

/// An instant as whole seconds and nanoseconds since the epoch (chrono's serde form is text).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct At(i64, u32);

impl From<DateTime<Utc>> for At {
    fn from(at: DateTime<Utc>) -> Self {
        At(at.timestamp(), at.timestamp_subsec_nanos())
    }
}

impl At {
    pub(crate) fn utc(self) -> Result<DateTime<Utc>, CodecError> {
        DateTime::from_timestamp(self.0, self.1).ok_or_else(|| malformed("instant out of range"))
    }
}

/// A duration as whole seconds and the signed nanoseconds beyond them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Span(i64, i32);

impl From<TimeDelta> for Span {
    fn from(span: TimeDelta) -> Self {
        Span(span.num_seconds(), span.subsec_nanos())
    }
}

impl Span {
    pub(crate) fn delta(self) -> Result<TimeDelta, CodecError> {
        TimeDelta::try_seconds(self.0)
            .and_then(|seconds| seconds.checked_add(&TimeDelta::nanoseconds(i64::from(self.1))))
            .ok_or_else(|| malformed("duration out of range"))
    }
}

/// A [`Cause`] as two plain ids.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct CauseRecord(u128, Option<u128>);

impl From<Cause> for CauseRecord {
    fn from(cause: Cause) -> Self {
        CauseRecord(
            cause.causation_id.as_uuid().as_u128(),
            cause.correlation_id.map(|id| id.as_uuid().as_u128()),
        )
    }
}

impl From<CauseRecord> for Cause {
    fn from(record: CauseRecord) -> Self {
        Cause {
            causation_id: CausationId::from_uuid(Uuid::from_u128(record.0)),
            correlation_id: record
                .1
                .map(|id| CorrelationId::from_uuid(Uuid::from_u128(id))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_durations_and_causes_round_trip() {
        let at = DateTime::from_timestamp(1_767_225_600, 123_456_789).expect("valid");
        assert_eq!(At::from(at).utc(), Ok(at));
        for span in [
            TimeDelta::zero(),
            TimeDelta::hours(4),
            TimeDelta::nanoseconds(-1_500_000_001),
            TimeDelta::nanoseconds(2_000_000_007),
        ] {
            assert_eq!(Span::from(span).delta(), Ok(span));
        }
        let cause = Cause {
            causation_id: CausationId::from_uuid(Uuid::from_u128(7)),
            correlation_id: Some(CorrelationId::from_uuid(Uuid::from_u128(u128::MAX))),
        };
        assert_eq!(Cause::from(CauseRecord::from(cause)), cause);
    }

    #[test]
    fn a_position_checkpoint_is_read_back_only_by_its_manager_and_format() {
        let bytes = encode_position("problem-follow-up", 42).expect("encodes");
        assert_eq!(decode_position(&bytes, "problem-follow-up"), Ok(42));
        assert!(decode_position(&bytes, "sla-timer").is_err());
        let mut old = bytes.clone();
        old[..8].copy_from_slice(b"LDPM0000");
        assert!(decode_position(&old, "problem-follow-up").is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_position(&longer, "problem-follow-up").is_err());
        assert!(decode_position(&bytes[..bytes.len() - 1], "problem-follow-up").is_err());
    }

    #[test]
    fn sequences_are_chunked_and_counted() {
        let mut writer = Writer::new("m", 1).expect("header");
        let items: Vec<u64> = (0..(CHUNK as u64 * 2 + 5)).collect();
        writer
            .seq(items.len(), items.iter().copied())
            .expect("encodes");
        let bytes = writer.finish();
        let (mut reader, position) = Reader::new(&bytes, "m").expect("header");
        assert_eq!(position, 1);
        assert_eq!(reader.seq::<u64>().expect("decodes"), items);
        reader.finish().expect("nothing left");
        let mut writer = Writer::new("m", 1).expect("header");
        assert!(writer.seq(3, [1_u64, 2]).is_err(), "announced 3, had 2");
    }
}
