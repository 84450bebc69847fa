//! In-memory backend for tests and the model test. Same logic as the sled backend
//! ([`crate::ledger`]), no durability.

use std::collections::HashMap;
use std::future::{Future, ready};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::broadcast;

use crate::append::{Appended, ExpectedVersion, NewEvent};
use crate::envelope::{CommandId, Envelope, Metadata, StreamId};
use crate::error::StoreError;
use crate::ledger::{self, AppendRequest, Index, Outcome, Tip};
use crate::snapshot::{self, Snapshot, SnapshotStore};
use crate::store::EventStore;
use crate::subscription::{self, LogSource, Published, Subscription};
use crate::verify::{Verifier, VerifyReport};

/// Batches kept for slow subscribers before they fall back to catch-up reads.
const BROADCAST_CAPACITY: usize = 1024;

/// An event store held in memory. Cloning shares the store.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    live: broadcast::Sender<Published>,
}

#[derive(Debug, Default)]
struct State {
    log: Vec<Envelope>,
    tip: Option<Tip>,
    index: MemoryIndex,
    /// Snapshots by key (see `snapshot::key`).
    snapshots: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
}

#[derive(Debug, Default)]
struct MemoryIndex {
    /// Positions of each stream's events, by version - 1.
    streams: HashMap<StreamId, Vec<u64>>,
    commands: HashMap<CommandId, Appended>,
}

impl Index for MemoryIndex {
    fn stream_version(&mut self, stream: &StreamId) -> Result<u64, StoreError> {
        Ok(self.streams.get(stream).map_or(0, |v| v.len() as u64))
    }

    fn command(&mut self, id: CommandId) -> Result<Option<Appended>, StoreError> {
        Ok(self.commands.get(&id).cloned())
    }

    fn record(&mut self, appended: &Appended, command_id: Option<CommandId>) {
        self.streams
            .entry(appended.stream.clone())
            .or_default()
            .extend(appended.first_position..=appended.last_position);
        if let Some(id) = command_id {
            self.commands.insert(id, appended.clone());
        }
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::with_broadcast_capacity(BROADCAST_CAPACITY)
    }

    /// A store whose live feed keeps only `capacity` appends for slow subscribers (tests use a
    /// small one to exercise the lagging path).
    pub fn with_broadcast_capacity(capacity: usize) -> Self {
        let (live, _) = broadcast::channel(capacity.max(1));
        MemoryStore {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                live,
            }),
        }
    }

    fn append_now(
        &self,
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        metadata: Metadata,
    ) -> Result<Appended, StoreError> {
        ledger::validate(&stream, &events, &metadata)?;
        let mut state = self.inner.lock();
        let state = &mut *state;
        let mut tip = state.tip.unwrap_or(Tip::EMPTY);
        let request = AppendRequest {
            stream,
            expected,
            events,
            metadata,
        };
        match ledger::decide(&mut state.index, &mut tip, request)? {
            Outcome::Duplicate(first) => Ok(first),
            Outcome::Written {
                appended,
                envelopes,
                ..
            } => {
                state.tip = Some(tip);
                state.log.extend(envelopes.iter().cloned());
                // Sent while holding the lock so batches are broadcast in position order.
                let _no_receivers_is_fine = self.inner.live.send(Published::from(envelopes));
                Ok(appended)
            }
        }
    }

    fn read_stream_now(&self, stream: &StreamId, from_version: u64) -> Vec<Envelope> {
        let state = self.inner.lock();
        let Some(positions) = state.index.streams.get(stream) else {
            return Vec::new();
        };
        let skip = usize::try_from(from_version.max(1) - 1).unwrap_or(usize::MAX);
        positions
            .iter()
            .skip(skip)
            .filter_map(|p| state.at(*p).cloned())
            .collect()
    }

    fn verify_now(&self) -> VerifyReport {
        let state = self.inner.lock();
        let mut verifier = Verifier::new();
        for env in &state.log {
            verifier.event(env.position, Ok(env.clone()));
        }
        for (stream, positions) in &state.index.streams {
            for (i, position) in positions.iter().enumerate() {
                verifier.index_entry(stream.as_str(), i as u64 + 1, *position);
            }
        }
        verifier.finish()
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated: every mutation
        // happens after the last fallible step. So a poisoned lock is still consistent.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl State {
    fn at(&self, position: u64) -> Option<&Envelope> {
        let i = usize::try_from(position.checked_sub(1)?).ok()?;
        self.log.get(i)
    }
}

impl LogSource for Inner {
    fn read_committed(
        &self,
        from_position: u64,
        limit: usize,
    ) -> Result<Vec<Envelope>, StoreError> {
        let state = self.lock();
        let start = usize::try_from(from_position.max(1) - 1).unwrap_or(usize::MAX);
        Ok(state.log.iter().skip(start).take(limit).cloned().collect())
    }
}

impl EventStore for MemoryStore {
    fn append(
        &self,
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        metadata: Metadata,
    ) -> impl Future<Output = Result<Appended, StoreError>> + Send {
        ready(self.append_now(stream, expected, events, metadata))
    }

    fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
    ) -> impl Future<Output = Result<Vec<Envelope>, StoreError>> + Send {
        ready(Ok(self.read_stream_now(stream, from_version)))
    }

    fn read_all(
        &self,
        from_position: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Envelope>, StoreError>> + Send {
        ready(self.inner.read_committed(from_position, limit))
    }

    fn head(&self) -> u64 {
        self.inner.lock().tip.map_or(0, |t| t.position)
    }

    fn subscribe_all(&self, from_position: u64) -> Subscription {
        subscription::subscribe(&self.inner, &self.inner.live, from_position)
    }

    fn verify(&self) -> impl Future<Output = Result<VerifyReport, StoreError>> + Send {
        ready(Ok(self.verify_now()))
    }
}

impl SnapshotStore for MemoryStore {
    fn save_snapshot(
        &self,
        name: &str,
        position: u64,
        bytes: Vec<u8>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let result = snapshot::check_name(name).map(|()| {
            let mut state = self.inner.lock();
            state.snapshots.insert(snapshot::key(name, position), bytes);
            let all = snapshot::key(name, 0)..=snapshot::key(name, u64::MAX);
            let oldest_first: Vec<Vec<u8>> =
                state.snapshots.range(all).map(|(k, _)| k.clone()).collect();
            let excess = oldest_first.len().saturating_sub(snapshot::KEPT_PER_NAME);
            for key in oldest_first.into_iter().take(excess) {
                state.snapshots.remove(&key);
            }
        });
        ready(result)
    }

    fn load_snapshot(
        &self,
        name: &str,
        at_or_below: u64,
    ) -> impl Future<Output = Result<Option<Snapshot>, StoreError>> + Send {
        let result = snapshot::check_name(name).map(|()| {
            self.inner
                .lock()
                .snapshots
                .range(snapshot::key(name, 0)..=snapshot::key(name, at_or_below))
                .next_back()
                .map(|(key, bytes)| Snapshot {
                    position: snapshot::position_of(key),
                    bytes: bytes.clone(),
                })
        });
        ready(result)
    }
}
