//! Problem mutations through the router: each one's success path and its typical refusal.

mod support;

use itsm_app::desk::{NewChange, NewIncident};
use itsm_change::{ChangeType, Likelihood};
use itsm_incident::Channel;
use itsm_kernel::{CustomerTier, Impact, Role, Urgency};
use serde_json::{Value, json};
use support::{TestDesk, actor, error_code};

const PROBLEM: &str = "key status rootCause workaround timeline { eventType actor }";

/// Runs `op(input: $input)` with an `input` of GraphQL type `input_type` as `role`.
async fn call(desk: &TestDesk, role: Role, op: &str, input_type: &str, input: Value) -> Value {
    let query = format!(
        "mutation($input: {input_type}!) {{ {op}(input: $input) {{ position problem {{ {PROBLEM} }} }} }}"
    );
    desk.gql(role, &query, json!({ "input": input })).await
}

/// The problem of a successful mutation `op`; fails the test on any error.
fn problem<'a>(response: &'a Value, op: &str) -> &'a Value {
    assert_eq!(response["errors"], Value::Null, "{op}: {response}");
    assert!(
        response["data"][op]["position"].as_str().is_some(),
        "{op} answers a position: {response}"
    );
    &response["data"][op]["problem"]
}

/// The last event type of a problem's timeline.
fn last_event(problem: &Value) -> &str {
    problem["timeline"]
        .as_array()
        .and_then(|items| items.last())
        .and_then(|item| item["eventType"].as_str())
        .unwrap_or_default()
}

async fn record(desk: &TestDesk) -> String {
    let response = call(
        desk,
        Role::Agent,
        "recordProblem",
        "RecordProblemInput",
        json!({
            "title": "Mail relay drops connections",
            "description": "Several incidents a day.",
            "service": "email",
            "impact": "MEDIUM",
            "urgency": "HIGH",
        }),
    )
    .await;
    problem(&response, "recordProblem")["key"]
        .as_str()
        .expect("key")
        .to_owned()
}

