//! `SledStore::import`: another ledger's envelopes, byte for byte, into an empty store only,
//! refusing anything that does not chain, atomically per batch.

use chrono::{DateTime, Utc};
use itsm_eventstore::{
    CommandId, Envelope, EventStore, ExpectedVersion, Hash, ImportError, Metadata, NewEvent,
    SledConfig, SledStore, StreamId,
};
use uuid::Uuid;

fn config() -> SledConfig {
    SledConfig {
        cache_capacity: 8 * 1024 * 1024,
        ..SledConfig::default()
    }
}

fn open(dir: &tempfile::TempDir) -> SledStore {
    SledStore::open(dir.path(), &config()).unwrap()
}

fn stream(name: &str) -> StreamId {
    StreamId::new(name).unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_764_000_000 + seconds, 987_654_321).unwrap()
}

fn cmd(n: u128) -> CommandId {
    CommandId::from_uuid(Uuid::from_u128(n))
}

fn events(n: usize, tag: u8) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent::new(format!("Happened{i}"), 2, vec![tag; 5 + i]))
        .collect()
}

/// A source ledger with several streams, multi-event appends, appends with and without
/// command ids, and distinct timestamps: 12 events.
async fn source() -> (tempfile::TempDir, Vec<Envelope>) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let plan: [(&str, usize, Option<u128>); 6] = [
        ("incident-1", 3, Some(1)),
        ("incident-2", 1, Some(2)),
        ("catalog", 2, None),
        ("incident-1", 1, Some(3)),
        ("incident-2", 4, Some(4)),
        ("access", 1, None),
    ];
    for (i, (name, count, command)) in plan.into_iter().enumerate() {
        let mut meta = Metadata::new(format!("user-{i}"), at(i64::try_from(i).unwrap() * 60));
        if let Some(command) = command {
            meta = meta.with_command_id(cmd(command));
        }
        store
            .append(
                stream(name),
                ExpectedVersion::Any,
                events(count, u8::try_from(i).unwrap()),
                meta,
            )
            .await
            .unwrap();
    }
    let all = store.read_all(1, usize::MAX).await.unwrap();
    assert_eq!(all.len(), 12);
    (dir, all)
}

/// Re-hash a chain after editing it, so only the intended defect remains.
fn rechain(envelopes: &mut [Envelope], from: usize) {
    let mut prev = if from == 0 {
        Hash::GENESIS
    } else {
        envelopes[from - 1].hash
    };
    for envelope in &mut envelopes[from..] {
        envelope.prev_hash = prev;
        envelope.hash = envelope.compute_hash();
        prev = envelope.hash;
    }
}

fn refused_at(result: Result<impl std::fmt::Debug, ImportError>) -> u64 {
    match result {
        Err(ImportError::Refused { position, .. }) => position,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn an_import_in_batches_copies_every_field_and_the_copy_verifies_with_the_same_head_hash() {
    let (_source_dir, original) = source().await;
    let dir = tempfile::tempdir().unwrap();
    let copy = open(&dir);
    // Cut inside the three-event append of incident-1 and inside the four-event one.
    for batch in [&original[..2], &original[2..8], &original[8..]] {
        copy.import(batch.to_vec()).await.unwrap();
    }
    let copied = copy.read_all(1, usize::MAX).await.unwrap();
    assert_eq!(copied, original);
    let report = copy.verify().await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.head_hash, original.last().unwrap().hash);
    assert_eq!(report.index_entries, 12);
    assert_eq!(
        copy.read_stream(&stream("incident-2"), 1).await.unwrap(),
        original
            .iter()
            .filter(|e| e.stream_id.as_str() == "incident-2")
            .cloned()
            .collect::<Vec<_>>()
    );

    // The command-id index was rebuilt: a retried command answers its first result (the
    // whole three-event append, though it arrived in two batches) and writes nothing.
    let retried = copy
        .append(
            stream("incident-1"),
            ExpectedVersion::Any,
            events(1, 99),
            Metadata::new("retry", at(9_999)).with_command_id(cmd(1)),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            retried.first_position,
            retried.last_position,
            retried.version
        ),
        (1, 3, 3)
    );
    assert_eq!(copy.head(), 12);

    // New appends continue the chain and the stream versions.
    let next = copy
        .append(
            stream("incident-1"),
            ExpectedVersion::Exact(4),
            events(1, 7),
            Metadata::new("agent", at(10_000)),
        )
        .await
        .unwrap();
    assert_eq!((next.first_position, next.version), (13, 5));
    assert!(copy.verify().await.unwrap().is_ok());
}

#[tokio::test]
async fn an_imported_store_reopens_intact() {
    let (_source_dir, original) = source().await;
    let dir = tempfile::tempdir().unwrap();
    {
        let copy = open(&dir);
        let imported = copy.import(original.clone()).await.unwrap();
        assert_eq!(imported.events, 12);
        assert_eq!(imported.head, 12);
        assert_eq!(imported.head_hash, original[11].hash);
    }
    let reopened = open(&dir);
    assert_eq!(reopened.read_all(1, usize::MAX).await.unwrap(), original);
    assert!(reopened.verify().await.unwrap().is_ok());
    // A reopened store is no longer empty: no further import.
    assert_eq!(
        reopened.import(original[..1].to_vec()).await.unwrap_err(),
        ImportError::NotEmpty { head: 12 }
    );
}

