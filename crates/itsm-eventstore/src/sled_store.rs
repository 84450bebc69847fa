//! The embedded, durable backend: one sled tree, one writer thread, group commit.
//!
//! Callers validate their request, send it over a channel and await a tokio oneshot. The
//! writer thread (a plain OS thread, so blocking `flush()` never stalls the async runtime)
//! takes every queued request, decides each with [`crate::ledger`] against its in-memory state,
//! stages all writes in one `sled::Batch`, applies it, calls the blocking `db.flush()`, and only
//! then publishes the new head, answers every caller and broadcasts the envelopes. Requests
//! that fail (conflicts) are answered with their error and do not affect the others. If apply
//! or flush fails, every caller of that batch gets the error and the store stops writing for
//! good (see `Writer::fail`): sled 0.34.7 keeps the first I/O error of a database and fails
//! every later flush until it is reopened, and its memory may hold the failed batch although
//! the disk does not. The head stays at the last durable batch, so nothing of the failed batch
//! is read or acknowledged; [`SledStore::failed`] tells the owner, who reopens the store
//! (`ledgerdesk serve` drops everything built on it and reopens the ledger in-process).

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::future::{Future, ready};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;

use tokio::sync::{broadcast, oneshot, watch};

use crate::append::{Appended, ExpectedVersion, NewEvent};
use crate::chunk::{self, ChunkWriter};
use crate::codec;
use crate::envelope::{CommandId, Envelope, Metadata, StreamId, decode_checked, decode_stored};
use crate::error::StoreError;
use crate::head::{self, HeadRecord};
use crate::import::{self, ImportError, ImportIndex, Imported, Run};
use crate::keys;
use crate::ledger::{self, AppendRequest, Index, Outcome, Tip};
use crate::snapshot::{self, Snapshot, SnapshotFiles, SnapshotStore};
use crate::store::EventStore;
use crate::subscription::{self, LogSource, Published, Subscription};
use crate::upgrade::{self, UpgradeEvent};
use crate::verify::{Verifier, VerifyReport};

/// Tuning knobs of [`SledStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SledConfig {
    /// sled page cache in bytes, set explicitly (sled's default is tuned for other workloads).
    pub cache_capacity: u64,
    /// Committed batches kept for slow subscribers before they fall back to catch-up reads.
    pub broadcast_capacity: usize,
    /// Most append requests the writer puts into one batch (one flush).
    pub max_batch: usize,
}

impl Default for SledConfig {
    fn default() -> Self {
        SledConfig {
            // sled 0.34 charges its cache by the pages' on-disk log size, not their in-memory
            // size: at 256 MiB the server grew by about 1 KiB per event written and did not
            // level off; 32 MiB more than halved a 3-minute soak's growth (docs/RELIABILITY.md,
            // "Soak").
            cache_capacity: 32 * 1024 * 1024,
            broadcast_capacity: 1024,
            max_batch: 4096,
        }
    }
}

/// An event store in a sled database directory. Cloning shares the store; the directory is
/// released when the last clone (and every subscription) is dropped.
#[derive(Debug, Clone)]
pub struct SledStore {
    inner: Arc<Inner>,
}

enum Request {
    Append {
        append: AppendRequest,
        reply: oneshot::Sender<Result<Appended, StoreError>>,
    },
    /// A batch of an import (see [`crate::import`]); decided alone, never grouped with appends.
    Import {
        envelopes: Vec<Envelope>,
        reply: oneshot::Sender<Result<Imported, ImportError>>,
    },
}

/// Fields drop in order: the sled handle before the directory lock.
struct Inner {
    requests: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
    db: sled::Db,
    committed: Arc<AtomicU64>,
    live: broadcast::Sender<Published>,
    /// Set once by the writer when a batch failed in sled (see `Writer::fail`).
    failed: watch::Receiver<Option<StoreError>>,
    /// Read-model snapshots, one file each, in `<path>/snapshots/`.
    snapshots: SnapshotFiles,
    legacy: Mutex<LegacySnapshots>,
    path: PathBuf,
    _lock: File,
    #[cfg(test)]
    faults: tests::Faults,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .field("head", &self.committed.load(Ordering::Acquire))
            .finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel stops the writer after its current batch; joining it makes sure
        // its sled handle is gone before ours, so the directory can be reopened at once.
        drop(self.requests.take());
        if let Some(writer) = self.writer.take() {
            let _writer_panicked = writer.join();
        }
    }
}

const LOCK_FILE: &str = "ledgerdesk.lock";

/// How long `open` waits for sled's own file lock once it holds the directory lock.
const SLED_LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

pub(crate) enum SledOpenError {
    StillLocked,
    Panicked(String),
    Other(sled::Error),
}

impl SledOpenError {
    /// The error `open` answers for the store directory `dir`.
    pub(crate) fn into_store_error(self, dir: &Path) -> StoreError {
        match self {
            SledOpenError::StillLocked => StoreError::Locked {
                path: dir.to_path_buf(),
            },
            SledOpenError::Panicked(message) => StoreError::Storage {
                message: format!("the storage engine failed while recovering its log: {message}"),
            },
            SledOpenError::Other(other) => StoreError::storage(&other),
        }
    }
}

/// The sled tree of the closed store in `dir`, opened as [`SledStore::open`] opens it (waiting a
/// bounded time for the lock a just-dropped handle's threads may still hold), without its
/// writer, head record or format check: for [`crate::raw`].
pub(crate) fn open_raw_tree(dir: &Path) -> Result<sled::Db, StoreError> {
    open_sled(&dir.join(SLED_DIR), &SledConfig::default()).map_err(|e| e.into_store_error(dir))
}

