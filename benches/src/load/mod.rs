//! HTTP load against a running `ledgerdesk serve` (the `loadgen` binary).
//!
//! N tokio tasks, each with its own keep-alive connection ([`client`]), share a request budget
//! bounded by a count and a time limit. Every response is checked: a status other than 200, a
//! body that is not JSON, or a 200 with `errors` counts as a failure, and any failure fails the
//! run. Each figure comes with its ceiling measured in the same run on the same server: the
//! server answering `{ __typename }` at the same connection count (all the HTTP, JSON and
//! GraphQL work of a request, none of the desk's).
//!
//! Must not: assert on timings, or count a mutation that was not acknowledged (the server
//! acknowledges after the group-commit flush, so every counted mutation is durable).

pub mod client;
pub mod server;
pub mod soak;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use client::{Connection, Endpoint};

/// The service (with a 24x7 calendar and a policy per priority) the load logs incidents on.
pub const SERVICE: &str = "loadgen";
/// Failure bodies kept (and printed) per phase.
const KEPT_FAILURES: usize = 5;

/// Why a load run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// Starting, reaching or stopping the server.
    Server(String),
    /// A request that the run needs (seeding, a check) failed.
    Request(String),
    /// Some measured requests failed; the first few bodies.
    Failures { count: u64, first: Vec<String> },
    /// The ledger does not hold what was acknowledged.
    Check(String),
    /// Bad command-line input.
    Usage(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Server(message) => write!(f, "server: {message}"),
            LoadError::Request(message) => write!(f, "request: {message}"),
            LoadError::Failures { count, first } => {
                write!(f, "{count} failed requests; first: {}", first.join(" | "))
            }
            LoadError::Check(message) => write!(f, "check: {message}"),
            LoadError::Usage(message) => write!(f, "usage: {message}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// The server and the bearer token the load uses.
#[derive(Debug, Clone)]
pub struct Session {
    pub endpoint: Endpoint,
    authorization: String,
}

impl Session {
    pub fn new(endpoint: Endpoint, token: &str) -> Self {
        Session {
            endpoint,
            authorization: format!("Bearer {token}"),
        }
    }

    /// Sends one GraphQL request body and returns its `data`, or a failure description (status
    /// and body) when the status is not 200, the body is not JSON, or it holds `errors`.
    pub async fn send(&self, connection: &mut Connection, body: &[u8]) -> Result<Value, String> {
        let response = connection
            .request(
                "POST",
                &self.endpoint.path,
                &[
                    ("Content-Type", "application/json"),
                    ("Authorization", &self.authorization),
                ],
                body,
            )
            .await
            .map_err(|e| format!("I/O error: {e}"))?;
        if response.status != 200 {
            return Err(format!("status {}: {}", response.status, response.text()));
        }
        let mut value: Value = serde_json::from_slice(&response.body)
            .map_err(|e| format!("status 200, not JSON ({e}): {}", response.text()))?;
        if value.get("errors").is_some() {
            return Err(format!("status 200 with errors: {}", response.text()));
        }
        Ok(value.get_mut("data").map_or(Value::Null, Value::take))
    }

    /// One query on a fresh connection (for seeding and checks).
    pub async fn query(&self, query: &str, variables: &Value) -> Result<Value, LoadError> {
        let mut connection = Connection::connect(self.endpoint.address)
            .await
            .map_err(|e| LoadError::Request(format!("connect: {e}")))?;
        self.send(&mut connection, &body(query, variables))
            .await
            .map_err(|e| LoadError::Request(format!("{query}: {e}")))
    }

    /// `GET /healthz`: (ledger head, read models' position).
    pub async fn health(&self) -> Result<(u64, u64), LoadError> {
        let mut connection = Connection::connect(self.endpoint.address)
            .await
            .map_err(|e| LoadError::Request(format!("connect: {e}")))?;
        let response = connection
            .request("GET", "/healthz", &[], b"")
            .await
            .map_err(|e| LoadError::Request(format!("/healthz: {e}")))?;
        let value: Value = serde_json::from_slice(&response.body)
            .map_err(|e| LoadError::Request(format!("/healthz is not JSON: {e}")))?;
        let number = |field: &str| {
            value[field]
                .as_str()
                .and_then(|text| text.parse().ok())
                .ok_or_else(|| LoadError::Request(format!("/healthz has no {field}: {value}")))
        };
        Ok((number("ledger_head")?, number("read_models_at")?))
    }
}

/// A GraphQL request body.
pub fn body(query: &str, variables: &Value) -> Vec<u8> {
    // A JSON object of a string and a value always serializes.
    serde_json::to_vec(&json!({"query": query, "variables": variables})).unwrap_or_default()
}

/// A `Position` scalar (decimal string) as a number.
pub fn position(value: &Value) -> Option<u64> {
    value.as_str().and_then(|text| text.parse().ok())
}

/// Defines the [`SERVICE`] with a 24x7 calendar and a policy per priority unless it exists, so
/// `logIncident` works on any ledger (fresh, demo or generated).
pub async fn ensure_catalog(session: &Session) -> Result<(), LoadError> {
    let services = session.query("{ services { id } }", &json!({})).await?;
    let exists = services["services"]
        .as_array()
        .is_some_and(|list| list.iter().any(|service| service["id"] == SERVICE));
    if exists {
        return Ok(());
    }
    let calendar = format!("{SERVICE}-always");
    let hours: Vec<Value> = [
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY",
    ]
    .iter()
    .map(|day| json!({"day": day, "start": "00:00", "end": "24:00"}))
    .collect();
    let mutation = |name: &str, input_type: &str| {
        format!("mutation($input: {input_type}!) {{ {name}(input: $input) {{ position }} }}")
    };
    session
        .query(
            &mutation("defineCalendar", "DefineCalendarInput"),
            &json!({"input": {"name": calendar,
                              "calendar": {"timezone": "UTC", "workingHours": hours}}}),
        )
        .await?;
    session
        .query(
            &mutation("defineService", "DefineServiceInput"),
            &json!({"input": {"service": SERVICE, "name": "Load generator", "owner": "loadgen-desk",
                              "criticality": "LOW"}}),
        )
        .await?;
    for priority in ["P1", "P2", "P3", "P4", "P5"] {
        session
            .query(
                &mutation("defineSlaPolicy", "DefineSlaPolicyInput"),
                &json!({"input": {"policy": format!("{SERVICE}-{}", priority.to_lowercase()),
                                  "service": SERVICE, "priority": priority, "tier": "STANDARD",
                                  "calendar": calendar,
                                  "targets": {"firstResponseMinutes": 8 * 60,
                                              "resolutionMinutes": 5 * 24 * 60,
                                              "warningPercent": 80}}}),
            )
            .await?;
    }
    Ok(())
}

/// How much load one phase puts on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    pub connections: usize,
    /// Requests in all (the phase stops at this count or at `limit`, whichever comes first).
    pub requests: u64,
    pub limit: Duration,
}

/// What one phase measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub ok: u64,
    pub failures: u64,
    pub first_failures: Vec<String>,
    /// Latency of every successful request.
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
    /// The `data` of every successful response, when asked to keep them.
    pub answers: Vec<Value>,
}

