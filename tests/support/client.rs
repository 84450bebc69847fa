//! What the reliability tests (crash, faults, concurrency) share: a GraphQL client that owns its
//! address and token (so it can run in a task of its own while the server is killed and
//! restarted), a seeded random source whose seed is printed, the catalog of a one-minute SLA,
//! and reading the raw ledger page by page.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Desk, Role, always_calendar_and_email_service, http, position};

/// A GraphQL client for one token.
#[derive(Debug, Clone)]
pub struct Client {
    pub address: SocketAddr,
    pub token: String,
}

/// Why a request got no GraphQL answer.
#[derive(Debug)]
pub enum Failure {
    /// No connection, or it broke before a response arrived (the server is gone).
    Io(std::io::Error),
    /// An HTTP status other than 200, with the body.
    Status(u16, String),
}

/// Most 429 answers in a row a request waits out before it gives up.
const RATE_RETRIES: u32 = 200;

impl Client {
    pub fn new(address: SocketAddr, token: &str) -> Client {
        Client {
            address,
            token: token.to_owned(),
        }
    }

    /// One GraphQL request; the whole JSON response (which may carry `errors`). A 429 (the
    /// per-token rate) is waited out, a bounded number of times: it is pacing, not an answer.
    pub async fn gql(&self, query: &str, variables: Value) -> Result<Value, Failure> {
        let body = json!({"query": query, "variables": variables}).to_string();
        let authorization = format!("Bearer {}", self.token);
        let headers = [
            ("Content-Type", "application/json"),
            ("Authorization", authorization.as_str()),
        ];
        for _ in 0..RATE_RETRIES {
            let response = http::request(
                self.address,
                "POST",
                "/graphql",
                &headers,
                Some(body.as_bytes()),
            )
            .await
            .map_err(Failure::Io)?;
            match response.status {
                200 => return Ok(response.json()),
                429 => tokio::time::sleep(Duration::from_millis(50)).await,
                status => return Err(Failure::Status(status, response.text())),
            }
        }
        Err(Failure::Status(429, "still rate limited".to_owned()))
    }

    /// A request that must succeed with no errors; its `data`.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        let response = self
            .gql(query, variables)
            .await
            .unwrap_or_else(|failure| panic!("{query}: no answer: {failure:?}"));
        assert!(
            response.get("errors").is_none(),
            "{query}: unexpected errors: {response}"
        );
        response["data"].clone()
    }

    /// `events(fromPosition: from)` page by page up to the head the first page saw: every
    /// envelope from `from` on, as `LedgerEventNode`s with the fields in [`EVENT_FIELDS`].
    pub async fn events_from(&self, from: u64) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = from.max(1);
        loop {
            let data = self
                .ok(
                    &format!(
                        "query($from: Position) {{ events(fromPosition: $from, first: 200) {{ {EVENT_FIELDS} }} }}"
                    ),
                    json!({"from": next.to_string()}),
                )
                .await;
            let page = data["events"].as_array().cloned().unwrap_or_default();
            let Some(last) = page.last() else {
                return out;
            };
            next = position(&last["position"]) + 1;
            let full = page.len() == 200;
            out.extend(page);
            if !full {
                return out;
            }
        }
    }

    /// The events of one stream, oldest first.
    pub async fn stream_events(&self, stream: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = 1_u64;
        loop {
            let data = self
                .ok(
                    &format!(
                        "query($stream: String, $from: Position) {{ events(stream: $stream, fromPosition: $from, first: 200) {{ {EVENT_FIELDS} }} }}"
                    ),
                    json!({"stream": stream, "from": next.to_string()}),
                )
                .await;
            let page = data["events"].as_array().cloned().unwrap_or_default();
            let Some(last) = page.last() else {
                return out;
            };
            next = position(&last["position"]) + 1;
            let full = page.len() == 200;
            out.extend(page);
            if !full {
                return out;
            }
        }
    }

    /// `me { ledgerHead readModelsAt }`.
    pub async fn heads(&self) -> (u64, u64) {
        let me = self
            .ok("{ me { ledgerHead readModelsAt } }", json!({}))
            .await;
        (
            position(&me["me"]["ledgerHead"]),
            position(&me["me"]["readModelsAt"]),
        )
    }
}

/// The `LedgerEventNode` fields [`Client::events_from`] selects.
pub const EVENT_FIELDS: &str = "position stream version eventType hash payload";