/// Opens sled, waiting a bounded time for its file lock.
///
/// Holding our directory lock means no other handle or process uses the directory. sled's own
/// lock can still be held for a moment after the previous handle in this process was dropped:
/// sled's background threads release their file handles after `Db` is gone. So a sled lock error
/// here is retried with a short backoff instead of reported as another owner.
pub(crate) fn open_sled(path: &Path, config: &SledConfig) -> Result<sled::Db, SledOpenError> {
    remove_interrupted_snapshots(path).map_err(|e| SledOpenError::Other(sled::Error::Io(e)))?;
    let started = std::time::Instant::now();
    let mut backoff = std::time::Duration::from_millis(5);
    loop {
        // sled 0.34.7 panics on some damaged logs while recovering ("tried to serialize
        // Uninitialized"): that is a database that does not open, not a crash of the caller.
        let opened = std::panic::catch_unwind(|| {
            sled::Config::new()
                .path(path)
                .cache_capacity(config.cache_capacity)
                // No background flusher: only the writer thread flushes.
                .flush_every_ms(None)
                .open()
        })
        .map_err(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|m| (*m).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            SledOpenError::Panicked(message)
        })?;
        match opened {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(io)) if io.to_string().contains("could not acquire lock") => {
                if started.elapsed() >= SLED_LOCK_PATIENCE {
                    return Err(SledOpenError::StillLocked);
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(std::time::Duration::from_millis(100));
            }
            Err(other) => return Err(SledOpenError::Other(other)),
        }
    }
}