/// Asserts that `op` is refused with `code`.
async fn refused(
    desk: &TestDesk,
    role: Role,
    op: &str,
    input_type: &str,
    input: Value,
    code: &str,
) {
    let response = call(desk, role, op, input_type, input).await;
    assert_eq!(
        error_code(&response),
        Some(code),
        "{op} as {role}: {response}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_investigates_a_problem_to_a_known_error_and_resolves_it() {
    let desk = TestDesk::new().await.with_catalog().await;
    let key = record(&desk).await;

    // recordRootCause needs an investigation first.
    refused(
        &desk,
        Role::Agent,
        "recordRootCause",
        "RecordRootCauseInput",
        json!({ "key": key, "rootCause": "TLS session cache too small" }),
        "INVALID_TRANSITION",
    )
    .await;

    // startProblemInvestigation
    let started = call(
        &desk,
        Role::Agent,
        "startProblemInvestigation",
        "StartProblemInvestigationInput",
        json!({ "key": key, "group": "mail-team", "assignee": "agent.user" }),
    )
    .await;
    assert_eq!(
        last_event(problem(&started, "startProblemInvestigation")),
        "ProblemInvestigationStarted"
    );
    refused(
        &desk,
        Role::Agent,
        "startProblemInvestigation",
        "StartProblemInvestigationInput",
        json!({ "key": key, "group": "mail-team" }),
        "INVALID_TRANSITION",
    )
    .await;

    // reassignProblem
    refused(
        &desk,
        Role::Agent,
        "reassignProblem",
        "ReassignProblemInput",
        json!({ "key": key, "group": "mail-team", "assignee": "agent.user" }),
        "CONFLICT",
    )
    .await;
    let reassigned = call(
        &desk,
        Role::Agent,
        "reassignProblem",
        "ReassignProblemInput",
        json!({ "key": key, "group": "network-team" }),
    )
    .await;
    assert_eq!(
        last_event(problem(&reassigned, "reassignProblem")),
        "ProblemReassigned"
    );

    // resolveProblem needs a root cause.
    refused(
        &desk,
        Role::Agent,
        "resolveProblem",
        "ResolveProblemInput",
        json!({ "key": key, "resolution": "cache enlarged" }),
        "INVALID_TRANSITION",
    )
    .await;

    // recordRootCause
    refused(
        &desk,
        Role::Agent,
        "recordRootCause",
        "RecordRootCauseInput",
        json!({ "key": key, "rootCause": "" }),
        "VALIDATION",
    )
    .await;
    let cause = call(
        &desk,
        Role::Agent,
        "recordRootCause",
        "RecordRootCauseInput",
        json!({ "key": key, "rootCause": "TLS session cache too small" }),
    )
    .await;
    let node = problem(&cause, "recordRootCause");
    assert_eq!(node["rootCause"], "TLS session cache too small");
    assert_eq!(last_event(node), "ProblemRootCauseRecorded");

    // documentWorkaround
    refused(
        &desk,
        Role::Agent,
        "documentWorkaround",
        "DocumentWorkaroundInput",
        json!({ "key": key, "workaround": "" }),
        "VALIDATION",
    )
    .await;
    let workaround = call(
        &desk,
        Role::Agent,
        "documentWorkaround",
        "DocumentWorkaroundInput",
        json!({ "key": key, "workaround": "Restart the relay at noon" }),
    )
    .await;
    let node = problem(&workaround, "documentWorkaround");
    assert_eq!(node["workaround"], "Restart the relay at noon");
    assert_eq!(last_event(node), "ProblemWorkaroundDocumented");

    // linkFixChange: the change must exist.
    refused(
        &desk,
        Role::Agent,
        "linkFixChange",
        "LinkFixChangeInput",
        json!({ "key": key, "change": "CHG-9" }),
        "NOT_FOUND",
    )
    .await;
    desk.state
        .desk
        .raise_change(
            NewChange {
                change_type: ChangeType::Normal,
                title: "Enlarge the TLS session cache".to_owned(),
                description: "From 1k to 64k entries.".to_owned(),
                service: "email".parse().expect("id"),
                impact: Impact::Low,
                likelihood: Likelihood::Low,
                implementation_plan: "Edit, reload.".to_owned(),
                backout_plan: "Revert, reload.".to_owned(),
                requested_by: support::user(Role::Agent),
            },
            &actor(Role::Agent),
        )
        .await
        .expect("change raised");
    let fix = call(
        &desk,
        Role::Agent,
        "linkFixChange",
        "LinkFixChangeInput",
        json!({ "key": key, "change": "CHG-1" }),
    )
    .await;
    assert_eq!(
        last_event(problem(&fix, "linkFixChange")),
        "ProblemFixChangeLinked"
    );
    refused(
        &desk,
        Role::Agent,
        "linkFixChange",
        "LinkFixChangeInput",
        json!({ "key": key, "change": "CHG-1" }),
        "CONFLICT",
    )
    .await;

    // resolveProblem
    let resolved = call(
        &desk,
        Role::Agent,
        "resolveProblem",
        "ResolveProblemInput",
        json!({ "key": key, "resolution": "Cache enlarged by CHG-1" }),
    )
    .await;
    assert_eq!(
        last_event(problem(&resolved, "resolveProblem")),
        "ProblemResolved"
    );

    // reopenProblem
    let reopened = call(
        &desk,
        Role::Agent,
        "reopenProblem",
        "ReopenProblemInput",
        json!({ "key": key, "reason": "drops again" }),
    )
    .await;
    assert_eq!(
        last_event(problem(&reopened, "reopenProblem")),
        "ProblemReopened"
    );
    refused(
        &desk,
        Role::Agent,
        "reopenProblem",
        "ReopenProblemInput",
        json!({ "key": key, "reason": "still open" }),
        "INVALID_TRANSITION",
    )
    .await;

    // closeProblem: only a resolved one.
    refused(
        &desk,
        Role::Agent,
        "closeProblem",
        "ProblemKeyInput",
        json!({ "key": key }),
        "INVALID_TRANSITION",
    )
    .await;
    let resolved = call(
        &desk,
        Role::Agent,
        "resolveProblem",
        "ResolveProblemInput",
        json!({ "key": key, "resolution": "Relay replaced" }),
    )
    .await;
    problem(&resolved, "resolveProblem");
    let closed = call(
        &desk,
        Role::Agent,
        "closeProblem",
        "ProblemKeyInput",
        json!({ "key": key }),
    )
    .await;
    assert_eq!(
        last_event(problem(&closed, "closeProblem")),
        "ProblemClosed"
    );

    // cancelProblem: a closed problem accepts nothing; an open one is cancelled.
    refused(
        &desk,
        Role::Agent,
        "cancelProblem",
        "CancelProblemInput",
        json!({ "key": key, "reason": "late" }),
        "INVALID_TRANSITION",
    )
    .await;
    let other = record(&desk).await;
    let cancelled = call(
        &desk,
        Role::Agent,
        "cancelProblem",
        "CancelProblemInput",
        json!({ "key": other, "reason": "duplicate of PRB-1" }),
    )
    .await;
    assert_eq!(
        last_event(problem(&cancelled, "cancelProblem")),
        "ProblemCancelled"
    );
    refused(
        &desk,
        Role::Agent,
        "cancelProblem",
        "CancelProblemInput",
        json!({ "key": other, "reason": "again" }),
        "INVALID_TRANSITION",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_are_linked_to_a_problem_on_both_sides_and_unlinked() {
    let desk = TestDesk::new().await.with_catalog().await;
    let key = record(&desk).await;
    let (incident, _) = desk
        .state
        .desk
        .log_incident(
            NewIncident {
                title: "No mail since 9:00".to_owned(),
                description: "Outlook offline.".to_owned(),
                channel: Channel::Phone,
                requester: support::user(Role::Requester),
                tier: CustomerTier::Standard,
                service: "email".parse().expect("id"),
                category: "email/connectivity".parse().expect("name"),
                impact: Impact::Medium,
                urgency: Urgency::Medium,
            },
            &actor(Role::Agent),
        )
        .await
        .expect("incident logged");
    let incident = incident.to_string();

    // linkProblemIncident
    refused(
        &desk,
        Role::Agent,
        "linkProblemIncident",
        "ProblemIncidentInput",
        json!({ "key": key, "incident": "INC-99" }),
        "NOT_FOUND",
    )
    .await;
    let linked = call(
        &desk,
        Role::Agent,
        "linkProblemIncident",
        "ProblemIncidentInput",
        json!({ "key": key, "incident": incident }),
    )
    .await;
    let position = linked["data"]["linkProblemIncident"]["position"].clone();
    assert!(
        problem(&linked, "linkProblemIncident")["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .any(|item| item["eventType"] == "ProblemIncidentLinked"),
        "{linked}"
    );
    // The incident lists the problem too.
    let read = desk
        .gql(
            Role::Agent,
            "query($key: ID!, $at: Position) { incident(key: $key, atLeast: $at) { timeline { eventType } } }",
            json!({ "key": incident, "at": position }),
        )
        .await;
    assert!(
        read["data"]["incident"]["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .any(|item| item["eventType"] == "IncidentLinked"),
        "{read}"
    );
    refused(
        &desk,
        Role::Agent,
        "linkProblemIncident",
        "ProblemIncidentInput",
        json!({ "key": key, "incident": incident }),
        "CONFLICT",
    )
    .await;

    // unlinkProblemIncident
    let unlinked = call(
        &desk,
        Role::Agent,
        "unlinkProblemIncident",
        "ProblemIncidentInput",
        json!({ "key": key, "incident": incident }),
    )
    .await;
    assert_eq!(
        last_event(problem(&unlinked, "unlinkProblemIncident")),
        "ProblemIncidentUnlinked"
    );
    refused(
        &desk,
        Role::Agent,
        "unlinkProblemIncident",
        "ProblemIncidentInput",
        json!({ "key": key, "incident": incident }),
        "VALIDATION",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problem_work_is_refused_to_requesters_change_managers_and_auditors() {
    let desk = TestDesk::new().await.with_catalog().await;
    let key = record(&desk).await;
    let attempts = [
        (
            "startProblemInvestigation",
            "StartProblemInvestigationInput",
            json!({ "key": key, "group": "g" }),
        ),
        (
            "reassignProblem",
            "ReassignProblemInput",
            json!({ "key": key, "group": "g" }),
        ),
        (
            "recordRootCause",
            "RecordRootCauseInput",
            json!({ "key": key, "rootCause": "c" }),
        ),
        (
            "documentWorkaround",
            "DocumentWorkaroundInput",
            json!({ "key": key, "workaround": "w" }),
        ),
        (
            "linkProblemIncident",
            "ProblemIncidentInput",
            json!({ "key": key, "incident": "INC-1" }),
        ),
        (
            "unlinkProblemIncident",
            "ProblemIncidentInput",
            json!({ "key": key, "incident": "INC-1" }),
        ),
        (
            "linkFixChange",
            "LinkFixChangeInput",
            json!({ "key": key, "change": "CHG-1" }),
        ),
        (
            "resolveProblem",
            "ResolveProblemInput",
            json!({ "key": key, "resolution": "r" }),
        ),
        ("closeProblem", "ProblemKeyInput", json!({ "key": key })),
        (
            "reopenProblem",
            "ReopenProblemInput",
            json!({ "key": key, "reason": "r" }),
        ),
        (
            "cancelProblem",
            "CancelProblemInput",
            json!({ "key": key, "reason": "r" }),
        ),
    ];
    for (op, input_type, input) in attempts {
        for role in [Role::Requester, Role::ChangeManager, Role::Auditor] {
            refused(&desk, role, op, input_type, input.clone(), "FORBIDDEN").await;
        }
    }
    // Still only recorded.
    let read = call(
        &desk,
        Role::ServiceManager,
        "startProblemInvestigation",
        "StartProblemInvestigationInput",
        json!({ "key": key, "group": "mail-team" }),
    )
    .await;
    let node = problem(&read, "startProblemInvestigation");
    let events: Vec<&str> = node["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|item| item["eventType"].as_str())
        .collect();
    assert_eq!(events, ["ProblemRecorded", "ProblemInvestigationStarted"]);
}
