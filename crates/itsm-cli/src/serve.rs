//! `ledgerdesk serve`: the GraphQL gateway on the ledger in the data directory.
//!
//! The process holds the data directory for its whole life (sled's lock), wires the desk with
//! the system clock (`itsm_gateway::AppState::start`), and serves `itsm_gateway::app` until
//! Ctrl-C or SIGTERM, then stops the process managers and lets the store flush and close. A
//! write that fails in the storage engine (a full disk, an I/O error) stops it too, with a clear
//! message and exit code 2: the store accepts no writes until it is reopened, which a restart by
//! the supervisor does.
//! On the first start (no token issued yet) it issues an admin token and prints it once.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use itsm_app::{ProcessConfig, SystemClock};
use itsm_eventstore::{EventStore, SledStore};
use itsm_gateway::{AppState, Limits};
use tokio::net::TcpListener;

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

pub async fn run(
    store: SledStore,
    data: &Path,
    listen: SocketAddr,
    seed_demo: bool,
    rate: RateArgs,
) -> Result<(), CliError> {
    init_logging();
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
    let running = AppState::start(
        Arc::clone(&store),
        Arc::new(SystemClock),
        Limits {
            rate_per_second: rate.rate_per_second,
            rate_burst: rate.rate_burst,
            ..Limits::default()
        },
        ProcessConfig::default(),
    )
    .await
    .map_err(|e| CliError::Command(format!("cannot start the read models: {e}")))?;
    let state = running.state.clone();

    if let Some(secret) = token::bootstrap_admin(&state).await? {
        println!("First start: an admin token was issued. It is shown only this once:");
        println!("  admin token: {secret}");
        println!("  use it as the header  Authorization: Bearer <token>");
    }

    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| CliError::Command(format!("cannot listen on {listen}: {e}")))?;
    let address = listener
        .local_addr()
        .map_err(|e| CliError::Command(format!("cannot read the bound address: {e}")))?;
    tracing::info!(%address, data = %data.display(), head = store.head(), "serving");
    println!("listening on http://{address}/graphql");
    println!("GraphiQL: open http://{address}/graphql in a browser");
    println!("health:   http://{address}/healthz");
    flush_stdout();

    // A write that fails in the storage engine stops the store for good (sled keeps the I/O
    // error until the database is reopened): stop serving then, so that a supervisor restarts
    // the process, which reopens the ledger with everything acknowledged before.
    let store_failed = store.failed();
    let stop = async move {
        tokio::select! {
            () = shutdown_signal() => {}
            Some(failure) = store_failed => {
                tracing::error!(%failure, "the ledger cannot be written: stopping");
            }
        }
    };
    let served = itsm_gateway::serve(listener, state, stop).await;
    tracing::info!("shutting down");
    running.processes.stop().await;
    drop(running.state);
    served.map_err(|e| CliError::Command(format!("the server failed: {e}")))?;
    if let Some(failure) = store.failure() {
        return Err(CliError::Command(format!(
            "stopped: the ledger cannot be written ({failure}); everything acknowledged is on \
             disk: start again once the disk has room or the I/O error is fixed"
        )));
    }
    println!("stopped");
    Ok(())
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