/// Removes the snapshot files an interrupted sled open left behind.
///
/// sled 0.34.7 writes its snapshot only while opening a database: to `snap.<lsn>.generating`,
/// which it syncs and then renames to `snap.<lsn>`. A process killed in between leaves the
/// `.generating` file, and every later open reads the lexicographically last `snap.*` file, that
/// partial one, and fails with "Read corrupted data" for good: the public reports of sled
/// databases that would not reopen after an abrupt stop (sled issues 1527 and 1533). Such a file is
/// never a complete snapshot, and the caller holds the directory lock, so no sled instance is
/// writing it: without it sled takes the previous snapshot (or none) and replays its log from
/// there.
fn remove_interrupted_snapshots(path: &Path) -> std::io::Result<()> {
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

const SLED_DIR: &str = "sled";

impl SledStore {
    /// Open (or create) the store in `dir`. Fails with [`StoreError::Locked`] while another
    /// process or another handle in this process has it open.
    ///
    /// A ledger in format 1 is upgraded to format 2 first (see [`crate::upgrade`]); use
    /// [`SledStore::open_observed`] to follow that.
    pub fn open(dir: impl AsRef<Path>, config: &SledConfig) -> Result<Self, StoreError> {
        Self::open_observed(dir, config, &mut |_| {})
    }

    /// [`SledStore::open`], telling `observe` what an upgrade of the storage format does (a
    /// rewrite of the whole ledger, once: minutes for millions of events).
    pub fn open_observed(
        dir: impl AsRef<Path>,
        config: &SledConfig,
        observe: &mut dyn FnMut(UpgradeEvent),
    ) -> Result<Self, StoreError> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(|e| StoreError::storage(&e))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(dir.join(LOCK_FILE))
            .map_err(|e| StoreError::storage(&e))?;
        if let Err(e) = lock.try_lock() {
            return Err(match e {
                fs::TryLockError::WouldBlock => StoreError::Locked {
                    path: dir.to_path_buf(),
                },
                fs::TryLockError::Error(e) => StoreError::storage(&e),
            });
        }
        let snapshots = SnapshotFiles::new(dir.join(SNAPSHOT_DIR));
        // A cache: leftovers of a killed save that cannot be removed only take space.
        let _left_for_the_next_open = snapshots.remove_unfinished();
        upgrade::settle(dir, SLED_DIR).map_err(|e| StoreError::storage(&e))?;
        let open_error = |e: SledOpenError| e.into_store_error(dir);
        let mut db = open_sled(&dir.join(SLED_DIR), config).map_err(open_error)?;
        match stored_format(&db)? {
            keys::FORMAT_VERSION => {}
            keys::v1::FORMAT_VERSION => {
                let next = open_sled(&dir.join(upgrade::NEXT_DIR), config).map_err(open_error)?;
                upgrade::copy_format1(&db, &next, observe)?;
                drop((next, db));
                upgrade::switch(dir, SLED_DIR).map_err(|e| StoreError::storage(&e))?;
                db = open_sled(&dir.join(SLED_DIR), config).map_err(open_error)?;
            }
            found => {
                return Err(StoreError::UnsupportedFormat {
                    found,
                    supported: keys::FORMAT_VERSION,
                });
            }
        }
        let (tip, broken) = match load_tip(&db) {
            Ok(tip) => (tip, None),
            // Keep the store readable (and verifiable) but refuse appends.
            Err(e) => (Tip::EMPTY, Some(e)),
        };
        let head = match &broken {
            None => tip.position,
            Some(_) => last_position(&db)?,
        };
        if let Some(record) = head::read(dir)? {
            head::check(record, head, |position| stored_hash(&db, position))?;
        }
        let head_record = HeadRecord::open(dir)?;
        if broken.is_none() {
            head_record.store(tip)?;
        }
        let committed = Arc::new(AtomicU64::new(head));
        let (live, _) = broadcast::channel(config.broadcast_capacity.max(1));
        let (requests, receiver) = mpsc::channel();
        let (failure, failed) = watch::channel(None);
        #[cfg(test)]
        let faults = tests::Faults::default();
        let writer = Writer {
            db: db.clone(),
            head_record,
            import: (broken.is_none() && tip == Tip::EMPTY)
                .then_some(ImportState { last_run: None }),
            tip,
            versions: HashMap::new(),
            broken,
            committed: Arc::clone(&committed),
            live: live.clone(),
            max_batch: config.max_batch.max(1),
            failure,
            scratch: Scratch::default(),
            #[cfg(test)]
            faults: faults.clone(),
        };
        let writer = std::thread::Builder::new()
            .name("ledgerdesk-writer".to_owned())
            .spawn(move || writer.run(&receiver))
            .map_err(|e| StoreError::storage(&e))?;
        Ok(SledStore {
            inner: Arc::new(Inner {
                requests: Some(requests),
                writer: Some(writer),
                db,
                committed,
                live,
                failed,
                snapshots,
                legacy: Mutex::default(),
                path: dir.to_path_buf(),
                _lock: lock,
                #[cfg(test)]
                faults,
            }),
        })
    }

    /// The directory this store was opened in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The storage failure that stopped this store's writes, if one did. Every append since
    /// was refused with it; reopening the store is the way back.
    pub fn failure(&self) -> Option<StoreError> {
        self.inner.failed.borrow().clone()
    }

    /// Resolves with the storage failure that stops this store's writes (at once if one
    /// already did), or with `None` when the store closes without one.
    pub fn failed(&self) -> impl Future<Output = Option<StoreError>> + Send + 'static {
        let mut failed = self.inner.failed.clone();
        async move {
            failed
                .wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|failure| failure.clone())
        }
    }

    /// Validate and queue an append; the receiver answers after the batch's flush.
    fn submit(
        &self,
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        metadata: Metadata,
    ) -> Result<oneshot::Receiver<Result<Appended, StoreError>>, StoreError> {
        ledger::validate(&stream, &events, &metadata)?;
        let (reply, answer) = oneshot::channel();
        let request = Request::Append {
            append: AppendRequest {
                stream,
                expected,
                events,
                metadata,
            },
            reply,
        };
        self.inner
            .requests
            .as_ref()
            .ok_or(StoreError::Closed)?
            .send(request)
            .map_err(|_| StoreError::Closed)?;
        Ok(answer)
    }

    /// Import one batch of another ledger's envelopes, keeping every field (see
    /// [`crate::import`]). Only an empty store accepts an import; later batches must continue
    /// the earlier ones through this same handle. Each batch is checked whole and then written
    /// atomically with one flush, or refused with nothing written.
    pub fn import(
        &self,
        envelopes: Vec<Envelope>,
    ) -> impl Future<Output = Result<Imported, ImportError>> + Send {
        let (reply, answer) = oneshot::channel();
        let sent = self
            .inner
            .requests
            .as_ref()
            .ok_or(StoreError::Closed)
            .and_then(|requests| {
                requests
                    .send(Request::Import { envelopes, reply })
                    .map_err(|_| StoreError::Closed)
            });
        async move {
            sent?;
            answer.await.map_err(|_| StoreError::Closed)?
        }
    }

    fn read_stream_now(
        &self,
        stream: &StreamId,
        from_version: u64,
    ) -> Result<Vec<Envelope>, StoreError> {
        let db = &self.inner.db;
        let head = self.inner.head();
        let from_version = from_version.max(1);
        let prefix = keys::stream_prefix(stream);
        let malformed = || StoreError::Corrupt {
            position: 0,
            reason: format!("stream index entry of {stream} is malformed"),
        };
        // The entry holding `from_version` starts at or before it.
        let start = match db
            .range(prefix.as_slice()..=keys::stream(stream, from_version).as_slice())
            .next_back()
        {
            Some(entry) => entry.map_err(|e| StoreError::storage(&e))?.0.to_vec(),
            None => keys::stream(stream, from_version),
        };
        let mut events = ChunkReader::new(db);
        let mut out = Vec::new();
        for entry in db.range(start..) {
            let (key, value) = entry.map_err(|e| StoreError::storage(&e))?;
            if !key.starts_with(&prefix) {
                break;
            }
            let first = keys::version_suffix(&key).ok_or_else(malformed)?;
            for (version, position) in (first..).zip(keys::positions(&value).ok_or_else(malformed)?)
            {
                if version < from_version {
                    continue;
                }
                if position > head {
                    return Ok(out);
                }
                let expected = out
                    .last()
                    .map_or(from_version, |prev: &Envelope| prev.version + 1);
                if version != expected {
                    return Err(StoreError::Corrupt {
                        position,
                        reason: format!(
                            "the stream index of {stream} skips from v{} to v{version}",
                            expected - 1
                        ),
                    });
                }
                let env = events.read(position, decode_checked)?.ok_or_else(|| {
                    StoreError::Corrupt {
                        position,
                        reason: format!("stream index of {stream} points to a missing event"),
                    }
                })??;
                if env.stream_id != *stream || env.version != version {
                    return Err(StoreError::Corrupt {
                        position,
                        reason: format!(
                            "the stream index says {stream} v{version}, the event is {} v{}",
                            env.stream_id, env.version
                        ),
                    });
                }
                out.push(env);
            }
        }
        Ok(out)
    }

    fn verify_now(&self) -> VerifyReport {
        let db = &self.inner.db;
        let head = self.inner.head();
        let mut verifier = Verifier::new();
        for entry in db.range(keys::event(1)..=keys::event(head)) {
            // A damaged page sled cannot read is a defect at this point of the walk, reported
            // with its position like any other, not a failure of `verify` itself.
            let (key, value) = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    verifier.unreadable(e.to_string());
                    return verifier.finish();
                }
            };
            let Some(first) = keys::event_position(&key) else {
                continue;
            };
            for frame in chunk::frames(first, &value) {
                match frame {
                    Ok((position, _)) if position > head => break,
                    Ok((position, bytes)) => {
                        verifier.event(position, decode_stored(position, bytes));
                    }
                    Err(e) => {
                        let position = match &e {
                            StoreError::Corrupt { position, .. } => *position,
                            _ => first,
                        };
                        verifier.event(position, Err(e));
                    }
                }
            }
        }
        verifier.log_ends_at(head);
        for entry in db.scan_prefix(keys::STREAM_PREFIX) {
            let (key, value) = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    verifier.unreadable_index(format!("the index cannot be read: {e}"));
                    return verifier.finish();
                }
            };
            match (keys::parse_stream(&key), keys::positions(&value)) {
                (Some((stream, first)), Some(positions)) => {
                    let stream = String::from_utf8_lossy(stream);
                    for (version, position) in (first..).zip(positions) {
                        if position <= head {
                            verifier.index_entry(&stream, version, position);
                        }
                    }
                }
                (_, positions) => verifier.malformed_index_entry(
                    positions.and_then(|mut p| p.next()).unwrap_or(0),
                    format!("index key {key:?} or its value cannot be parsed"),
                ),
            }
        }
        verifier.finish()
    }
}

/// Reads envelopes by position through their chunks, keeping the last chunk it fetched (the
/// events of one append, or of one stream written in one batch, share a chunk).
struct ChunkReader<'a> {
    db: &'a sled::Db,
    chunk: Option<(u64, sled::IVec)>,
}

