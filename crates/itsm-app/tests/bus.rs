//! The command bus against both store backends, with a tiny decider: a ticket counter that can
//! be closed, after which it accepts nothing.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use itsm_app::{AppError, CommandBus, ManualClock, UuidV7Ids, actor_label};
use itsm_eventstore::{
    EventStore, ExpectedVersion, MemoryStore, Metadata, NewEvent, SledStore, StreamId,
};
use itsm_kernel::{Actor, Context, Decider, PersistedEvent, Role, UserId};
use serde::{Deserialize, Serialize};

struct Tally;

#[derive(Debug, Default, Clone, PartialEq)]
struct TallyState {
    count: u32,
    closed: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum TallyCommand {
    Add,
    Close,
    /// Accepted, but records nothing.
    Touch,
    /// Always rejected.
    Refuse,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum TallyEvent {
    Added { by: String, total: u32 },
    Closed,
}

impl PersistedEvent for TallyEvent {
    fn event_type(&self) -> &'static str {
        match self {
            TallyEvent::Added { .. } => "TallyAdded",
            TallyEvent::Closed => "TallyClosed",
        }
    }
    fn schema_version(&self) -> u16 {
        1
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum TallyError {
    #[error("the tally is closed")]
    Closed,
    #[error("refused")]
    Refused,
}

impl Decider for Tally {
    const NAME: &'static str = "tally";
    type Command = TallyCommand;
    type Event = TallyEvent;
    type State = TallyState;
    type Error = TallyError;

    fn decide(
        state: &TallyState,
        command: &TallyCommand,
        context: &Context,
    ) -> Result<Vec<TallyEvent>, TallyError> {
        if state.closed {
            return Err(TallyError::Closed);
        }
        Ok(match command {
            TallyCommand::Add => vec![TallyEvent::Added {
                by: context.actor.to_string(),
                total: state.count + 1,
            }],
            TallyCommand::Close => vec![TallyEvent::Closed],
            TallyCommand::Touch => vec![],
            TallyCommand::Refuse => return Err(TallyError::Refused),
        })
    }

    fn evolve(mut state: TallyState, event: &TallyEvent) -> TallyState {
        match event {
            TallyEvent::Added { total, .. } => state.count = *total,
            TallyEvent::Closed => state.closed = true,
        }
        state
    }
}

fn agent() -> Actor {
    Actor::user(UserId::new("agent.smith").expect("valid id"), Role::Agent)
}

fn bus<S: EventStore>(store: S) -> CommandBus<S> {
    let start = Utc
        .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .expect("valid date");
    CommandBus::new(
        Arc::new(store),
        Arc::new(ManualClock::new(start)),
        Arc::new(UuidV7Ids),
    )
}

fn stream() -> StreamId {
    StreamId::new("tally-1").expect("valid stream id")
}

async fn accepted_commands_are_appended_with_metadata<S: EventStore>(bus: CommandBus<S>) {
    let first = bus
        .execute::<Tally>(&stream(), &TallyCommand::Add, &agent())
        .await
        .expect("accepted");
    assert_eq!((first.version, first.position, first.events), (1, 1, 1));
    let second = bus
        .execute::<Tally>(&stream(), &TallyCommand::Add, &agent())
        .await
        .expect("accepted");
    assert_eq!((second.version, second.position), (2, 2));

    let stored = bus
        .store()
        .read_stream(&stream(), 1)
        .await
        .expect("readable");
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].event_type, "TallyAdded");
    assert_eq!(stored[0].metadata.actor, "user:agent.smith:agent");
    assert!(stored[0].metadata.command_id.is_some());
    assert_ne!(stored[0].metadata.command_id, stored[1].metadata.command_id);
    let loaded = bus.load::<Tally>(&stream()).await.expect("loads");
    assert_eq!(loaded.state.count, 2);
    assert_eq!(loaded.version, 2);
}

async fn rejected_commands_write_nothing<S: EventStore>(bus: CommandBus<S>) {
    bus.execute::<Tally>(&stream(), &TallyCommand::Close, &agent())
        .await
        .expect("accepted");
    let error = bus
        .execute::<Tally>(&stream(), &TallyCommand::Add, &agent())
        .await
        .expect_err("a closed tally refuses");
    assert!(
        matches!(error, AppError::Domain(TallyError::Closed)),
        "{error:?}"
    );
    assert_eq!(bus.store().head(), 1);
}

async fn commands_that_record_nothing_append_nothing<S: EventStore>(bus: CommandBus<S>) {
    bus.execute::<Tally>(&stream(), &TallyCommand::Add, &agent())
        .await
        .expect("accepted");
    let touched = bus
        .execute::<Tally>(&stream(), &TallyCommand::Touch, &agent())
        .await
        .expect("accepted");
    assert_eq!(
        (touched.version, touched.position, touched.events),
        (1, 1, 0)
    );
    assert_eq!(bus.store().head(), 1);
}

/// Sixteen writers race for one stream; the bus retries on conflict, so every increment lands
/// exactly once and the stream versions stay consecutive.
async fn concurrent_commands_on_one_stream_lose_no_update<S: EventStore>(bus: CommandBus<S>) {
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let bus = bus.clone();
        tasks.push(tokio::spawn(async move {
            bus.execute::<Tally>(&stream(), &TallyCommand::Add, &agent())
                .await
        }));
    }
    for task in tasks {
        task.await
            .expect("task ran")
            .expect("every increment is accepted");
    }
    let stored = bus
        .store()
        .read_stream(&stream(), 1)
        .await
        .expect("readable");
    let versions: Vec<u64> = stored.iter().map(|e| e.version).collect();
    assert_eq!(versions, (1..=16).collect::<Vec<_>>());
    assert_eq!(
        bus.load::<Tally>(&stream())
            .await
            .expect("loads")
            .state
            .count,
        16
    );
}

