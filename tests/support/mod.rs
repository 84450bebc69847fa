//! What the black-box tests share: the real binary, a server process, an HTTP client, a
//! graphql-transport-ws client, and a desk with one token per role.

pub mod binary;
pub mod client;
pub mod http;
pub mod server;
pub mod ws;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};

pub use server::Server;
pub use ws::{Event, Subscription};

/// The roles of docs/ROLES.md, in its column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Requester,
    Agent,
    ChangeManager,
    ServiceManager,
    Auditor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Requester,
        Role::Agent,
        Role::ChangeManager,
        Role::ServiceManager,
        Role::Auditor,
        Role::Admin,
    ];

    /// The column name in docs/ROLES.md.
    pub fn column(self) -> &'static str {
        match self {
            Role::Requester => "requester",
            Role::Agent => "agent",
            Role::ChangeManager => "change_manager",
            Role::ServiceManager => "service_manager",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// The `TokenRole` enum value of the schema.
    pub fn graphql(self) -> &'static str {
        match self {
            Role::Requester => "REQUESTER",
            Role::Agent => "AGENT",
            Role::ChangeManager => "CHANGE_MANAGER",
            Role::ServiceManager => "SERVICE_MANAGER",
            Role::Auditor => "AUDITOR",
            Role::Admin => "ADMIN",
        }
    }

    /// The user each role's token acts as in these tests.
    pub fn user(self) -> &'static str {
        match self {
            Role::Requester => "rita",
            Role::Agent => "alex",
            Role::ChangeManager => "carla",
            Role::ServiceManager => "sam",
            Role::Auditor => "audrey",
            Role::Admin => "admin",
        }
    }
}

/// The `extensions.code` of the first error of a GraphQL response, if any.
pub fn error_code(response: &Value) -> Option<String> {
    response["errors"]
        .get(0)
        .and_then(|error| error["extensions"]["code"].as_str())
        .map(str::to_owned)
}

/// A server with a token per role, issued through `issueToken` with the printed admin token.
pub struct Desk {
    pub server: Server,
    tokens: BTreeMap<Role, String>,
}

impl Desk {
    /// Starts a server and issues a token for every role but admin (admin uses the printed one).
    pub async fn start() -> Desk {
        Desk::start_with(&[]).await
    }

    /// [`Desk::start`] with more `serve` arguments, such as `--demo`.
    pub async fn start_with(serve_args: &[&str]) -> Desk {
        Desk::on(Server::start_with(serve_args)).await
    }

    /// A desk on a server started by the caller (say, [`Server::start_in_shell`]).
    pub async fn on(server: Server) -> Desk {
        let mut desk = Desk {
            tokens: BTreeMap::from([(Role::Admin, server.admin_token().to_owned())]),
            server,
        };
        for role in Role::ALL {
            if role != Role::Admin {
                let token = desk.issue_token(role, role.user(), role.column()).await;
                desk.tokens.insert(role, token);
            }
        }
        desk
    }

    pub fn address(&self) -> SocketAddr {
        self.server.address()
    }

    pub fn token(&self, role: Role) -> &str {
        &self.tokens[&role]
    }

    /// Issues a token as admin and returns its secret.
    pub async fn issue_token(&self, role: Role, user: &str, name: &str) -> String {
        let response = self
            .gql(
                Role::Admin,
                "mutation($input: IssueTokenInput!) { issueToken(input: $input) { token } }",
                json!({"input": {"name": name, "user": user, "role": role.graphql()}}),
            )
            .await;
        data(&response)["issueToken"]["token"]
            .as_str()
            .expect("issueToken returns the secret")
            .to_owned()
    }

    /// `POST /graphql` with any body and headers.
    pub async fn post(&self, headers: &[(&str, &str)], body: &[u8]) -> http::Response {
        http::request(self.address(), "POST", "/graphql", headers, Some(body))
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "POST /graphql failed: {error}\nserver log:\n{}",
                    self.server.log()
                )
            })
    }

    /// A GraphQL request with `token` (any string) as bearer; the whole JSON response.
    pub async fn gql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = json!({"query": query, "variables": variables}).to_string();
        let authorization = format!("Bearer {token}");
        let response = self
            .post(
                &[
                    ("Content-Type", "application/json"),
                    ("Authorization", &authorization),
                ],
                body.as_bytes(),
            )
            .await;
        response.json()
    }

    /// A GraphQL request as `role`; the whole JSON response.
    pub async fn gql(&self, role: Role, query: &str, variables: Value) -> Value {
        self.gql_as(self.token(role), query, variables).await
    }

    /// A GraphQL request as `role` that must succeed; its `data`.
    pub async fn ok(&self, role: Role, query: &str, variables: Value) -> Value {
        let response = self.gql(role, query, variables).await;
        data(&response).clone()
    }

    /// A mutation `name(input: $input)` as `role` that must succeed, selecting `selection`; the
    /// mutation's payload.
    pub async fn mutate(&self, role: Role, name: &str, input: Value, selection: &str) -> Value {
        let input_type = input_type(name);
        let query = format!(
            "mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} }} }}"
        );
        let data = self.ok(role, &query, json!({"input": input})).await;
        data[name].clone()
    }

    /// The same mutation that must fail; its first error code.
    pub async fn refused(&self, role: Role, name: &str, input: Value) -> String {
        let input_type = input_type(name);
        let query =
            format!("mutation($input: {input_type}!) {{ {name}(input: $input) {{ position }} }}");
        let response = self.gql(role, &query, json!({"input": input})).await;
        assert!(
            response["data"].is_null(),
            "{name} as {role:?} should have failed: {response}"
        );
        error_code(&response).unwrap_or_else(|| panic!("an error without a code: {response}"))
    }

    /// `GET /healthz`: the ledger head it reports.
    pub async fn ledger_head(&self) -> u64 {
        let response = http::request(self.address(), "GET", "/healthz", &[], None)
            .await
            .expect("GET /healthz");
        assert_eq!(response.status, 200, "healthz: {}", response.text());
        response.json()["ledger_head"]
            .as_str()
            .and_then(|head| head.parse().ok())
            .expect("healthz reports ledger_head as a decimal string")
    }

    /// Subscribes as `role` on a websocket of its own.
    pub async fn subscribe(&self, role: Role, query: &str, variables: Value) -> Subscription {
        Subscription::start(self.address(), self.token(role), query, variables)
            .await
            .unwrap_or_else(|error| panic!("subscription as {role:?} failed: {error}"))
    }
}

