//! `scalebench`'s figures on a `genledger` ledger.
//!
//! - `rebuild_all`: events/s folding the whole ledger into fresh read models with
//!   `itsm_projections::rebuild` (what `ledgerdesk rebuild` and a snapshot-less start do),
//!   against the ceiling `read_all`: the same ledger read with the same page size and nothing
//!   done with the envelopes, in the same run (one warm-up pass first, then alternately).
//! - `startup_snapshot`: seconds from spawning the real `ledgerdesk serve` to **ready**: its
//!   `/healthz` answers with `read_models_at == ledger_head` (the read models have applied every
//!   event the ledger held when asked), with the newest read-model snapshot at the head. The
//!   ceiling is the target of 2 s. `startup_full_replay` is the same with no usable
//!   snapshot: a snapshot that does not decode is saved at the head first (the runner ignores
//!   it and replays from position 1, as after a format change), and the good one is put back
//!   afterwards.
//! - `snapshot_bytes`, `snapshot_encode`, `snapshot_decode`: the snapshot a start restores,
//!   its size and the time to encode and decode it in this process (the decode is part of every
//!   start with a snapshot).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use itsm_eventstore::{EventStore, SledConfig, SledStore, SnapshotStore};
use itsm_projections::{Projection, ReadModels};

use crate::scale::ScaleError;
use crate::{Figure, median, per_second};

/// Page size of every read (the projection runner's).
const PAGE: usize = 4_096;
/// The target for a start with snapshots, in seconds.
pub const STARTUP_TARGET_SECONDS: f64 = 2.0;

/// Opens a ledger directory for the bench (the server's default configuration).
pub fn open(dir: &Path) -> Result<SledStore, ScaleError> {
    Ok(SledStore::open(dir, &SledConfig::default())?)
}

/// Reads the whole ledger in pages, touching every envelope; returns the count and the time.
pub async fn read_all_pass(store: &SledStore) -> Result<(u64, Duration), ScaleError> {
    let started = Instant::now();
    let head = store.head();
    let mut next = 1;
    let mut count = 0_u64;
    let mut payload_bytes = 0_usize;
    while next <= head {
        let page = store.read_all(next, PAGE).await?;
        let Some(last) = page.last() else { break };
        next = last.position + 1;
        count += page.len() as u64;
        payload_bytes += page.iter().map(|e| e.payload.len()).sum::<usize>();
    }
    std::hint::black_box(payload_bytes);
    Ok((count, started.elapsed()))
}

/// Rebuilds every projection from position 1.
pub async fn rebuild_pass(store: &SledStore) -> Result<(ReadModels, Duration), ScaleError> {
    let started = Instant::now();
    let models = itsm_projections::rebuild(store).await?;
    Ok((models, started.elapsed()))
}

/// `rebuild_all` against `read_all`, medians of `repetitions` alternating runs; also returns
/// the rebuilt models.
pub async fn rebuild_figures(
    store: &SledStore,
    repetitions: usize,
) -> Result<(Vec<Figure>, ReadModels), ScaleError> {
    let head = store.head();
    read_all_pass(store).await?;
    let mut reads = Vec::new();
    let mut rebuilds = Vec::new();
    let mut models = ReadModels::default();
    for _ in 0..repetitions.max(1) {
        let (count, elapsed) = read_all_pass(store).await?;
        reads.push(per_second(count, elapsed));
        let (rebuilt, elapsed) = rebuild_pass(store).await?;
        rebuilds.push(per_second(head, elapsed));
        models = rebuilt;
    }
    let figures = vec![Figure::new(
        "rebuild_all",
        "events/s",
        median(rebuilds),
        median(reads),
    )];
    Ok((figures, models))
}

/// Encodes `models` and saves them as the newest snapshot (as `ledgerdesk rebuild` does);
/// returns the figures on the snapshot and its bytes.
pub async fn save_snapshot(
    store: &SledStore,
    models: &ReadModels,
) -> Result<(Vec<Figure>, Vec<u8>), ScaleError> {
    let started = Instant::now();
    let bytes = models
        .encode_snapshot()
        .map_err(|e| ScaleError::Plan(format!("encode: {e}")))?;
    let encode = started.elapsed();
    let started = Instant::now();
    let decoded = ReadModels::decode_snapshot(&bytes)
        .map_err(|e| ScaleError::Plan(format!("decode: {e}")))?;
    let decode = started.elapsed();
    if decoded.position() != models.position() {
        return Err(ScaleError::Plan(
            "the snapshot decodes to another position".into(),
        ));
    }
    drop(decoded);
    store
        .save_snapshot(ReadModels::NAME, models.position(), bytes.clone())
        .await?;
    #[allow(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
    let size = bytes.len() as f64;
    let figures = vec![
        Figure::new("snapshot_bytes", "bytes", size, size),
        Figure::new(
            "snapshot_encode",
            "s",
            encode.as_secs_f64(),
            STARTUP_TARGET_SECONDS,
        ),
        Figure::new(
            "snapshot_decode",
            "s",
            decode.as_secs_f64(),
            STARTUP_TARGET_SECONDS,
        ),
    ];
    Ok((figures, bytes))
}

/// The `ledgerdesk` release binary next to this workspace's target directory.
pub fn default_binary() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/ledgerdesk")
}

/// A running `ledgerdesk serve`, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Served {
    child: Child,
    pub address: SocketAddr,
}

impl Drop for Served {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn stop(child: &mut Child) {
    let _sent = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_mins(1);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _killed = child.kill();
    let _reaped = child.wait();
}

/// `GET /healthz`: `(ledger_head, read_models_at)`.
pub fn health(address: SocketAddr) -> Option<(u64, u64)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let body = response.split_once("\r\n\r\n")?.1;
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    let field = |name: &str| json.get(name)?.as_str()?.parse::<u64>().ok();
    Some((field("ledger_head")?, field("read_models_at")?))
}

