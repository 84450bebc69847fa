//! The command bus: load, decide, append, retry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use itsm_eventstore::{
    Appended, CausationId, CodecError, CommandId, CorrelationId, Envelope, EventStore,
    ExpectedVersion, Metadata, NewEvent, StoreError, StreamId, codec,
};
use itsm_kernel::{Actor, Context, Decider, PersistedEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::{DEFAULT_CACHE_CAPACITY, StateCache};
use crate::port::{Clock, IdSource};

/// How many times a command is decided again after losing a race for its stream.
pub const MAX_ATTEMPTS: u32 = 5;

/// What a successful command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandResult {
    pub stream: StreamId,
    /// Stream version after the command (unchanged when the command produced no events).
    pub version: u64,
    /// Ledger position of the last event written, or the ledger head seen when nothing was
    /// written; a reader that waits for this position sees the command's effect.
    pub position: u64,
    /// Number of events the command appended (0 when the decider had nothing to record).
    pub events: usize,
}

/// A command's result with the events it appended, as the decider returned them and as a reader
/// of the stream finds them (same order, one `metadata` for all), so a caller can answer from
/// them instead of reading the stream back.
#[derive(Debug, Clone, PartialEq)]
pub struct Written<E> {
    pub result: CommandResult,
    /// The appended events, oldest first: the last is at `result.position` and stream version
    /// `result.version`, the ones before it at the positions and versions just before (one
    /// append is contiguous). Empty when nothing new was written (the decider had nothing to
    /// record, or a repeated command id was answered with its first result).
    pub events: Vec<E>,
    /// The metadata every event was stored with.
    pub metadata: Metadata,
}

impl<E> Written<E> {
    /// Position and stream version of `events[index]` (of the last event for an `index` past
    /// the end).
    pub fn position_of(&self, index: usize) -> (u64, u64) {
        let back = self.events.len().saturating_sub(index.saturating_add(1));
        let back = u64::try_from(back).unwrap_or(u64::MAX);
        (
            self.result.position.saturating_sub(back),
            self.result.version.saturating_sub(back),
        )
    }

    /// Whether `events` are the whole stream: it was new, so they are everything a read of it
    /// from version 1 would return (as of `result.position`).
    pub fn is_whole_stream(&self) -> bool {
        !self.events.is_empty() && self.position_of(0).1 == 1
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError<E: std::error::Error + 'static> {
    /// The decider rejected the command; nothing was written.
    #[error(transparent)]
    Domain(E),
    /// The store refused or failed; see [`StoreError`] for whether anything was written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event of this stream could not be decoded with the current code.
    #[error("event {position} ({event_type}) of stream {stream} cannot be decoded: {source}")]
    Decode {
        stream: StreamId,
        position: u64,
        event_type: String,
        source: CodecError,
    },
    /// A new event could not be encoded.
    #[error("a new event cannot be encoded: {0}")]
    Encode(CodecError),
    /// Other writers kept winning the race for the stream.
    #[error("stream {stream} kept changing under the command ({attempts} attempts)")]
    TooMuchContention { stream: StreamId, attempts: u32 },
}

/// The stable text form of an actor stored in event metadata: `user:<id>:<role>` or
/// `automation:<name>`. The audit log parses it back.
pub fn actor_label(actor: &Actor) -> String {
    match actor {
        Actor::User { id, role } => format!("user:{id}:{role}"),
        Actor::Automation { name } => format!("automation:{name}"),
    }
}

/// A stream folded into its aggregate's state.
#[derive(Debug)]
pub struct Loaded<S> {
    pub state: S,
    /// Version of the last event folded (0 for a new stream).
    pub version: u64,
}

/// Decodes a stream's envelopes into domain events.
pub fn decode_events<D, E>(envelopes: &[Envelope]) -> Result<Vec<D::Event>, AppError<E>>
where
    D: Decider,
    D::Event: DeserializeOwned,
    E: std::error::Error + 'static,
{
    envelopes
        .iter()
        .map(|envelope| {
            codec::decode(&envelope.payload).map_err(|source| AppError::Decode {
                stream: envelope.stream_id.clone(),
                position: envelope.position,
                event_type: envelope.event_type.clone(),
                source,
            })
        })
        .collect()
}

/// One async lock per stream that has a command in flight.
///
/// Commands on one stream are decided one after the other inside this process, so a burst of
/// writers on a hot ticket does not turn into a storm of conflicts and re-decisions (with group
/// commit, n racing writers would need up to n rounds). Conflict retries remain for writers
/// outside this bus.
#[derive(Debug, Default)]
struct StreamLocks {
    locks: Mutex<HashMap<StreamId, Arc<tokio::sync::Mutex<()>>>>,
}

impl StreamLocks {
    fn lock_for(&self, stream: &StreamId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(locks.entry(stream.clone()).or_default())
    }

