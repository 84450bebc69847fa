//! The append vocabulary: what a caller sends and what it gets back.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codec;
use crate::envelope::StreamId;

/// Largest accepted payload, in bytes (4 MiB).
pub const MAX_PAYLOAD_BYTES: usize = 4 * 1024 * 1024;
/// Longest accepted event type name, in bytes.
pub const MAX_EVENT_TYPE_BYTES: usize = 256;
/// Longest accepted actor, in bytes.
pub const MAX_ACTOR_BYTES: usize = 1024;

/// What the caller believes the stream's current version is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// Append whatever the current version is.
    Any,
    /// The stream must have no events yet.
    NoStream,
    /// The stream's current version must be exactly this (`Exact(0)` means the same as
    /// `NoStream`).
    Exact(u64),
}

impl ExpectedVersion {
    /// Does a stream at `current` (0 = no events) satisfy this expectation?
    pub fn matches(self, current: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => current == 0,
            ExpectedVersion::Exact(v) => current == v,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exact(v) => write!(f, "version {v}"),
        }
    }
}

/// One event to append.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Persisted, stable name such as `IncidentResolved`.
    pub event_type: String,
    pub schema_version: u16,
    /// Usually [`codec::encode`] of the domain event.
    #[serde(with = "codec::bytes")]
    pub payload: Vec<u8>,
}

impl NewEvent {
    pub fn new(event_type: impl Into<String>, schema_version: u16, payload: Vec<u8>) -> Self {
        NewEvent {
            event_type: event_type.into(),
            schema_version,
            payload,
        }
    }
}

/// Result of a successful append; also what a repeated command id returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    pub stream: StreamId,
    pub first_position: u64,
    pub last_position: u64,
    /// Stream version after the append (version of its last event).
    pub version: u64,
}
