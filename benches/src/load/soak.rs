//! `loadgen soak`: mixed load for minutes, sampling the server's memory and projection lag.
//!
//! Each connection works its own incidents through a day at the desk: log one, look at the
//! group's queue, assign it, read it, acknowledge it, look at the SLA dashboard, resolve it.
//! Every ~10 s a sample records the server's resident memory (`VmRSS`, when its pid is known)
//! and the projection lag (ledger head minus the read models' position, from `/healthz`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use super::client::Connection;
use super::{FailureLog, LoadError, Session, body, ensure_catalog, log_incident_input};

/// The group the soak assigns its incidents to.
const GROUP: &str = "loadgen-desk";
const AGENT: &str = "load.agent";

/// How long and how hard to soak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoakOptions {
    pub connections: usize,
    pub duration: Duration,
    pub sample_every: Duration,
    /// The server's pid, for its resident memory.
    pub pid: Option<u32>,
}

/// One sample, printed as a JSON line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    pub sample: u64,
    pub elapsed_s: f64,
    pub rss_kib: Option<u64>,
    pub ledger_head: u64,
    pub read_models_at: u64,
    pub lag: u64,
    pub requests: u64,
    pub failures: u64,
}

/// The summary line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SoakSummary {
    pub bench: &'static str,
    pub seconds: f64,
    pub connections: usize,
    pub requests: u64,
    pub failures: u64,
    pub incidents_resolved: u64,
    /// Ledger events written during the soak.
    pub events: u64,
    pub rss_first_kib: Option<u64>,
    pub rss_last_kib: Option<u64>,
    pub rss_max_kib: Option<u64>,
    pub rss_growth_kib: Option<i64>,
    pub rss_growth_kib_per_1k_events: Option<f64>,
    pub max_lag: u64,
    pub samples: u64,
}