async fn undecodable_history_is_a_typed_error<S: EventStore>(bus: CommandBus<S>) {
    let meta = Metadata::new(actor_label(&agent()), Utc::now());
    bus.store()
        .append(
            stream(),
            ExpectedVersion::NoStream,
            vec![NewEvent::new("TallyAdded", 1, vec![0xff, 0xff, 0xff])],
            meta,
        )
        .await
        .expect("the store takes any bytes");
    let error = bus
        .execute::<Tally>(&stream(), &TallyCommand::Add, &agent())
        .await
        .expect_err("garbage does not decode");
    assert!(
        matches!(error, AppError::Decode { position: 1, .. }),
        "{error:?}"
    );
    assert_eq!(bus.store().head(), 1);
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::bus(super::MemoryStore::new())).await;
                }
            )*
        }
        mod sled {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let dir = tempfile::tempdir().expect("temp dir");
                    let store = super::SledStore::open(dir.path(), &itsm_eventstore::SledConfig::default()).expect("opens");
                    super::$name(super::bus(store)).await;
                }
            )*
        }
    };
}

on_both_backends!(
    accepted_commands_are_appended_with_metadata,
    rejected_commands_write_nothing,
    commands_that_record_nothing_append_nothing,
    concurrent_commands_on_one_stream_lose_no_update,
    undecodable_history_is_a_typed_error,
);

mod numbering {
    use super::*;

    fn tally_stream(n: u64) -> StreamId {
        StreamId::new(format!("tally-{n}")).expect("valid stream id")
    }

