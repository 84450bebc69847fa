//! Every role against every operation of docs/ROLES.md, over HTTP (queries and mutations) and
//! websocket (subscriptions), on one server. The table is read from the same file the gateway
//! compiles in. Where it says `no`, the answer must be `FORBIDDEN` from the role check; where it
//! says `yes` or `own`, the request must get past the role check (it may still fail on the
//! domain's rules: `NOT_FOUND`, `INVALID_TRANSITION`, `CONFLICT`, ...), and it must have been
//! a valid request (every error comes from a resolver, none from query validation).
//!
//! An operation the table lists and this file has no request for fails the test: add one.

use std::collections::BTreeMap;

use itsm_e2e::support::{
    Desk, Event, Role, Subscription, WAIT, always_calendar_and_email_service, error_code,
    input_type,
};
use itsm_e2e::workspace_root;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Yes,
    Own,
    No,
}

/// docs/ROLES.md: operation -> cell per role, in table order.
fn table() -> Vec<(String, BTreeMap<Role, Cell>)> {
    let text = std::fs::read_to_string(workspace_root().join("docs/ROLES.md"))
        .expect("docs/ROLES.md is readable");
    let mut rows = text
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect::<Vec<_>>()
        });
    let header = rows.next().expect("a header row");
    let roles: Vec<Role> = header
        .iter()
        .skip(1)
        .map(|name| {
            Role::ALL
                .into_iter()
                .find(|role| role.column() == name)
                .unwrap_or_else(|| panic!("unknown role column {name}"))
        })
        .collect();
    assert_eq!(roles.len(), Role::ALL.len(), "one column per role");
    rows.skip(1)
        .map(|row| {
            let (operation, cells) = row.split_first().expect("a non-empty row");
            let cells = roles
                .iter()
                .zip(cells)
                .map(|(role, cell)| {
                    let cell = match cell.as_str() {
                        "yes" => Cell::Yes,
                        "own" => Cell::Own,
                        "no" => Cell::No,
                        other => panic!("{operation}: {other:?} is not yes, own or no"),
                    };
                    (*role, cell)
                })
                .collect();
            (operation.clone(), cells)
        })
        .collect()
}

/// The fixtures the requests point at.
struct Fixtures {
    /// The requester's own incident, assigned to `service-desk`.
    own_incident: String,
    /// An agent's incident.
    other_incident: String,
    problem: String,
    /// A change requested by the requester.
    own_change: String,
}

async fn fixtures(desk: &Desk) -> Fixtures {
    let sm = Role::ServiceManager;
    always_calendar_and_email_service(desk).await;
    for (priority, minutes, warning) in [("P1", 1, 1), ("P2", 120, 80), ("P3", 480, 80)] {
        desk.mutate(
            sm,
            "defineSlaPolicy",
            json!({
                "policy": format!("email-{priority}"), "service": "email", "priority": priority,
                "tier": "STANDARD", "calendar": "always",
                "targets": {"firstResponseMinutes": minutes, "resolutionMinutes": minutes,
                            "warningPercent": warning},
            }),
            "position",
        )
        .await;
    }
    let log = |role: Role, level: &'static str| async move {
        let payload = desk
            .mutate(
                role,
                "logIncident",
                json!({"title": "Inbox is empty", "description": "since this morning",
                       "service": "email", "category": "mailbox",
                       "impact": level, "urgency": level}),
                "incident { key }",
            )
            .await;
        payload["incident"]["key"]
            .as_str()
            .expect("a key")
            .to_owned()
    };
    let own_incident = log(Role::Requester, "MEDIUM").await;
    let other_incident = log(Role::Agent, "MEDIUM").await;
    desk.mutate(
        Role::Agent,
        "assignIncident",
        json!({"key": own_incident, "group": "service-desk", "agent": "alex"}),
        "position",
    )
    .await;
    let problem = desk
        .mutate(
            Role::Agent,
            "recordProblem",
            json!({"title": "Mailbox store unmounts", "description": "empty inboxes",
                   "service": "email", "impact": "MEDIUM", "urgency": "MEDIUM"}),
            "problem { key }",
        )
        .await["problem"]["key"]
        .as_str()
        .expect("a key")
        .to_owned();
    let own_change = desk
        .mutate(
            Role::ChangeManager,
            "raiseChange",
            json!({"kind": "NORMAL", "title": "Grow the store", "description": "add a disk",
                   "service": "email", "impact": "LOW", "likelihood": "LOW",
                   "implementationPlan": "attach", "backoutPlan": "detach",
                   "requestedBy": Role::Requester.user()}),
            "change { key }",
        )
        .await["change"]["key"]
        .as_str()
        .expect("a key")
        .to_owned();

    // A P1 on the one-minute policy (warning at 1%): wait until its SLA warning is recorded,
    // so `slaAlerts(fromPosition: 1)` has something to deliver to whoever may see it.
    let mut alerts = desk
        .subscribe(
            Role::Admin,
            "subscription { slaAlerts(fromPosition: \"1\") { incident alert } }",
            json!({}),
        )
        .await;
    log(Role::Agent, "HIGH").await;
    alerts.next_data(WAIT).await;
    alerts.close().await;

    Fixtures {
        own_incident,
        other_incident,
        problem,
        own_change,
    }
}

