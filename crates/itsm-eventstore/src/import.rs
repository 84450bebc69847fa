//! Filling an empty store with the envelopes of another ledger (`ledgerdesk import`).
//!
//! An import keeps every field of every envelope exactly (position, stream, version, type,
//! schema version, payload, metadata, `prev_hash`, `hash`): the copy has the same head hash as
//! the original, so a published head hash still pins it. Nothing is trusted: each envelope
//! must follow the store's tip (next position, `prev_hash` = the tip's hash), its recomputed
//! hash must equal the stored one, its stream version must follow that stream's version, and
//! it must pass the limits an append passes. The stream index and the command-id index are
//! rebuilt from the envelopes as an append would have written them, so idempotent retries
//! keep working on the copy.
//!
//! Only an empty store accepts an import; the batches of one import (one `SledStore` handle)
//! chain onto each other, and each batch is written atomically with one flush or not at all.
//! Once the store has taken an ordinary append, it refuses imports.
//!
//! The checks are pure ([`check_batch`]); the sled writer supplies the lookups and persists.

use std::collections::{HashMap, HashSet};

use crate::append::{Appended, MAX_ACTOR_BYTES, MAX_PAYLOAD_BYTES};
use crate::envelope::{CommandId, Envelope, Hash, StreamId};
use crate::error::StoreError;
use crate::ledger::{Tip, event_type_problem};

/// Why an import was refused. Nothing of the refused batch was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The store already holds events that were not imported by this handle.
    #[error("the store is not empty (head position {head}); import only fills an empty store")]
    NotEmpty { head: u64 },
    /// The envelope at `position` (as numbered in the import) does not chain onto the ledger.
    #[error("envelope at position {position} is refused: {reason}")]
    Refused { position: u64, reason: String },
    /// The store failed while checking or writing.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Result of one imported batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// Envelopes written by this batch.
    pub events: u64,
    /// The store's head position after the batch.
    pub head: u64,
    /// Hash of the head envelope after the batch.
    pub head_hash: Hash,
}

/// Lookups the checks need from the store's current state.
pub(crate) trait ImportIndex {
    /// Current version of the stream (0 when it has no events).
    fn stream_version(&mut self, stream: &StreamId) -> Result<u64, StoreError>;
    /// Whether the command id already has a recorded append.
    fn command_known(&mut self, id: CommandId) -> Result<bool, StoreError>;
}

/// The command id of the last imported append, which the next batch may continue (an export
/// may cut one multi-event append in two).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Run {
    pub command_id: CommandId,
    pub appended: Appended,
}

/// What a checked batch changes, to be persisted atomically.
#[derive(Debug)]
pub(crate) struct Checked {
    pub tip: Tip,
    /// Stream versions after the batch.
    pub versions: HashMap<StreamId, u64>,
    /// Command-id records to write (first result of each append), in order.
    pub commands: Vec<Run>,
    /// The run the batch ended in, if its last envelope had a command id.
    pub last_run: Option<Run>,
}

fn refused(position: u64, reason: impl Into<String>) -> ImportError {
    ImportError::Refused {
        position,
        reason: reason.into(),
    }
}

/// Checks one batch against the store's `tip`, its index and the run the previous batch ended
/// in. On `Err` nothing may be written.
pub(crate) fn check_batch(
    index: &mut impl ImportIndex,
    tip: Tip,
    previous_run: Option<&Run>,
    envelopes: &[Envelope],
) -> Result<Checked, ImportError> {
    let mut tip = tip;
    let mut versions: HashMap<StreamId, u64> = HashMap::new();
    let mut commands: Vec<Run> = Vec::new();
    let mut seen: HashSet<CommandId> = HashSet::new();
    let mut run: Option<Run> = previous_run.cloned();
    // Whether `run` was started or extended by this batch (so it must be (re)written).
    let mut run_touched = false;
    for envelope in envelopes {
        let position = envelope.position;
        if position != tip.position + 1 {
            return Err(refused(
                position,
                format!("expected position {}", tip.position + 1),
            ));
        }
        if envelope.prev_hash != tip.hash {
            return Err(refused(
                position,
                "its prev_hash is not the hash of the envelope before it",
            ));
        }
        if envelope.compute_hash() != envelope.hash {
            return Err(refused(
                position,
                "its hash does not match its contents (a field was changed)",
            ));
        }
        if let Some(reason) = event_type_problem(&envelope.event_type) {
            return Err(refused(position, reason));
        }
        if envelope.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(refused(position, "payload is larger than 4 MiB"));
        }
        if envelope.metadata.actor.len() > MAX_ACTOR_BYTES {
            return Err(refused(position, "actor is longer than 1024 bytes"));
        }
        let current = match versions.get(&envelope.stream_id) {
            Some(version) => *version,
            None => index.stream_version(&envelope.stream_id)?,
        };
        if envelope.version != current + 1 {
            return Err(refused(
                position,
                format!(
                    "stream {} is at version {current}, the envelope says version {}",
                    envelope.stream_id, envelope.version
                ),
            ));
        }
        versions.insert(envelope.stream_id.clone(), envelope.version);

        // One append writes consecutive envelopes of one stream with one command id; a
        // command id seen before that is not a continuation is a duplicate no store writes.
        let continues = match (&run, envelope.metadata.command_id) {
            (Some(run), Some(id)) => {
                run.command_id == id
                    && run.appended.stream == envelope.stream_id
                    && run.appended.last_position + 1 == position
            }
            _ => false,
        };
        if continues {
            if let Some(run) = run.as_mut() {
                run.appended.last_position = position;
                run.appended.version = envelope.version;
            }
            run_touched = true;
        } else {
            if run_touched && let Some(finished) = run.take() {
                commands.push(finished);
            }
            run = None;
            run_touched = false;
            if let Some(id) = envelope.metadata.command_id {
                // Earlier batches' ids are in the index; this batch's are in `seen`.
                if !seen.insert(id) || index.command_known(id)? {
                    return Err(refused(
                        position,
                        format!("command id {id} was already used by an earlier append"),
                    ));
                }
                run = Some(Run {
                    command_id: id,
                    appended: Appended {
                        stream: envelope.stream_id.clone(),
                        first_position: position,
                        last_position: position,
                        version: envelope.version,
                    },
                });
                run_touched = true;
            }
        }
        tip = Tip {
            position,
            hash: envelope.hash,
        };
    }
    if run_touched && let Some(last) = &run {
        commands.push(last.clone());
    }
    Ok(Checked {
        tip,
        versions,
        commands,
        last_run: run,
    })
}