/// Starts `ledgerdesk serve` on `data` (any free port) and waits until it is ready (see the
/// module documentation); returns the server and the seconds from spawn to ready.
pub fn start_until_ready(
    binary: &Path,
    data: &Path,
    limit: Duration,
) -> Result<(Served, Duration), ScaleError> {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ScaleError::Serve(format!("cannot start {}: {e}", binary.display())))?;
    let (log, log_reader) = keep_log_tail(child.stderr.take());
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| ScaleError::Serve("no stdout".into()))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("listening on http://")
                && let Some(address) = rest.strip_suffix("/graphql")
                && let Ok(address) = address.parse::<SocketAddr>()
            {
                let _receiver_gone = tx.send(address);
            }
        }
    });
    let deadline = started + limit;
    let address = loop {
        if let Ok(address) = rx.recv_timeout(Duration::from_millis(5)) {
            break address;
        }
        if let Ok(Some(status)) = child.try_wait() {
            // The pipe is closed now: the reader has the last lines once it ends.
            let _reader_panicked = log_reader.join();
            return Err(ScaleError::Serve(format!(
                "serve exited early: {status}; its last log lines:\n{}",
                tail_of(&log)
            )));
        }
        if Instant::now() > deadline {
            stop(&mut child);
            return Err(ScaleError::Serve("no listening address in time".into()));
        }
    };
    let served = Served { child, address };
    loop {
        if let Some((head, applied)) = health(address)
            && head > 0
            && applied == head
        {
            return Ok((served, started.elapsed()));
        }
        if Instant::now() > deadline {
            return Err(ScaleError::Serve("not ready in time".into()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Lines of a served process's log kept for an error message.
const LOG_TAIL_LINES: usize = 20;

/// Drains the served process's stderr on a thread (a pipe nobody reads would block it once
/// full) and keeps its last [`LOG_TAIL_LINES`] lines; the thread ends when the pipe closes.
fn keep_log_tail(
    stderr: Option<ChildStderr>,
) -> (Arc<Mutex<VecDeque<String>>>, std::thread::JoinHandle<()>) {
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(LOG_TAIL_LINES)));
    let kept = Arc::clone(&tail);
    let reader = std::thread::spawn(move || {
        let Some(stderr) = stderr else { return };
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(mut lines) = kept.lock() {
                if lines.len() == LOG_TAIL_LINES {
                    lines.pop_front();
                }
                lines.push_back(line);
            }
        }
    });
    (tail, reader)
}

/// The kept log lines, one per line (the stderr thread may still be adding the last ones).
fn tail_of(log: &Mutex<VecDeque<String>>) -> String {
    log.lock()
        .map(|lines| lines.iter().cloned().collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

/// Resident set of a process, from `/proc/<pid>/status` (Linux).
pub fn resident_bytes_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl Served {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// `startup_snapshot` alone: the median of `starts` starts of `ledgerdesk serve` on `data`,
/// which must already hold a read-model snapshot at its head (a full scalebench run saves
/// one). Each start is stopped (SIGTERM, a clean shutdown) before the next one.
pub fn startup_only(
    binary: &Path,
    data: &Path,
    starts: usize,
    limit: Duration,
) -> Result<Figure, ScaleError> {
    let mut seconds = Vec::with_capacity(starts);
    for start in 0..starts.max(1) {
        let (served, ready) = start_until_ready(binary, data, limit)?;
        drop(served);
        eprintln!("scalebench: start {}: ready in {ready:.2?}", start + 1);
        seconds.push(ready.as_secs_f64());
    }
    Ok(Figure::new(
        "startup_snapshot",
        "s",
        median(seconds),
        STARTUP_TARGET_SECONDS,
    ))
}

/// The startup figures: with the snapshot at the head, then with none usable (see the module
/// documentation). `snapshot` is put back at the head at the end.
pub async fn startup_figures(
    binary: &Path,
    data: &Path,
    snapshot: (u64, Vec<u8>),
    limit: Duration,
) -> Result<Vec<Figure>, ScaleError> {
    let (with_snapshot, full_replay) = {
        let (served, with_snapshot) = start_until_ready(binary, data, limit)?;
        drop(served);
        {
            let store = open(data)?;
            store
                .save_snapshot(
                    ReadModels::NAME,
                    store.head(),
                    b"no usable snapshot".to_vec(),
                )
                .await?;
        }
        // Stopped before the directory is reopened (the server holds its lock).
        let outcome = start_until_ready(binary, data, limit).map(|(served, full)| {
            drop(served);
            full
        });
        {
            let store = open(data)?;
            store
                .save_snapshot(ReadModels::NAME, snapshot.0, snapshot.1)
                .await?;
            // The server may have written an event (the first start's admin token): a
            // garbage snapshot above the good one would still win, so put the good one last.
            if store.head() > snapshot.0 {
                let models = itsm_projections::rebuild(&store).await?;
                let bytes = models
                    .encode_snapshot()
                    .map_err(|e| ScaleError::Plan(format!("encode: {e}")))?;
                store
                    .save_snapshot(ReadModels::NAME, models.position(), bytes)
                    .await?;
            }
        }
        (with_snapshot, outcome?)
    };
    Ok(vec![
        Figure::new(
            "startup_snapshot",
            "s",
            with_snapshot.as_secs_f64(),
            STARTUP_TARGET_SECONDS,
        ),
        Figure::new(
            "startup_full_replay",
            "s",
            full_replay.as_secs_f64(),
            STARTUP_TARGET_SECONDS,
        ),
    ])
}
