//! The stored unit: an event with its position, stream, version, metadata and hash-chain links.
//!
//! # Hash encoding (format 1)
//!
//! `hash = BLAKE3(encoding)` where `encoding` is the concatenation of, in this order:
//!
//! | field | bytes |
//! |---|---|
//! | domain tag | the 22 ASCII bytes `ledgerdesk.envelope.v1` |
//! | `prev_hash` | 32 |
//! | `position` | u64 big endian |
//! | `stream_id` | u64 BE byte length, then UTF-8 bytes |
//! | `version` | u64 BE |
//! | `event_type` | u64 BE byte length, then UTF-8 bytes |
//! | `schema_version` | u16 BE |
//! | `payload` | u64 BE byte length, then the bytes |
//! | `actor` | u64 BE byte length, then UTF-8 bytes |
//! | `command_id`, `correlation_id`, `causation_id` | each `0x00` when absent, or `0x01` then the 16 UUID bytes |
//! | `recorded_at` | i64 BE seconds since the Unix epoch, then u32 BE sub-second nanoseconds |
//!
//! Every variable-length field is length-prefixed and every optional field is tagged, so two
//! different envelopes never share an encoding. The genesis `prev_hash` is 32 zero bytes.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::codec;
use crate::error::StoreError;

/// Longest accepted stream id, in bytes.
pub const MAX_STREAM_ID_BYTES: usize = 256;

/// Name of a stream (`incident-42`): non-empty, at most [`MAX_STREAM_ID_BYTES`] bytes, no control
/// characters (so `\0` can terminate it inside storage keys).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StreamId(String);

