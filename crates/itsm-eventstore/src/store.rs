//! The one trait both backends implement.

use std::future::Future;

use crate::append::{Appended, ExpectedVersion, NewEvent};
use crate::envelope::{Envelope, Metadata, StreamId};
use crate::error::StoreError;
use crate::subscription::Subscription;
use crate::verify::VerifyReport;

/// An append-only, hash-chained event log with per-stream optimistic concurrency.
///
/// Everything a read returns has been acknowledged to its appender (for `SledStore`: flushed
/// to disk). The embedded backends answer reads on the caller's thread (they are short); the
/// futures leave room for a networked backend. `verify` walks everything: in a server, call it
/// from a blocking thread.
pub trait EventStore: Send + Sync + 'static {
    /// Append `events` to `stream` if its version matches `expected`. With a command id that was
    /// already appended, returns that first result and writes nothing.
    fn append(
        &self,
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        metadata: Metadata,
    ) -> impl Future<Output = Result<Appended, StoreError>> + Send;

    /// Events of `stream` with version >= `from_version`, in version order.
    fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
    ) -> impl Future<Output = Result<Vec<Envelope>, StoreError>> + Send;

    /// At most `limit` events with position >= `from_position`, in position order.
    fn read_all(
        &self,
        from_position: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Envelope>, StoreError>> + Send;

    /// Position of the last acknowledged event (0 when empty).
    fn head(&self) -> u64;

    /// Every event from `from_position` on: catch-up, then live.
    fn subscribe_all(&self, from_position: u64) -> Subscription;

    /// Re-walk the hash chain and the stream index.
    fn verify(&self) -> impl Future<Output = Result<VerifyReport, StoreError>> + Send;
}