/// A minimal valid request for a query or mutation: (document, variables).
#[allow(clippy::too_many_lines, reason = "one arm per operation of the table")]
fn request(operation: &str, f: &Fixtures) -> Option<(String, Value)> {
    let inc = f.own_incident.as_str();
    let chg = f.own_change.as_str();
    let prb = f.problem.as_str();
    let input = match operation {
        "logIncident" => json!({"title": "t", "description": "d", "service": "email",
                                "category": "c", "impact": "MEDIUM", "urgency": "MEDIUM"}),
        "acknowledgeIncident" | "startWorkOnIncident" | "resumeIncident" | "closeIncident" => {
            json!({"key": inc})
        }
        "assignIncident" => json!({"key": inc, "agent": "alex"}),
        "putIncidentOnHold" => json!({"key": inc, "reason": "AWAITING_VENDOR"}),
        "escalateIncident" => json!({"key": inc, "to": {"manager": "mona"}, "reason": "r"}),
        "reprioritizeIncident" => {
            json!({"key": inc, "impact": "HIGH", "urgency": "MEDIUM", "reason": "r"})
        }
        "resolveIncident" => json!({"key": inc, "code": "FIXED", "notes": "n"}),
        "reopenIncident" | "cancelIncident" | "declareMajorIncident" => {
            json!({"key": inc, "reason": "r"})
        }
        "commentOnIncident" => json!({"key": inc, "text": "any news?"}),
        "attachFileToIncident" => json!({"key": inc, "name": "log.txt",
                                         "contentHash": "blake3:00", "uri": "s3://b/log.txt",
                                         "sizeBytes": "12"}),
        "linkIncident" => json!({"key": inc, "target": {"problem": prb}}),
        "linkToMajorIncident" => json!({"key": f.other_incident, "parent": inc}),
        "rateIncident" => json!({"key": inc, "score": 4}),
        "recordProblem" => json!({"title": "t", "description": "d", "service": "email",
                                  "impact": "LOW", "urgency": "LOW"}),
        "startProblemInvestigation" | "reassignProblem" => {
            json!({"key": prb, "group": "messaging"})
        }
        "recordRootCause" => json!({"key": prb, "rootCause": "disk"}),
        "documentWorkaround" => json!({"key": prb, "workaround": "remount"}),
        "linkProblemIncident" | "unlinkProblemIncident" => json!({"key": prb, "incident": inc}),
        "linkFixChange" => json!({"key": prb, "change": chg}),
        "resolveProblem" => json!({"key": prb, "resolution": "r"}),
        "closeProblem" => json!({"key": prb}),
        "reopenProblem" | "cancelProblem" => json!({"key": prb, "reason": "r"}),
        "raiseChange" => json!({"kind": "NORMAL", "title": "t", "description": "d",
                                "service": "email", "impact": "LOW", "likelihood": "LOW",
                                "implementationPlan": "p", "backoutPlan": "b"}),
        "submitChange" | "startChangeImplementation" | "closeChange" => json!({"key": chg}),
        "assessChange" => json!({"key": chg, "impact": "LOW", "likelihood": "LOW",
                                 "notes": "n", "cab": ["dana"], "requiredApprovals": 1}),
        "approveChange" => json!({"key": chg, "approver": "dana"}),
        "rejectChange" => json!({"key": chg, "reason": "r", "approver": "dana"}),
        "scheduleChange" | "rescheduleChange" => json!({"key": chg,
                                                        "from": "2099-01-01T10:00:00Z",
                                                        "to": "2099-01-01T11:00:00Z"}),
        "completeChangeImplementation" => json!({"key": chg, "notes": "n"}),
        "failChange" => json!({"key": chg, "backoutPerformed": true, "notes": "n"}),
        "reviewChange" => json!({"key": chg, "outcome": "SUCCESSFUL", "notes": "n"}),
        "cancelChange" => json!({"key": chg, "reason": "r"}),
        "defineService" | "reviseService" => json!({"service": "vpn", "name": "VPN",
                                                     "owner": "network", "criticality": "LOW"}),
        "retireService" => json!({"service": "vpn", "reason": "r"}),
        "defineCalendar" | "reviseCalendar" => json!({"name": "office", "calendar": {
            "timezone": "Europe/Berlin",
            "workingHours": [{"day": "MONDAY", "start": "09:00", "end": "17:00"}]}}),
        "defineSlaPolicy" => json!({"policy": "email-p4", "service": "email", "priority": "P4",
                                    "tier": "STANDARD", "calendar": "always",
                                    "targets": {"firstResponseMinutes": 60,
                                                "resolutionMinutes": 600, "warningPercent": 80}}),
        "reviseSlaPolicy" => json!({"policy": "email-P3", "calendar": "always",
                                    "targets": {"firstResponseMinutes": 60,
                                                "resolutionMinutes": 900, "warningPercent": 75}}),
        "defineFreezeWindow" => json!({"window": "year-end", "from": "2099-12-20T00:00:00Z",
                                       "to": "2099-12-31T00:00:00Z", "reason": "r"}),
        "cancelFreezeWindow" => json!({"window": "year-end", "reason": "r"}),
        "issueToken" => json!({"name": "roles-probe", "user": "probe", "role": "AUDITOR"}),
        "revokeToken" => json!({"name": "roles-probe", "reason": "r"}),
        _ => return query(operation, f),
    };
    let document = format!(
        "mutation($input: {}!) {{ {operation}(input: $input) {{ __typename }} }}",
        input_type(operation)
    );
    Some((document, json!({"input": input})))
}

