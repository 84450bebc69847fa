//! Crash safety of the real `ledgerdesk serve`: several clients log incidents and note and
//! attach on them concurrently; the server is killed with SIGKILL at a random moment and
//! restarted on the same data directory, `CRASH_CYCLES` times (default 5; `make crash-test`
//! runs 100 on a release build). In one cycle of three a restart is also killed during its
//! startup, while sled recovers (and writes its own snapshot file). After every restart:
//!
//! - every acknowledged mutation is in the ledger at the position it was acknowledged with, in
//!   its incident's stream, with its text; the prefix checked after the previous restart is
//!   unchanged (the event at the old head keeps its hash, and the hash chain links everything
//!   before it); the incident views show every acknowledged note and attachment once;
//! - `verifyLedger` is clean;
//! - the read models the restarted server serves (SLA dashboard, queue counts) equal a replay
//!   of the ledger up to the same position (`asOf`, which folds the ledger afresh);
//!
//! and at the end, once every one-minute clock fell due: each incident's first-response and
//! resolution clocks carry exactly one warning and one breach (none lost, none doubled by the
//! restarts), and the offline `ledgerdesk verify` is clean.
//!
//! The seed of the random kill moments and client choices is printed; `CRASH_SEED=<seed>`
//! replays it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use itsm_e2e::support::client::{
    ATTACH, COMMENT, Client, Failure, LOG_INCIDENT, Rng, attach_input, comment_input,
    incident_stream, log_incident_input, one_minute_catalog, payload_clock, payload_field,
};
use itsm_e2e::support::{Desk, Role, binary, position};
use serde_json::{Value, json};

/// Clients mutating at once.
const CLIENTS: usize = 4;
/// A kill lands this long after the cycle's clients started, drawn per cycle (milliseconds).
const KILL_AFTER_MS: (u64, u64) = (150, 2_500);
/// A kill during a restart's startup lands this long after the process started, at most
/// (milliseconds).
const STARTUP_KILL_MS: u64 = 1_500;
/// How long the one-minute clocks may take to breach after the last cycle.
const BREACH_WAIT: Duration = Duration::from_mins(3);

/// What an acknowledged mutation changed.
#[derive(Debug, Clone)]
enum Change {
    Logged,
    Noted(String),
    Attached(String),
}

/// An acknowledged mutation: the incident, the ledger position in the answer, the change.
#[derive(Debug, Clone)]
struct Ack {
    key: String,
    position: u64,
    change: Change,
}

/// What one client did in one cycle.
#[derive(Debug, Default)]
struct Work {
    acks: Vec<Ack>,
    /// Sent when the server died: may or may not be in the ledger.
    in_flight: usize,
    /// Answers that should not happen (a valid mutation refused, a bad status).
    errors: Vec<String>,
}

