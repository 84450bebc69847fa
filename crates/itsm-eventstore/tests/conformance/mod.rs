//! The conformance suite every backend must pass. Each fn takes a fresh, empty store whose live
//! feed keeps at most [`SMALL_BROADCAST`] batches (so the lagging path is exercised).
//! `conformance_tests!(make_store)` expands to one `#[tokio::test]` per check.

#![allow(dead_code)]

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use itsm_eventstore::{
    Appended, CausationId, CommandId, CorrelationId, Envelope, EventStore, ExpectedVersion, Hash,
    Metadata, NewEvent, SnapshotStore, StoreError, StreamId,
};
use uuid::Uuid;

pub const SMALL_BROADCAST: usize = 16;

pub fn stream(name: &str) -> StreamId {
    StreamId::new(name).unwrap()
}

pub fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_764_000_000 + seconds, 123_456_789).unwrap()
}

pub fn meta() -> Metadata {
    Metadata::new("tester", at(0))
}

pub fn cmd(n: u128) -> CommandId {
    CommandId::from_uuid(Uuid::from_u128(n))
}

pub fn events(n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| {
            NewEvent::new(
                format!("Happened{i}"),
                1,
                vec![u8::try_from(i % 256).unwrap(); 8],
            )
        })
        .collect()
}

pub fn one() -> Vec<NewEvent> {
    events(1)
}

async fn read_everything<S: EventStore>(store: &S) -> Vec<Envelope> {
    store.read_all(1, usize::MAX).await.unwrap()
}

fn assert_chain(all: &[Envelope]) {
    let mut prev = Hash::GENESIS;
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.position, i as u64 + 1, "positions are gap-free from 1");
        assert_eq!(e.prev_hash, prev, "prev_hash links position {}", e.position);
        assert_eq!(e.compute_hash(), e.hash, "hash of position {}", e.position);
        prev = e.hash;
    }
}

pub async fn positions_are_gap_free_and_versions_start_at_one<S: EventStore>(store: S) {
    assert_eq!(store.head(), 0);
    let a = store
        .append(stream("a"), ExpectedVersion::NoStream, events(3), meta())
        .await
        .unwrap();
    assert_eq!(
        a,
        Appended {
            stream: stream("a"),
            first_position: 1,
            last_position: 3,
            version: 3
        }
    );
    let b = store
        .append(stream("b"), ExpectedVersion::Any, one(), meta())
        .await
        .unwrap();
    assert_eq!((b.first_position, b.last_position, b.version), (4, 4, 1));
    let a2 = store
        .append(stream("a"), ExpectedVersion::Exact(3), events(2), meta())
        .await
        .unwrap();
    assert_eq!((a2.first_position, a2.last_position, a2.version), (5, 6, 5));
    assert_eq!(store.head(), 6);

    let all = read_everything(&store).await;
    assert_eq!(all.len(), 6);
    assert_chain(&all);
    let a_events = store.read_stream(&stream("a"), 1).await.unwrap();
    let versions: Vec<u64> = a_events.iter().map(|e| e.version).collect();
    let positions: Vec<u64> = a_events.iter().map(|e| e.position).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5]);
    assert_eq!(positions, [1, 2, 3, 5, 6]);
    assert!(a_events.iter().all(|e| e.stream_id == stream("a")));
}

pub async fn envelopes_carry_what_was_appended<S: EventStore>(store: S) {
    let metadata = Metadata::new("alice", at(42))
        .with_command_id(cmd(1))
        .with_correlation_id(CorrelationId::from_uuid(Uuid::from_u128(2)))
        .with_causation_id(CausationId::from_uuid(Uuid::from_u128(3)));
    let event = NewEvent::new("IncidentLogged", 7, vec![1, 2, 3, 255]);
    store
        .append(
            stream("incident-1"),
            ExpectedVersion::NoStream,
            vec![event.clone()],
            metadata.clone(),
        )
        .await
        .unwrap();
    let e = &store.read_stream(&stream("incident-1"), 1).await.unwrap()[0];
    assert_eq!(e.event_type, event.event_type);
    assert_eq!(e.schema_version, 7);
    assert_eq!(e.payload, event.payload);
    assert_eq!(e.metadata, metadata);
    assert_eq!(e.prev_hash, Hash::GENESIS);
    assert_eq!(e.hash, e.compute_hash());
}

