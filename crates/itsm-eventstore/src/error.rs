//! The crate's one error enum.

use std::path::PathBuf;

use crate::append::ExpectedVersion;
use crate::codec::CodecError;
use crate::envelope::StreamId;

/// Everything that can go wrong in the store.
///
/// `Clone + PartialEq` so that one batch failure can be handed to every caller of that batch and
/// so that tests (and the model test) compare errors by value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The stream was not at the version the caller expected. Nothing was written.
    #[error("conflict on stream {stream}: expected {expected}, actual version {actual}")]
    Conflict {
        stream: StreamId,
        expected: ExpectedVersion,
        /// Current version of the stream; 0 when the stream has no events.
        actual: u64,
    },
    /// A stream id was empty, too long or contained control characters.
    #[error("invalid stream id: {reason}")]
    InvalidStreamId { reason: &'static str },
    /// `append` was called with no events.
    #[error("append to stream {stream} has no events")]
    NoEvents { stream: StreamId },
    /// One of the events (by index in the append) is not acceptable.
    #[error("event #{index} is invalid: {reason}")]
    InvalidEvent { index: usize, reason: &'static str },
    /// The metadata is not acceptable.
    #[error("invalid metadata: {reason}")]
    InvalidMetadata { reason: &'static str },
    /// Another process, or another open handle in this process, holds the data directory.
    #[error("the event store at {} is locked by another process or handle", path.display())]
    Locked { path: PathBuf },
    /// The directory holds a store in a format this code does not read.
    #[error("unsupported store format {found} (this code reads format {supported})")]
    UnsupportedFormat { found: u32, supported: u32 },
    /// Stored bytes could not be decoded (see `verify` for a full report).
    #[error("corrupt record at position {position}: {reason}")]
    Corrupt { position: u64, reason: String },
    /// Encoding or decoding with the codec failed.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The storage engine or the file system failed. The append may or may not be durable:
    /// retry with the same command id to find out without writing twice.
    #[error("storage failure: {message}")]
    Storage { message: String },
    /// The store was closed (its writer stopped) while the call was in flight.
    #[error("the event store is closed")]
    Closed,
}

impl StoreError {
    pub(crate) fn storage(err: &impl std::fmt::Display) -> Self {
        StoreError::Storage {
            message: err.to_string(),
        }
    }
}