impl StreamId {
    pub fn new(id: impl Into<String>) -> Result<Self, StoreError> {
        let id = id.into();
        if id.is_empty() {
            return Err(StoreError::InvalidStreamId { reason: "empty" });
        }
        if id.len() > MAX_STREAM_ID_BYTES {
            return Err(StoreError::InvalidStreamId {
                reason: "longer than 256 bytes",
            });
        }
        if id.chars().any(char::is_control) {
            return Err(StoreError::InvalidStreamId {
                reason: "contains a control character",
            });
        }
        Ok(StreamId(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StreamId {
    type Error = StoreError;
    fn try_from(id: String) -> Result<Self, StoreError> {
        StreamId::new(id)
    }
}

impl From<StreamId> for String {
    fn from(id: StreamId) -> String {
        id.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub Uuid);

        impl $name {
            pub const fn from_uuid(id: Uuid) -> Self {
                $name(id)
            }
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// Id of the command that produced an append; the idempotency key.
    CommandId
);
uuid_id!(
    /// Id shared by everything one user action caused.
    CorrelationId
);
uuid_id!(
    /// Id of the message (command or event) that directly caused this one.
    CausationId
);

/// A BLAKE3 hash of an envelope.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// `prev_hash` of the first envelope.
    pub const GENESIS: Hash = Hash([0; 32]);
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// Who and what caused an append; copied into every envelope of that append.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub actor: String,
    pub command_id: Option<CommandId>,
    pub correlation_id: Option<CorrelationId>,
    pub causation_id: Option<CausationId>,
    /// Set by the caller's clock (the store reads no clock).
    pub recorded_at: DateTime<Utc>,
}

impl Metadata {
    pub fn new(actor: impl Into<String>, recorded_at: DateTime<Utc>) -> Self {
        Metadata {
            actor: actor.into(),
            command_id: None,
            correlation_id: None,
            causation_id: None,
            recorded_at,
        }
    }

    #[must_use]
    pub fn with_command_id(mut self, id: CommandId) -> Self {
        self.command_id = Some(id);
        self
    }

    #[must_use]
    pub fn with_correlation_id(mut self, id: CorrelationId) -> Self {
        self.correlation_id = Some(id);
        self
    }

    #[must_use]
    pub fn with_causation_id(mut self, id: CausationId) -> Self {
        self.causation_id = Some(id);
        self
    }
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Global position: 1, 2, 3, ... without gaps.
    pub position: u64,
    pub stream_id: StreamId,
    /// Version inside the stream: 1, 2, 3, ...
    pub version: u64,
    pub event_type: String,
    pub schema_version: u16,
    pub payload: Vec<u8>,
    pub metadata: Metadata,
    pub prev_hash: Hash,
    pub hash: Hash,
}

impl Envelope {
    /// Recompute this envelope's hash from `prev_hash` and all other fields (ignores `hash`).
    pub fn compute_hash(&self) -> Hash {
        compute_hash(&HashInput {
            prev_hash: &self.prev_hash,
            position: self.position,
            stream_id: self.stream_id.as_str(),
            version: self.version,
            event_type: &self.event_type,
            schema_version: self.schema_version,
            payload: &self.payload,
            metadata: &self.metadata,
        })
    }
}

pub(crate) struct HashInput<'a> {
    pub prev_hash: &'a Hash,
    pub position: u64,
    pub stream_id: &'a str,
    pub version: u64,
    pub event_type: &'a str,
    pub schema_version: u16,
    pub payload: &'a [u8],
    pub metadata: &'a Metadata,
}

const DOMAIN_TAG: &[u8; 22] = b"ledgerdesk.envelope.v1";

/// See the module documentation for the exact encoding.
///
/// The encoding is built in one buffer and hashed at once: BLAKE3 over one slice is several
/// times faster than a dozen small `update` calls, and readers hash every envelope they serve.
pub(crate) fn compute_hash(input: &HashInput<'_>) -> Hash {
    fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        out.extend_from_slice(&(b.len() as u64).to_be_bytes());
        out.extend_from_slice(b);
    }
    fn opt(out: &mut Vec<u8>, id: Option<&Uuid>) {
        match id {
            None => out.push(0),
            Some(id) => {
                out.push(1);
                out.extend_from_slice(id.as_bytes());
            }
        }
    }
    let m = input.metadata;
    let mut out = Vec::with_capacity(
        DOMAIN_TAG.len()
            + 32
            + 8 * 7
            + 2
            + 4
            + 3 * 17
            + input.stream_id.len()
            + input.event_type.len()
            + input.payload.len()
            + m.actor.len(),
    );
    out.extend_from_slice(DOMAIN_TAG);
    out.extend_from_slice(&input.prev_hash.0);
    out.extend_from_slice(&input.position.to_be_bytes());
    bytes(&mut out, input.stream_id.as_bytes());
    out.extend_from_slice(&input.version.to_be_bytes());
    bytes(&mut out, input.event_type.as_bytes());
    out.extend_from_slice(&input.schema_version.to_be_bytes());
    bytes(&mut out, input.payload);
    bytes(&mut out, m.actor.as_bytes());
    opt(&mut out, m.command_id.as_ref().map(|c| &c.0));
    opt(&mut out, m.correlation_id.as_ref().map(|c| &c.0));
    opt(&mut out, m.causation_id.as_ref().map(|c| &c.0));
    out.extend_from_slice(&m.recorded_at.timestamp().to_be_bytes());
    out.extend_from_slice(&m.recorded_at.timestamp_subsec_nanos().to_be_bytes());
    Hash(*blake3::hash(&out).as_bytes())
}

/// Borrowing storage form of an envelope: plain fields, no string timestamps, bytes as bytes.
#[derive(Serialize)]
struct StoredEnvelopeRef<'a> {
    position: u64,
    stream_id: &'a str,
    version: u64,
    event_type: &'a str,
    schema_version: u16,
    #[serde(with = "codec::bytes")]
    payload: &'a [u8],
    actor: &'a str,
    command_id: Option<[u8; 16]>,
    correlation_id: Option<[u8; 16]>,
    causation_id: Option<[u8; 16]>,
    recorded_secs: i64,
    recorded_nanos: u32,
    prev_hash: [u8; 32],
    hash: [u8; 32],
}

/// Owned storage form; field order must match [`StoredEnvelopeRef`].
#[derive(Deserialize)]
pub(crate) struct StoredEnvelope {
    position: u64,
    stream_id: String,
    version: u64,
    event_type: String,
    schema_version: u16,
    #[serde(with = "codec::bytes")]
    payload: Vec<u8>,
    actor: String,
    command_id: Option<[u8; 16]>,
    correlation_id: Option<[u8; 16]>,
    causation_id: Option<[u8; 16]>,
    recorded_secs: i64,
    recorded_nanos: u32,
    prev_hash: [u8; 32],
    hash: [u8; 32],
}

/// Encode an envelope for storage.
#[cfg(test)]
pub(crate) fn encode_stored(e: &Envelope) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    encode_stored_into(e, &mut out)?;
    Ok(out)
}

