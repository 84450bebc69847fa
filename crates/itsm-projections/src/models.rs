//! Every in-memory read model behind one position.

use itsm_eventstore::Envelope;
use serde::{Deserialize, Serialize};

use crate::{LedgerEvent, Projection, ProjectionError, decode};

/// All read models kept in memory, at one ledger position.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadModels {
    position: u64,
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
    /// are ignored, so replays are idempotent. Envelopes of streams no aggregate owns only
    /// advance the position. A payload that does not decode still advances the position (so
    /// one bad event cannot stop the desk) and is returned as an error for the runner to log.
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
                self.position = envelope.position;
                Ok(())
            }
            Err(error) => {
                self.position = envelope.position;
                Err(error)
            }
        }
    }
}

impl Projection for ReadModels {
    const NAME: &'static str = "read-models";

    fn apply(&mut self, envelope: &Envelope, _event: &LedgerEvent) {
        if envelope.position <= self.position {
            return;
        }
        self.position = envelope.position;
    }
}