pub async fn expected_version_rules_and_conflict_values<S: EventStore>(store: S) {
    let s = stream("s");
    store
        .append(s.clone(), ExpectedVersion::NoStream, one(), meta())
        .await
        .unwrap();
    assert_eq!(
        store
            .append(s.clone(), ExpectedVersion::NoStream, one(), meta())
            .await,
        Err(StoreError::Conflict {
            stream: s.clone(),
            expected: ExpectedVersion::NoStream,
            actual: 1
        })
    );
    assert_eq!(
        store
            .append(s.clone(), ExpectedVersion::Exact(0), one(), meta())
            .await,
        Err(StoreError::Conflict {
            stream: s.clone(),
            expected: ExpectedVersion::Exact(0),
            actual: 1
        })
    );
    assert_eq!(
        store
            .append(s.clone(), ExpectedVersion::Exact(2), one(), meta())
            .await,
        Err(StoreError::Conflict {
            stream: s.clone(),
            expected: ExpectedVersion::Exact(2),
            actual: 1
        })
    );
    assert_eq!(store.head(), 1, "conflicts write nothing");
    let ok = store
        .append(s.clone(), ExpectedVersion::Exact(1), one(), meta())
        .await
        .unwrap();
    assert_eq!(ok.version, 2);
    let any = store
        .append(s.clone(), ExpectedVersion::Any, one(), meta())
        .await
        .unwrap();
    assert_eq!(any.version, 3);
    let new = store
        .append(stream("t"), ExpectedVersion::Exact(0), one(), meta())
        .await
        .unwrap();
    assert_eq!(new.version, 1, "Exact(0) accepts a stream with no events");
    assert_eq!(
        store
            .append(stream("u"), ExpectedVersion::Exact(1), one(), meta())
            .await,
        Err(StoreError::Conflict {
            stream: stream("u"),
            expected: ExpectedVersion::Exact(1),
            actual: 0
        })
    );
    assert_eq!(store.head(), 4);
}

pub async fn invalid_appends_are_refused_and_write_nothing<S: EventStore>(store: S) {
    assert_eq!(
        store
            .append(stream("s"), ExpectedVersion::Any, vec![], meta())
            .await,
        Err(StoreError::NoEvents {
            stream: stream("s")
        })
    );
    let bad_type = vec![NewEvent::new("", 1, vec![])];
    assert!(matches!(
        store
            .append(stream("s"), ExpectedVersion::Any, bad_type, meta())
            .await,
        Err(StoreError::InvalidEvent { index: 0, .. })
    ));
    let huge = vec![
        NewEvent::new("A", 1, vec![]),
        NewEvent::new("B", 1, vec![0; itsm_eventstore::MAX_PAYLOAD_BYTES + 1]),
    ];
    assert!(matches!(
        store
            .append(stream("s"), ExpectedVersion::Any, huge, meta())
            .await,
        Err(StoreError::InvalidEvent { index: 1, .. })
    ));
    assert!(matches!(
        StreamId::new(""),
        Err(StoreError::InvalidStreamId { .. })
    ));
    assert!(matches!(
        StreamId::new("a\u{7}b"),
        Err(StoreError::InvalidStreamId { .. })
    ));
    assert_eq!(store.head(), 0);
    assert!(read_everything(&store).await.is_empty());
}

pub async fn repeated_command_id_returns_the_first_result_and_writes_nothing<S: EventStore>(
    store: S,
) {
    let first = store
        .append(
            stream("a"),
            ExpectedVersion::NoStream,
            events(2),
            meta().with_command_id(cmd(7)),
        )
        .await
        .unwrap();
    store
        .append(stream("b"), ExpectedVersion::Any, one(), meta())
        .await
        .unwrap();
    // Same command id: different stream, events and an expectation that would now conflict.
    let again = store
        .append(
            stream("c"),
            ExpectedVersion::NoStream,
            events(5),
            meta().with_command_id(cmd(7)),
        )
        .await
        .unwrap();
    assert_eq!(again, first);
    let again = store
        .append(
            stream("a"),
            ExpectedVersion::NoStream,
            one(),
            meta().with_command_id(cmd(7)),
        )
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(store.head(), 3);
    assert!(store.read_stream(&stream("c"), 1).await.unwrap().is_empty());
    assert_eq!(store.read_stream(&stream("a"), 1).await.unwrap().len(), 2);
}

