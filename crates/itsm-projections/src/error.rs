//! What can go wrong when turning ledger envelopes into read models.

/// The one error type of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectionError {
    /// The payload of an envelope in an aggregate's stream is not that aggregate's event.
    #[error("event {position} ({event_type}) of stream {stream} cannot be decoded: {reason}")]
    Decode {
        position: u64,
        stream: String,
        event_type: String,
        reason: String,
    },
    /// The payload decoded, but into a different event than the envelope names.
    #[error(
        "event {position} of stream {stream} is stored as {event_type} v{schema_version} but decodes as {decoded} v{decoded_schema}"
    )]
    TypeMismatch {
        position: u64,
        stream: String,
        event_type: String,
        schema_version: u16,
        decoded: &'static str,
        decoded_schema: u16,
    },
}