fn query(operation: &str, f: &Fixtures) -> Option<(String, Value)> {
    let document = match operation {
        "incident" => "query($inc: ID!) { incident(key: $inc) { key } }",
        "incidents" => "{ incidents(first: 5) { nodes { key } } }",
        "explainClock" => {
            "query($inc: ID!) { explainClock(incident: $inc, clock: RESOLUTION) { status } }"
        }
        "problem" => "query($prb: ID!) { problem(key: $prb) { key } }",
        "problems" => "{ problems(first: 5) { nodes { key } } }",
        "knownErrors" => "{ knownErrors { key } }",
        "change" => "query($chg: ID!) { change(key: $chg) { key } }",
        "changes" => "{ changes(first: 5) { nodes { key } } }",
        "changeCalendar" => {
            "{ changeCalendar(from: \"2026-01-01T00:00:00Z\", to: \"2100-01-01T00:00:00Z\") { position } }"
        }
        "queue" => "{ queue(group: \"service-desk\", first: 5) { totalCount } }",
        "queueCounts" => "{ queueCounts { open } }",
        "slaDashboard" => {
            "{ slaDashboard(period: {from: \"2026-01-01\", to: \"2026-02-01\"}) { position } }"
        }
        "slaWhatIf" => {
            "{ slaWhatIf(input: {calendar: \"always\", from: \"2026-01-01T00:00:00Z\", to: \"2026-02-01T00:00:00Z\", targets: {firstResponseMinutes: 30, resolutionMinutes: 60, warningPercent: 80}}) { incidents } }"
        }
        "services" => "{ services { id } }",
        "calendars" => "{ calendars { name } }",
        "slaPolicies" => "{ slaPolicies { name } }",
        "me" => "{ me { user } }",
        "events" => "{ events(first: 2) { position } }",
        "audit" => "{ audit(first: 2) { nodes { position } } }",
        "verifyLedger" => "{ verifyLedger { ok } }",
        _ => return None,
    };
    // Only the variables a document declares may be sent.
    let mut variables = serde_json::Map::new();
    for (name, value) in [
        ("inc", &f.own_incident),
        ("prb", &f.problem),
        ("chg", &f.own_change),
    ] {
        if document.contains(&format!("${name}:")) {
            variables.insert(name.to_owned(), json!(value));
        }
    }
    Some((document.to_owned(), Value::Object(variables)))
}