pub async fn a_refused_append_does_not_use_up_its_command_id<S: EventStore>(store: S) {
    store
        .append(stream("a"), ExpectedVersion::Any, one(), meta())
        .await
        .unwrap();
    let refused = store
        .append(
            stream("a"),
            ExpectedVersion::NoStream,
            one(),
            meta().with_command_id(cmd(9)),
        )
        .await;
    assert!(matches!(refused, Err(StoreError::Conflict { .. })));
    let retried = store
        .append(
            stream("a"),
            ExpectedVersion::Exact(1),
            one(),
            meta().with_command_id(cmd(9)),
        )
        .await
        .unwrap();
    assert_eq!(retried.version, 2);
}

pub async fn reads_respect_their_bounds<S: EventStore>(store: S) {
    for i in 0..5 {
        store
            .append(stream("a"), ExpectedVersion::Exact(i), one(), meta())
            .await
            .unwrap();
        store
            .append(stream("b"), ExpectedVersion::Any, one(), meta())
            .await
            .unwrap();
    }
    let versions = |es: Vec<Envelope>| es.iter().map(|e| e.version).collect::<Vec<_>>();
    let positions = |es: Vec<Envelope>| es.iter().map(|e| e.position).collect::<Vec<_>>();
    assert_eq!(
        versions(store.read_stream(&stream("a"), 0).await.unwrap()),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        versions(store.read_stream(&stream("a"), 1).await.unwrap()),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        versions(store.read_stream(&stream("a"), 4).await.unwrap()),
        [4, 5]
    );
    assert_eq!(
        versions(store.read_stream(&stream("a"), 5).await.unwrap()),
        [5]
    );
    assert!(store.read_stream(&stream("a"), 6).await.unwrap().is_empty());
    assert!(
        store
            .read_stream(&stream("a"), u64::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .read_stream(&stream("nope"), 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        positions(store.read_stream(&stream("b"), 2).await.unwrap()),
        [4, 6, 8, 10]
    );

    assert_eq!(positions(store.read_all(0, 3).await.unwrap()), [1, 2, 3]);
    assert_eq!(positions(store.read_all(1, 3).await.unwrap()), [1, 2, 3]);
    assert_eq!(positions(store.read_all(8, 100).await.unwrap()), [8, 9, 10]);
    assert_eq!(positions(store.read_all(10, 1).await.unwrap()), [10]);
    assert!(store.read_all(11, 10).await.unwrap().is_empty());
    assert!(store.read_all(u64::MAX, 10).await.unwrap().is_empty());
    assert!(store.read_all(1, 0).await.unwrap().is_empty());
}

pub async fn concurrent_exact_appends_let_exactly_one_win<S: EventStore + Clone>(store: S) {
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .append(
                    stream("race"),
                    ExpectedVersion::NoStream,
                    one(),
                    meta().with_command_id(cmd(100 + i)),
                )
                .await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(a) => {
                wins += 1;
                assert_eq!(a.version, 1);
            }
            Err(e) => assert_eq!(
                e,
                StoreError::Conflict {
                    stream: stream("race"),
                    expected: ExpectedVersion::NoStream,
                    actual: 1
                }
            ),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(store.head(), 1);
}

pub async fn concurrent_appends_get_distinct_positions_and_versions<S: EventStore + Clone>(
    store: S,
) {
    let mut tasks = Vec::new();
    for t in 0..8u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in 0..25u64 {
                let shared = store
                    .append(stream("shared"), ExpectedVersion::Any, one(), meta())
                    .await
                    .unwrap();
                let own = store
                    .append(
                        stream(&format!("own-{t}")),
                        ExpectedVersion::Exact(i),
                        one(),
                        meta(),
                    )
                    .await
                    .unwrap();
                got.push(shared);
                got.push(own);
            }
            got
        }));
    }
    let mut positions = HashSet::new();
    let mut shared_versions = HashSet::new();
    for t in tasks {
        for a in t.await.unwrap() {
            assert!(positions.insert(a.first_position));
            if a.stream == stream("shared") {
                assert!(shared_versions.insert(a.version));
            }
        }
    }
    assert_eq!(positions.len(), 400);
    assert_eq!(shared_versions, (1..=200).collect());
    assert_eq!(store.head(), 400);
    assert_chain(&read_everything(&store).await);
    assert!(store.verify().await.unwrap().is_ok());
}