impl Outcome {
    /// Successful requests per second.
    pub fn per_second(&self) -> f64 {
        crate::per_second(self.ok, self.elapsed)
    }

    /// The `q` quantile (0..=1) of the latencies in milliseconds (0 without any).
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        quantile_ms(&sorted, q)
    }
}

/// The `q` quantile of sorted latencies, in milliseconds (nearest rank).
pub fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )] // a rank below the length, which is far below 2^52
    let rank = ((q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank.min(sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// Builds the body of request number `n`.
pub type Request = Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>;

/// Runs `load` against the server: every task takes request numbers from one counter until the
/// count or the time limit is reached.
pub async fn drive(session: &Session, load: Load, request: Request, keep: bool) -> Outcome {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + load.limit;
    let mut tasks = Vec::with_capacity(load.connections);
    for _ in 0..load.connections.max(1) {
        let session = session.clone();
        let request = Arc::clone(&request);
        let next = Arc::clone(&next);
        tasks.push(tokio::spawn(async move {
            let mut outcome = Outcome::default();
            let mut connection = None;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= load.requests || Instant::now() >= deadline {
                    break;
                }
                let body = request(n);
                let sent = Instant::now();
                let result = match &mut connection {
                    Some(connection) => session.send(connection, &body).await,
                    None => match Connection::connect(session.endpoint.address).await {
                        Ok(fresh) => session.send(connection.insert(fresh), &body).await,
                        Err(e) => Err(format!("connect: {e}")),
                    },
                };
                match result {
                    Ok(data) => {
                        outcome.latencies.push(sent.elapsed());
                        outcome.ok += 1;
                        if keep {
                            outcome.answers.push(data);
                        }
                    }
                    Err(failure) => {
                        if failure.starts_with("I/O error") || failure.starts_with("connect") {
                            connection = None;
                        }
                        outcome.failures += 1;
                        if outcome.first_failures.len() < KEPT_FAILURES {
                            outcome.first_failures.push(failure);
                        }
                    }
                }
            }
            outcome
        }));
    }
    let mut total = Outcome::default();
    for task in tasks {
        match task.await {
            Ok(outcome) => {
                total.ok += outcome.ok;
                total.failures += outcome.failures;
                total.latencies.extend(outcome.latencies);
                total.answers.extend(outcome.answers);
                for failure in outcome.first_failures {
                    if total.first_failures.len() < KEPT_FAILURES {
                        total.first_failures.push(failure);
                    }
                }
            }
            Err(e) => {
                total.failures += 1;
                total
                    .first_failures
                    .push(format!("a load task failed: {e}"));
            }
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// One figure of the HTTP load benchmark, as printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadFigure {
    pub bench: &'static str,
    pub value: f64,
    pub unit: &'static str,
    pub ceiling: f64,
    pub ratio: f64,
    /// What the ratio should be.
    pub target: &'static str,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub ceiling_p50_ms: f64,
    pub ceiling_p99_ms: f64,
    pub connections: usize,
    pub requests: u64,
    pub failures: u64,
    /// Ledger events when the phase started.
    pub ledger_head: u64,
}

impl LoadFigure {
    /// The JSON line printed for this figure.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

fn ratio(value: f64, ceiling: f64) -> f64 {
    if ceiling > 0.0 { value / ceiling } else { 0.0 }
}

/// Work per phase of [`run_bench`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phases {
    pub ceiling: Load,
    pub mutations: Load,
    pub queries: Load,
}

impl Phases {
    /// The reference run: 64 connections, two minutes at most.
    pub fn full() -> Self {
        Self::at(64, 100_000, 50_000, 20_000, Duration::from_secs(30))
    }

    /// Small counts: 20 s at most.
    pub fn quick() -> Self {
        Self::at(64, 20_000, 5_000, 5_000, Duration::from_secs(5))
    }

    /// `connections` per phase, each bounded by its count and by `limit` (mutations: twice).
    pub fn at(
        connections: usize,
        ceiling: u64,
        mutations: u64,
        queries: u64,
        limit: Duration,
    ) -> Self {
        Phases {
            ceiling: Load {
                connections,
                requests: ceiling,
                limit,
            },
            mutations: Load {
                connections,
                requests: mutations,
                limit: limit * 2,
            },
            queries: Load {
                connections,
                requests: queries,
                limit,
            },
        }
    }
}

/// What [`run_bench`] measured and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    pub figures: Vec<LoadFigure>,
    /// logIncident mutations acknowledged (each one checked to be in the ledger).
    pub acknowledged: u64,
    /// Failed requests over all phases.
    pub failures: u64,
    /// The group whose queue was queried (`None`: the unassigned queue).
    pub queue_group: Option<String>,
}

fn report_failures(phase: &str, outcome: &Outcome) {
    for failure in &outcome.first_failures {
        eprintln!("loadgen: {phase}: failed: {failure}");
    }
}

const TYPENAME: &str = "{ __typename }";
const LOG_INCIDENT: &str = "mutation($input: LogIncidentInput!) { logIncident(input: $input) { \
     position incident { key } } }";
const QUEUE: &str = "query($group: String, $unassigned: Boolean!) { \
     queue(group: $group, unassigned: $unassigned, first: 20) { totalCount edges { node { \
     key title priority status service assignedGroup assignedAgent due atRisk breached score \
     } } } }";
const UNASSIGNED_OF_SERVICE: &str = "query($service: String, $at: Position) { \
     queue(unassigned: true, filter: { service: $service }, atLeast: $at) { totalCount } }";

/// The input of the `n`th logged incident (the priority cycles through the matrix).
pub fn log_incident_input(n: u64) -> Value {
    let levels = ["HIGH", "MEDIUM", "LOW"];
    let impact = levels[usize::try_from(n % 3).unwrap_or(0)];
    let urgency = levels[usize::try_from((n / 3) % 3).unwrap_or(0)];
    json!({"title": format!("Load incident {n}"),
           "description": "Logged by loadgen to measure durable mutations.",
           "service": SERVICE, "category": "load", "impact": impact, "urgency": urgency})
}

async fn unassigned_count(session: &Session, at: Option<u64>) -> Result<u64, LoadError> {
    let data = session
        .query(
            UNASSIGNED_OF_SERVICE,
            &json!({"service": SERVICE, "at": at.map(|p| p.to_string())}),
        )
        .await?;
    data["queue"]["totalCount"]
        .as_u64()
        .ok_or_else(|| LoadError::Request(format!("no totalCount in {data}")))
}

/// The group with the most open incidents, from `queueCounts` (`None` if no group has any).
pub async fn busiest_group(session: &Session) -> Result<Option<String>, LoadError> {
    let data = session
        .query("{ queueCounts { group open } }", &json!({}))
        .await?;
    Ok(data["queueCounts"].as_array().and_then(|counts| {
        counts
            .iter()
            .filter(|count| count["group"].is_string())
            .max_by_key(|count| count["open"].as_u64().unwrap_or(0))
            .and_then(|count| count["group"].as_str().map(str::to_owned))
    }))
}

/// Checks that every acknowledged `logIncident` is in the ledger: distinct keys and positions,
/// and the service's unassigned queue grew by exactly that many once the read side reached the
/// last acknowledged position.
async fn check_logged(session: &Session, before: u64, answers: &[Value]) -> Result<(), LoadError> {
    let mut keys = std::collections::HashSet::new();
    let mut positions = std::collections::HashSet::new();
    for answer in answers {
        let logged = &answer["logIncident"];
        let key = logged["incident"]["key"].as_str();
        let at = position(&logged["position"]);
        match (key, at) {
            (Some(key), Some(at)) => {
                keys.insert(key.to_owned());
                positions.insert(at);
            }
            _ => return Err(LoadError::Check(format!("no key or position in {answer}"))),
        }
    }
    let acknowledged = answers.len();
    if keys.len() != acknowledged || positions.len() != acknowledged {
        return Err(LoadError::Check(format!(
            "{acknowledged} acknowledgements but {} distinct keys and {} distinct positions",
            keys.len(),
            positions.len()
        )));
    }
    let last = positions.iter().max().copied();
    let after = unassigned_count(session, last).await?;
    let grown = after.saturating_sub(before);
    if grown != acknowledged as u64 {
        return Err(LoadError::Check(format!(
            "{acknowledged} incidents acknowledged, but the unassigned queue of {SERVICE} grew \
             by {grown} ({before} -> {after})"
        )));
    }
    Ok(())
}

/// The `{ __typename }` ceiling: `load` of it, its failures reported.
async fn drive_ceiling(session: &Session, load: Load) -> Outcome {
    let typename = body(TYPENAME, &json!({}));
    let ceiling = drive(session, load, Arc::new(move |_| typename.clone()), false).await;
    report_failures("{ __typename }", &ceiling);
    ceiling
}

/// The phases: the `{ __typename }` ceiling, durable `logIncident`s, the ceiling again, and the
/// first page of the busiest group's queue. Calls `emit` with each figure as soon as it is
/// measured.
pub async fn run_bench(
    session: &Session,
    phases: Phases,
    mut emit: impl FnMut(&LoadFigure),
) -> Result<BenchReport, LoadError> {
    ensure_catalog(session).await?;
    let ceiling = drive_ceiling(session, phases.ceiling).await;

    let (head, _) = session.health().await?;
    let before = unassigned_count(session, None).await?;
    let run = uuid::Uuid::now_v7().simple().to_string();
    let mutations = drive(
        session,
        phases.mutations,
        Arc::new(move |n| {
            let mut input = log_incident_input(n);
            input["title"] = json!(format!("Load incident {n} of run {run}"));
            body(LOG_INCIDENT, &json!({"input": input}))
        }),
        true,
    )
    .await;
    report_failures("logIncident", &mutations);
    check_logged(session, before, &mutations.answers).await?;
    let figure = LoadFigure {
        bench: "mutation_log_incident",
        value: mutations.per_second(),
        unit: "mutations/s",
        ceiling: ceiling.per_second(),
        ratio: ratio(mutations.per_second(), ceiling.per_second()),
        target: ">= 0.5",
        p50_ms: mutations.quantile_ms(0.5),
        p99_ms: mutations.quantile_ms(0.99),
        ceiling_p50_ms: ceiling.quantile_ms(0.5),
        ceiling_p99_ms: ceiling.quantile_ms(0.99),
        connections: phases.mutations.connections,
        requests: mutations.ok,
        failures: mutations.failures,
        ledger_head: head,
    };
    emit(&figure);
    let mut figures = vec![figure];

    // The queue's ceiling is measured again right before it, on the grown ledger and after the
    // mutations' after-effects (process managers, sled's flushes), so both see the same server.
    let queue_ceiling = drive_ceiling(session, phases.ceiling).await;
    let (head, _) = session.health().await?;
    let group = busiest_group(session).await?;
    let variables = json!({"group": group, "unassigned": group.is_none()});
    let queue_body = body(QUEUE, &variables);
    let queries = drive(
        session,
        phases.queries,
        Arc::new(move |_| queue_body.clone()),
        false,
    )
    .await;
    report_failures("queue", &queries);
    let (value, ceiling_p99) = (queries.quantile_ms(0.99), queue_ceiling.quantile_ms(0.99));
    let figure = LoadFigure {
        bench: "query_queue_p99",
        value,
        unit: "ms",
        ceiling: ceiling_p99,
        ratio: ratio(value, ceiling_p99),
        target: "<= 3",
        p50_ms: queries.quantile_ms(0.5),
        p99_ms: value,
        ceiling_p50_ms: queue_ceiling.quantile_ms(0.5),
        ceiling_p99_ms: ceiling_p99,
        connections: phases.queries.connections,
        requests: queries.ok,
        failures: queries.failures,
        ledger_head: head,
    };
    emit(&figure);
    figures.push(figure);

    let failures =
        ceiling.failures + mutations.failures + queue_ceiling.failures + queries.failures;
    let report = BenchReport {
        figures,
        acknowledged: mutations.ok,
        failures,
        queue_group: group,
    };
    if failures > 0 {
        let first = [ceiling, mutations, queue_ceiling, queries]
            .into_iter()
            .flat_map(|outcome| outcome.first_failures)
            .take(KEPT_FAILURES)
            .collect();
        return Err(LoadError::Failures {
            count: failures,
            first,
        });
    }
    Ok(report)
}

/// Failure descriptions shared by concurrent tasks (the first few are kept).
#[derive(Debug, Default)]
pub struct FailureLog {
    count: AtomicU64,
    first: Mutex<Vec<String>>,
}

impl FailureLog {
    pub fn record(&self, failure: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        if first.len() < KEPT_FAILURES {
            eprintln!("loadgen: failed: {failure}");
            first.push(failure);
        }
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn first(&self) -> Vec<String> {
        self.first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
