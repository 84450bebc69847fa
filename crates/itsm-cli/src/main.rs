//! `ledgerdesk`: the operator's command line for a Ledgerdesk data directory.
//!
//! Every command that touches data takes `--data DIR` (default `./data`, or `LEDGERDESK_DATA`).
//! sled lets one process at a time open a directory; a second one gets a clear message and exit
//! code 2 instead of a lock error.
//!
//! Architecture invariant: the CLI holds no business rules. It builds commands, sends them
//! through `itsm-app`'s command bus, and prints what the ledger says.

mod demo;
mod ledger;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use itsm_eventstore::{SledConfig, SledStore, StoreError};

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
    /// Play a short service-desk story through the real deciders into the ledger, print the
    /// events it wrote and verify the hash chain.
    Demo,
    /// Re-walk the hash chain and the stream index; exit 1 at the first defect.
    Verify,
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
    SledStore::open(data, &SledConfig::default()).map_err(|error| match error {
        StoreError::Locked { .. } => CliError::Locked(data.clone()),
        other => CliError::Store(other),
    })
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let store = open(&cli.data)?;
    match cli.command {
        Command::Demo => demo::run(store, &cli.data).await,
        Command::Verify => ledger::verify(&store).await,
        Command::Events { from, limit, json } => ledger::print(&store, from, limit, json).await,
    }
}

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
