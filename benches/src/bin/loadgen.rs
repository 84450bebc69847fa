//! HTTP load generator for `ledgerdesk serve`: one JSON line per figure, each next to its
//! `{ __typename }` ceiling measured in the same run on the same server.
//!
//! ```text
//! loadgen [bench] (--url http://127.0.0.1:PORT/graphql --token T | --spawn --bin PATH --data DIR)
//!         [--quick] [--connections N] [--requests N] [--seconds S]
//! loadgen soak    (--url .. --token T [--pid PID] | --spawn --bin PATH --data DIR)
//!         [--minutes M] [--seconds S] [--connections N] [--sample-seconds S]
//! ```
//!
//! Exit codes: 0 every request succeeded and every check held, 1 a request failed or a check
//! did not hold, 2 bad arguments or the server could not be started or reached.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use itsm_benches::load::client::Endpoint;
use itsm_benches::load::server::Spawned;
use itsm_benches::load::soak::{self, SoakOptions};
use itsm_benches::load::{LoadError, Phases, Session, run_bench};

#[derive(Debug, Default)]
struct Args {
    soak: bool,
    url: Option<String>,
    token: Option<String>,
    pid: Option<u32>,
    spawn: bool,
    bin: Option<PathBuf>,
    data: Option<PathBuf>,
    quick: bool,
    connections: Option<usize>,
    requests: Option<u64>,
    seconds: Option<u64>,
    minutes: Option<u64>,
    sample_seconds: Option<u64>,
}

fn number<T: std::str::FromStr>(flag: &str, value: Option<&str>) -> Result<T, LoadError> {
    value
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| LoadError::Usage(format!("{flag} needs a number")))
}

fn parse(mut raw: impl Iterator<Item = String>) -> Result<Args, LoadError> {
    let mut args = Args::default();
    let mut first = true;
    while let Some(arg) = raw.next() {
        match arg.as_str() {
            "soak" if first => args.soak = true,
            "bench" if first => {}
            "--url" => args.url = raw.next(),
            "--token" => args.token = raw.next(),
            "--pid" => args.pid = Some(number("--pid", raw.next().as_deref())?),
            "--spawn" => args.spawn = true,
            "--bin" => args.bin = raw.next().map(PathBuf::from),
            "--data" => args.data = raw.next().map(PathBuf::from),
            "--quick" => args.quick = true,
            "--connections" => {
                args.connections = Some(number("--connections", raw.next().as_deref())?);
            }
            "--requests" => args.requests = Some(number("--requests", raw.next().as_deref())?),
            "--seconds" => args.seconds = Some(number("--seconds", raw.next().as_deref())?),
            "--minutes" => args.minutes = Some(number("--minutes", raw.next().as_deref())?),
            "--sample-seconds" => {
                args.sample_seconds = Some(number("--sample-seconds", raw.next().as_deref())?);
            }
            other => return Err(LoadError::Usage(format!("unknown argument {other:?}"))),
        }
        first = false;
    }
    Ok(args)
}

/// The server to load: one given by URL and token, or one spawned on a data directory.
async fn connect(args: &Args) -> Result<(Session, Option<Spawned>), LoadError> {
    if args.spawn {
        let (Some(bin), Some(data)) = (&args.bin, &args.data) else {
            return Err(LoadError::Usage("--spawn needs --bin and --data".into()));
        };
        let spawned = Spawned::start(bin, data).await?;
        let session = Session::new(spawned.endpoint.clone(), &spawned.token);
        return Ok((session, Some(spawned)));
    }
    let (Some(url), Some(token)) = (&args.url, &args.token) else {
        return Err(LoadError::Usage(
            "give --url and --token, or --spawn --bin PATH --data DIR".into(),
        ));
    };
    let endpoint = Endpoint::parse(url).map_err(LoadError::Usage)?;
    Ok((Session::new(endpoint, token), None))
}

fn phases(args: &Args) -> Phases {
    let mut phases = if args.quick {
        Phases::quick()
    } else {
        Phases::full()
    };
    for load in [
        &mut phases.ceiling,
        &mut phases.mutations,
        &mut phases.queries,
    ] {
        if let Some(connections) = args.connections {
            load.connections = connections;
        }
        if let Some(requests) = args.requests {
            load.requests = requests;
        }
        if let Some(seconds) = args.seconds {
            load.limit = Duration::from_secs(seconds);
        }
    }
    phases
}

async fn run(args: Args) -> Result<(), LoadError> {
    let (session, spawned) = connect(&args).await?;
    let pid = args.pid.or(spawned.as_ref().map(Spawned::pid));
    let result = if args.soak {
        let duration = match (args.seconds, args.minutes) {
            (Some(seconds), _) => Duration::from_secs(seconds),
            (None, minutes) => Duration::from_secs(minutes.unwrap_or(10) * 60),
        };
        let options = SoakOptions {
            connections: args.connections.unwrap_or(8),
            duration,
            sample_every: Duration::from_secs(args.sample_seconds.unwrap_or(10).max(1)),
            pid,
        };
        soak::run(&session, options, |line| println!("{line}"))
            .await
            .map(|_| ())
    } else {
        run_bench(&session, phases(&args), |figure| {
            println!("{}", figure.to_json_line());
        })
        .await
        .map(|_| ())
    };
    let stopped = match spawned {
        Some(spawned) => spawned.stop().await,
        None => Ok(()),
    };
    result.and(stopped)
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("loadgen: {error}");
            return ExitCode::from(2);
        }
    };
    // One thread: the generator leaves the other core to the server it measures.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("loadgen: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("loadgen: {error}");
            match error {
                LoadError::Failures { .. } | LoadError::Check(_) => ExitCode::FAILURE,
                LoadError::Server(_) | LoadError::Request(_) | LoadError::Usage(_) => {
                    ExitCode::from(2)
                }
            }
        }
    }
}
