//! `scalebench`: the large-ledger figures as JSON lines (see `itsm_benches::scale::bench`).
//!
//! `scalebench --data DIR [--bin PATH]` measures a `genledger` ledger; `scalebench --quick`
//! generates its own (5 000 incidents, 500 open: about 72 000 events, so `make bench-quick` stays
//! under two minutes) in a temporary directory first. `--bin` is
//! the `ledgerdesk` release binary (default `target/release/ledgerdesk` of this workspace).
//! `--no-serve` skips the startup figures. `--startup-only N` measures only `startup_snapshot`,
//! the median of N starts, on a `--data` ledger that already holds a read-model snapshot (a
//! previous scalebench run saved one): for before/after comparisons of the start.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use itsm_benches::scale::ScaleError;
use itsm_benches::scale::bench::{
    default_binary, open, rebuild_figures, save_snapshot, startup_figures, startup_only,
};
use itsm_benches::scale::generate::{GenOptions, generate};

/// Incidents of the `--quick` ledger (a tenth of them stay open).
const QUICK_INCIDENTS: u64 = 5_000;

struct Args {
    data: Option<PathBuf>,
    quick: bool,
    binary: PathBuf,
    serve: bool,
    /// `--startup-only N`: only `startup_snapshot`, the median of N starts.
    startup_only: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut parsed = Args {
        data: None,
        quick: false,
        binary: default_binary(),
        serve: true,
        startup_only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => {
                parsed.data = Some(PathBuf::from(args.next().ok_or("--data needs a value")?));
            }
            "--bin" => parsed.binary = PathBuf::from(args.next().ok_or("--bin needs a value")?),
            "--quick" => parsed.quick = true,
            "--no-serve" => parsed.serve = false,
            "--startup-only" => {
                let n = args.next().ok_or("--startup-only needs a count")?;
                let n: usize = n.parse().map_err(|e| format!("--startup-only: {e}"))?;
                parsed.startup_only = Some(n.max(1));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if parsed.data.is_none() && !parsed.quick {
        return Err("give --data DIR (a genledger ledger) or --quick".to_owned());
    }
    if parsed.startup_only.is_some() && parsed.data.is_none() {
        return Err("--startup-only needs --data DIR".to_owned());
    }
    Ok(parsed)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("scalebench: {error}");
            eprintln!(
                "usage: scalebench (--data DIR | --quick) [--bin PATH] [--no-serve] \
                 [--startup-only N]"
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("scalebench: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("scalebench: {error}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: Args) -> Result<(), ScaleError> {
    if let (Some(starts), Some(data)) = (args.startup_only, &args.data) {
        let limit = Duration::from_mins(10);
        print(&[startup_only(&args.binary, data, starts, limit)?]);
        return Ok(());
    }
    let temporary;
    let data = if let Some(data) = &args.data {
        data.clone()
    } else {
        temporary = tempfile::tempdir()?;
        let store = Arc::new(open(temporary.path())?);
        let report = generate(
            Arc::clone(&store),
            GenOptions {
                incidents: QUICK_INCIDENTS,
                open: QUICK_INCIDENTS / 10,
            },
            chrono::Utc::now(),
            false,
        )
        .await?;
        eprintln!(
            "scalebench: generated {} incidents ({} open), {} events in {:.1?}",
            report.incidents, report.open, report.events, report.elapsed
        );
        temporary.path().to_path_buf()
    };
    let repetitions = if args.quick { 3 } else { 1 };
    let snapshot = {
        let store = open(&data)?;
        let (figures, models) = rebuild_figures(&store, repetitions).await?;
        print(&figures);
        let (figures, bytes) = save_snapshot(&store, &models).await?;
        print(&figures);
        (models.position(), bytes)
    };
    if args.serve {
        let limit = Duration::from_secs(if args.quick { 120 } else { 3_600 });
        print(&startup_figures(&args.binary, &data, snapshot, limit).await?);
    }
    Ok(())
}

fn print(figures: &[itsm_benches::Figure]) {
    for figure in figures {
        println!("{}", figure.to_json_line());
    }
}