/// One client until the server dies under it (bounded by a deadline in case it never does).
async fn drive(client: Client, seed: u64, tag: String, mut keys: Vec<String>) -> Work {
    let mut rng = Rng::new(seed);
    let mut work = Work::default();
    let deadline = Instant::now() + Duration::from_mins(1);
    let mut n = 0_u64;
    while Instant::now() < deadline {
        n += 1;
        let text = format!("{tag}-{n}");
        let roll = rng.range(0, 8);
        let (query, variables, key, change) = if keys.is_empty() || roll == 0 {
            (
                LOG_INCIDENT,
                log_incident_input(&text),
                None,
                Change::Logged,
            )
        } else {
            let count = u64::try_from(keys.len()).unwrap_or(u64::MAX);
            let index = usize::try_from(rng.range(0, count)).unwrap_or(0);
            let key = keys[index].clone();
            if roll <= 2 {
                let input = attach_input(&key, &text, rng.next_u64());
                (ATTACH, input, Some(key), Change::Attached(text.clone()))
            } else {
                let input = comment_input(&key, &text);
                (COMMENT, input, Some(key), Change::Noted(text.clone()))
            }
        };
        match client.gql(query, variables).await {
            Err(Failure::Io(_)) => {
                work.in_flight += 1;
                return work;
            }
            Err(Failure::Status(status, body)) => {
                work.errors.push(format!("{text}: status {status}: {body}"));
                return work;
            }
            Ok(response) => {
                let Some(payload) = response["data"]
                    .as_object()
                    .and_then(|data| data.values().next())
                    .filter(|_| response.get("errors").is_none())
                else {
                    work.errors.push(format!("{text}: {response}"));
                    return work;
                };
                let key = key.unwrap_or_else(|| {
                    payload["incident"]["key"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                });
                if matches!(change, Change::Logged) {
                    keys.push(key.clone());
                }
                work.acks.push(Ack {
                    key,
                    position: position(&payload["position"]),
                    change,
                });
            }
        }
    }
    work
}

/// What the checks have seen of the ledger so far.
#[derive(Debug, Default)]
struct Seen {
    /// Checked up to here; the event there had this hash.
    head: u64,
    head_hash: String,
    /// Incident streams (from their `IncidentLogged`).
    incidents: BTreeSet<String>,
    /// How often each note text and attachment name occurs in the ledger.
    texts: BTreeMap<String, u32>,
    /// Notes and attachments per stream.
    per_stream: BTreeMap<String, (usize, usize)>,
    /// (stream, event type, clock) -> count, for SLA warnings and breaches.
    sla: BTreeMap<(String, String, String), u32>,
}

impl Seen {
    /// Reads the ledger from the last checked head on; the old head must be unchanged.
    async fn scan(&mut self, auditor: &Client) -> BTreeMap<u64, Value> {
        let events = auditor.events_from(self.head.max(1)).await;
        let mut new = BTreeMap::new();
        for event in events {
            let at = position(&event["position"]);
            if at == self.head {
                assert_eq!(
                    event["hash"].as_str(),
                    Some(self.head_hash.as_str()),
                    "the event at the checked head {at} changed"
                );
                continue;
            }
            let stream = event["stream"].as_str().unwrap_or_default().to_owned();
            let kind = event["eventType"].as_str().unwrap_or_default().to_owned();
            match kind.as_str() {
                "IncidentLogged" => {
                    self.incidents.insert(stream.clone());
                }
                "IncidentCommented" | "IncidentFileAttached" => {
                    let field = if kind == "IncidentCommented" {
                        "text"
                    } else {
                        "name"
                    };
                    let text = payload_field(&event, field).unwrap_or_default();
                    *self.texts.entry(text).or_default() += 1;
                    let counts = self.per_stream.entry(stream.clone()).or_default();
                    if kind == "IncidentCommented" {
                        counts.0 += 1;
                    } else {
                        counts.1 += 1;
                    }
                }
                "IncidentSlaWarningRaised" | "IncidentSlaBreached" => {
                    let clock = payload_clock(&event).unwrap_or_default();
                    *self.sla.entry((stream.clone(), kind, clock)).or_default() += 1;
                }
                _ => {}
            }
            self.head = at;
            event["hash"]
                .as_str()
                .unwrap_or_default()
                .clone_into(&mut self.head_hash);
            new.insert(at, event);
        }
        if self.head == 0 {
            self.head_hash.clear();
        }
        new
    }
}

/// Every check after a restart, for the mutations acknowledged in the cycle before it.
async fn check_after_restart(desk: &Desk, seen: &mut Seen, acks: &[Ack], cycle: u64) {
    let auditor = Client::new(desk.address(), desk.token(Role::Auditor));
    let (head, _) = auditor.heads().await;
    if let Some(last) = acks.iter().map(|ack| ack.position).max() {
        assert!(
            head >= last,
            "cycle {cycle}: the ledger head {head} is below an acknowledged position {last}"
        );
    }
    let new = seen.scan(&auditor).await;
    for ack in acks {
        let event = new.get(&ack.position).unwrap_or_else(|| {
            panic!(
                "cycle {cycle}: acknowledged {ack:?} is not in the ledger (or below the checked head)"
            )
        });
        assert_eq!(
            event["stream"].as_str(),
            Some(incident_stream(&ack.key).as_str()),
            "cycle {cycle}: {ack:?} -> {event}"
        );
        match &ack.change {
            Change::Logged => assert!(
                seen.incidents.contains(&incident_stream(&ack.key)),
                "cycle {cycle}: {ack:?} has no IncidentLogged"
            ),
            Change::Noted(text) => {
                assert_eq!(event["eventType"], "IncidentCommented", "{event}");
                assert_eq!(payload_field(event, "text").as_deref(), Some(text.as_str()));
            }
            Change::Attached(name) => {
                assert_eq!(event["eventType"], "IncidentFileAttached", "{event}");
                assert_eq!(payload_field(event, "name").as_deref(), Some(name.as_str()));
            }
        }
    }
    if let Some((text, count)) = seen.texts.iter().find(|(_, count)| **count > 1) {
        panic!("cycle {cycle}: {text:?} is in the ledger {count} times");
    }

    let verified = auditor
        .ok("{ verifyLedger { ok events firstBadPosition } }", json!({}))
        .await;
    assert_eq!(
        verified["verifyLedger"]["ok"],
        json!(true),
        "cycle {cycle}: {verified}"
    );

    check_incident_views(&auditor, seen, acks, head, cycle).await;
    check_read_models(&auditor, head, cycle).await;
}

/// The views of the incidents touched in the cycle show every acknowledged change once, and
/// as many notes and attachments as their streams hold.
async fn check_incident_views(auditor: &Client, seen: &Seen, acks: &[Ack], head: u64, cycle: u64) {
    let touched: BTreeSet<&str> = acks.iter().map(|ack| ack.key.as_str()).collect();
    for key in touched {
        let data = auditor
            .ok(
                "query($key: ID!, $atLeast: Position) { incident(key: $key, atLeast: $atLeast) { comments { text } attachments { name } } }",
                json!({"key": key, "atLeast": head.to_string()}),
            )
            .await;
        let view = &data["incident"];
        let list = |field: &str, inner: &str| -> Vec<String> {
            view[field]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| item[inner].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let notes = list("comments", "text");
        let files = list("attachments", "name");
        let expected = seen
            .per_stream
            .get(&incident_stream(key))
            .copied()
            .unwrap_or_default();
        assert_eq!(
            (notes.len(), files.len()),
            expected,
            "cycle {cycle}: {key} shows other notes/attachments than its stream holds"
        );
        for ack in acks.iter().filter(|ack| ack.key == key) {
            match &ack.change {
                Change::Logged => {}
                Change::Noted(text) => assert_eq!(
                    notes.iter().filter(|t| *t == text).count(),
                    1,
                    "cycle {cycle}: {key} note {text}"
                ),
                Change::Attached(name) => assert_eq!(
                    files.iter().filter(|n| *n == name).count(),
                    1,
                    "cycle {cycle}: {key} attachment {name}"
                ),
            }
        }
    }
}

const DASHBOARD: &str = "rows { key volume resolved reopened firstResponse { met breached } resolution { met breached } mttaSeconds mttrSeconds } backlog { date open } position";

/// The restarted server's read models equal a replay of the ledger to the same position: the
/// SLA dashboard, and the open count of every queue (at-risk and breached depend on "now").
async fn check_read_models(auditor: &Client, head: u64, cycle: u64) {
    let today = Utc::now().date_naive();
    let period = json!({
        "from": (today - TimeDelta::days(1)).to_string(),
        "to": (today + TimeDelta::days(2)).to_string(),
    });
    let query = format!(
        "query($period: PeriodInput!, $atLeast: Position, $asOf: Position) {{
            before: me {{ readModelsAt }}
            dashboard: slaDashboard(period: $period, groupBy: PRIORITY, atLeast: $atLeast, asOf: $asOf) {{ {DASHBOARD} }}
            queues: queueCounts(asOf: $asOf) {{ group agent unassigned open }}
            after: me {{ readModelsAt }}
        }}"
    );
    // The timers may append while we read (right after a restart they record every overdue
    // warning and breach): poll (bounded) until one answer was read at one position throughout.
    for attempt in 0..200 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let live = auditor
            .ok(
                &query,
                json!({"period": period, "atLeast": head.to_string(), "asOf": null}),
            )
            .await;
        let at = position(&live["dashboard"]["position"]);
        if position(&live["before"]["readModelsAt"]) != at
            || position(&live["after"]["readModelsAt"]) != at
        {
            continue;
        }
        let replayed = auditor
            .ok(
                &query,
                json!({"period": period, "atLeast": null, "asOf": at.to_string()}),
            )
            .await;
        assert_eq!(
            live["dashboard"], replayed["dashboard"],
            "cycle {cycle}: the live dashboard differs from a replay to {at}"
        );
        assert_eq!(
            live["queues"], replayed["queues"],
            "cycle {cycle}: the live queue counts differ from a replay to {at}"
        );
        return;
    }
    panic!("cycle {cycle}: the read models never held still for one read");
}