/// Appends run while the subscriber switches from catch-up to live: every position arrives
/// exactly once, in order.
pub async fn subscription_switches_from_catch_up_to_live_without_gap_or_duplicate<
    S: EventStore + Clone,
>(
    store: S,
) {
    for _ in 0..50 {
        store
            .append(stream("pre"), ExpectedVersion::Any, events(3), meta())
            .await
            .unwrap();
    }
    let before = store.head();
    let mut from_start = store.subscribe_all(0);
    let mut from_middle = store.subscribe_all(100);
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..150 {
                    store
                        .append(
                            stream(&format!("live-{t}")),
                            ExpectedVersion::Any,
                            events(2),
                            meta(),
                        )
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let total = before + 4 * 150 * 2;
    for expected in 1..=total {
        assert_eq!(from_start.next().await.unwrap().position, expected);
    }
    for expected in 100..=total {
        assert_eq!(from_middle.next().await.unwrap().position, expected);
    }
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(store.head(), total);
    // And it keeps going live.
    store
        .append(stream("after"), ExpectedVersion::Any, one(), meta())
        .await
        .unwrap();
    assert_eq!(from_start.next().await.unwrap().position, total + 1);
}

/// A subscriber that stops reading while many appends are published falls behind the bounded
/// live feed; it must still get every event, once, in order.
pub async fn a_lagging_subscriber_still_gets_everything<S: EventStore>(store: S) {
    let mut sub = store.subscribe_all(1);
    store
        .append(stream("a"), ExpectedVersion::Any, one(), meta())
        .await
        .unwrap();
    assert_eq!(sub.next().await.unwrap().position, 1);
    // Now live; publish far more batches than the feed keeps.
    let n = (SMALL_BROADCAST as u64) * 20;
    for _ in 0..n {
        store
            .append(stream("a"), ExpectedVersion::Any, one(), meta())
            .await
            .unwrap();
    }
    for expected in 2..=n + 1 {
        let e = sub.next().await.unwrap();
        assert_eq!(e.position, expected);
        assert_eq!(e.version, expected);
    }
    store
        .append(stream("a"), ExpectedVersion::Any, one(), meta())
        .await
        .unwrap();
    assert_eq!(sub.next().await.unwrap().position, n + 2);
}

pub async fn a_subscription_ends_when_the_store_is_dropped<S: EventStore>(store: S) {
    store
        .append(stream("a"), ExpectedVersion::Any, events(2), meta())
        .await
        .unwrap();
    let mut sub = store.subscribe_all(1);
    assert_eq!(sub.next().await.unwrap().position, 1);
    drop(store);
    // What was committed before may still be delivered; then the feed reports Closed.
    let mut last = Ok(());
    for _ in 0..3 {
        match sub.next().await {
            Ok(e) => assert_eq!(e.position, 2),
            Err(e) => {
                last = Err(e);
                break;
            }
        }
    }
    assert_eq!(last, Err(StoreError::Closed));
}

pub async fn verify_accepts_a_healthy_ledger<S: EventStore>(store: S) {
    let empty = store.verify().await.unwrap();
    assert!(empty.is_ok());
    assert_eq!((empty.events, empty.head_hash), (0, Hash::GENESIS));
    for i in 0..20u64 {
        store
            .append(
                stream(&format!("s{}", i % 3)),
                ExpectedVersion::Any,
                events(usize::try_from(i % 3 + 1).unwrap()),
                meta(),
            )
            .await
            .unwrap();
    }
    let report = store.verify().await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.events, store.head());
    assert_eq!(report.index_entries, store.head());
    assert_eq!(report.first_bad_position(), None);
    let last = store.read_all(store.head(), 1).await.unwrap();
    assert_eq!(report.head_hash, last[0].hash);
}

