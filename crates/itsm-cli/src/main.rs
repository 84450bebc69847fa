//! `ledgerdesk`: the operator's command line for a Ledgerdesk data directory.
//!
//! Every command that touches data takes `--data DIR` (default `./data`, or `LEDGERDESK_DATA`).
//! sled lets one process at a time open a directory; a second one (say `token create` while
//! `serve` runs) gets a clear message and exit code 2 instead of a lock error.
//!
//! Exit codes: 0 success, 1 the ledger (or an import file) did not verify, 2 anything else
//! (bad arguments, directory in use, I/O).
//!
//! Architecture invariant: the CLI holds no business rules. It builds commands, sends them
//! through `itsm-app`'s command bus, and prints what the ledger says.

mod demo;
mod ledger;
mod serve;
mod token;
mod transfer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use itsm_eventstore::{SledConfig, SledStore, StoreError, UpgradeEvent};
use itsm_kernel::Role;

#[derive(Debug, Parser)]
#[command(
    name = "ledgerdesk",
    version,
    about = "Ledgerdesk: an event-sourced ITIL service desk"
)]
struct Cli {
    /// The data directory holding the ledger.
    #[arg(long, global = true, env = "LEDGERDESK_DATA", default_value = "./data")]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the GraphQL API (and its in-browser IDE) at /graphql, and /healthz, on --data.
    Serve {
        /// Address to listen on (port 0: any free port; the bound address is printed).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Seed the demo data first if the ledger is empty.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        rate: serve::RateArgs,
    },
    /// Seed realistic demo data: services with calendars in three time zones, SLA policies,
    /// weeks of incident, problem and change history (recorded at past times), then a short
    /// story at the present moment; print a summary and verify the hash chain.
    Demo {
        /// Incidents spread over the weeks of history.
        #[arg(long, default_value_t = demo::Options::default().incidents)]
        incidents: u32,
        /// Weeks of history before now.
        #[arg(long, default_value_t = demo::Options::default().weeks)]
        weeks: u32,
    },
    /// Manage bearer tokens (offline: refused while a server holds the directory).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Re-walk the hash chain and the stream index; exit 1 at the first defect.
    Verify,
    /// Rebuild the read models from position 1 and save them as a fresh snapshot.
    #[command(visible_alias = "replay")]
    Rebuild,
    /// Write the whole ledger as JSON Lines, losslessly (hashes, hex payloads).
    Export {
        /// The file to write (replaced if it exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Fill an empty data directory from an export; the chain is re-checked as it goes.
    Import {
        /// A file written by `ledgerdesk export`.
        file: PathBuf,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Print the ledger, one event per line.
    Events {
        /// First position to print.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Most events to print.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print JSON Lines with the decoded payload instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue a token and print its secret once.
    Create {
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Unique token name (for revocation and the audit log).
        #[arg(long)]
        name: String,
        /// The user the token acts as (default: the token name).
        #[arg(long)]
        user: Option<String>,
        /// Expiry, RFC 3339 (e.g. 2027-01-31T00:00:00Z); default: until revoked.
        #[arg(long)]
        expires: Option<DateTime<Utc>>,
    },
}

/// The roles of docs/ROLES.md, as typed on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum RoleArg {
    Requester,
    Agent,
    ChangeManager,
    ServiceManager,
    Auditor,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Requester => Role::Requester,
            RoleArg::Agent => Role::Agent,
            RoleArg::ChangeManager => Role::ChangeManager,
            RoleArg::ServiceManager => Role::ServiceManager,
            RoleArg::Auditor => Role::Auditor,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// Why a command failed, with the exit code it gets.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(
        "the data directory {} is in use by another ledgerdesk process; stop it first",
        .0.display()
    )]
    Locked(PathBuf),
    #[error("the ledger failed: {0}")]
    Store(#[from] StoreError),
    #[error("the ledger did not verify: {0}")]
    Invalid(String),
    #[error("{0}")]
    Command(String),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Invalid(_) => 1,
            CliError::Locked(_) | CliError::Store(_) | CliError::Command(_) => 2,
        }
    }
}

fn open(data: &PathBuf) -> Result<SledStore, CliError> {
    std::fs::create_dir_all(data).map_err(|e| {
        CliError::Command(format!(
            "cannot create the data directory {}: {e}",
            data.display()
        ))
    })?;
    SledStore::open_observed(data, &SledConfig::default(), &mut report_upgrade).map_err(|error| {
        match error {
            StoreError::Locked { .. } => CliError::Locked(data.clone()),
            other => CliError::Store(other),
        }
    })
}

/// Tells the operator what a storage-format upgrade of the ledger does while `open` runs it: in
/// the server's log when `serve` set one up, on stderr otherwise.
fn report_upgrade(event: UpgradeEvent) {
    let line = match event {
        UpgradeEvent::Started { from, to } => format!(
            "upgrading the ledger's storage from format {from} to {to}: a one-time rewrite of \
             every event into a new directory beside the old one (needs as much free space again)"
        ),
        UpgradeEvent::Progress { part, done } => format!("upgrade: {done} {part} copied"),
        UpgradeEvent::Finished {
            events,
            index_entries,
            commands,
        } => format!(
            "ledger storage upgraded: {events} events, {index_entries} stream index entries, \
             {commands} command ids"
        ),
        other => format!("upgrade: {other:?}"),
    };
    if tracing::dispatcher::has_been_set() {
        tracing::info!("{line}");
    } else {
        eprintln!("ledgerdesk: {line}");
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    if let Command::Schema = cli.command {
        print!("{}", itsm_gateway::sdl());
        return Ok(());
    }
    // serve reads and decodes its read-model snapshot while the ledger opens (see
    // `serve::preload_read_models`).
    let preloaded = matches!(cli.command, Command::Serve { .. }).then(|| {
        serve::init_logging();
        serve::preload_read_models(&cli.data)
    });
    let store = open(&cli.data)?;
    match cli.command {
        Command::Serve { listen, demo, rate } => {
            serve::run(store, preloaded, &cli.data, listen, demo, rate).await
        }
        Command::Demo { incidents, weeks } => {
            demo::run(store, &cli.data, demo::Options { incidents, weeks }).await
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    role,
                    name,
                    user,
                    expires,
                },
        } => token::create(store, role.into(), name, user, expires).await,
        Command::Verify => ledger::verify(&store).await,
        Command::Rebuild => ledger::rebuild(&store).await,
        Command::Export { out } => transfer::export(&store, &out).await,
        Command::Import { file } => transfer::import(&store, &file).await,
        Command::Events { from, limit, json } => ledger::print(&store, from, limit, json).await,
        Command::Schema => Ok(()),
    }
}

/// mimalloc instead of glibc malloc: under load the server's many small, short-lived allocations
/// (GraphQL values, JSON) made glibc's malloc/free about 37 % of its CPU (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ledgerdesk: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ledgerdesk: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