impl<'a> ChunkReader<'a> {
    fn new(db: &'a sled::Db) -> Self {
        ChunkReader { db, chunk: None }
    }

    /// `read` applied to the stored bytes at `position`; `None` when no chunk holds it.
    fn read<T>(
        &mut self,
        position: u64,
        read: impl FnOnce(u64, &[u8]) -> T,
    ) -> Result<Option<T>, StoreError> {
        if let Some((first, bytes)) = &self.chunk
            && let Some(stored) = chunk::frame_at(*first, bytes, position)?
        {
            return Ok(Some(read(position, stored)));
        }
        self.chunk = match self.db.range(..=keys::event(position)).next_back() {
            None => None,
            Some(entry) => {
                let (key, value) = entry.map_err(|e| StoreError::storage(&e))?;
                keys::event_position(&key).map(|first| (first, value))
            }
        };
        match &self.chunk {
            Some((first, bytes)) => {
                Ok(chunk::frame_at(*first, bytes, position)?.map(|stored| read(position, stored)))
            }
            None => Ok(None),
        }
    }
}

impl Inner {
    fn head(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }
}

impl LogSource for Inner {
    fn read_committed(
        &self,
        from_position: u64,
        limit: usize,
    ) -> Result<Vec<Envelope>, StoreError> {
        let head = self.head();
        let from = from_position.max(1);
        if from > head || limit == 0 {
            return Ok(Vec::new());
        }
        let mut out: Vec<Envelope> =
            Vec::with_capacity(limit.min(usize::try_from(head - from + 1).unwrap_or(limit)));
        // Start at the chunk holding `from`, which begins at or before it.
        let start = match self.db.range(..=keys::event(from)).next_back() {
            Some(entry) => {
                let (key, _) = entry.map_err(|e| StoreError::storage(&e))?;
                keys::event_position(&key).unwrap_or(from)
            }
            None => from,
        };
        for entry in self.db.range(keys::event(start)..=keys::event(head)) {
            let (key, value) = entry.map_err(|e| StoreError::storage(&e))?;
            let Some(first) = keys::event_position(&key) else {
                continue;
            };
            for frame in chunk::frames(first, &value) {
                let (position, stored) = frame?;
                if position < from {
                    continue;
                }
                if position > head || out.len() == limit {
                    return Ok(out);
                }
                let expected = out.last().map_or(from, |prev| prev.position + 1);
                if position != expected {
                    return Err(missing(expected));
                }
                let env = decode_checked(position, stored)?;
                // Each envelope checks its own hash; consecutive ones must also link, so a
                // rewritten event with a recomputed hash is not served either.
                if let Some(prev) = out.last()
                    && env.prev_hash != prev.hash
                {
                    return Err(StoreError::Corrupt {
                        position,
                        reason: format!("does not link to position {}", prev.position),
                    });
                }
                out.push(env);
            }
        }
        // The walk ended before the head and the limit: sled's tree lost the rest.
        match out.last() {
            Some(last) if out.len() < limit && last.position < head => {
                Err(missing(last.position + 1))
            }
            None => Err(missing(from)),
            _ => Ok(out),
        }
    }
}

fn missing(position: u64) -> StoreError {
    StoreError::Corrupt {
        position,
        reason: "missing from the log below the committed head".to_owned(),
    }
}

impl EventStore for SledStore {
    fn append(
        &self,
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        metadata: Metadata,
    ) -> impl Future<Output = Result<Appended, StoreError>> + Send {
        let submitted = self.submit(stream, expected, events, metadata);
        async move {
            let answer = submitted?;
            answer.await.map_err(|_| StoreError::Closed)?
        }
    }

    fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
    ) -> impl Future<Output = Result<Vec<Envelope>, StoreError>> + Send {
        ready(self.read_stream_now(stream, from_version))
    }

    fn read_all(
        &self,
        from_position: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Envelope>, StoreError>> + Send {
        ready(self.inner.read_committed(from_position, limit))
    }

    fn head(&self) -> u64 {
        self.inner.head()
    }

    fn subscribe_all(&self, from_position: u64) -> Subscription {
        subscription::subscribe(&self.inner, &self.inner.live, from_position)
    }

    fn verify(&self) -> impl Future<Output = Result<VerifyReport, StoreError>> + Send {
        ready(Ok(self.verify_now()))
    }
}

/// The format stored in `meta/format`; an empty tree gets the current one. A tree with events
/// but no format key is none this code wrote.
fn stored_format(db: &sled::Db) -> Result<u32, StoreError> {
    let stored = db
        .get(keys::FORMAT_KEY)
        .map_err(|e| StoreError::storage(&e))?;
    if let Some(bytes) = stored {
        return Ok(<[u8; 4]>::try_from(bytes.as_ref()).map_or(0, u32::from_be_bytes));
    }
    let empty = db
        .iter()
        .next()
        .transpose()
        .map_err(|e| StoreError::storage(&e))?
        .is_none();
    if !empty {
        return Ok(0);
    }
    db.insert(keys::FORMAT_KEY, &keys::FORMAT_VERSION.to_be_bytes())
        .map_err(|e| StoreError::storage(&e))?;
    db.flush().map_err(|e| StoreError::storage(&e))?;
    Ok(keys::FORMAT_VERSION)
}

/// The last chunk: its first position and bytes.
fn last_chunk(db: &sled::Db) -> Result<Option<(u64, sled::IVec)>, StoreError> {
    match db.scan_prefix(keys::EVENT_PREFIX).next_back() {
        None => Ok(None),
        Some(entry) => {
            let (key, value) = entry.map_err(|e| StoreError::storage(&e))?;
            let first = keys::event_position(&key).ok_or_else(|| StoreError::Corrupt {
                position: 0,
                reason: "malformed event key".to_owned(),
            })?;
            Ok(Some((first, value)))
        }
    }
}

/// Position of the last event (0 when empty).
fn last_position(db: &sled::Db) -> Result<u64, StoreError> {
    match last_chunk(db)? {
        None => Ok(0),
        Some((first, bytes)) => chunk::last_position(first, &bytes),
    }
}