    #[tokio::test]
    async fn new_aggregates_get_consecutive_numbers_and_survive_a_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let store = SledStore::open(dir.path(), &itsm_eventstore::SledConfig::default())
                .expect("opens");
            let bus = bus(store);
            for expected in 1..=5 {
                let (number, result) = bus
                    .create::<Tally>(tally_stream, |_| TallyCommand::Add, &agent())
                    .await
                    .expect("created");
                assert_eq!(number, expected);
                assert_eq!(result.stream, tally_stream(expected));
                assert_eq!(result.version, 1);
            }
        }
        // A new process finds the first unused number by probing the ledger.
        let store =
            SledStore::open(dir.path(), &itsm_eventstore::SledConfig::default()).expect("reopens");
        let (number, _) = bus(store)
            .create::<Tally>(tally_stream, |_| TallyCommand::Add, &agent())
            .await
            .expect("created");
        assert_eq!(number, 6);
    }

    #[tokio::test]
    async fn a_rejected_creation_gives_its_number_back() {
        let bus = bus(MemoryStore::new());
        let error = bus
            .create::<Tally>(tally_stream, |_| TallyCommand::Refuse, &agent())
            .await
            .expect_err("rejected");
        assert!(
            matches!(error, AppError::Domain(TallyError::Refused)),
            "{error:?}"
        );
        assert_eq!(bus.store().head(), 0);
        let (number, _) = bus
            .create::<Tally>(tally_stream, |_| TallyCommand::Add, &agent())
            .await
            .expect("created");
        assert_eq!(number, 1);
    }

    #[tokio::test]
    async fn a_number_taken_behind_the_bus_s_back_is_skipped() {
        let bus = bus(MemoryStore::new());
        let (first, _) = bus
            .create::<Tally>(tally_stream, |_| TallyCommand::Add, &agent())
            .await
            .expect("created");
        assert_eq!(first, 1);
        let meta = Metadata::new("user:someone:agent", Utc::now());
        let payload = itsm_eventstore::codec::encode(&TallyEvent::Closed).expect("encodes");
        bus.store()
            .append(
                tally_stream(2),
                ExpectedVersion::NoStream,
                vec![NewEvent::new("TallyClosed", 1, payload)],
                meta,
            )
            .await
            .expect("appended");
        let (next, _) = bus
            .create::<Tally>(tally_stream, |_| TallyCommand::Add, &agent())
            .await
            .expect("created");
        assert_eq!(next, 3);
    }

    #[tokio::test]
    async fn concurrent_creations_never_share_a_number() {
        let bus = bus(MemoryStore::new());
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let bus = bus.clone();
            tasks.push(tokio::spawn(async move {
                bus.create::<Tally>(tally_stream, |_| TallyCommand::Add, &agent())
                    .await
            }));
        }
        let mut numbers = Vec::new();
        for task in tasks {
            numbers.push(task.await.expect("task ran").expect("created").0);
        }
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=20).collect::<Vec<_>>());
    }
}

mod options {
    use itsm_app::CommandOptions;
    use itsm_eventstore::{CausationId, CommandId, CorrelationId};
    use uuid::Uuid;

    use super::*;

    #[tokio::test]
    async fn a_repeated_command_id_returns_the_first_result_and_writes_nothing() {
        let bus = bus(MemoryStore::new());
        let options = CommandOptions {
            command_id: Some(CommandId::from_uuid(Uuid::from_u128(7))),
            correlation_id: Some(CorrelationId::from_uuid(Uuid::from_u128(8))),
            causation_id: Some(CausationId::from_uuid(Uuid::from_u128(9))),
        };
        let first = bus
            .execute_with::<Tally>(&stream(), &TallyCommand::Add, &agent(), options)
            .await
            .expect("accepted");
        let again = bus
            .execute_with::<Tally>(&stream(), &TallyCommand::Add, &agent(), options)
            .await
            .expect("answered from the store");
        assert_eq!(first, again);
        assert_eq!(bus.store().head(), 1);
        let stored = bus.store().read_all(1, 10).await.expect("readable");
        assert_eq!(stored[0].metadata.command_id, options.command_id);
        assert_eq!(stored[0].metadata.correlation_id, options.correlation_id);
        assert_eq!(stored[0].metadata.causation_id, options.causation_id);
        // The cache was not advanced by the answered repeat.
        let loaded = bus.load::<Tally>(&stream()).await.expect("loads");
        assert_eq!((loaded.version, loaded.state.count), (1, 1));
    }

    #[tokio::test]
    async fn a_repeated_creation_returns_the_first_number() {
        let bus = bus(MemoryStore::new());
        let options = CommandOptions {
            command_id: Some(CommandId::from_uuid(Uuid::from_u128(11))),
            ..CommandOptions::default()
        };
        let tally_stream = |n: u64| StreamId::new(format!("tally-{n}")).expect("valid");
        let (first, _) = bus
            .create_with::<Tally>(tally_stream, |_| TallyCommand::Add, &agent(), options)
            .await
            .expect("created");
        let (again, result) = bus
            .create_with::<Tally>(tally_stream, |_| TallyCommand::Add, &agent(), options)
            .await
            .expect("answered");
        assert_eq!((first, again), (1, 1));
        assert_eq!(result.stream, tally_stream(1));
        assert_eq!(bus.store().head(), 1);
        let (next, _) = bus
            .create::<Tally>(tally_stream, |_| TallyCommand::Add, &agent())
            .await
            .expect("created");
        assert_eq!(next, 2, "the number reserved by the repeat was given back");
    }
}

