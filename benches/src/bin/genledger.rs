//! `genledger`: writes a large, realistic ledger with the real desk (see
//! `itsm_benches::scale::generate`) that `ledgerdesk serve --data DIR` can serve.
//!
//! `genledger --data DIR [--incidents N] [--open M]` (defaults 1 000 000 / 100 000). The
//! directory must not hold a ledger yet. Prints what it wrote, how long it took, the bytes on
//! disk and per event, as one JSON object on stdout; progress goes to stderr. At the end it
//! opens the new ledger once more (`checkpoint_seconds`), so sled writes its recovery snapshot
//! and the first start of a server on it does not scan the whole log.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use itsm_benches::scale::bench::open;
use itsm_benches::scale::bytes_on_disk;
use itsm_benches::scale::generate::{GenOptions, generate};
use itsm_eventstore::EventStore;

struct Args {
    data: PathBuf,
    options: GenOptions,
}

fn parse_args() -> Result<Args, String> {
    let mut data = None;
    let mut options = GenOptions {
        incidents: 1_000_000,
        open: 100_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--data" => data = Some(PathBuf::from(value()?)),
            "--incidents" => {
                options.incidents = value()?.parse().map_err(|e| format!("--incidents: {e}"))?;
            }
            "--open" => options.open = value()?.parse().map_err(|e| format!("--open: {e}"))?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let data = data.ok_or("--data DIR is required")?;
    if options.open > options.incidents {
        return Err("--open cannot exceed --incidents".to_owned());
    }
    Ok(Args { data, options })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("genledger: {error}");
            eprintln!("usage: genledger --data DIR [--incidents N] [--open M]");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("genledger: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("genledger: {error}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: &Args) -> Result<(), itsm_benches::scale::ScaleError> {
    std::fs::create_dir_all(&args.data)?;
    let store = open(&args.data)?;
    if store.head() > 0 {
        return Err(itsm_benches::scale::ScaleError::Plan(format!(
            "{} already holds a ledger ({} events); give an empty directory",
            args.data.display(),
            store.head()
        )));
    }
    let store = Arc::new(store);
    let report = generate(Arc::clone(&store), args.options, chrono::Utc::now(), true).await?;
    drop(store);
    // sled writes its recovery snapshot only while opening a database: one more open here
    // scans the log just written, so the first `ledgerdesk serve` on it does not.
    let checkpoint = std::time::Instant::now();
    match open(&args.data) {
        Ok(store) => drop(store),
        Err(error) => eprintln!("genledger: no checkpoint open of the new ledger: {error}"),
    }
    let checkpoint = checkpoint.elapsed();
    let bytes = bytes_on_disk(&args.data)?;
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let line = serde_json::json!({
        "incidents": report.incidents,
        "open": report.open,
        "events": report.events,
        "events_per_incident": report.events as f64 / report.incidents.max(1) as f64,
        "sla_warnings": report.warnings,
        "sla_breaches": report.breaches,
        "auto_closed": report.auto_closed,
        "refused": report.refused,
        "ticks": report.ticks,
        "history_from": report.first.to_rfc3339(),
        "history_to": report.end.to_rfc3339(),
        "seconds": report.elapsed.as_secs_f64(),
        "checkpoint_seconds": checkpoint.as_secs_f64(),
        "events_per_second": report.events as f64 / report.elapsed.as_secs_f64().max(1e-9),
        "bytes_on_disk": bytes,
        "bytes_per_event": bytes as f64 / report.events.max(1) as f64,
    });
    println!("{line}");
    Ok(())
}
