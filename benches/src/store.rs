//! Event store figures and their raw sled ceilings.

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use chrono::Utc;
use itsm_eventstore::{
    EventStore, ExpectedVersion, Metadata, NewEvent, SledConfig, SledStore, StreamId,
};

use crate::{Counts, Figure, payload, per_second};

pub type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Concurrent appenders in `append_durable_c256`.
pub const CONCURRENCY: u64 = 256;
/// Page size of `read_all`.
pub const PAGE: usize = 1_000;
const CACHE_BYTES: u64 = 1024 * 1024 * 1024;

fn store_config() -> SledConfig {
    SledConfig {
        cache_capacity: CACHE_BYTES,
        ..SledConfig::default()
    }
}

/// Raw sled configured like the store: same cache, no background flusher.
fn raw_sled(dir: &Path) -> BenchResult<sled::Db> {
    Ok(sled::Config::new()
        .path(dir)
        .cache_capacity(CACHE_BYTES)
        .flush_every_ms(None)
        .open()?)
}

fn raw_key(position: u64) -> [u8; 10] {
    let mut key = [0u8; 10];
    key[..2].copy_from_slice(b"e/");
    key[2..].copy_from_slice(&position.to_be_bytes());
    key
}

fn event(seed: u64) -> NewEvent {
    NewEvent::new("BenchEventHappened", 1, payload(seed))
}

fn metadata() -> Metadata {
    Metadata::new("bench", Utc::now())
}

fn stream(name: &str) -> BenchResult<StreamId> {
    Ok(StreamId::new(name)?)
}

/// Run every figure, calling `emit` as each one is done.
pub fn run(counts: Counts, mut emit: impl FnMut(&Figure)) -> BenchResult<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    emit(&runtime.block_on(append_durable_c1(counts.c1_events))?);
    emit(&runtime.block_on(append_durable_c256(counts.c256_rounds))?);
    emit(&runtime.block_on(read_all(counts.read_all_events))?);
    Ok(())
}

/// One writer, one event per append, each acknowledged after its flush.
pub async fn append_durable_c1(events: u64) -> BenchResult<Figure> {
    let dir = tempfile::tempdir()?;
    let store = SledStore::open(dir.path(), &store_config())?;
    let s = stream("c1")?;
    let start = Instant::now();
    for i in 0..events {
        store
            .append(s.clone(), ExpectedVersion::Any, vec![event(i)], metadata())
            .await?;
    }
    let value = per_second(events, start.elapsed());
    drop(store);

    let raw_dir = tempfile::tempdir()?;
    let db = raw_sled(raw_dir.path())?;
    let start = Instant::now();
    for i in 1..=events {
        db.insert(raw_key(i), payload(i))?;
        db.flush()?;
    }
    let ceiling = per_second(events, start.elapsed());
    Ok(Figure::new("append_durable_c1", "events/s", value, ceiling))
}

/// 256 tokio tasks appending one event at a time through group commit, against raw sled
/// batches of 256 inserts with one flush each.
pub async fn append_durable_c256(rounds: u64) -> BenchResult<Figure> {
    let dir = tempfile::tempdir()?;
    let store = SledStore::open(dir.path(), &store_config())?;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let store = store.clone();
        let s = stream(&format!("c256-{t}"))?;
        tasks.push(tokio::spawn(async move {
            for i in 0..rounds {
                store
                    .append(
                        s.clone(),
                        ExpectedVersion::Any,
                        vec![event(t * rounds + i)],
                        metadata(),
                    )
                    .await?;
            }
            Ok::<_, itsm_eventstore::StoreError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let total = CONCURRENCY * rounds;
    let value = per_second(total, start.elapsed());
    drop(store);

    let raw_dir = tempfile::tempdir()?;
    let db = raw_sled(raw_dir.path())?;
    let start = Instant::now();
    let mut position = 0;
    for _ in 0..rounds {
        let mut batch = sled::Batch::default();
        for _ in 0..CONCURRENCY {
            position += 1;
            batch.insert(&raw_key(position), payload(position));
        }
        db.apply_batch(batch)?;
        db.flush()?;
    }
    let ceiling = per_second(total, start.elapsed());
    Ok(Figure::new(
        "append_durable_c256",
        "events/s",
        value,
        ceiling,
    ))
}

/// Decoded envelopes per second from `read_all` pages, against raw iteration of the same tree.
/// Both sides read from a freshly opened database, one untimed warm-up pass, then a timed one.
pub async fn read_all(events: u64) -> BenchResult<Figure> {
    let dir = tempfile::tempdir()?;
    {
        let store = SledStore::open(dir.path(), &store_config())?;
        let s = stream("read-all")?;
        let mut written = 0;
        while written < events {
            let n = (events - written).min(1_000);
            let batch = (written..written + n).map(event).collect();
            store
                .append(s.clone(), ExpectedVersion::Any, batch, metadata())
                .await?;
            written += n;
        }
    }
    let store = SledStore::open(dir.path(), &store_config())?;
    let mut value = 0.0;
    for _pass in 0..2 {
        let start = Instant::now();
        let mut from = 1;
        let mut read = 0u64;
        loop {
            let page = store.read_all(from, PAGE).await?;
            let Some(last) = page.last() else { break };
            from = last.position + 1;
            read += page.len() as u64;
        }
        if read != events {
            return Err(format!("read_all returned {read} of {events} events").into());
        }
        value = per_second(read, start.elapsed());
    }
    drop(store);

    // The store's own tree, opened raw (the store keeps sled in `sled/` inside its directory).
    let db = raw_sled(&dir.path().join("sled"))?;
    let mut ceiling = 0.0;
    for _pass in 0..2 {
        let start = Instant::now();
        let mut read = 0u64;
        let mut bytes = 0usize;
        for entry in db.scan_prefix(b"e/") {
            let (_, value) = entry?;
            bytes += value.len();
            read += 1;
        }
        if read != events || bytes == 0 {
            return Err(format!("raw iteration saw {read} of {events} events").into());
        }
        ceiling = per_second(read, start.elapsed());
    }
    Ok(Figure::new("read_all", "events/s", value, ceiling))
}