/// Waits (bounded polling) until every incident's two clocks breached, then checks that each
/// has exactly one warning and one breach.
async fn check_sla_timers(desk: &Desk, seen: &mut Seen) {
    let auditor = Client::new(desk.address(), desk.token(Role::Auditor));
    let clocks = ["\"FirstResponse\"", "\"Resolution\""];
    let deadline = Instant::now() + BREACH_WAIT;
    loop {
        seen.scan(&auditor).await;
        let missing: Vec<&String> = seen
            .incidents
            .iter()
            .filter(|stream| {
                clocks.iter().any(|clock| {
                    !seen.sla.contains_key(&(
                        (*stream).clone(),
                        "IncidentSlaBreached".to_owned(),
                        (*clock).to_owned(),
                    ))
                })
            })
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} incidents still lack a breach after {BREACH_WAIT:?}, e.g. {:?}",
            missing.len(),
            missing.first()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for stream in &seen.incidents {
        for kind in ["IncidentSlaWarningRaised", "IncidentSlaBreached"] {
            for clock in clocks {
                let count = seen
                    .sla
                    .get(&(stream.clone(), kind.to_owned(), clock.to_owned()))
                    .copied()
                    .unwrap_or(0);
                assert_eq!(count, 1, "{stream}: {kind} {clock} recorded {count} times");
            }
        }
    }
    let others: Vec<_> = seen
        .sla
        .keys()
        .filter(|(_, _, clock)| !clocks.contains(&clock.as_str()))
        .collect();
    assert!(others.is_empty(), "unexpected SLA facts: {others:?}");
}