/// A subscription's document and variables.
fn subscription(operation: &str, f: &Fixtures) -> Option<(&'static str, Value)> {
    Some(match operation {
        "ticketEvents" => (
            "subscription($key: ID!) { ticketEvents(key: $key, fromPosition: \"1\") { eventType } }",
            json!({"key": f.own_incident}),
        ),
        "queueChanged" => (
            "subscription { queueChanged(group: \"service-desk\", fromPosition: \"1\") { open } }",
            json!({}),
        ),
        "slaAlerts" => (
            "subscription { slaAlerts(fromPosition: \"1\") { alert } }",
            json!({}),
        ),
        "eventFeed" => (
            "subscription { eventFeed(fromPosition: \"1\") { position } }",
            json!({}),
        ),
        _ => return None,
    })
}

/// (operation, role) allowed by docs/ROLES.md whose request the desk refuses with its own
/// `FORBIDDEN` (see the end of the table test): a per-record domain rule for the record this
/// test uses, since an agent may cancel only a change they requested themselves.
const KNOWN_DISAGREEMENTS: &[(&str, Role)] = &[("cancelChange", Role::Agent)];

/// What one request got: refused by the role table, or let through.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// `FORBIDDEN` from the role check.
    RoleRefused,
    /// Past the role check; the code of the domain's refusal, if any.
    Passed(Option<String>),
}

fn outcome(operation: &str, role: Role, response: &Value) -> Outcome {
    let Some(errors) = response.get("errors").and_then(Value::as_array) else {
        return Outcome::Passed(None);
    };
    for error in errors {
        assert!(
            error.get("path").is_some(),
            "{operation} as {role:?}: the request itself is invalid (fix it in this file): {response}"
        );
    }
    let code = error_code(response);
    let by_role_table = errors.iter().any(|error| {
        error["message"]
            .as_str()
            .is_some_and(|message| message.contains(&format!("may not call {operation}")))
    });
    if by_role_table {
        assert_eq!(code.as_deref(), Some("FORBIDDEN"), "{response}");
        Outcome::RoleRefused
    } else {
        Outcome::Passed(code)
    }
}

