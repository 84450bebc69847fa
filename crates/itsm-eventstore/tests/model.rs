//! Model test: random appends (random streams, expected versions, command ids with repeats) and
//! reads; `SledStore` must answer exactly like `MemoryStore`, also after being closed and
//! reopened in the middle of the sequence.

mod conformance;

use conformance::{at, cmd};
use itsm_eventstore::{
    EventStore, ExpectedVersion, MemoryStore, Metadata, NewEvent, SledConfig, SledStore, StreamId,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append {
        stream: u8,
        expected: ExpectedVersion,
        events: Vec<(u8, Vec<u8>)>,
        command: Option<u8>,
    },
    ReadStream {
        stream: u8,
        from_version: u64,
    },
    ReadAll {
        from_position: u64,
        limit: usize,
    },
    Reopen,
}

fn expected_version() -> impl Strategy<Value = ExpectedVersion> {
    prop_oneof![
        Just(ExpectedVersion::Any),
        Just(ExpectedVersion::NoStream),
        (0u64..5).prop_map(ExpectedVersion::Exact),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (
            0u8..4,
            expected_version(),
            proptest::collection::vec((0u8..3, proptest::collection::vec(any::<u8>(), 0..16)), 0..4),
            proptest::option::of(0u8..6),
        )
            .prop_map(|(stream, expected, events, command)| Op::Append { stream, expected, events, command }),
        2 => (0u8..4, 0u64..6).prop_map(|(stream, from_version)| Op::ReadStream { stream, from_version }),
        2 => (0u64..25, 0usize..8).prop_map(|(from_position, limit)| Op::ReadAll { from_position, limit }),
        1 => Just(Op::Reopen),
    ]
}

fn stream_id(n: u8) -> StreamId {
    StreamId::new(format!("stream-{n}")).unwrap()
}

fn config() -> SledConfig {
    SledConfig {
        cache_capacity: 8 * 1024 * 1024,
        ..SledConfig::default()
    }
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let memory = MemoryStore::new();
        let mut sled = SledStore::open(dir.path(), &config()).unwrap();
        for (i, op) in ops.iter().enumerate() {
            match op {
                Op::Append {
                    stream,
                    expected,
                    events,
                    command,
                } => {
                    let events: Vec<NewEvent> = events
                        .iter()
                        .map(|(t, payload)| {
                            NewEvent::new(format!("Type{t}"), u16::from(*t), payload.clone())
                        })
                        .collect();
                    let mut metadata =
                        Metadata::new(format!("actor-{i}"), at(i64::try_from(i).unwrap()));
                    if let Some(c) = command {
                        metadata = metadata.with_command_id(cmd(u128::from(*c)));
                    }
                    let want = memory
                        .append(
                            stream_id(*stream),
                            *expected,
                            events.clone(),
                            metadata.clone(),
                        )
                        .await;
                    let got = sled
                        .append(stream_id(*stream), *expected, events, metadata)
                        .await;
                    prop_assert_eq!(got, want, "op {}: {:?}", i, op);
                }
                Op::ReadStream {
                    stream,
                    from_version,
                } => {
                    let want = memory.read_stream(&stream_id(*stream), *from_version).await;
                    let got = sled.read_stream(&stream_id(*stream), *from_version).await;
                    prop_assert_eq!(got, want, "op {}: {:?}", i, op);
                }
                Op::ReadAll {
                    from_position,
                    limit,
                } => {
                    let want = memory.read_all(*from_position, *limit).await;
                    let got = sled.read_all(*from_position, *limit).await;
                    prop_assert_eq!(got, want, "op {}: {:?}", i, op);
                }
                Op::Reopen => {
                    drop(sled);
                    sled = SledStore::open(dir.path(), &config()).unwrap();
                }
            }
            prop_assert_eq!(sled.head(), memory.head());
        }
        prop_assert_eq!(
            sled.read_all(1, usize::MAX).await,
            memory.read_all(1, usize::MAX).await
        );
        let (want, got) = (memory.verify().await.unwrap(), sled.verify().await.unwrap());
        prop_assert!(want.is_ok());
        prop_assert_eq!(got, want);
        Ok(())
    })
}

proptest! {
    // Each sled append is a flush: keep the sequence count modest so this runs in seconds.
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn sled_behaves_like_memory(ops in proptest::collection::vec(op(), 1..40)) {
        run(&ops)?;
    }
}