/// Append the storage encoding of an envelope to `out`.
pub(crate) fn encode_stored_into(e: &Envelope, out: &mut Vec<u8>) -> Result<(), StoreError> {
    let m = &e.metadata;
    let stored = StoredEnvelopeRef {
        position: e.position,
        stream_id: e.stream_id.as_str(),
        version: e.version,
        event_type: &e.event_type,
        schema_version: e.schema_version,
        payload: &e.payload,
        actor: &m.actor,
        command_id: m.command_id.map(|c| c.0.into_bytes()),
        correlation_id: m.correlation_id.map(|c| c.0.into_bytes()),
        causation_id: m.causation_id.map(|c| c.0.into_bytes()),
        recorded_secs: m.recorded_at.timestamp(),
        recorded_nanos: m.recorded_at.timestamp_subsec_nanos(),
        prev_hash: e.prev_hash.0,
        hash: e.hash.0,
    };
    Ok(codec::encode_into(&stored, out)?)
}

/// Decode a stored envelope. `key_position` is only used to label the error.
pub(crate) fn decode_stored(key_position: u64, bytes: &[u8]) -> Result<Envelope, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        position: key_position,
        reason,
    };
    let s: StoredEnvelope = codec::decode(bytes).map_err(|e| corrupt(e.to_string()))?;
    let stream_id = StreamId::new(s.stream_id).map_err(|e| corrupt(e.to_string()))?;
    let recorded_at = DateTime::from_timestamp(s.recorded_secs, s.recorded_nanos)
        .ok_or_else(|| corrupt("recorded_at out of range".to_owned()))?;
    Ok(Envelope {
        position: s.position,
        stream_id,
        version: s.version,
        event_type: s.event_type,
        schema_version: s.schema_version,
        payload: s.payload,
        metadata: Metadata {
            actor: s.actor,
            command_id: s.command_id.map(|b| CommandId(Uuid::from_bytes(b))),
            correlation_id: s.correlation_id.map(|b| CorrelationId(Uuid::from_bytes(b))),
            causation_id: s.causation_id.map(|b| CausationId(Uuid::from_bytes(b))),
            recorded_at,
        },
        prev_hash: Hash(s.prev_hash),
        hash: Hash(s.hash),
    })
}

