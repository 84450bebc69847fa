//! Every in-memory read model behind one position.

use itsm_eventstore::{CodecError, Envelope};
use serde::{Deserialize, Serialize};

use crate::audit::AuditIndex;
use crate::change_calendar::ChangeCalendar;
use crate::dashboard::SlaDashboard;
use crate::known_errors::KnownErrors;
use crate::queues::Queues;
use crate::snapshot::{CHUNK, SnapshotReader, SnapshotWriter};
use crate::{LedgerEvent, Projection, ProjectionError, decode};

/// All read models kept in memory, at one ledger position.
///
/// The runner holds one behind a lock and feeds it every envelope in position order with
/// [`apply_envelope`](Self::apply_envelope); envelopes at or below [`position`](Self::position)
/// are ignored, so replaying from an older checkpoint is harmless.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadModels {
    position: u64,
    pub queues: Queues,
    pub dashboard: SlaDashboard,
    pub changes: ChangeCalendar,
    pub known_errors: KnownErrors,
    pub audit: AuditIndex,
}

impl ReadModels {
    pub fn new() -> Self {
        Self::default()
    }

    /// The last applied position (0 before anything).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Decodes and applies one envelope. Envelopes at or below [`position`](Self::position)
    /// are ignored, so replays are idempotent. Envelopes of streams no aggregate owns are only
    /// indexed for the audit. A payload that does not decode is indexed for the audit and
    /// advances the position (one bad event must not stop the desk), and is returned as an
    /// error for the runner to log.
    pub fn apply_envelope(&mut self, envelope: &Envelope) -> Result<(), ProjectionError> {
        if envelope.position <= self.position {
            return Ok(());
        }
        match decode(envelope) {
            Ok(Some(event)) => {
                self.apply(envelope, &event);
                Ok(())
            }
            Ok(None) => {
                self.audit.record(envelope);
                self.position = envelope.position;
                Ok(())
            }
            Err(error) => {
                self.audit.record(envelope);
                self.position = envelope.position;
                Err(error)
            }
        }
    }

    /// The snapshot the runner saves: framed and chunked so it decodes at any size (see
    /// [`crate::snapshot`]).
    pub fn encode_snapshot(&self) -> Result<Vec<u8>, CodecError> {
        self.encode_snapshot_in_chunks(CHUNK)
    }

    /// [`encode_snapshot`](Self::encode_snapshot) with at most `chunk` entries per frame of
    /// a large map (smaller chunks make many frames: for tests of the framing).
    pub fn encode_snapshot_in_chunks(&self, chunk: usize) -> Result<Vec<u8>, CodecError> {
        let mut out = SnapshotWriter::new(chunk)?;
        out.value(&self.position)?;
        self.queues.write_snapshot(&mut out)?;
        self.dashboard.write_snapshot(&mut out)?;
        out.value(&self.changes)?;
        out.value(&self.known_errors)?;
        self.audit.write_snapshot(&mut out)?;
        Ok(out.finish())
    }

    /// Decodes what [`encode_snapshot`](Self::encode_snapshot) wrote; damaged or foreign bytes
    /// are an error, never a panic.
    pub fn decode_snapshot(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut input = SnapshotReader::new(bytes)?;
        let models = ReadModels {
            position: input.value()?,
            queues: Queues::read_snapshot(&mut input)?,
            dashboard: SlaDashboard::read_snapshot(&mut input)?,
            changes: input.value()?,
            known_errors: input.value()?,
            audit: AuditIndex::read_snapshot(&mut input)?,
        };
        input.finish()?;
        Ok(models)
    }

    /// Heap bytes of all models, estimated from sizes and capacities (deterministic; not the
    /// allocator's figure). For benches and capacity planning.
    pub fn approximate_heap_bytes(&self) -> usize {
        self.queues.approximate_heap_bytes()
            + self.dashboard.approximate_heap_bytes()
            + self.changes.approximate_heap_bytes()
            + self.known_errors.approximate_heap_bytes()
            + self.audit.approximate_heap_bytes()
    }
}

impl Projection for ReadModels {
    const NAME: &'static str = "read-models";

    fn apply(&mut self, envelope: &Envelope, event: &LedgerEvent) {
        if envelope.position <= self.position {
            return;
        }
        self.position = envelope.position;
        self.audit.record(envelope);
        self.queues.apply(envelope, event);
        self.dashboard.apply(envelope, event);
        self.changes.apply(envelope, event);
        self.known_errors.apply(envelope, event);
    }
}