/// The input type of a mutation, following the schema's naming: `<Name>Input`, except where
/// several mutations share one input type.
pub fn input_type(mutation: &str) -> String {
    let shared = match mutation {
        "acknowledgeIncident" | "startWorkOnIncident" | "resumeIncident" | "closeIncident" => {
            Some("IncidentKeyInput")
        }
        "submitChange" | "startChangeImplementation" | "closeChange" => Some("ChangeKeyInput"),
        "closeProblem" => Some("ProblemKeyInput"),
        "linkProblemIncident" | "unlinkProblemIncident" => Some("ProblemIncidentInput"),
        _ => None,
    };
    shared.map_or_else(
        || {
            let mut chars = mutation.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            format!("{}{}Input", first.unwrap_or_default(), chars.as_str())
        },
        str::to_owned,
    )
}

/// The `data` of a response that must have no errors.
pub fn data(response: &Value) -> &Value {
    assert!(
        response.get("errors").is_none(),
        "unexpected errors: {response}"
    );
    &response["data"]
}

/// A `Position` scalar (decimal string) as a number.
pub fn position(value: &Value) -> u64 {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("{value} is not a Position"))
}

/// Bounded waits for things the server does on its own (timers, subscriptions).
pub const WAIT: Duration = Duration::from_secs(20);

/// Defines the service manager's 24x7 UTC calendar `always` and the `email` service (owner
/// `messaging`, criticality HIGH): the catalog most tests build their SLA policies on.
pub async fn always_calendar_and_email_service(desk: &Desk) {
    let sm = Role::ServiceManager;
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
    desk.mutate(
        sm,
        "defineCalendar",
        json!({"name": "always", "calendar": {"timezone": "UTC", "workingHours": hours}}),
        "position",
    )
    .await;
    desk.mutate(
        sm,
        "defineService",
        json!({"service": "email", "name": "E-mail", "owner": "messaging", "criticality": "HIGH"}),
        "position",
    )
    .await;
}

/// Seeds the `email` service (owner `messaging`) with a P3 standard policy on a weekday calendar
/// `calendar` in `timezone` (`start`..`end` local, `24:00` = midnight) and logs one P3 incident
/// by the requester; returns its key.
pub async fn email_service_with_an_incident(
    desk: &Desk,
    calendar: (&str, &str, &str, &str),
    targets_minutes: (u32, u32),
) -> String {
    let (name, timezone, start, end) = calendar;
    let sm = Role::ServiceManager;
    let hours: Vec<Value> = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
        .iter()
        .map(|day| json!({"day": day, "start": start, "end": end}))
        .collect();
    desk.mutate(
        sm,
        "defineCalendar",
        json!({"name": name, "calendar": {"timezone": timezone, "workingHours": hours}}),
        "position",
    )
    .await;
    desk.mutate(
        sm,
        "defineService",
        json!({"service": "email", "name": "E-mail", "owner": "messaging", "criticality": "LOW"}),
        "position",
    )
    .await;
    desk.mutate(
        sm,
        "defineSlaPolicy",
        json!({"policy": "email-p3", "service": "email", "priority": "P3", "tier": "STANDARD",
               "calendar": name,
               "targets": {"firstResponseMinutes": targets_minutes.0,
                           "resolutionMinutes": targets_minutes.1, "warningPercent": 80}}),
        "position",
    )
    .await;
    let logged = desk
        .mutate(
            Role::Requester,
            "logIncident",
            json!({"title": "Inbox is empty", "description": "since today", "service": "email",
                   "category": "mailbox", "impact": "MEDIUM", "urgency": "MEDIUM"}),
            "incident { key }",
        )
        .await;
    logged["incident"]["key"]
        .as_str()
        .expect("a key")
        .to_owned()
}