#[tokio::test]
async fn a_store_with_events_of_its_own_refuses_an_import() {
    let (_source_dir, original) = source().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store
        .append(
            stream("x"),
            ExpectedVersion::Any,
            events(1, 1),
            Metadata::new("someone", at(0)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.import(original).await.unwrap_err(),
        ImportError::NotEmpty { head: 1 }
    );
    assert_eq!(store.head(), 1);
}

#[tokio::test]
async fn an_ordinary_append_ends_the_import_window() {
    let (_source_dir, original) = source().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.import(original[..6].to_vec()).await.unwrap();
    store
        .append(
            stream("x"),
            ExpectedVersion::Any,
            events(1, 1),
            Metadata::new("someone", at(0)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.import(original[6..].to_vec()).await.unwrap_err(),
        ImportError::NotEmpty { head: 7 }
    );
}

#[tokio::test]
async fn a_changed_field_is_refused_and_nothing_of_the_batch_is_written() {
    let (_source_dir, original) = source().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut tampered = original.clone();
    tampered[4].payload[0] ^= 1;
    assert_eq!(refused_at(store.import(tampered).await), 5);
    assert_eq!(store.head(), 0);
    assert!(store.read_all(1, usize::MAX).await.unwrap().is_empty());
    assert!(
        store
            .read_stream(&stream("incident-1"), 1)
            .await
            .unwrap()
            .is_empty()
    );
    // The store still takes the untouched ledger afterwards.
    store.import(original.clone()).await.unwrap();
    assert_eq!(store.read_all(1, usize::MAX).await.unwrap(), original);
}

#[tokio::test]
async fn a_chain_that_does_not_link_is_refused() {
    let (_source_dir, original) = source().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);

    // A gap: position 3 is missing.
    let mut gap = original.clone();
    gap.remove(2);
    assert_eq!(refused_at(store.import(gap).await), 4);

    // Not starting at position 1.
    assert_eq!(refused_at(store.import(original[1..].to_vec()).await), 2);

    // Re-hashed so every hash matches, but the first envelope does not link to genesis.
    let mut foreign = original.clone();
    foreign[0].prev_hash = Hash([7; 32]);
    foreign[0].hash = foreign[0].compute_hash();
    rechain(&mut foreign, 1);
    assert_eq!(refused_at(store.import(foreign).await), 1);

    // A batch that does not continue the previous one.
    store.import(original[..4].to_vec()).await.unwrap();
    assert_eq!(refused_at(store.import(original[5..].to_vec()).await), 6);
    assert_eq!(store.head(), 4);
    store.import(original[4..].to_vec()).await.unwrap();
    assert!(store.verify().await.unwrap().is_ok());
}

#[tokio::test]
async fn a_stream_version_that_does_not_follow_is_refused_even_with_valid_hashes() {
    let (_source_dir, original) = source().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut skipped = original.clone();
    // incident-2's first event claims version 2.
    skipped[3].version = 2;
    rechain(&mut skipped, 3);
    assert_eq!(refused_at(store.import(skipped).await), 4);
    assert_eq!(store.head(), 0);
}

#[tokio::test]
async fn a_command_id_used_by_two_appends_is_refused() {
    let (_source_dir, original) = source().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut repeated = original.clone();
    // Position 5 (incident-1, command 3) claims command 1, already used at positions 1-3.
    repeated[4].metadata.command_id = Some(cmd(1));
    rechain(&mut repeated, 4);
    assert_eq!(refused_at(store.import(repeated.clone()).await), 5);

    // Also across batches, where the first use is already on disk.
    store.import(repeated[..4].to_vec()).await.unwrap();
    assert_eq!(refused_at(store.import(repeated[4..].to_vec()).await), 5);
    assert_eq!(store.head(), 4);
}

#[tokio::test]
async fn invalid_envelopes_are_refused_like_appends() {
    let (_source_dir, original) = source().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut bad = original.clone();
    bad[0].event_type = String::new();
    rechain(&mut bad, 0);
    assert_eq!(refused_at(store.import(bad).await), 1);

    let mut bad = original.clone();
    bad[1].metadata.actor = "x".repeat(2_000);
    rechain(&mut bad, 1);
    assert_eq!(refused_at(store.import(bad).await), 2);
    assert_eq!(store.head(), 0);
}

#[tokio::test]
async fn an_empty_batch_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let imported = store.import(Vec::new()).await.unwrap();
    assert_eq!((imported.events, imported.head), (0, 0));
    assert_eq!(imported.head_hash, Hash::GENESIS);
}

#[tokio::test]
async fn subscribers_see_imported_events() {
    let (_source_dir, original) = source().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut subscription = store.subscribe_all(1);
    store.import(original.clone()).await.unwrap();
    for expected in &original {
        assert_eq!(&subscription.next().await.unwrap(), expected);
    }
}
