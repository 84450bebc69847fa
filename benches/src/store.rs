//! Event store figures and their raw sled ceilings.

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use chrono::Utc;
use itsm_eventstore::{
    CommandId, EventStore, ExpectedVersion, Metadata, NewEvent, SledConfig, SledStore, StreamId,
};
use uuid::Uuid;

use crate::layout::{self, Layout};
use crate::{Counts, Figure, median, payload, per_second};

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

/// Raw sled configured like the store: same cache, no background flusher. sled releases its
/// file lock a moment after a closed handle's threads stop, so reopening a directory the store
/// has just closed waits for it (bounded, like the store's own open).
pub(crate) fn raw_sled(dir: &Path) -> BenchResult<sled::Db> {
    let patience = std::time::Duration::from_secs(5);
    let started = Instant::now();
    loop {
        match sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .flush_every_ms(None)
            .open()
        {
            Err(sled::Error::Io(io))
                if io.to_string().contains("could not acquire lock")
                    && started.elapsed() < patience =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            opened => return Ok(opened?),
        }
    }
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
    let reps = counts.repetitions.max(1);
    let (mut values, mut layout, mut ceilings) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        values.push(runtime.block_on(store_c1(counts.c1_events))?);
        layout.push(raw_c1_store_layout(counts.c1_events)?);
        ceilings.push(raw_c1(counts.c1_events)?);
    }
    let ceiling = median(ceilings);
    emit(&Figure::new(
        "append_durable_c1",
        "events/s",
        median(values),
        ceiling,
    ));
    emit(&Figure::new(
        "raw_sled_store_layout_c1",
        "events/s",
        median(layout),
        ceiling,
    ));

    let (mut values, mut with_ids, mut layout, mut ceilings) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        values.push(runtime.block_on(store_c256(counts.c256_rounds, false))?);
        with_ids.push(runtime.block_on(store_c256(counts.c256_rounds, true))?);
        layout.push(raw_c256_store_layout(counts.c256_rounds)?);
        ceilings.push(raw_c256(counts.c256_rounds)?);
    }
    let ceiling = median(ceilings);
    emit(&Figure::new(
        "append_durable_c256",
        "events/s",
        median(values),
        ceiling,
    ));
    emit(&Figure::new(
        "append_durable_c256_command_ids",
        "events/s",
        median(with_ids),
        ceiling,
    ));
    emit(&Figure::new(
        "raw_sled_store_layout_c256",
        "events/s",
        median(layout),
        ceiling,
    ));

    let (value, ceiling) = runtime.block_on(read_all(counts.read_all_events, reps))?;
    emit(&Figure::new("read_all", "events/s", value, ceiling));

    let (mut current, mut chunked, mut ceilings) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let n = counts.layout_mutations;
        current.push(layout::log_incidents(Layout::Format1, n)?);
        chunked.push(layout::log_incidents(Layout::Format2, n)?);
        ceilings.push(layout::log_incidents(Layout::Format2WithoutCommands, n)?);
    }
    let ceiling = median(ceilings);
    emit(&Figure::new(
        "raw_sled_layout_log_incident_format1",
        "mutations/s",
        median(current),
        ceiling,
    ));
    emit(&Figure::new(
        "raw_sled_layout_log_incident_format2",
        "mutations/s",
        median(chunked),
        ceiling,
    ));
    Ok(())
}

/// One writer, one event per append, each acknowledged after its flush.
pub async fn store_c1(events: u64) -> BenchResult<f64> {
    let dir = tempfile::tempdir()?;
    let store = SledStore::open(dir.path(), &store_config())?;
    let s = stream("c1")?;
    let start = Instant::now();
    for i in 0..events {
        store
            .append(s.clone(), ExpectedVersion::Any, vec![event(i)], metadata())
            .await?;
    }
    Ok(per_second(events, start.elapsed()))
}

/// Ceiling of `append_durable_c1`: raw sled, insert + flush per event.
pub fn raw_c1(events: u64) -> BenchResult<f64> {
    let raw_dir = tempfile::tempdir()?;
    let db = raw_sled(raw_dir.path())?;
    let start = Instant::now();
    for i in 1..=events {
        db.insert(raw_key(i), payload(i))?;
        db.flush()?;
    }
    Ok(per_second(events, start.elapsed()))
}