fn cycles() -> u64 {
    std::env::var("CRASH_CYCLES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(5)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_events_survive_sigkill_and_sla_timers_resume() {
    let cycles = cycles();
    let mut rng = Rng::from_env("CRASH_SEED");
    let mut desk = Desk::start().await;
    one_minute_catalog(&desk).await;
    let mut tokens = Vec::new();
    for client in 0..CLIENTS {
        tokens.push(
            desk.issue_token(Role::Agent, "alex", &format!("crash-agent-{client}"))
                .await,
        );
    }
    let mut seen = Seen::default();
    let mut keys: Vec<String> = Vec::new();
    let (mut acknowledged, mut in_flight) = (0_usize, 0_usize);
    let started = Instant::now();
    let mut slowest_restart = Duration::ZERO;
    let mut startup_kills = 0_usize;
    for cycle in 1..=cycles {
        let tasks: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(client, token)| {
                tokio::spawn(drive(
                    Client::new(desk.address(), token),
                    rng.next_u64(),
                    format!("c{cycle}-k{client}"),
                    keys.clone(),
                ))
            })
            .collect();
        // The kill lands at a random moment of the load; this sleep is the moment, not a wait
        // for anything.
        let kill_after = Duration::from_millis(rng.range(KILL_AFTER_MS.0, KILL_AFTER_MS.1));
        tokio::time::sleep(kill_after).await;
        desk.server.stop();
        let mut acks = Vec::new();
        for task in tasks {
            let work = tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("a client notices the dead server")
                .expect("a client task does not panic");
            assert!(
                work.errors.is_empty(),
                "cycle {cycle}: {:?}\nlog:\n{}",
                work.errors,
                desk.server.log()
            );
            in_flight += work.in_flight;
            acks.extend(work.acks);
        }
        for ack in &acks {
            if matches!(ack.change, Change::Logged) {
                keys.push(ack.key.clone());
            }
        }
        acknowledged += acks.len();
        // One cycle in three also kills a restart during its startup (sled's recovery, which
        // writes sled's own snapshot), at a random moment of it.
        let startup_kill =
            (rng.range(0, 3) == 0).then(|| Duration::from_millis(rng.range(0, STARTUP_KILL_MS)));
        if let Some(after) = startup_kill {
            desk.server.kill_during_startup(after);
        }
        let restarting = Instant::now();
        desk.server.restart();
        slowest_restart = slowest_restart.max(restarting.elapsed());
        check_after_restart(&desk, &mut seen, &acks, cycle).await;
        println!(
            "cycle {cycle}: killed after {kill_after:?}, {} acknowledged, head {}{}",
            acks.len(),
            seen.head,
            startup_kill.map_or_else(String::new, |after| format!(
                ", a restart killed {after:?} into its startup"
            ))
        );
        startup_kills += usize::from(startup_kill.is_some());
    }
    check_sla_timers(&desk, &mut seen).await;
    let head = seen.head;
    desk.server.stop();
    let ledger = desk.server.ledger_dir();
    let verified = binary::run(&["--data".as_ref(), ledger.as_os_str(), "verify".as_ref()]);
    let said = String::from_utf8_lossy(&verified.stdout);
    assert!(
        verified.status.success(),
        "ledgerdesk verify: {said}{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(
        said.contains(&format!("ledger ok: {head} events")),
        "{said}"
    );
    println!(
        "{cycles} cycles survived in {:?} ({startup_kills} of them with a kill during a \
         restart's startup): {acknowledged} acknowledged mutations checked, \
         {in_flight} in flight at a kill, {} incidents with 2 warnings and 2 breaches each, \
         {head} events verified; slowest restart (spawn to listening) {slowest_restart:?}",
        started.elapsed(),
        seen.incidents.len()
    );
}