/// The `clock` a decoded SLA event payload names (`FirstResponse`, `Resolution`, ...), found
/// wherever it sits in the payload's JSON.
pub fn payload_clock(event: &Value) -> Option<String> {
    fn find(value: &Value) -> Option<String> {
        match value {
            Value::Object(map) => map.get("clock").map_or_else(
                || map.values().find_map(find),
                |clock| Some(clock.to_string()),
            ),
            Value::Array(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    let payload: Value = serde_json::from_str(event["payload"].as_str()?).ok()?;
    find(&payload)
}

/// The string `field` of a decoded event payload, wherever it sits in the payload's JSON (a
/// note's `text`, an attachment's `name`).
pub fn payload_field(event: &Value, field: &str) -> Option<String> {
    fn find(value: &Value, field: &str) -> Option<String> {
        match value {
            Value::Object(map) => map
                .get(field)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| map.values().find_map(|v| find(v, field))),
            Value::Array(items) => items.iter().find_map(|v| find(v, field)),
            _ => None,
        }
    }
    let payload: Value = serde_json::from_str(event["payload"].as_str()?).ok()?;
    find(&payload, field)
}

/// A small seeded generator (xorshift64*): the tests print the seed so a failing run can be
/// replayed with the same draws.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// From `env` (a decimal seed) when set, else from the clock; prints the seed.
    pub fn from_env(env: &str) -> Rng {
        let seed = std::env::var(env)
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(|| {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |since| since.as_nanos());
                // The low bits move fastest; any 64 of them make a seed.
                u64::try_from(nanos % u128::from(u64::MAX)).unwrap_or(1)
            });
        println!("seed: {seed} (replay with {env}={seed})");
        Rng::new(seed)
    }

    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `[low, high)` for a test.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low).max(1)
    }
}

/// The service manager's catalog: a 24x7 UTC calendar, the `email` service (owner
/// `messaging`) and a P1 policy for standard customers with one-minute first-response and
/// resolution targets warning at 1% (0.6 s). An incident logged high x high is P1: its two
/// clocks warn 0.6 s and breach 60 s after it was logged (the shortest target the API takes).
pub async fn one_minute_catalog(desk: &Desk) -> u64 {
    let sm = Role::ServiceManager;
    always_calendar_and_email_service(desk).await;
    let defined = desk
        .mutate(
            sm,
            "defineSlaPolicy",
            json!({
                "policy": "email-p1", "service": "email", "priority": "P1", "tier": "STANDARD",
                "calendar": "always",
                "targets": {"firstResponseMinutes": 1, "resolutionMinutes": 1, "warningPercent": 1},
            }),
            "position",
        )
        .await;
    position(&defined["position"])
}

/// The `logIncident` mutation (a P1 e-mail incident), selecting the key and the position.
pub const LOG_INCIDENT: &str = "mutation($input: LogIncidentInput!) { logIncident(input: $input) { incident { key } position } }";

/// The input of [`LOG_INCIDENT`] with `title`.
pub fn log_incident_input(title: &str) -> Value {
    json!({"input": {
        "title": title, "description": "mail stopped", "service": "email", "category": "mailbox",
        "impact": "HIGH", "urgency": "HIGH",
    }})
}

/// The `commentOnIncident` mutation (internal note), selecting the position.
pub const COMMENT: &str =
    "mutation($input: CommentOnIncidentInput!) { commentOnIncident(input: $input) { position } }";

/// The input of [`COMMENT`]: an internal note `text` on `key`.
pub fn comment_input(key: &str, text: &str) -> Value {
    json!({"input": {"key": key, "text": text, "visibility": "INTERNAL"}})
}

/// The stream of an incident key: `INC-7` -> `incident-7`.
pub fn incident_stream(key: &str) -> String {
    format!("incident-{}", key.trim_start_matches("INC-"))
}

/// The `attachFileToIncident` mutation, selecting the position.
pub const ATTACH: &str = "mutation($input: AttachFileToIncidentInput!) { attachFileToIncident(input: $input) { position } }";

/// The input of [`ATTACH`]: a file reference `name` on `key`, its content hash made of `seed`.
pub fn attach_input(key: &str, name: &str, seed: u64) -> Value {
    json!({"input": {
        "key": key, "name": name, "contentHash": format!("blake3:{seed:064x}"),
        "uri": format!("files://tests/{}", name.replace(char::is_whitespace, "-")),
        "sizeBytes": "2048",
    }})
}