mod written {
    use itsm_app::{CommandOptions, decode_events};
    use itsm_eventstore::{CommandId, Envelope};
    use uuid::Uuid;

    use super::*;

    fn tally_stream(n: u64) -> StreamId {
        StreamId::new(format!("tally-{n}")).expect("valid")
    }

    /// What a reader of the stream finds for `written`'s events: (position, version, event
    /// type, metadata, event) each.
    fn as_read(
        written: &itsm_app::Written<TallyEvent>,
    ) -> Vec<(u64, u64, &'static str, Metadata, TallyEvent)> {
        written
            .events
            .iter()
            .enumerate()
            .map(|(index, event)| {
                let (position, version) = written.position_of(index);
                let metadata = written.metadata.clone();
                (
                    position,
                    version,
                    event.event_type(),
                    metadata,
                    event.clone(),
                )
            })
            .collect()
    }

    fn stored(envelopes: &[Envelope]) -> Vec<(u64, u64, &'static str, Metadata, TallyEvent)> {
        let events = decode_events::<Tally, TallyError>(envelopes).expect("decodes");
        envelopes
            .iter()
            .zip(events)
            .map(|(envelope, event)| {
                let event_type = event.event_type();
                assert_eq!(envelope.event_type, event_type);
                let metadata = envelope.metadata.clone();
                (
                    envelope.position,
                    envelope.version,
                    event_type,
                    metadata,
                    event,
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn a_creation_answers_with_the_whole_new_stream_as_stored() {
        let bus = bus(MemoryStore::new());
        // Something else in the ledger first, so positions and versions differ.
        bus.execute::<Tally>(&stream(), &TallyCommand::Add, &agent())
            .await
            .expect("added");
        let (number, written) = bus
            .create_written::<Tally>(
                tally_stream,
                |_| TallyCommand::Add,
                &agent(),
                CommandOptions::default(),
            )
            .await
            .expect("created");
        assert!(written.is_whole_stream());
        assert_eq!((written.result.position, written.result.version), (2, 1));
        let envelopes = bus
            .store()
            .read_stream(&tally_stream(number), 1)
            .await
            .expect("readable");
        assert_eq!(as_read(&written), stored(&envelopes));
    }

    #[tokio::test]
    async fn a_command_on_an_existing_stream_answers_with_its_tail() {
        let bus = bus(MemoryStore::new());
        for _ in 0..2 {
            bus.execute::<Tally>(&stream(), &TallyCommand::Add, &agent())
                .await
                .expect("added");
        }
        let written = bus
            .execute_written::<Tally>(
                &stream(),
                &TallyCommand::Add,
                &agent(),
                CommandOptions::default(),
            )
            .await
            .expect("added");
        assert!(!written.is_whole_stream());
        let envelopes = bus
            .store()
            .read_stream(&stream(), 3)
            .await
            .expect("readable");
        assert_eq!(as_read(&written), stored(&envelopes));
    }

    #[tokio::test]
    async fn nothing_written_answers_with_no_events() {
        let bus = bus(MemoryStore::new());
        let touched = bus
            .execute_written::<Tally>(
                &stream(),
                &TallyCommand::Touch,
                &agent(),
                CommandOptions::default(),
            )
            .await
            .expect("accepted");
        assert!(touched.events.is_empty());
        assert!(!touched.is_whole_stream());
        let options = CommandOptions {
            command_id: Some(CommandId::from_uuid(Uuid::from_u128(12))),
            ..CommandOptions::default()
        };
        let (_, first) = bus
            .create_written::<Tally>(tally_stream, |_| TallyCommand::Add, &agent(), options)
            .await
            .expect("created");
        let (_, repeat) = bus
            .create_written::<Tally>(tally_stream, |_| TallyCommand::Add, &agent(), options)
            .await
            .expect("answered");
        assert_eq!(first.events.len(), 1);
        assert_eq!(repeat.result, first.result);
        assert!(repeat.events.is_empty(), "a repeat wrote nothing new");
    }
}

mod cache {
    use super::*;

    /// The same script of commands on a cached and an uncached bus gives the same results,
    /// errors and stored events.
    #[tokio::test]
    async fn the_cache_never_changes_a_decision() {
        let cached = bus(MemoryStore::new());
        let uncached = bus(MemoryStore::new()).with_cache_capacity(0);
        let streams: Vec<StreamId> = (1..=3)
            .map(|n| StreamId::new(format!("tally-{n}")).expect("valid"))
            .collect();
        let script = [
            TallyCommand::Add,
            TallyCommand::Touch,
            TallyCommand::Add,
            TallyCommand::Refuse,
            TallyCommand::Add,
            TallyCommand::Close,
            TallyCommand::Add,
        ];
        for (i, command) in script.iter().cycle().take(40).enumerate() {
            let stream = &streams[(i * 7) % streams.len()];
            let a = cached.execute::<Tally>(stream, command, &agent()).await;
            let b = uncached.execute::<Tally>(stream, command, &agent()).await;
            match (a, b) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(AppError::Domain(a)), Err(AppError::Domain(b))) => assert_eq!(a, b),
                (a, b) => panic!("cached {a:?} vs uncached {b:?}"),
            }
        }
        assert!(cached.cached_streams() > 0);
        assert_eq!(uncached.cached_streams(), 0);
        for stream in &streams {
            let a = cached.load::<Tally>(stream).await.expect("loads");
            let b = uncached.load::<Tally>(stream).await.expect("loads");
            assert_eq!((a.version, a.state), (b.version, b.state));
        }
        let a = cached.store().read_all(1, 100).await.expect("readable");
        let b = uncached.store().read_all(1, 100).await.expect("readable");
        let payloads = |envelopes: &[itsm_eventstore::Envelope]| {
            envelopes
                .iter()
                .map(|e| (e.stream_id.clone(), e.version, e.payload.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(payloads(&a), payloads(&b));
    }

    /// Two buses (two processes, say) on one store: each one's cache is behind after the
    /// other wrote, and the tail read (or the conflict retry) brings it up to date.
    #[tokio::test]
    async fn a_write_by_another_bus_is_seen() {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let one = CommandBus::new(Arc::clone(&store), clock.clone(), Arc::new(UuidV7Ids));
        let two = CommandBus::new(Arc::clone(&store), clock, Arc::new(UuidV7Ids));
        one.execute::<Tally>(&stream(), &TallyCommand::Add, &agent())
            .await
            .expect("accepted");
        assert_eq!(one.cached_streams(), 1);
        two.execute::<Tally>(&stream(), &TallyCommand::Add, &agent())
            .await
            .expect("accepted");
        // `one` has version 1 cached; the stream is at 2.
        let loaded = one.load::<Tally>(&stream()).await.expect("loads");
        assert_eq!((loaded.version, loaded.state.count), (2, 2));
        two.execute::<Tally>(&stream(), &TallyCommand::Close, &agent())
            .await
            .expect("accepted");
        let error = one
            .execute::<Tally>(&stream(), &TallyCommand::Add, &agent())
            .await
            .expect_err("the other bus closed it");
        assert!(
            matches!(error, AppError::Domain(TallyError::Closed)),
            "{error:?}"
        );
        assert_eq!(store.head(), 3);
    }

    /// A write sneaking in between the (cached) read and the append is a conflict; the bus
    /// drops the cached state, re-reads and decides again.
    #[tokio::test]
    async fn a_conflict_reloads_and_decides_again() {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let one = CommandBus::new(Arc::clone(&store), clock, Arc::new(UuidV7Ids));
        for _ in 0..3 {
            one.execute::<Tally>(&stream(), &TallyCommand::Add, &agent())
                .await
                .expect("accepted");
        }
        // Concurrent writers through separate buses race with conflicts.
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let bus = CommandBus::new(
                Arc::clone(&store),
                Arc::new(ManualClock::new(Utc::now())),
                Arc::new(UuidV7Ids),
            );
            tasks.push(tokio::spawn(async move {
                bus.execute::<Tally>(&stream(), &TallyCommand::Add, &agent())
                    .await
            }));
        }
        let mut landed = 0;
        for task in tasks {
            match task.await.expect("task ran") {
                Ok(_) => landed += 1,
                Err(AppError::TooMuchContention { .. }) => {}
                Err(other) => panic!("{other:?}"),
            }
        }
        one.execute::<Tally>(&stream(), &TallyCommand::Add, &agent())
            .await
            .expect("accepted after reloading");
        let loaded = one.load::<Tally>(&stream()).await.expect("loads");
        assert_eq!(loaded.state.count, 3 + landed + 1);
        assert_eq!(loaded.version, u64::from(3 + landed + 1));
    }
}