/// Not a store figure: raw sled writing the store's keys for a one-event append (a chunk key and
/// a stream index key in one atomic batch, in format 2 as in format 1) with a flush per event.
/// An atomic batch costs sled more than a plain insert, so this is the most
/// `append_durable_c1` can reach with this layout.
pub fn raw_c1_store_layout(events: u64) -> BenchResult<f64> {
    let raw_dir = tempfile::tempdir()?;
    let db = raw_sled(raw_dir.path())?;
    let start = Instant::now();
    for i in 1..=events {
        let mut batch = sled::Batch::default();
        batch.insert(&raw_key(i), payload(i));
        let mut index = b"s/c1\0".to_vec();
        index.extend_from_slice(&i.to_be_bytes());
        batch.insert(index, &i.to_be_bytes());
        db.apply_batch(batch)?;
        db.flush()?;
    }
    Ok(per_second(events, start.elapsed()))
}

/// 256 tokio tasks appending one event at a time through group commit, optionally each with
/// its own command id (one more key per append, plus an idempotency lookup).
pub async fn store_c256(rounds: u64, command_ids: bool) -> BenchResult<f64> {
    let dir = tempfile::tempdir()?;
    let store = SledStore::open(dir.path(), &store_config())?;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let store = store.clone();
        let s = stream(&format!("c256-{t}"))?;
        tasks.push(tokio::spawn(async move {
            for i in 0..rounds {
                let n = t * rounds + i;
                let mut meta = metadata();
                if command_ids {
                    meta = meta.with_command_id(CommandId::from_uuid(Uuid::from_u128(n.into())));
                }
                store
                    .append(s.clone(), ExpectedVersion::Any, vec![event(n)], meta)
                    .await?;
            }
            Ok::<_, itsm_eventstore::StoreError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(per_second(CONCURRENCY * rounds, start.elapsed()))
}

/// Ceiling of `append_durable_c256`: raw sled batches of 256 inserts with one flush each.
pub fn raw_c256(rounds: u64) -> BenchResult<f64> {
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
    Ok(per_second(CONCURRENCY * rounds, start.elapsed()))
}

/// Not a store figure: raw sled writing format 1's key layout (an event key plus a stream index
/// key per event, spread over 256 streams, batches of 256, one flush each): the most
/// `append_durable_c256` could reach before format 2, which packs a batch's envelopes into a
/// few chunk keys and so passes it.
pub fn raw_c256_store_layout(rounds: u64) -> BenchResult<f64> {
    let raw_dir = tempfile::tempdir()?;
    let db = raw_sled(raw_dir.path())?;
    let start = Instant::now();
    let mut position = 0;
    for round in 1..=rounds {
        let mut batch = sled::Batch::default();
        for t in 0..CONCURRENCY {
            position += 1;
            batch.insert(&raw_key(position), payload(position));
            let mut index = format!("s/c256-{t}\0").into_bytes();
            index.extend_from_slice(&round.to_be_bytes());
            batch.insert(index, &position.to_be_bytes());
        }
        db.apply_batch(batch)?;
        db.flush()?;
    }
    Ok(per_second(CONCURRENCY * rounds, start.elapsed()))
}

/// Decoded envelopes per second from `read_all` pages, against raw iteration of the same tree.
/// Both sides read from a freshly opened database: one untimed warm-up pass, then `reps` timed
/// passes (medians returned).
pub async fn read_all(events: u64, reps: usize) -> BenchResult<(f64, f64)> {
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
    let mut values = Vec::new();
    for pass in 0..=reps {
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
        if pass > 0 {
            values.push(per_second(read, start.elapsed()));
        }
    }
    drop(store);

    // The store's own tree, opened raw (the store keeps sled in `sled/` inside its directory).
    let db = raw_sled(&dir.path().join("sled"))?;
    let mut ceilings = Vec::new();
    for pass in 0..=reps {
        let start = Instant::now();
        let mut bytes = 0usize;
        let read = itsm_eventstore::raw::for_each_stored(&db, |_, stored| bytes += stored.len())?;
        if read != events || bytes == 0 {
            return Err(format!("raw iteration saw {read} of {events} events").into());
        }
        if pass > 0 {
            ceilings.push(per_second(read, start.elapsed()));
        }
    }
    Ok((median(values), median(ceilings)))
}