/// The hash stored at `position`, `None` when the envelope there does not decode.
fn stored_hash(db: &sled::Db, position: u64) -> Result<Option<crate::envelope::Hash>, StoreError> {
    let found = ChunkReader::new(db).read(position, |position, bytes| {
        decode_stored(position, bytes).ok().map(|env| env.hash)
    })?;
    Ok(found.flatten())
}

/// The last envelope's position and hash, from the last chunk.
fn load_tip(db: &sled::Db) -> Result<Tip, StoreError> {
    let Some((first, bytes)) = last_chunk(db)? else {
        return Ok(Tip::EMPTY);
    };
    let position = chunk::last_position(first, &bytes)?;
    let stored = chunk::frame_at(first, &bytes, position)?.ok_or_else(|| StoreError::Corrupt {
        position,
        reason: "the last chunk ends early".to_owned(),
    })?;
    let env = decode_stored(position, stored)?;
    Ok(Tip {
        position,
        hash: env.hash,
    })
}

/// The single writer. Owns all writes and the stream-version cache.
struct Writer {
    db: sled::Db,
    /// Rewritten after every durable batch (see [`crate::head`]).
    head_record: HeadRecord,
    /// `Some` while the store holds only imported events (it was empty when opened and has
    /// taken no append since): imports are accepted.
    import: Option<ImportState>,
    tip: Tip,
    /// Stream versions, loaded lazily from the index and kept up to date by the writer.
    versions: HashMap<StreamId, u64>,
    /// Set when the state could not be loaded: every append is answered with this error.
    broken: Option<StoreError>,
    committed: Arc<AtomicU64>,
    live: broadcast::Sender<Published>,
    max_batch: usize,
    /// Tells [`SledStore::failed`] that a batch failed in sled.
    failure: watch::Sender<Option<StoreError>>,
    scratch: Scratch,
    /// Test-only fault injection for the next `persist`.
    #[cfg(test)]
    faults: tests::Faults,
}

struct WriterIndex<'a> {
    db: &'a sled::Db,
    versions: &'a mut HashMap<StreamId, u64>,
    /// Command ids appended earlier in the batch being built.
    pending: &'a mut HashMap<CommandId, Appended>,
}

impl Index for WriterIndex<'_> {
    fn stream_version(&mut self, stream: &StreamId) -> Result<u64, StoreError> {
        if let Some(v) = self.versions.get(stream) {
            return Ok(*v);
        }
        let version = match self.db.scan_prefix(keys::stream_prefix(stream)).next_back() {
            None => 0,
            Some(entry) => {
                let (key, value) = entry.map_err(|e| StoreError::storage(&e))?;
                keys::version_suffix(&key)
                    .zip(keys::positions(&value).map(Iterator::count))
                    .map(|(first, count)| first + count as u64 - 1)
                    .ok_or_else(|| StoreError::Corrupt {
                        position: 0,
                        reason: format!("malformed index entry of stream {stream}"),
                    })?
            }
        };
        self.versions.insert(stream.clone(), version);
        Ok(version)
    }

    fn command(&mut self, id: CommandId) -> Result<Option<Appended>, StoreError> {
        if let Some(first) = self.pending.get(&id) {
            return Ok(Some(first.clone()));
        }
        match self
            .db
            .get(keys::command(id))
            .map_err(|e| StoreError::storage(&e))?
        {
            None => Ok(None),
            Some(bytes) => Ok(Some(codec::decode(&bytes)?)),
        }
    }

    fn record(&mut self, appended: &Appended, command_id: Option<CommandId>) {
        if let Some(v) = self.versions.get_mut(&appended.stream) {
            *v = appended.version;
        } else {
            self.versions
                .insert(appended.stream.clone(), appended.version);
        }
        if let Some(id) = command_id {
            self.pending.insert(id, appended.clone());
        }
    }
}

struct ImportState {
    /// The append the last imported batch ended in, which the next batch may continue.
    last_run: Option<Run>,
}

impl ImportIndex for WriterIndex<'_> {
    fn stream_version(&mut self, stream: &StreamId) -> Result<u64, StoreError> {
        Index::stream_version(self, stream)
    }

    fn command_known(&mut self, id: CommandId) -> Result<bool, StoreError> {
        Ok(Index::command(self, id)?.is_some())
    }
}

/// An append waiting in the writer's queue, with its caller's reply channel.
type Queued = (AppendRequest, oneshot::Sender<Result<Appended, StoreError>>);

type Answer = (
    oneshot::Sender<Result<Appended, StoreError>>,
    Result<Appended, StoreError>,
);

impl Writer {
    fn run(mut self, requests: &mpsc::Receiver<Request>) {
        let mut queue = Vec::new();
        // Ends when every sender is gone (the store was dropped).
        while let Ok(first) = requests.recv() {
            let mut next = Some(first);
            while let Some(request) = next.take() {
                match request {
                    Request::Append { append, reply } => queue.push((append, reply)),
                    Request::Import { envelopes, reply } => {
                        // Appends queued before the import go first, in their own batch.
                        if !queue.is_empty() {
                            self.commit(&mut queue);
                        }
                        let _caller_gone = reply.send(self.import(envelopes));
                    }
                }
                if queue.len() < self.max_batch {
                    next = requests.try_recv().ok();
                }
            }
            if !queue.is_empty() {
                self.commit(&mut queue);
            }
        }
    }

