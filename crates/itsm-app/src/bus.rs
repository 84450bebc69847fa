//! The command bus: load, decide, append, retry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use itsm_eventstore::{
    Appended, CodecError, CommandId, CorrelationId, Envelope, EventStore, ExpectedVersion,
    Metadata, NewEvent, StoreError, StreamId, codec,
};
use itsm_kernel::{Actor, Context, Decider, PersistedEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;

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

/// Executes commands against an [`EventStore`]. Cheap to clone.
pub struct CommandBus<S> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    locks: Arc<StreamLocks>,
    next_numbers: Arc<NextNumbers>,
}

impl<S> Clone for CommandBus<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            clock: Arc::clone(&self.clock),
            ids: Arc::clone(&self.ids),
            locks: Arc::clone(&self.locks),
            next_numbers: Arc::clone(&self.next_numbers),
        }
    }
}

impl<S> std::fmt::Debug for CommandBus<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandBus").finish_non_exhaustive()
    }
}

impl<S: EventStore> CommandBus<S> {
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>, ids: Arc<dyn IdSource>) -> Self {
        Self {
            store,
            clock,
            ids,
            locks: Arc::default(),
            next_numbers: Arc::default(),
        }
    }

    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Folds `stream` into `D`'s state.
    pub async fn load<D>(&self, stream: &StreamId) -> Result<Loaded<D::State>, AppError<D::Error>>
    where
        D: Decider,
        D::Event: DeserializeOwned,
        D::Error: std::error::Error + 'static,
    {
        let envelopes = self.store.read_stream(stream, 1).await?;
        let version = envelopes.last().map_or(0, |e| e.version);
        let events = decode_events::<D, D::Error>(&envelopes)?;
        Ok(Loaded {
            state: events.iter().fold(D::State::default(), D::evolve),
            version,
        })
    }

    /// Runs `command` as `actor` against `stream`: load, decide, append with the version read,
    /// and on a version conflict decide again on the fresh state (at most [`MAX_ATTEMPTS`]).
    /// Commands on the same stream run one at a time in this process.
    pub async fn execute<D>(
        &self,
        stream: &StreamId,
        command: &D::Command,
        actor: &Actor,
    ) -> Result<CommandResult, AppError<D::Error>>
    where
        D: Decider,
        D::Event: Serialize + DeserializeOwned + PersistedEvent,
        D::Error: std::error::Error + 'static,
    {
        let lock = self.locks.lock_for(stream);
        let result = {
            let _turn = lock.lock().await;
            self.execute_locked::<D>(stream, command, actor).await
        };
        self.locks.release(stream, &lock);
        result
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
        D::Event: Serialize + DeserializeOwned + PersistedEvent,
        D::Error: std::error::Error + 'static,
    {
        loop {
            let number = self.reserve_number(D::NAME, stream_of).await?;
            let stream = stream_of(number);
            let lock = self.locks.lock_for(&stream);
            let outcome = {
                let _turn = lock.lock().await;
                if self.store.read_stream(&stream, 1).await?.is_empty() {
                    Some(
                        self.execute_locked::<D>(&stream, &command_of(number), actor)
                            .await,
                    )
                } else {
                    None
                }
            };
            self.locks.release(&stream, &lock);
            match outcome {
                // Taken by a writer this process did not know of: try the next number.
                None => {}
                Some(Ok(result)) => return Ok((number, result)),
                Some(Err(error)) => {
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

    async fn execute_locked<D>(
        &self,
        stream: &StreamId,
        command: &D::Command,
        actor: &Actor,
    ) -> Result<CommandResult, AppError<D::Error>>
    where
        D: Decider,
        D::Event: Serialize + DeserializeOwned + PersistedEvent,
        D::Error: std::error::Error + 'static,
    {
        let command_id = CommandId::from_uuid(self.ids.new_id());
        let correlation_id = CorrelationId::from_uuid(self.ids.new_id());
        let mut attempts = 0;
        loop {
            attempts += 1;
            let loaded = self.load::<D>(stream).await?;
            let now = self.clock.now();
            let context = Context::new(actor.clone(), now);
            let events = D::decide(&loaded.state, command, &context).map_err(AppError::Domain)?;
            if events.is_empty() {
                return Ok(CommandResult {
                    stream: stream.clone(),
                    version: loaded.version,
                    position: self.store.head(),
                    events: 0,
                });
            }
            let new_events = events
                .iter()
                .map(|event| {
                    codec::encode(event)
                        .map(|payload| {
                            NewEvent::new(event.event_type(), event.schema_version(), payload)
                        })
                        .map_err(AppError::Encode)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let metadata = Metadata::new(actor_label(actor), now)
                .with_command_id(command_id)
                .with_correlation_id(correlation_id);
            let expected = if loaded.version == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exact(loaded.version)
            };
            match self
                .store
                .append(stream.clone(), expected, new_events, metadata)
                .await
            {
                Ok(appended) => return Ok(result_of(&appended)),
                Err(StoreError::Conflict { .. }) if attempts < MAX_ATTEMPTS => {}
                Err(StoreError::Conflict { .. }) => {
                    return Err(AppError::TooMuchContention {
                        stream: stream.clone(),
                        attempts,
                    });
                }
                Err(other) => return Err(other.into()),
            }
        }
    }
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
