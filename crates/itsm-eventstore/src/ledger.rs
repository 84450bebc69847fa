//! The pure append logic both backends run, so they cannot drift: validation, idempotency,
//! expected-version check, envelope building and hash chaining. Backends only supply lookups
//! ([`Index`]) and persist what [`decide`] returns.

use crate::append::{
    Appended, ExpectedVersion, MAX_ACTOR_BYTES, MAX_EVENT_TYPE_BYTES, MAX_PAYLOAD_BYTES, NewEvent,
};
use crate::envelope::{CommandId, Envelope, Hash, HashInput, Metadata, StreamId, compute_hash};
use crate::error::StoreError;

/// One append call, as the backend received it.
#[derive(Debug)]
pub(crate) struct AppendRequest {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
    pub metadata: Metadata,
}

/// Lookups the decision needs from a backend's current (possibly not yet persisted) state.
pub(crate) trait Index {
    /// Current version of the stream, 0 when it has no events.
    fn stream_version(&mut self, stream: &StreamId) -> Result<u64, StoreError>;
    /// The first result recorded for this command id.
    fn command(&mut self, id: CommandId) -> Result<Option<Appended>, StoreError>;
    /// Remember a successful append (stream version, command id).
    fn record(&mut self, appended: &Appended, command_id: Option<CommandId>);
}

/// The last envelope of the log: where the next one goes and what it links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tip {
    pub position: u64,
    pub hash: Hash,
}

impl Tip {
    pub const EMPTY: Tip = Tip {
        position: 0,
        hash: Hash::GENESIS,
    };
}

#[derive(Debug)]
pub(crate) enum Outcome {
    /// The command id was already appended: here is the first result; write nothing.
    Duplicate(Appended),
    /// Persist these envelopes (positions follow the tip without gaps), then answer `appended`.
    Written {
        appended: Appended,
        envelopes: Vec<Envelope>,
        command_id: Option<CommandId>,
    },
}

pub(crate) fn event_type_problem(event_type: &str) -> Option<&'static str> {
    if event_type.is_empty() {
        Some("event type is empty")
    } else if event_type.len() > MAX_EVENT_TYPE_BYTES {
        Some("event type is longer than 256 bytes")
    } else if event_type.chars().any(char::is_control) {
        Some("event type contains a control character")
    } else {
        None
    }
}

/// Checks that need no state; run before a request is queued.
pub(crate) fn validate(
    stream: &StreamId,
    events: &[NewEvent],
    metadata: &Metadata,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Err(StoreError::NoEvents {
            stream: stream.clone(),
        });
    }
    for (index, e) in events.iter().enumerate() {
        if let Some(reason) = event_type_problem(&e.event_type) {
            return Err(StoreError::InvalidEvent { index, reason });
        }
        if e.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(StoreError::InvalidEvent {
                index,
                reason: "payload is larger than 4 MiB",
            });
        }
    }
    if metadata.actor.len() > MAX_ACTOR_BYTES {
        return Err(StoreError::InvalidMetadata {
            reason: "actor is longer than 1024 bytes",
        });
    }
    Ok(())
}

/// Decide one (validated) append against the current state and advance `tip` and `index` if it
/// is written. On `Err` nothing was changed.
pub(crate) fn decide(
    index: &mut impl Index,
    tip: &mut Tip,
    req: AppendRequest,
) -> Result<Outcome, StoreError> {
    let AppendRequest {
        stream,
        expected,
        mut events,
        metadata,
    } = req;
    // `validate` already refused this; checked again so no caller can record an empty append.
    let Some(last) = events.pop() else {
        return Err(StoreError::NoEvents { stream });
    };
    if let Some(id) = metadata.command_id
        && let Some(first) = index.command(id)?
    {
        return Ok(Outcome::Duplicate(first));
    }
    let current = index.stream_version(&stream)?;
    if !expected.matches(current) {
        return Err(StoreError::Conflict {
            stream,
            expected,
            actual: current,
        });
    }
    let first_position = tip.position + 1;
    let command_id = metadata.command_id;
    let mut envelopes = Vec::with_capacity(events.len() + 1);
    let mut version = current;
    let mut push = |event: NewEvent, metadata: Metadata| {
        version += 1;
        let position = tip.position + 1;
        let hash = compute_hash(&HashInput {
            prev_hash: &tip.hash,
            position,
            stream_id: stream.as_str(),
            version,
            event_type: &event.event_type,
            schema_version: event.schema_version,
            payload: &event.payload,
            metadata: &metadata,
        });
        envelopes.push(Envelope {
            position,
            stream_id: stream.clone(),
            version,
            event_type: event.event_type,
            schema_version: event.schema_version,
            payload: event.payload,
            metadata,
            prev_hash: tip.hash,
            hash,
        });
        *tip = Tip { position, hash };
    };
    for event in events {
        push(event, metadata.clone());
    }
    // The last event takes the metadata by move: one allocation less per append.
    push(last, metadata);
    let appended = Appended {
        stream,
        first_position,
        last_position: tip.position,
        version,
    };
    index.record(&appended, command_id);
    Ok(Outcome::Written {
        appended,
        envelopes,
        command_id,
    })
}