    fn import(&mut self, envelopes: Vec<Envelope>) -> Result<Imported, ImportError> {
        if let Some(err) = &self.broken {
            return Err(err.clone().into());
        }
        let Some(state) = &self.import else {
            return Err(ImportError::NotEmpty {
                head: self.tip.position,
            });
        };
        let mut pending = HashMap::new();
        let mut index = WriterIndex {
            db: &self.db,
            versions: &mut self.versions,
            pending: &mut pending,
        };
        let checked =
            import::check_batch(&mut index, self.tip, state.last_run.as_ref(), &envelopes)?;
        if envelopes.is_empty() {
            return Ok(Imported {
                events: 0,
                head: self.tip.position,
                head_hash: self.tip.hash,
            });
        }
        let mut batch = sled::Batch::default();
        let mut chunks = ChunkWriter::default();
        for env in &envelopes {
            chunks.push(&mut batch, env)?;
        }
        chunks.finish(&mut batch);
        for run in &checked.commands {
            self.scratch.value.clear();
            codec::encode_into(&run.appended, &mut self.scratch.value).map_err(StoreError::from)?;
            batch.insert(
                &keys::command(run.command_id),
                self.scratch.value.as_slice(),
            );
        }
        if let Err(e) = self.persist(batch).map_err(|e| self.fail(e)) {
            self.reload();
            // What reached the disk is unknown to this handle's run tracking: start afresh.
            if let Some(state) = self.import.as_mut() {
                state.last_run = None;
            }
            return Err(e.into());
        }
        self.tip = checked.tip;
        self.versions.extend(checked.versions);
        self.import = Some(ImportState {
            last_run: checked.last_run,
        });
        self.record_head();
        self.committed.store(self.tip.position, Ordering::Release);
        let events = envelopes.len() as u64;
        if self.live.receiver_count() > 0 {
            let _raced_away_is_fine = self.live.send(Published::from(envelopes));
        }
        Ok(Imported {
            events,
            head: self.tip.position,
            head_hash: self.tip.hash,
        })
    }

    fn commit(&mut self, queue: &mut Vec<Queued>) {
        if let Some(err) = &self.broken {
            for (_, reply) in queue.drain(..) {
                let _caller_gone = reply.send(Err(err.clone()));
            }
            return;
        }
        let mut batch = sled::Batch::default();
        let mut pending = HashMap::new();
        let mut published: Vec<Envelope> = Vec::new();
        let mut answers: Vec<Answer> = Vec::with_capacity(queue.len());
        let mut failure: Option<StoreError> = None;
        let mut chunks = ChunkWriter::default();
        for (append, reply) in queue.drain(..) {
            let mut index = WriterIndex {
                db: &self.db,
                versions: &mut self.versions,
                pending: &mut pending,
            };
            let answer = match ledger::decide(&mut index, &mut self.tip, append) {
                Ok(Outcome::Duplicate(first)) => Ok(first),
                Ok(Outcome::Written {
                    appended,
                    envelopes,
                    command_id,
                }) => {
                    if let Err(e) = stage(
                        &mut batch,
                        &mut chunks,
                        &mut self.scratch,
                        &envelopes,
                        (&appended, command_id),
                    ) {
                        failure.get_or_insert(e);
                    }
                    published.extend(envelopes);
                    Ok(appended)
                }
                Err(e) => Err(e),
            };
            answers.push((reply, answer));
        }
        chunks.finish(&mut batch);
        if failure.is_none()
            && !published.is_empty()
            && let Err(e) = self.persist(batch)
        {
            failure = Some(self.fail(e));
        }
        if let Some(err) = failure {
            self.reload();
            for (reply, _) in answers {
                let _caller_gone = reply.send(Err(err.clone()));
            }
            return;
        }
        if !published.is_empty() {
            // An ordinary append ends the window in which the store accepts imports.
            self.import = None;
            self.record_head();
            // Readable from here on; then broadcast (subscriptions rely on this order).
            self.committed.store(self.tip.position, Ordering::Release);
            // Without subscribers, skip building the shared slice (a cheaper acknowledgement).
            if self.live.receiver_count() > 0 {
                let _raced_away_is_fine = self.live.send(Published::from(published));
            }
        }
        for (reply, answer) in answers {
            let _caller_gone = reply.send(answer);
        }
    }

    /// Apply the batch atomically, then the blocking flush: durable when this returns `Ok`.
    fn persist(&mut self, batch: sled::Batch) -> Result<(), StoreError> {
        #[cfg(test)]
        let fault = self.faults.take();
        #[cfg(test)]
        if fault == Some(tests::Fault::BeforeApply) {
            return Err(StoreError::storage(&"injected failure before apply"));
        }
        self.db
            .apply_batch(batch)
            .map_err(|e| StoreError::storage(&e))?;
        #[cfg(test)]
        if fault == Some(tests::Fault::AfterApply) {
            return Err(StoreError::storage(&"injected failure after apply"));
        }
        self.db.flush().map_err(|e| StoreError::storage(&e))?;
        Ok(())
    }

    /// Records the durable tip in the head record. A failed write keeps the older record, which
    /// names a prefix of the ledger and so stays true: the batch is still acknowledged.
    fn record_head(&self) {
        let _older_record_stays_true = self.head_record.store(self.tip);
    }

    /// A batch failed in sled's apply or flush: sled 0.34.7 keeps that I/O error and fails
    /// every later flush of this database until it is reopened, and its memory may already hold
    /// the batch that did not reach the disk. So the store stops writing: the head stays at the
    /// last durable batch (nothing of the failed one is read, broadcast or acknowledged, also
    /// not to a retry), every later append and import is refused with this error, and
    /// [`SledStore::failed`] resolves. Whether the batch reached the disk shows after a reopen
    /// (retry with the same command id).
    fn fail(&mut self, error: StoreError) -> StoreError {
        let detail = match error {
            StoreError::Storage { message } => message,
            other => other.to_string(),
        };
        let error = StoreError::Storage {
            message: format!("{detail}; the store accepts no writes until it is reopened"),
        };
        self.broken = Some(error.clone());
        self.failure.send_replace(Some(error.clone()));
        error
    }

    /// After a failed batch: forget everything decided in memory and read the state back.
    fn reload(&mut self) {
        self.versions.clear();
        if self.failure.borrow().is_some() {
            // sled's memory may be ahead of its disk: keep the head at the last durable batch.
            return;
        }
        match load_tip(&self.db) {
            Ok(tip) => {
                self.tip = tip;
                // Whatever reached the log is readable; subscriptions notice the missing
                // broadcast by the position gap and read it from the log.
                self.committed.store(tip.position, Ordering::Release);
            }
            Err(e) => self.broken = Some(e),
        }
    }
}

/// A reusable buffer for encoding command-index values without a fresh allocation each.
#[derive(Default)]
struct Scratch {
    value: Vec<u8>,
}