fn line(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

const LOG: &str = "mutation($input: LogIncidentInput!) { logIncident(input: $input) { position incident { key } } }";
const ASSIGN: &str =
    "mutation($input: AssignIncidentInput!) { assignIncident(input: $input) { position } }";
const ACKNOWLEDGE: &str =
    "mutation($input: IncidentKeyInput!) { acknowledgeIncident(input: $input) { position } }";
const RESOLVE: &str =
    "mutation($input: ResolveIncidentInput!) { resolveIncident(input: $input) { position } }";
const QUEUE: &str = "query($group: String) { queue(group: $group, first: 20) { totalCount \
     edges { node { key priority status due atRisk breached score } } } }";
const INCIDENT: &str = "query($key: ID!) { incident(key: $key) { key status priority assignedGroup clocks { clock status due } } }";
const DASHBOARD: &str = "query($from: String!, $to: String!) { slaDashboard(period: { from: $from, \
     to: $to }, groupBy: SERVICE) { position rows { key volume mttaSeconds mttrSeconds } } }";

/// Counters the workers share.
#[derive(Default)]
struct Progress {
    requests: AtomicU64,
    resolved: AtomicU64,
    failures: FailureLog,
}

/// One worker's loop: whole incident lifecycles until `deadline` (at least one).
async fn worker(session: Session, worker: u64, deadline: Instant, progress: Arc<Progress>) {
    let mut connection: Option<Connection> = None;
    let mut cycle = 0_u64;
    // Every worker completes at least one lifecycle, however short the soak.
    loop {
        if cycle > 0 && Instant::now() >= deadline {
            break;
        }
        let n = worker * 1_000_000_000 + cycle;
        cycle += 1;
        let today = chrono::Utc::now().date_naive();
        let from = today - chrono::Days::new(1);
        let to = today + chrono::Days::new(1);
        let mut key = String::new();
        let steps: [(&str, Value); 7] = [
            (LOG, json!({"input": log_incident_input(n)})),
            (QUEUE, json!({"group": GROUP})),
            (ASSIGN, Value::Null),
            (INCIDENT, Value::Null),
            (ACKNOWLEDGE, Value::Null),
            (
                DASHBOARD,
                json!({"from": from.to_string(), "to": to.to_string()}),
            ),
            (RESOLVE, Value::Null),
        ];
        for (query, variables) in steps {
            let variables = match query {
                ASSIGN => json!({"input": {"key": key, "group": GROUP, "agent": AGENT}}),
                INCIDENT => json!({"key": key}),
                ACKNOWLEDGE => json!({"input": {"key": key}}),
                RESOLVE => json!({"input": {"key": key, "code": "FIXED",
                                            "notes": "Resolved by the soak."}}),
                _ => variables,
            };
            let connected = match connection.take() {
                Some(open) => Ok(open),
                None => Connection::connect(session.endpoint.address).await,
            };
            progress.requests.fetch_add(1, Ordering::Relaxed);
            let mut open = match connected {
                Ok(open) => open,
                Err(e) => {
                    progress.failures.record(format!("connect: {e}"));
                    break;
                }
            };
            match session.send(&mut open, &body(query, &variables)).await {
                Ok(data) => {
                    connection = Some(open);
                    if query == LOG {
                        let Some(logged) = data["logIncident"]["incident"]["key"].as_str() else {
                            progress
                                .failures
                                .record(format!("logIncident answered no key: {data}"));
                            break;
                        };
                        logged.clone_into(&mut key);
                    }
                    if query == RESOLVE {
                        progress.resolved.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(failure) => {
                    if !failure.starts_with("I/O error") {
                        connection = Some(open);
                    }
                    progress.failures.record(failure);
                    // The rest of this incident's lifecycle depends on the failed step.
                    break;
                }
            }
        }
    }
}

/// Runs the soak, printing a sample line every `sample_every` and the summary at the end;
/// fails if any request failed.
pub async fn run(
    session: &Session,
    options: SoakOptions,
    mut print: impl FnMut(&str),
) -> Result<SoakSummary, LoadError> {
    ensure_catalog(session).await?;
    let started = Instant::now();
    let deadline = started + options.duration;
    let progress = Arc::new(Progress::default());
    let workers: Vec<_> = (0..options.connections.max(1))
        .map(|n| {
            tokio::spawn(worker(
                session.clone(),
                n as u64,
                deadline,
                Arc::clone(&progress),
            ))
        })
        .collect();
    let mut samples = Vec::new();
    let mut take_sample = async |samples: &mut Vec<Sample>| -> Result<(), LoadError> {
        let (head, applied) = session.health().await?;
        let sample = Sample {
            sample: samples.len() as u64,
            elapsed_s: started.elapsed().as_secs_f64(),
            rss_kib: options.pid.and_then(super::server::rss_kib),
            ledger_head: head,
            read_models_at: applied,
            lag: head.saturating_sub(applied),
            requests: progress.requests.load(Ordering::Relaxed),
            failures: progress.failures.count(),
        };
        print(&line(&sample));
        samples.push(sample);
        Ok(())
    };
    take_sample(&mut samples).await?;
    let mut next = started + options.sample_every;
    while next < deadline {
        tokio::time::sleep_until(next.into()).await;
        take_sample(&mut samples).await?;
        next += options.sample_every;
    }
    for handle in workers {
        if let Err(e) = handle.await {
            progress
                .failures
                .record(format!("a soak worker failed: {e}"));
        }
    }
    take_sample(&mut samples).await?;
    let (first, last) = (samples.first(), samples.last());
    let events = match (first, last) {
        (Some(first), Some(last)) => last.ledger_head.saturating_sub(first.ledger_head),
        _ => 0,
    };
    let rss_first = first.and_then(|sample| sample.rss_kib);
    let rss_last = last.and_then(|sample| sample.rss_kib);
    let growth = rss_first.zip(rss_last).map(|(first, last)| {
        i64::try_from(last).unwrap_or(i64::MAX) - i64::try_from(first).unwrap_or(i64::MAX)
    });
    #[allow(clippy::cast_precision_loss)] // KiB and event counts far below 2^52
    let per_1k = growth
        .filter(|_| events > 0)
        .map(|growth| growth as f64 / (events as f64 / 1000.0));
    let summary = SoakSummary {
        bench: "soak",
        seconds: started.elapsed().as_secs_f64(),
        connections: options.connections,
        requests: progress.requests.load(Ordering::Relaxed),
        failures: progress.failures.count(),
        incidents_resolved: progress.resolved.load(Ordering::Relaxed),
        events,
        rss_first_kib: rss_first,
        rss_last_kib: rss_last,
        rss_max_kib: samples.iter().filter_map(|sample| sample.rss_kib).max(),
        rss_growth_kib: growth,
        rss_growth_kib_per_1k_events: per_1k,
        max_lag: samples.iter().map(|sample| sample.lag).max().unwrap_or(0),
        samples: samples.len() as u64,
    };
    print(&line(&summary));
    if summary.failures > 0 {
        return Err(LoadError::Failures {
            count: summary.failures,
            first: progress.failures.first(),
        });
    }
    Ok(summary)
}