pub async fn snapshots_are_found_at_or_below_a_position_and_pruned<
    S: EventStore + SnapshotStore,
>(
    store: S,
) {
    assert_eq!(store.load_snapshot("models", u64::MAX).await.unwrap(), None);
    store
        .save_snapshot("models", 10, b"ten".to_vec())
        .await
        .unwrap();
    store
        .save_snapshot("models", 20, b"twenty".to_vec())
        .await
        .unwrap();
    // A name that shares a prefix is a different snapshot.
    store
        .save_snapshot("models-2", 15, b"other".to_vec())
        .await
        .unwrap();
    let at = |p| store.load_snapshot("models", p);
    assert_eq!(at(9).await.unwrap(), None);
    assert_eq!(at(10).await.unwrap().unwrap().bytes, b"ten");
    assert_eq!(at(19).await.unwrap().unwrap().position, 10);
    let newest = at(u64::MAX).await.unwrap().unwrap();
    assert_eq!(
        (newest.position, newest.bytes.as_slice()),
        (20, &b"twenty"[..])
    );
    // Saving at the same position replaces.
    store
        .save_snapshot("models", 20, b"again".to_vec())
        .await
        .unwrap();
    assert_eq!(at(20).await.unwrap().unwrap().bytes, b"again");
    // Only the newest KEPT_PER_NAME stay.
    let kept = u64::try_from(itsm_eventstore::snapshot::KEPT_PER_NAME).unwrap();
    for p in 100..100 + kept {
        store
            .save_snapshot("models", p, p.to_be_bytes().to_vec())
            .await
            .unwrap();
    }
    assert_eq!(at(99).await.unwrap(), None, "older snapshots were pruned");
    assert_eq!(at(100).await.unwrap().unwrap().position, 100);
    assert_eq!(
        store
            .load_snapshot("models-2", u64::MAX)
            .await
            .unwrap()
            .unwrap()
            .bytes,
        b"other"
    );
    // Bad names are refused, among them every name that could leave a directory of snapshots.
    for bad in ["", "a\0b", ".", "..", "../models", "a/b", ".hidden", "a b"] {
        assert!(
            matches!(
                store.save_snapshot(bad, 1, vec![]).await,
                Err(StoreError::InvalidMetadata { .. })
            ),
            "{bad:?}"
        );
        assert!(
            matches!(
                store.load_snapshot(bad, 1).await,
                Err(StoreError::InvalidMetadata { .. })
            ),
            "{bad:?}"
        );
    }
}

/// One `#[tokio::test]` per conformance check; `$make` returns `(fresh store, guard)`.
#[allow(unused_macros)] // Only the two conformance test files expand it.
macro_rules! conformance_tests {
    ($make:expr) => {
        conformance_tests!(@tests $make;
            positions_are_gap_free_and_versions_start_at_one,
            envelopes_carry_what_was_appended,
            expected_version_rules_and_conflict_values,
            invalid_appends_are_refused_and_write_nothing,
            repeated_command_id_returns_the_first_result_and_writes_nothing,
            a_refused_append_does_not_use_up_its_command_id,
            reads_respect_their_bounds,
            concurrent_exact_appends_let_exactly_one_win,
            concurrent_appends_get_distinct_positions_and_versions,
            subscription_switches_from_catch_up_to_live_without_gap_or_duplicate,
            a_lagging_subscriber_still_gets_everything,
            a_subscription_ends_when_the_store_is_dropped,
            verify_accepts_a_healthy_ledger,
            snapshots_are_found_at_or_below_a_position_and_pruned,
        );
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                // The guard (e.g. a temporary directory) outlives the store.
                let (store, _guard) = $make;
                conformance::$name(store).await;
            }
        )*
    };
}
