//! `itsm-eventstore`: the append-only, hash-chained event log of Ledgerdesk.
//!
//! It stores [`Envelope`]s: an opaque payload with its global `position` (gap-free from 1),
//! its `stream_id` and stream `version` (from 1), a persisted event type and schema version,
//! metadata (actor, command/correlation/causation ids, `recorded_at`), and `prev_hash`/`hash`
//! links of a BLAKE3 chain (encoding documented in [`envelope`]). Appends are checked against an
//! [`ExpectedVersion`] (typed [`StoreError::Conflict`]) and are idempotent per command id: a
//! repeated command id returns the first [`Appended`] and writes nothing.
//!
//! Two backends implement [`EventStore`]: [`MemoryStore`] (tests) and [`SledStore`] (embedded,
//! durable). Both run the same pure append logic (`ledger`: validation, idempotency, version
//! check, envelope building, hashing) and the same `verify` walk, and pass one conformance suite
//! plus a model test (sled must behave exactly like memory, also across reopen).
//!
//! # What it must not do
//!
//! - Know anything about ITIL: no domain types, no event enums; payloads are bytes.
//! - Acknowledge, expose to readers or broadcast an event before the flush that made it durable
//!   returned.
//! - Read a clock or make ids: `recorded_at` and command ids arrive in [`Metadata`].
//! - Use bincode anywhere but [`codec`].
//!
//! # Key decisions
//!
//! - **Group commit.** `SledStore` has a single writer on a dedicated OS thread. Callers send
//!   requests over a channel and await a tokio oneshot; the writer drains the queue, decides
//!   every request against its in-memory stream versions, writes one atomic `sled::Batch`,
//!   calls the blocking `flush()` once, then answers everyone and broadcasts the new
//!   envelopes. A conflicting request fails alone; an I/O failure fails the whole batch and the
//!   writer reloads its state from disk.
//! - **Key layout** in one sled tree, format 2 (see `keys`): `E/{first position}` -> a chunk of
//!   a group commit's consecutive envelopes, `S/{stream}\0{first version}` -> the positions of a
//!   run of versions, `c/{command id}` -> first `Appended`, `meta/format` -> format version,
//!   big-endian integers so key order is numeric order. A format-1 ledger (two keys per event)
//!   is rewritten once at open ([`upgrade`]).
//! - **Subscriptions** subscribe to the writer's broadcast *before* reading the log, and filter
//!   by position, so the catch-up -> live switch-over has no gap and no duplicate; a lagging
//!   subscriber goes back to reading the log.
//! - **sled 0.34.7 precautions**: explicit `cache_capacity`, no background flusher (only the
//!   writer flushes, with the blocking `flush()`, never `flush_async`), no `len()`, no
//!   `watch_prefix`, no `io_uring`; one process per directory, enforced by a lock file
//!   ([`StoreError::Locked`]).
//! - **Corruption is refused, never served.** sled 0.34.7 opens a log with a damaged record as a
//!   shorter database; a head record beside sled (`head`) makes `open` refuse that. Readers check
//!   each envelope's position and hash (and links), and `verify` names the first bad position.
//! - **Import** ([`SledStore::import`]) fills an empty store with another ledger's envelopes,
//!   byte for byte, re-checking the chain as it goes; see [`import`].

pub mod append;
mod chunk;
pub mod codec;
pub mod envelope;
pub mod error;
pub mod frames;
mod head;
pub mod import;
mod keys;
mod ledger;
pub mod memory;
pub mod raw;
pub mod sled_store;
pub mod snapshot;
pub mod store;
pub mod subscription;
pub mod upgrade;
pub mod verify;

pub use append::{Appended, ExpectedVersion, MAX_PAYLOAD_BYTES, NewEvent};
pub use codec::CodecError;
pub use envelope::{CausationId, CommandId, CorrelationId, Envelope, Hash, Metadata, StreamId};
pub use error::StoreError;
pub use import::{ImportError, Imported};
pub use memory::MemoryStore;
pub use sled_store::{SledConfig, SledStore};
pub use snapshot::{Snapshot, SnapshotStore};
pub use store::EventStore;
pub use subscription::Subscription;
pub use upgrade::{UpgradeEvent, UpgradePart};
pub use verify::{Defect, Problem, VerifyReport};
