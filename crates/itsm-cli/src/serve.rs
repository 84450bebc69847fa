//! `ledgerdesk serve`: the GraphQL gateway on the ledger in the data directory.
//!
//! The process holds the data directory for its whole life (sled's lock), wires the desk with
//! the system clock (`itsm_gateway::AppState::start`), and serves `itsm_gateway::app` until
//! Ctrl-C or SIGTERM, then stops the process managers (each saves its checkpoint), saves the
//! read models if they are well past their last snapshot, lets the store flush and close, and
//! opens the ledger once more so that sled writes its recovery snapshot now rather than at the
//! next start (see `checkpoint`). A write that fails in the storage engine (a full disk, an I/O error) stops
//! the store's writes for good (sled keeps the error until the database is reopened): serve then drops everything
//! built on that store, reopens the ledger (waiting, with a growing pause, while the fault
//! lasts) and serves again on the same socket. A ledger that will not reopen for another reason
//! ends the process with a clear message and exit code 2, for a supervisor.
//! On the first start (no token issued yet) it issues an admin token and prints it once.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use itsm_app::{ProcessConfig, SystemClock};
use itsm_eventstore::{EventStore, SledStore, SnapshotStore, StoreError};
use itsm_gateway::{AppState, Limits};
use itsm_projections::{Projection, ProjectionRunner, ReadModels};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::{CliError, demo, token};

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`). Request bodies and headers are
/// never logged, so bearer tokens do not reach the log.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second call (tests driving `run` twice) keeps the first subscriber.
    // Colours only on a terminal: a log file or a supervisor gets plain text.
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _already_set = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colours)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The per-token request rate of `serve` (HTTP 429 beyond it); the defaults are the gateway's
/// `Limits`. Load generators raise it: one token then drives many connections.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct RateArgs {
    /// Requests per second each token may make on average.
    #[arg(long, default_value_t = Limits::default().rate_per_second)]
    pub rate_per_second: f64,
    /// Requests each token may make at once.
    #[arg(long, default_value_t = Limits::default().rate_burst)]
    pub rate_burst: u32,
}

/// Reads and decodes the newest read-model snapshot file of the ledger in `data` on tokio's
/// blocking pool, to run while the ledger opens: at 1M incidents sled's recovery and the
/// snapshot's decode each take over a second, and on two cores they overlap instead of
/// following each other (docs/PERFORMANCE.md). `None` when there is no snapshot file or it does
/// not decode; the runner then loads the newest snapshot itself, as it always did.
pub fn preload_read_models(data: &Path) -> JoinHandle<Option<ReadModels>> {
    let data = data.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let snapshot = match SledStore::read_snapshot_file(&data, ReadModels::NAME) {
            Ok(Some(snapshot)) => snapshot,
            Ok(None) => return None,
            Err(error) => {
                tracing::warn!(%error, "the read-model snapshot was not read ahead");
                return None;
            }
        };
        match ReadModels::decode_snapshot(&snapshot.bytes) {
            Ok(models) if models.position() == snapshot.position => {
                tracing::info!(
                    position = snapshot.position,
                    bytes = snapshot.bytes.len(),
                    elapsed = ?started.elapsed(),
                    "read models decoded while the ledger opened"
                );
                Some(models)
            }
            Ok(_) | Err(_) => {
                tracing::warn!(
                    position = snapshot.position,
                    "the read-model snapshot read ahead does not decode to its position"
                );
                None
            }
        }
    })
}

pub async fn run(
    store: SledStore,
    preloaded: Option<JoinHandle<Option<ReadModels>>>,
    data: &Path,
    listen: SocketAddr,
    seed_demo: bool,
    rate: RateArgs,
) -> Result<(), CliError> {
    init_logging();
    let mut restored = match preloaded {
        Some(task) => task.await.unwrap_or_else(|error| {
            tracing::warn!(%error, "reading the read-model snapshot ahead failed");
            None
        }),
        None => None,
    };
    let store = Arc::new(store);
    if seed_demo {
        if store.head() == 0 {
            println!("The ledger is empty: seeding the demo data first.");
            demo::seed(Arc::clone(&store), demo::Options::default(), false).await?;
        } else {
            println!(
                "The ledger already holds {} events: --demo seeds nothing.",
                store.head()
            );
        }
    }
    let limits = Limits {
        rate_per_second: rate.rate_per_second,
        rate_burst: rate.rate_burst,
        ..Limits::default()
    };
    // One socket for the life of the process: while the ledger is reopened after a storage
    // failure, clients wait in the accept backlog instead of being refused.
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| CliError::Command(format!("cannot listen on {listen}: {e}")))?
        .into_std()
        .map_err(|e| CliError::Command(format!("cannot keep the socket on {listen}: {e}")))?;
    let address = listener
        .local_addr()
        .map_err(|e| CliError::Command(format!("cannot read the bound address: {e}")))?;

    let mut store = store;
    let mut first = true;
    loop {
        let round = listener
            .try_clone()
            .and_then(TcpListener::from_std)
            .map_err(|e| CliError::Command(format!("cannot listen on {address}: {e}")))?;
        let failure = serve_ledger(
            store,
            restored.take(),
            data,
            round,
            address,
            limits.clone(),
            first,
        )
        .await?;
        first = false;
        let Some(failure) = failure else {
            checkpoint(data).await;
            println!("stopped");
            return Ok(());
        };
        tracing::error!(%failure, "the ledger cannot be written: reopening it");
        match reopen(data).await? {
            Some(reopened) => store = Arc::new(reopened),
            None => return Ok(()),
        }
    }
}

/// How long in-flight requests (and open websockets) get to finish once serving stops.
const GRACE: Duration = Duration::from_secs(10);

/// Serves the ledger until Ctrl-C/SIGTERM (`Ok(None)`) or until a write fails in the storage
/// engine (`Ok(Some(failure))`). Every handle on `store` is dropped when it returns, so the
/// ledger can be reopened.
async fn serve_ledger(
    store: Arc<SledStore>,
    restored: Option<ReadModels>,
    data: &Path,
    listener: TcpListener,
    address: SocketAddr,
    limits: Limits,
    first: bool,
) -> Result<Option<StoreError>, CliError> {
    let running = AppState::start_restored(
        Arc::clone(&store),
        Arc::new(SystemClock),
        limits,
        ProcessConfig::default(),
        restored,
    )
    .await
    .map_err(|e| CliError::Command(format!("cannot start the read models: {e}")))?;
    let state = running.state.clone();

    if let Some(secret) = token::bootstrap_admin(&state).await? {
        println!("First start: an admin token was issued. It is shown only this once:");
        println!("  admin token: {secret}");
        println!("  use it as the header  Authorization: Bearer <token>");
    }

    tracing::info!(%address, data = %data.display(), head = store.head(), "serving");
    if first {
        println!("listening on http://{address}/graphql");
        println!("GraphiQL: open http://{address}/graphql in a browser");
        println!("health:   http://{address}/healthz");
    } else {
        println!("serving again on http://{address}/graphql");
    }
    flush_stdout();

    // A write that fails in the storage engine stops the store's writes for good (sled keeps
    // the I/O error until the database is reopened): stop serving this store then.
    let store_failed = store.failed();
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let stop = async move {
        tokio::select! {
            () = shutdown_signal() => {}
            Some(failure) = store_failed => {
                tracing::error!(%failure, "the ledger cannot be written: stopping");
            }
        }
        let _receiver_gone = stopping.send(());
    };
    let served = itsm_gateway::serve(listener, state, stop);
    // Graceful shutdown waits for every connection; a websocket may never close by itself.
    let grace_over = async {
        if stopped.await.is_ok() {
            tokio::time::sleep(GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let served = tokio::select! {
        served = served => served,
        () = grace_over => {
            tracing::warn!("connections still open after the grace period: closing them");
            Ok(())
        }
    };
    tracing::info!("shutting down");
    if store.failure().is_none() {
        // Saves each process manager's checkpoint at the position it reached.
        running.processes.stop().await;
        save_read_models(&store, &running.state.runner).await;
    } else {
        running.processes.abort().await;
    }
    drop(running.state);
    served.map_err(|e| CliError::Command(format!("the server failed: {e}")))?;
    Ok(store.failure())
}

/// A clean stop saves the read models when they are at least this many events past their newest
/// snapshot (the runner saves one only every 50 000 events): the next start then restores at
/// the head instead of replaying up to 50 000 events before it is ready.
const SHUTDOWN_SNAPSHOT_AFTER: u64 = 1_000;

/// Saves the read models as the newest snapshot (see [`SHUTDOWN_SNAPSHOT_AFTER`]). Best
/// effort: a snapshot is a cache, a failure is logged and the next start replays a little more.
async fn save_read_models(store: &SledStore, runner: &ProjectionRunner<SledStore>) {
    let stats = runner.stats();
    let newest = stats.last_snapshot.max(stats.started_from_snapshot);
    if runner.position() < newest.saturating_add(SHUTDOWN_SNAPSHOT_AFTER) {
        return;
    }
    let started = std::time::Instant::now();
    let encoded = runner.read(|models| (models.position(), models.encode_snapshot()));
    let saved = match encoded {
        (position, Ok(bytes)) => store
            .save_snapshot(ReadModels::NAME, position, bytes)
            .await
            .map(|()| position)
            .map_err(|e| e.to_string()),
        (_, Err(e)) => Err(e.to_string()),
    };
    match saved {
        Ok(position) => {
            tracing::info!(position, elapsed = ?started.elapsed(), "read models saved");
        }
        Err(error) => tracing::warn!(%error, "the read models were not saved at shutdown"),
    }
}

/// How long the clean-shutdown checkpoint waits for the stopped server to let go of the
/// directory: the last handles (tasks being cancelled) drop the store, whose close joins the
/// writer and closes sled (at 1M incidents sled holds 1.5 GB once open, and the one second
/// this used to wait was not enough there). Tries with a pause doubling up to
/// [`CHECKPOINT_PAUSE_MAX`].
const CHECKPOINT_PATIENCE: Duration = Duration::from_mins(1);
const CHECKPOINT_PAUSE_MAX: Duration = Duration::from_secs(1);

/// After a clean stop: opens and closes the ledger once more, so that sled writes its recovery
/// snapshot now instead of at the next start.
///
/// sled 0.34.7 writes that snapshot (its page table, `snap.<lsn>`) only while opening a
/// database: each open reads the newest snapshot and then scans every log message written
/// after it, and neither `flush` nor closing writes a new one. So the next start would scan
/// everything this process wrote (1.7 GB of log, 3.5 s, for a freshly generated 100k-incident
/// ledger; docs/PERFORMANCE.md). This open pays that scan at shutdown, and the next start
/// reads a current snapshot. Best effort: a directory still held (a connection the grace
/// period could not close) or a failing open only skips it; the ledger is durable either way.
async fn checkpoint(data: &Path) {
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        match crate::open(&data.to_path_buf()) {
            Ok(store) => {
                let head = store.head();
                drop(store);
                tracing::info!(head, elapsed = ?started.elapsed(), "ledger checkpointed");
                return;
            }
            Err(CliError::Locked(_)) if started.elapsed() < CHECKPOINT_PATIENCE => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(CHECKPOINT_PAUSE_MAX);
            }
            Err(CliError::Locked(_)) => {
                tracing::warn!(
                    waited = ?started.elapsed(),
                    "no checkpoint of the ledger at shutdown: it is still held"
                );
                return;
            }
            Err(other) => {
                tracing::warn!(error = %other, "no checkpoint of the ledger at shutdown");
                return;
            }
        }
    }
}

/// The longest pause between two attempts to reopen the ledger.
const REOPEN_BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How many times a reopen may find the directory still locked (a connection the grace period
/// could not close still holds the old store) before the process gives up.
const LOCKED_ATTEMPTS: u32 = 6;

/// Reopens the ledger after a storage failure, waiting while the storage engine still fails
/// (a full disk, an I/O error) until the fault clears. `Ok(None)` on Ctrl-C/SIGTERM. A ledger
/// that stays locked, or any other failure, ends the process with exit code 2 and the reason.
async fn reopen(data: &Path) -> Result<Option<SledStore>, CliError> {
    let mut pause = Duration::from_millis(500);
    let mut locked = 0;
    let signal = shutdown_signal();
    tokio::pin!(signal);
    loop {
        let attempt = crate::open(&data.to_path_buf());
        let failure = match attempt {
            Ok(store) => {
                tracing::info!(head = store.head(), "the ledger is open again");
                return Ok(Some(store));
            }
            Err(CliError::Store(StoreError::Storage { message })) => message,
            Err(CliError::Locked(_)) if locked + 1 < LOCKED_ATTEMPTS => {
                locked += 1;
                "the ledger is still held by the stopped server".to_owned()
            }
            Err(other) => {
                return Err(CliError::Command(format!(
                    "stopped: the ledger cannot be written and does not reopen ({other}); \
                     everything acknowledged is on disk: start again once the disk has room \
                     or the I/O error is fixed"
                )));
            }
        };
        tracing::warn!(%failure, retry_in = ?pause, "the ledger does not reopen yet");
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = &mut signal => return Ok(None),
        }
        pause = (pause * 2).min(REOPEN_BACKOFF_MAX);
    }
}

fn flush_stdout() {
    use std::io::Write;
    // A pipe reader (a test, a supervisor) waits for these lines; a failed flush is not fatal.
    let _ignored = std::io::stdout().flush();
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}