    /// Forgets the stream's lock when nobody else holds or waits for it.
    fn release(&self, stream: &StreamId, lock: &Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        // Two references: ours and the map's.
        if Arc::strong_count(lock) == 2 {
            locks.remove(stream);
        }
    }
}

/// The next free number of each numbered aggregate (`INC-<n>`, `PRB-<n>`, `CHG-<n>`), keyed by
/// the decider's name. Filled on first use by probing the ledger.
type NextNumbers = tokio::sync::Mutex<HashMap<&'static str, u64>>;

/// Ids a caller may fix for one command; what is left `None` is made by the bus.
///
/// A given `command_id` is used as-is: the store answers a repeated command id with the first
/// result and writes nothing, so a retried request or a process manager re-sending after a
/// restart never duplicates events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommandOptions {
    pub command_id: Option<CommandId>,
    pub correlation_id: Option<CorrelationId>,
    pub causation_id: Option<CausationId>,
}

/// Executes commands against an [`EventStore`]. Cheap to clone (clones share the stream locks,
/// the ticket numbers and the state cache).
pub struct CommandBus<S> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    locks: Arc<StreamLocks>,
    next_numbers: Arc<NextNumbers>,
    cache: Arc<StateCache>,
}

impl<S> Clone for CommandBus<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            clock: Arc::clone(&self.clock),
            ids: Arc::clone(&self.ids),
            locks: Arc::clone(&self.locks),
            next_numbers: Arc::clone(&self.next_numbers),
            cache: Arc::clone(&self.cache),
        }
    }
}