/// Put one append's envelopes and its command-index entry into the batch.
fn stage(
    batch: &mut sled::Batch,
    chunks: &mut ChunkWriter,
    scratch: &mut Scratch,
    envelopes: &[Envelope],
    (appended, command_id): (&Appended, Option<CommandId>),
) -> Result<(), StoreError> {
    for env in envelopes {
        chunks.push(batch, env)?;
    }
    if let Some(id) = command_id {
        scratch.value.clear();
        codec::encode_into(appended, &mut scratch.value)?;
        batch.insert(&keys::command(id), scratch.value.as_slice());
    }
    Ok(())
}

/// Where a store's snapshot files live, beside sled's directory (see [`SnapshotFiles`]).
const SNAPSHOT_DIR: &str = "snapshots";

/// The sled tree that held the snapshots before they moved to files. A ledger written by an
/// earlier version still has its snapshots there: loads fall back to it, and the first file
/// saved of a name removes that name's entries (and the tree once it is empty).
const LEGACY_SNAPSHOT_TREE: &str = "snapshots";

/// What this process knows of the legacy snapshot tree (see [`LEGACY_SNAPSHOT_TREE`]).
///
/// Any look into that tree reads its one leaf with every snapshot in it (the cost the files
/// remove), so the names it holds are listed once per process and the tree is not read again
/// for a name it does not hold (the process managers' checkpoints, for example).
#[derive(Debug, Default)]
struct LegacySnapshots {
    /// `None` until listed; then the names with entries left in the tree (empty: none, or no
    /// tree).
    names: Option<BTreeSet<String>>,
}

impl SledStore {
    /// The newest intact snapshot file `name` in the store directory `dir`, read without opening
    /// the store, so a caller can read and decode it on another thread while [`SledStore::open`]
    /// recovers sled (a start then waits for the longer of the two instead of their sum).
    ///
    /// Files only: a ledger whose snapshots are still in the legacy tree of an earlier version
    /// gets `None` here and finds them through `load_snapshot` once open. It takes no lock; a
    /// caller must check the snapshot against the store it then opens (its position at or
    /// below the head), as it would any snapshot.
    pub fn read_snapshot_file(dir: &Path, name: &str) -> Result<Option<Snapshot>, StoreError> {
        SnapshotFiles::new(dir.join(SNAPSHOT_DIR)).load(name, u64::MAX)
    }

    fn save_snapshot_now(&self, name: &str, position: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner.snapshots.save(name, position, bytes)?;
        self.forget_legacy_snapshots(name)
    }

    fn load_snapshot_now(
        &self,
        name: &str,
        at_or_below: u64,
    ) -> Result<Option<Snapshot>, StoreError> {
        match self.inner.snapshots.load(name, at_or_below)? {
            Some(snapshot) => Ok(Some(snapshot)),
            None => self.load_legacy_snapshot(name, at_or_below),
        }
    }

    /// The legacy tree, if it exists (`open_tree` alone would create it).
    fn legacy_tree(&self) -> Result<Option<sled::Tree>, StoreError> {
        let db = &self.inner.db;
        if !db
            .tree_names()
            .iter()
            .any(|tree| tree == LEGACY_SNAPSHOT_TREE.as_bytes())
        {
            return Ok(None);
        }
        db.open_tree(LEGACY_SNAPSHOT_TREE)
            .map(Some)
            .map_err(|e| StoreError::storage(&e))
    }

    /// Runs `work` with the legacy tree if it holds entries of `name`; lists the tree's names
    /// first if this process has not yet.
    fn with_legacy<T>(
        &self,
        name: &str,
        work: impl FnOnce(&sled::Tree, &mut BTreeSet<String>) -> Result<Option<T>, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut legacy = self
            .inner
            .legacy
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if legacy
            .names
            .as_ref()
            .is_some_and(|names| !names.contains(name))
        {
            return Ok(None);
        }
        let Some(tree) = self.legacy_tree()? else {
            legacy.names = Some(BTreeSet::new());
            return Ok(None);
        };
        let names = match &mut legacy.names {
            Some(names) => names,
            unknown @ None => {
                let mut names = BTreeSet::new();
                for key in tree.iter().keys() {
                    let key = key.map_err(|e| StoreError::storage(&e))?;
                    if let Some(name) = key.len().checked_sub(9).and_then(|end| key.get(..end)) {
                        names.insert(String::from_utf8_lossy(name).into_owned());
                    }
                }
                unknown.insert(names)
            }
        };
        if !names.contains(name) {
            return Ok(None);
        }
        work(&tree, names)
    }

    /// The newest intact snapshot of the legacy tree; its values are the bytes followed by the
    /// same checksum as a file's.
    fn load_legacy_snapshot(
        &self,
        name: &str,
        at_or_below: u64,
    ) -> Result<Option<Snapshot>, StoreError> {
        self.with_legacy(name, |tree, _| {
            for entry in tree
                .range(snapshot::key(name, 0)..=snapshot::key(name, at_or_below))
                .rev()
            {
                let (key, sealed) = entry.map_err(|e| StoreError::storage(&e))?;
                let position = snapshot::position_of(&key);
                if let Some(bytes) = snapshot::unseal(name, position, sealed.to_vec()) {
                    return Ok(Some(Snapshot { position, bytes }));
                }
            }
            Ok(None)
        })
    }

    /// Once `name` has a file snapshot: removes its legacy entries, or drops the whole tree
    /// when they were the last (so the old snapshots leave sled's log and page table). The
    /// name's directory is synced first, so its file outlives a power loss before the older
    /// copies in sled go.
    fn forget_legacy_snapshots(&self, name: &str) -> Result<(), StoreError> {
        self.with_legacy(name, |tree, names| {
            self.inner.snapshots.sync_dir(name)?;
            if names.len() == 1 {
                self.inner
                    .db
                    .drop_tree(LEGACY_SNAPSHOT_TREE)
                    .map_err(|e| StoreError::storage(&e))?;
            } else {
                let keys: Vec<sled::IVec> = tree
                    .range(snapshot::key(name, 0)..=snapshot::key(name, u64::MAX))
                    .keys()
                    .collect::<Result<_, _>>()
                    .map_err(|e| StoreError::storage(&e))?;
                for key in keys {
                    tree.remove(key).map_err(|e| StoreError::storage(&e))?;
                }
            }
            names.remove(name);
            Ok(Some(()))
        })
        .map(|_| ())
    }
}