/// Decode a stored envelope for a reader: it must carry the position of its key and its own
/// hash. Readers never get an envelope whose contents changed since it was written; `verify`
/// uses [`decode_stored`] instead, to name each kind of defect.
pub(crate) fn decode_checked(key_position: u64, bytes: &[u8]) -> Result<Envelope, StoreError> {
    let env = decode_stored(key_position, bytes)?;
    if env.position != key_position {
        return Err(StoreError::Corrupt {
            position: key_position,
            reason: format!("the stored envelope says position {}", env.position),
        });
    }
    if env.compute_hash() != env.hash {
        return Err(StoreError::Corrupt {
            position: key_position,
            reason: "the stored hash does not match the envelope's contents".to_owned(),
        });
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        let mut e = Envelope {
            position: 1,
            stream_id: StreamId::new("incident-1").unwrap(),
            version: 1,
            event_type: "Logged".into(),
            schema_version: 2,
            payload: vec![9; 300],
            metadata: Metadata::new("alice", DateTime::from_timestamp(1_700_000_000, 5).unwrap())
                .with_command_id(CommandId(Uuid::from_u128(7))),
            prev_hash: Hash::GENESIS,
            hash: Hash::GENESIS,
        };
        e.hash = e.compute_hash();
        e
    }

    #[test]
    fn stream_ids_are_validated() {
        assert!(StreamId::new("incident-42").is_ok());
        assert!(StreamId::new("").is_err());
        assert!(StreamId::new("a\0b").is_err());
        assert!(StreamId::new("a\nb").is_err());
        assert!(StreamId::new("x".repeat(257)).is_err());
        assert!(StreamId::new("x".repeat(256)).is_ok());
        assert!(codec::decode::<StreamId>(&codec::encode("").unwrap()).is_err());
    }

    #[test]
    fn stored_form_round_trips() {
        let e = sample();
        let bytes = encode_stored(&e).unwrap();
        assert_eq!(decode_stored(1, &bytes).unwrap(), e);
    }

    type Change = Box<dyn Fn(&mut Envelope)>;

    #[test]
    fn every_field_changes_the_hash() {
        let base = sample();
        let h = base.compute_hash();
        let variants: Vec<Change> = vec![
            Box::new(|e| e.position = 2),
            Box::new(|e| e.stream_id = StreamId::new("incident-2").unwrap()),
            Box::new(|e| e.version = 2),
            Box::new(|e| e.event_type = "Loggex".into()),
            Box::new(|e| e.schema_version = 3),
            Box::new(|e| e.payload[0] = 8),
            Box::new(|e| e.metadata.actor = "bob".into()),
            Box::new(|e| e.metadata.command_id = None),
            Box::new(|e| e.metadata.correlation_id = Some(CorrelationId(Uuid::nil()))),
            Box::new(|e| e.metadata.causation_id = Some(CausationId(Uuid::nil()))),
            Box::new(|e| {
                e.metadata.recorded_at = DateTime::from_timestamp(1_700_000_000, 6).unwrap();
            }),
            Box::new(|e| e.prev_hash = Hash([1; 32])),
        ];
        for (i, change) in variants.iter().enumerate() {
            let mut e = base.clone();
            change(&mut e);
            assert_ne!(e.compute_hash(), h, "variant {i} did not change the hash");
        }
    }

    #[test]
    fn a_reader_gets_no_envelope_whose_bytes_changed() {
        let e = sample();
        let bytes = encode_stored(&e).unwrap();
        assert_eq!(decode_checked(1, &bytes).unwrap(), e);
        assert!(matches!(
            decode_checked(2, &bytes),
            Err(StoreError::Corrupt { position: 2, .. })
        ));
        // Every single-byte change either fails to decode or fails the hash: none is served.
        for i in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[i] ^= 0x20;
            assert!(
                decode_checked(1, &changed).is_err(),
                "byte {i} changed unnoticed"
            );
        }
    }

    /// The encoding as it was first written, one `update` per field: the oracle that the
    /// buffered `compute_hash` hashes exactly the same bytes (stored chains depend on it).
    fn incremental_hash(e: &Envelope) -> Hash {
        fn bytes(h: &mut blake3::Hasher, b: &[u8]) {
            h.update(&(b.len() as u64).to_be_bytes());
            h.update(b);
        }
        fn opt(h: &mut blake3::Hasher, id: Option<&Uuid>) {
            match id {
                None => {
                    h.update(&[0]);
                }
                Some(id) => {
                    h.update(&[1]);
                    h.update(id.as_bytes());
                }
            }
        }
        let m = &e.metadata;
        let mut h = blake3::Hasher::new();
        h.update(DOMAIN_TAG);
        h.update(&e.prev_hash.0);
        h.update(&e.position.to_be_bytes());
        bytes(&mut h, e.stream_id.as_str().as_bytes());
        h.update(&e.version.to_be_bytes());
        bytes(&mut h, e.event_type.as_bytes());
        h.update(&e.schema_version.to_be_bytes());
        bytes(&mut h, &e.payload);
        bytes(&mut h, m.actor.as_bytes());
        opt(&mut h, m.command_id.as_ref().map(|c| &c.0));
        opt(&mut h, m.correlation_id.as_ref().map(|c| &c.0));
        opt(&mut h, m.causation_id.as_ref().map(|c| &c.0));
        h.update(&m.recorded_at.timestamp().to_be_bytes());
        h.update(&m.recorded_at.timestamp_subsec_nanos().to_be_bytes());
        Hash(*h.finalize().as_bytes())
    }

    #[test]
    fn the_hash_encoding_is_unchanged() {
        let mut e = sample();
        assert_eq!(e.compute_hash(), incremental_hash(&e));
        e.metadata.correlation_id = Some(CorrelationId(Uuid::from_u128(9)));
        e.metadata.causation_id = Some(CausationId(Uuid::from_u128(10)));
        e.payload = vec![7; 70_000];
        assert_eq!(e.compute_hash(), incremental_hash(&e));
        e.payload.clear();
        e.metadata.command_id = None;
        assert_eq!(e.compute_hash(), incremental_hash(&e));
    }

    #[test]
    fn length_prefixes_keep_field_boundaries() {
        let mut a = sample();
        a.event_type = "ab".into();
        a.metadata.actor = "c".into();
        let mut b = sample();
        b.event_type = "a".into();
        b.metadata.actor = "bc".into();
        assert_ne!(a.compute_hash(), b.compute_hash());
    }
}