impl<S> std::fmt::Debug for CommandBus<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandBus")
            .field("cached_streams", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl<S: EventStore> CommandBus<S> {
    /// A bus with a state cache of [`DEFAULT_CACHE_CAPACITY`] streams.
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>, ids: Arc<dyn IdSource>) -> Self {
        Self {
            store,
            clock,
            ids,
            locks: Arc::default(),
            next_numbers: Arc::default(),
            cache: Arc::new(StateCache::new(DEFAULT_CACHE_CAPACITY)),
        }
    }

    /// The same bus with a fresh state cache of `capacity` streams (0 turns caching off).
    #[must_use]
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache = Arc::new(StateCache::new(capacity));
        self
    }

    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn ids(&self) -> &Arc<dyn IdSource> {
        &self.ids
    }

    /// Number of streams whose state is cached now.
    pub fn cached_streams(&self) -> usize {
        self.cache.len()
    }

    /// Folds `stream` into `D`'s state: the cached state (if any) plus the stream's tail.
    pub async fn load<D>(&self, stream: &StreamId) -> Result<Loaded<D::State>, AppError<D::Error>>
    where
        D: Decider,
        D::State: Clone + Send + Sync + 'static,
        D::Event: DeserializeOwned,
        D::Error: std::error::Error + 'static,
    {
        let cached = self.cache.get::<D::State>(D::NAME, stream);
        let cached_version = cached.as_ref().map(|(version, _)| *version);
        let loaded = self.fold_tail::<D>(stream, cached).await?;
        if cached_version != Some(loaded.version) {
            self.cache
                .put(D::NAME, stream, loaded.version, loaded.state.clone());
        }
        Ok(loaded)
    }

    /// `base` (a fold up to its version) plus the events after it.
    async fn fold_tail<D>(
        &self,
        stream: &StreamId,
        base: Option<(u64, D::State)>,
    ) -> Result<Loaded<D::State>, AppError<D::Error>>
    where
        D: Decider,
        D::Event: DeserializeOwned,
        D::Error: std::error::Error + 'static,
    {
        let (version, state) = base.unwrap_or_else(|| (0, D::State::default()));
        let envelopes = self.store.read_stream(stream, version + 1).await?;
        let events = decode_events::<D, D::Error>(&envelopes)?;
        Ok(Loaded {
            state: events.iter().fold(state, D::evolve),
            version: envelopes.last().map_or(version, |e| e.version),
        })
    }

    /// Runs `command` as `actor` against `stream`: load, decide, append with the version read,
    /// and on a version conflict decide again on the fresh state (at most [`MAX_ATTEMPTS`]).
    /// Commands on the same stream run one at a time in this process. Fresh command and
    /// correlation ids; see [`CommandBus::execute_with`] to give them.
    pub async fn execute<D>(
        &self,
        stream: &StreamId,
        command: &D::Command,
        actor: &Actor,
    ) -> Result<CommandResult, AppError<D::Error>>
    where
        D: Decider,
        D::State: Clone + Send + Sync + 'static,
        D::Event: Serialize + DeserializeOwned + PersistedEvent,
        D::Error: std::error::Error + 'static,
    {
        self.execute_with::<D>(stream, command, actor, CommandOptions::default())
            .await
    }

    /// [`CommandBus::execute`] with the given ids. A repeated `command_id` gets the first
    /// result back and writes nothing.
    pub async fn execute_with<D>(
        &self,
        stream: &StreamId,
        command: &D::Command,
        actor: &Actor,
        options: CommandOptions,
    ) -> Result<CommandResult, AppError<D::Error>>
    where
        D: Decider,
        D::State: Clone + Send + Sync + 'static,
        D::Event: Serialize + DeserializeOwned + PersistedEvent,
        D::Error: std::error::Error + 'static,
    {
        self.execute_written::<D>(stream, command, actor, options)
            .await
            .map(|written| written.result)
    }

    /// [`CommandBus::execute_with`], answering with the events the command appended.
    pub async fn execute_written<D>(
        &self,
        stream: &StreamId,
        command: &D::Command,
        actor: &Actor,
        options: CommandOptions,
    ) -> Result<Written<D::Event>, AppError<D::Error>>
    where
        D: Decider,
        D::State: Clone + Send + Sync + 'static,
        D::Event: Serialize + DeserializeOwned + PersistedEvent,
        D::Error: std::error::Error + 'static,
    {
        let lock = self.locks.lock_for(stream);
        let written = {
            let _turn = lock.lock().await;
            self.execute_locked::<D>(stream, command, actor, options, None)
                .await
        };
        self.locks.release(stream, &lock);
        written
    }

    /// Creates a new numbered aggregate: takes the next free number of `D`'s series, builds the
    /// stream (`stream_of`) and the command (`command_of`) from it, and runs the command on the
    /// new stream. Returns the number with the result.
    ///
    /// Numbers are handed out in order; one whose command is rejected is given back when no
    /// later number was handed out meanwhile, so bad input rarely leaves a gap. A number whose
    /// stream already exists (written by an earlier process) is skipped.
    pub async fn create<D>(
        &self,
        stream_of: fn(u64) -> StreamId,
        command_of: impl Fn(u64) -> D::Command,
        actor: &Actor,
    ) -> Result<(u64, CommandResult), AppError<D::Error>>
    where
        D: Decider,
        D::State: Clone + Send + Sync + 'static,
        D::Event: Serialize + DeserializeOwned + PersistedEvent,
        D::Error: std::error::Error + 'static,
    {
        self.create_with::<D>(stream_of, command_of, actor, CommandOptions::default())
            .await
    }

    /// [`CommandBus::create`] with the given ids. Repeating a creation with the same command id
    /// returns the number and result of the first one (the number reserved meanwhile is given
    /// back).
    pub async fn create_with<D>(
        &self,
        stream_of: fn(u64) -> StreamId,
        command_of: impl Fn(u64) -> D::Command,
        actor: &Actor,
        options: CommandOptions,
    ) -> Result<(u64, CommandResult), AppError<D::Error>>
    where
        D: Decider,
        D::State: Clone + Send + Sync + 'static,
        D::Event: Serialize + DeserializeOwned + PersistedEvent,
        D::Error: std::error::Error + 'static,
    {
        self.create_written::<D>(stream_of, command_of, actor, options)
            .await
            .map(|(number, written)| (number, written.result))
    }

    /// [`CommandBus::create_with`], answering with the events the command appended (the
    /// whole new stream, see [`Written::is_whole_stream`]).
    pub async fn create_written<D>(
        &self,
        stream_of: fn(u64) -> StreamId,
        command_of: impl Fn(u64) -> D::Command,
        actor: &Actor,
        options: CommandOptions,
    ) -> Result<(u64, Written<D::Event>), AppError<D::Error>>
    where
        D: Decider,
        D::State: Clone + Send + Sync + 'static,
        D::Event: Serialize + DeserializeOwned + PersistedEvent,
        D::Error: std::error::Error + 'static,
    {
        loop {
            let number = self.reserve_number(D::NAME, stream_of).await?;
            let stream = stream_of(number);
            let lock = self.locks.lock_for(&stream);
            let outcome = {
                let _turn = lock.lock().await;
                // Decided as a new stream and appended with `NoStream`: if the stream exists
                // after all, the store refuses the append and nothing is read beforehand.
                let empty = Loaded {
                    state: D::State::default(),
                    version: 0,
                };
                self.execute_locked::<D>(&stream, &command_of(number), actor, options, Some(empty))
                    .await
            };
            self.locks.release(&stream, &lock);
            match outcome {
                // Taken by a writer this process did not know of: try the next number.
                Err(AppError::Store(StoreError::Conflict { .. })) => {}
                Ok(written) if written.result.stream != stream => {
                    // A repeated command id: the store answered with the first creation.
                    self.give_back_number(D::NAME, number).await;
                    let first = number_of(&written.result.stream).unwrap_or(number);
                    return Ok((first, written));
                }
                Ok(written) => return Ok((number, written)),
                Err(error) => {
                    self.give_back_number(D::NAME, number).await;
                    return Err(error);
                }
            }
        }
    }

    async fn reserve_number(
        &self,
        series: &'static str,
        stream_of: fn(u64) -> StreamId,
    ) -> Result<u64, StoreError> {
        let mut next_numbers = self.next_numbers.lock().await;
        let next = match next_numbers.get(series) {
            Some(next) => *next,
            None => self.first_unused_number(stream_of).await?,
        };
        next_numbers.insert(series, next + 1);
        Ok(next)
    }

    async fn give_back_number(&self, series: &'static str, number: u64) {
        let mut next_numbers = self.next_numbers.lock().await;
        if next_numbers.get(series) == Some(&(number + 1)) {
            next_numbers.insert(series, number);
        }
    }

    /// The first number whose stream is empty, assuming numbers are used densely from 1:
    /// an exponential, then binary, search in O(log n) stream reads.
    async fn first_unused_number(&self, stream_of: fn(u64) -> StreamId) -> Result<u64, StoreError> {
        let used = |n: u64| {
            let stream = stream_of(n);
            async move { Ok::<_, StoreError>(!self.store.read_stream(&stream, 1).await?.is_empty()) }
        };
        // Invariant: every number < `low` is used (or skipped); `high` is unused.
        let mut low = 1;
        let mut high = 1;
        while used(high).await? {
            low = high + 1;
            high = high.saturating_mul(2);
        }
        while low < high {
            let mid = low + (high - low) / 2;
            if used(mid).await? {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        Ok(low)
    }

    /// Runs one command; the caller holds the stream's lock, so the cached state taken here
    /// cannot be advanced by this bus meanwhile. `preloaded` is the state the caller takes the
    /// stream to have (else the cache plus the stream's tail); if the store says otherwise, its
    /// `Conflict` is returned instead of deciding again.
    async fn execute_locked<D>(
        &self,
        stream: &StreamId,
        command: &D::Command,
        actor: &Actor,
        options: CommandOptions,
        mut preloaded: Option<Loaded<D::State>>,
    ) -> Result<Written<D::Event>, AppError<D::Error>>
    where
        D: Decider,
        D::State: Clone + Send + Sync + 'static,
        D::Event: Serialize + DeserializeOwned + PersistedEvent,
        D::Error: std::error::Error + 'static,
    {
        let trusted = preloaded.is_some();
        let command_id = options
            .command_id
            .unwrap_or_else(|| CommandId::from_uuid(self.ids.new_id()));
        let correlation_id = options
            .correlation_id
            .unwrap_or_else(|| CorrelationId::from_uuid(self.ids.new_id()));
        let mut attempts = 0;
        loop {
            attempts += 1;
            let loaded = if let Some(loaded) = preloaded.take() {
                loaded
            } else {
                // After a conflict the cached state is dropped and the stream read whole.
                let cached = if attempts == 1 {
                    self.cache.take::<D::State>(D::NAME, stream)
                } else {
                    self.cache.remove(stream);
                    None
                };
                self.fold_tail::<D>(stream, cached).await?
            };
            let keep = |loaded: Loaded<D::State>| {
                self.cache
                    .put(D::NAME, stream, loaded.version, loaded.state);
            };
            let now = self.clock.now();
            let context = Context::new(actor.clone(), now);
            let events = match D::decide(&loaded.state, command, &context) {
                Ok(events) => events,
                Err(error) => {
                    keep(loaded);
                    return Err(AppError::Domain(error));
                }
            };
            let mut metadata = Metadata::new(actor_label(actor), now)
                .with_command_id(command_id)
                .with_correlation_id(correlation_id);
            if let Some(causation_id) = options.causation_id {
                metadata = metadata.with_causation_id(causation_id);
            }
            if events.is_empty() {
                let version = loaded.version;
                keep(loaded);
                let result = CommandResult {
                    stream: stream.clone(),
                    version,
                    position: self.store.head(),
                    events: 0,
                };
                return Ok(Written {
                    result,
                    events,
                    metadata,
                });
            }
            let new_events = match encode_events(&events) {
                Ok(new_events) => new_events,
                Err(error) => {
                    keep(loaded);
                    return Err(error);
                }
            };
            let expected = if loaded.version == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exact(loaded.version)
            };
            match self
                .store
                .append(stream.clone(), expected, new_events, metadata.clone())
                .await
            {
                Ok(appended) => {
                    let count = u64::try_from(events.len()).unwrap_or(u64::MAX);
                    let result = result_of(&appended);
                    if appended.stream == *stream
                        && appended.version == loaded.version.saturating_add(count)
                    {
                        let state = events.iter().fold(loaded.state, D::evolve);
                        self.cache.put(D::NAME, stream, appended.version, state);
                        return Ok(Written {
                            result,
                            events,
                            metadata,
                        });
                    }
                    // A repeated command id: nothing new was written.
                    keep(loaded);
                    return Ok(Written {
                        result,
                        events: Vec::new(),
                        metadata,
                    });
                }
                Err(conflict @ StoreError::Conflict { .. }) if trusted => {
                    return Err(conflict.into());
                }
                Err(StoreError::Conflict { .. }) if attempts < MAX_ATTEMPTS => {}
                Err(StoreError::Conflict { .. }) => {
                    return Err(AppError::TooMuchContention {
                        stream: stream.clone(),
                        attempts,
                    });
                }
                Err(other) => {
                    keep(loaded);
                    return Err(other.into());
                }
            }
        }
    }
}

fn encode_events<E, Err>(events: &[E]) -> Result<Vec<NewEvent>, AppError<Err>>
where
    E: Serialize + PersistedEvent,
    Err: std::error::Error + 'static,
{
    events
        .iter()
        .map(|event| {
            codec::encode(event)
                .map(|payload| NewEvent::new(event.event_type(), event.schema_version(), payload))
                .map_err(AppError::Encode)
        })
        .collect()
}

/// The number at the end of a numbered stream's name (`incident-42` -> 42).
fn number_of(stream: &StreamId) -> Option<u64> {
    stream.as_str().rsplit_once('-')?.1.parse().ok()
}

fn result_of(appended: &Appended) -> CommandResult {
    let events = appended.last_position - appended.first_position + 1;
    CommandResult {
        stream: appended.stream.clone(),
        version: appended.version,
        position: appended.last_position,
        events: usize::try_from(events).unwrap_or(usize::MAX),
    }
}