/// Runs blocking snapshot I/O (files of up to hundreds of megabytes) on tokio's blocking pool
/// when called inside a runtime, so it never stalls the executor; inline otherwise.
async fn off_executor<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime
            .spawn_blocking(work)
            .await
            .map_err(|e| StoreError::storage(&e))?,
        Err(_) => work(),
    }
}

impl SnapshotStore for SledStore {
    /// Writes the snapshot's file (see [`SnapshotFiles`]) on the blocking pool; the task holds a
    /// clone of the store, so the directory stays locked until the file is in place.
    fn save_snapshot(
        &self,
        name: &str,
        position: u64,
        bytes: Vec<u8>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let store = self.clone();
        let name = name.to_owned();
        off_executor(move || store.save_snapshot_now(&name, position, &bytes))
    }

    fn load_snapshot(
        &self,
        name: &str,
        at_or_below: u64,
    ) -> impl Future<Output = Result<Option<Snapshot>, StoreError>> + Send {
        let store = self.clone();
        let name = name.to_owned();
        off_executor(move || store.load_snapshot_now(&name, at_or_below))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use chrono::DateTime;
    use uuid::Uuid;

    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Fault {
        BeforeApply,
        AfterApply,
    }

    /// The next batch's `persist` fails at the given point.
    #[derive(Debug, Clone, Default)]
    pub(super) struct Faults(Arc<Mutex<Option<Fault>>>);

    impl Faults {
        pub(super) fn take(&self) -> Option<Fault> {
            self.0.lock().unwrap().take()
        }

        fn set(&self, fault: Fault) {
            *self.0.lock().unwrap() = Some(fault);
        }
    }

    fn open(dir: &tempfile::TempDir) -> SledStore {
        let config = SledConfig {
            cache_capacity: 8 * 1024 * 1024,
            ..SledConfig::default()
        };
        SledStore::open(dir.path(), &config).unwrap()
    }

    fn append(
        store: &SledStore,
        command: u128,
    ) -> impl Future<Output = Result<Appended, StoreError>> + Send {
        let metadata = Metadata::new("t", DateTime::from_timestamp(0, 0).unwrap())
            .with_command_id(CommandId::from_uuid(Uuid::from_u128(command)));
        store.append(
            StreamId::new("s").unwrap(),
            ExpectedVersion::Any,
            vec![NewEvent::new("E", 1, vec![1])],
            metadata,
        )
    }

    #[tokio::test]
    async fn a_snapshot_half_written_by_a_killed_open_does_not_stop_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        for command in 1..=20 {
            append(&store, command).await.unwrap();
        }
        drop(store);
        // sled writes its snapshot only while opening: this open writes one.
        drop(open(&dir));
        let sled_dir = dir.path().join(SLED_DIR);
        let snapshot = fs::read_dir(&sled_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("snap.") && !name.ends_with(".generating"))
            .max()
            .expect("sled wrote a snapshot while opening");
        // What a kill between sled's write and its rename leaves: a partial `.generating` file.
        let bytes = fs::read(sled_dir.join(&snapshot)).unwrap();
        fs::write(
            sled_dir.join(format!("{snapshot}.generating")),
            &bytes[..bytes.len() / 2],
        )
        .unwrap();
        // sled alone refuses this directory for good...
        assert!(sled::Config::new().path(&sled_dir).open().is_err());
        // ...the store drops the partial file and opens with every event.
        let store = open(&dir);
        assert_eq!(store.head(), 20);
        assert!(store.verify().await.unwrap().is_ok());
        let next = append(&store, 21).await.unwrap();
        assert_eq!(next.first_position, 21);
    }

    #[tokio::test]
    async fn a_batch_that_fails_before_apply_stops_the_writes_until_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let failed = store.failed();
        store.inner.faults.set(Fault::BeforeApply);
        assert!(matches!(
            append(&store, 1).await,
            Err(StoreError::Storage { .. })
        ));
        assert_eq!(store.head(), 0);
        // sled keeps its I/O error: every later append is refused with the same error, and
        // the owner learns it.
        let refused = append(&store, 2).await.unwrap_err();
        assert_eq!(Some(refused.clone()), store.failure());
        assert_eq!(failed.await, Some(refused));
        drop(store);
        // A reopen is the way back: nothing was written, and the failed command id is free.
        let store = open(&dir);
        assert_eq!(store.failure(), None);
        let next = append(&store, 2).await.unwrap();
        assert_eq!((next.first_position, next.version), (1, 1));
        let retried = append(&store, 1).await.unwrap();
        assert_eq!((retried.first_position, retried.version), (2, 2));
        assert!(store.verify().await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_batch_that_fails_after_apply_is_never_served_and_a_reopen_decides() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let mut sub = store.subscribe_all(1);
        store.inner.faults.set(Fault::AfterApply);
        assert!(matches!(
            append(&store, 1).await,
            Err(StoreError::Storage { .. })
        ));
        // sled's memory holds the batch, but it was not flushed: it is not readable, and a
        // retry is refused rather than acknowledged as a duplicate of something not durable.
        assert_eq!(store.head(), 0);
        assert!(store.read_all(1, 10).await.unwrap().is_empty());
        assert!(matches!(
            append(&store, 1).await,
            Err(StoreError::Storage { .. })
        ));
        drop(sub);
        drop(store);
        // After a reopen the retry finds the batch if it reached the disk, or writes it now:
        // either way it is at position 1, once.
        let store = open(&dir);
        sub = store.subscribe_all(1);
        let retried = append(&store, 1).await.unwrap();
        assert_eq!((retried.first_position, retried.version), (1, 1));
        let next = append(&store, 2).await.unwrap();
        assert_eq!((next.first_position, next.version), (2, 2));
        assert_eq!(sub.next().await.unwrap().position, 1);
        assert_eq!(sub.next().await.unwrap().position, 2);
        assert!(store.verify().await.unwrap().is_ok());
    }
}