async fn subscription_outcome(
    desk: &Desk,
    operation: &str,
    role: Role,
    document: &str,
    variables: Value,
) -> Outcome {
    let mut subscription =
        Subscription::start(desk.address(), desk.token(role), document, variables)
            .await
            .unwrap_or_else(|error| panic!("{operation} as {role:?}: {error}"));
    let event = subscription.next(WAIT).await;
    subscription.close().await;
    match event {
        Some(Event::Next(payload)) if payload.get("errors").is_none() => Outcome::Passed(None),
        Some(Event::Next(payload)) => outcome(operation, role, &payload),
        Some(Event::Error(errors)) => outcome(operation, role, &json!({"errors": errors})),
        other => panic!("{operation} as {role:?}: neither data nor a refusal: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_gets_exactly_what_docs_roles_md_allows() {
    let desk = Desk::start().await;
    let f = fixtures(&desk).await;
    let table = table();
    assert!(table.len() > 50, "the table lists every operation");

    let mut mismatches = Vec::new();
    let mut domain_forbidden = Vec::new();
    // Subscriptions first, while the fixtures are as set up (the mutations below change them).
    let (subscriptions, operations): (Vec<_>, Vec<_>) = table
        .iter()
        .partition(|(operation, _)| subscription(operation, &f).is_some());
    for (operation, cells) in subscriptions.into_iter().chain(operations) {
        for role in Role::ALL {
            let cell = cells[&role];
            let got = if let Some((document, variables)) = subscription(operation, &f) {
                subscription_outcome(&desk, operation, role, document, variables).await
            } else {
                let (document, variables) = request(operation, &f).unwrap_or_else(|| {
                    panic!("docs/ROLES.md lists {operation}: add a request for it to roles.rs")
                });
                let response = desk.gql(role, &document, variables).await;
                outcome(operation, role, &response)
            };
            match (cell, &got) {
                (Cell::No, Outcome::RoleRefused) | (Cell::Yes | Cell::Own, Outcome::Passed(_)) => {}
                _ => mismatches.push(format!(
                    "{operation} as {role:?}: table {cell:?}, got {got:?}"
                )),
            }
            if matches!((cell, &got), (Cell::Yes | Cell::Own, Outcome::Passed(Some(code))) if code == "FORBIDDEN")
            {
                domain_forbidden.push(format!("{operation} as {role:?}"));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "the server disagrees with docs/ROLES.md:\n{}",
        mismatches.join("\n")
    );
    // Allowed by the table, refused by the domain's own rule: the change decider accepts only
    // the change_manager role (not admin) for CAB and scheduling commands, and only the
    // requester or a change manager for a cancellation. Listed exactly, so a fix on either
    // side (docs/ROLES.md or the decider) shows up here and the list shrinks.
    assert_eq!(
        domain_forbidden,
        KNOWN_DISAGREEMENTS
            .iter()
            .map(|(operation, role)| format!("{operation} as {role:?}"))
            .collect::<Vec<_>>(),
        "allowed by docs/ROLES.md but FORBIDDEN by the desk"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_unknown_token_is_unauthenticated() {
    let desk = Desk::start().await;
    let unknown = desk
        .gql_as("not-a-token", "{ me { user } }", json!({}))
        .await;
    assert_eq!(
        error_code(&unknown).as_deref(),
        Some("UNAUTHENTICATED"),
        "{unknown}"
    );
    let anonymous = desk
        .post(
            &[("Content-Type", "application/json")],
            json!({"query": "{ me { user } }"}).to_string().as_bytes(),
        )
        .await
        .json();
    assert_eq!(
        error_code(&anonymous).as_deref(),
        Some("UNAUTHENTICATED"),
        "{anonymous}"
    );
    // A websocket without a valid token gets no connection_ack.
    let refused = Subscription::start(
        desk.address(),
        "not-a-token",
        "subscription { eventFeed { position } }",
        json!({}),
    )
    .await;
    assert!(refused.is_err(), "an unknown token subscribed");
    // A revoked token is refused from the next request on.
    let token = desk.issue_token(Role::Agent, "temp", "temp-agent").await;
    let me = desk.gql_as(&token, "{ me { role } }", json!({})).await;
    assert_eq!(me["data"]["me"]["role"].as_str(), Some("agent"), "{me}");
    desk.mutate(
        Role::Admin,
        "revokeToken",
        json!({"name": "temp-agent", "reason": "left"}),
        "position",
    )
    .await;
    let after = desk.gql_as(&token, "{ me { role } }", json!({})).await;
    assert_eq!(
        error_code(&after).as_deref(),
        Some("UNAUTHENTICATED"),
        "{after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_of_the_schema_has_a_row_and_every_row_an_operation() {
    let desk = Desk::start().await;
    let schema = desk
        .ok(
            Role::Auditor,
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }",
            json!({}),
        )
        .await;
    let mut operations: Vec<String> = ["queryType", "mutationType", "subscriptionType"]
        .iter()
        .flat_map(|root| {
            schema["__schema"][root]["fields"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|field| field["name"].as_str().map(str::to_owned))
        .collect();
    operations.sort();
    let mut rows: Vec<String> = table()
        .into_iter()
        .map(|(operation, _)| operation)
        .collect();
    rows.sort();
    let unlisted: Vec<&String> = operations.iter().filter(|op| !rows.contains(op)).collect();
    let unknown: Vec<&String> = rows
        .iter()
        .filter(|row| !operations.contains(row))
        .collect();
    assert!(
        unlisted.is_empty(),
        "operations without a row in docs/ROLES.md (refused to everyone): {unlisted:?}"
    );
    assert!(
        unknown.is_empty(),
        "rows of docs/ROLES.md the schema does not have: {unknown:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_finds_nothing_of_other_peoples_tickets() {
    let desk = Desk::start().await;
    let f = fixtures(&desk).await;
    let other = f.other_incident.as_str();
    let requester = Role::Requester;
    // `own` rows: another's incident does not exist for them.
    for operation in ["commentOnIncident", "closeIncident", "rateIncident"] {
        let input = match operation {
            "commentOnIncident" => json!({"key": other, "text": "hello?"}),
            "rateIncident" => json!({"key": other, "score": 1}),
            _ => json!({"key": other}),
        };
        assert_eq!(
            desk.refused(requester, operation, input).await,
            "NOT_FOUND",
            "{operation} on another's incident"
        );
    }
    let seen = desk
        .gql(
            requester,
            "query($key: ID!) { incident(key: $key) { key } }",
            json!({"key": other}),
        )
        .await;
    assert!(
        seen["data"]["incident"].is_null(),
        "another's incident is invisible: {seen}"
    );
    let clock = desk
        .gql(
            requester,
            "query($key: ID!) { explainClock(incident: $key, clock: RESOLUTION) { status } }",
            json!({"key": other}),
        )
        .await;
    assert!(
        clock["data"]["explainClock"].is_null(),
        "another's clock is invisible: {clock}"
    );
    let head = desk.ledger_head().await;
    let listed = desk
        .ok(
            requester,
            "query($atLeast: Position) { incidents(first: 50, atLeast: $atLeast) { nodes { key requester } } }",
            json!({"atLeast": head.to_string()}),
        )
        .await;
    let nodes = listed["incidents"]["nodes"].as_array().expect("nodes");
    assert!(!nodes.is_empty(), "their own incident is listed");
    assert!(
        nodes
            .iter()
            .all(|node| node["key"] == f.own_incident.as_str()),
        "only their own incidents: {listed}"
    );
    let mut events = Subscription::start(
        desk.address(),
        desk.token(requester),
        "subscription($key: ID!) { ticketEvents(key: $key, fromPosition: \"1\") { eventType } }",
        json!({"key": other}),
    )
    .await
    .expect("the websocket opens");
    assert_eq!(
        events.refusal(WAIT).await.as_deref(),
        Some("NOT_FOUND"),
        "another's ticket events"
    );
    events.close().await;
    let own_problem = desk
        .gql(
            requester,
            "query($key: ID!) { problem(key: $key) { key } }",
            json!({"key": f.problem}),
        )
        .await;
    assert_eq!(
        error_code(&own_problem).as_deref(),
        Some("FORBIDDEN"),
        "{own_problem}"
    );
}
