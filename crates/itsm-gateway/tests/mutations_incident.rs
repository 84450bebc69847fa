//! Incident mutations through the router: each one's success path and its typical refusal.

mod support;

use itsm_app::desk::NewProblem;
use itsm_kernel::{Impact, Role, Urgency};
use serde_json::{Value, json};
use support::{TestDesk, actor, error_code};

const INCIDENT: &str =
    "key status priority requester assignedGroup assignedAgent timeline { eventType actor }";

/// Runs `op(input: $input)` with an `input` of GraphQL type `input_type` as `role`.
async fn call(desk: &TestDesk, role: Role, op: &str, input_type: &str, input: Value) -> Value {
    let query = format!(
        "mutation($input: {input_type}!) {{ {op}(input: $input) {{ position incident {{ {INCIDENT} }} }} }}"
    );
    desk.gql(role, &query, json!({ "input": input })).await
}

/// The incident of a successful mutation `op`; fails the test on any error.
fn incident<'a>(response: &'a Value, op: &str) -> &'a Value {
    assert_eq!(response["errors"], Value::Null, "{op}: {response}");
    assert!(
        response["data"][op]["position"].as_str().is_some(),
        "{op} answers a position: {response}"
    );
    &response["data"][op]["incident"]
}

/// The event types of an incident's timeline, oldest first.
fn events(incident: &Value) -> Vec<String> {
    incident["timeline"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["eventType"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Logs an incident for `requester` as an agent; returns its key.
async fn log_for(desk: &TestDesk, requester: &str) -> String {
    let response = call(
        desk,
        Role::Agent,
        "logIncident",
        "LogIncidentInput",
        json!({
            "title": "Outlook cannot connect",
            "description": "Since 9:00.",
            "service": "email",
            "category": "email/connectivity",
            "impact": "MEDIUM",
            "urgency": "MEDIUM",
            "requester": requester,
        }),
    )
    .await;
    incident(&response, "logIncident")["key"]
        .as_str()
        .expect("key")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_works_an_incident_through_its_lifecycle() {
    let desk = TestDesk::new().await.with_catalog().await;
    let key = log_for(&desk, "requester.user").await;

    // assignIncident
    let assigned = call(
        &desk,
        Role::Agent,
        "assignIncident",
        "AssignIncidentInput",
        json!({ "key": key, "group": "service-desk", "agent": "agent.user" }),
    )
    .await;
    let node = incident(&assigned, "assignIncident");
    assert_eq!(node["assignedGroup"], "service-desk");
    assert_eq!(node["assignedAgent"], "agent.user");
    assert!(events(node).contains(&"IncidentAssigned".to_owned()));
    let nothing = call(
        &desk,
        Role::Agent,
        "assignIncident",
        "AssignIncidentInput",
        json!({ "key": key }),
    )
    .await;
    assert_eq!(error_code(&nothing), Some("VALIDATION"), "{nothing}");
    let bad_group = call(
        &desk,
        Role::Agent,
        "assignIncident",
        "AssignIncidentInput",
        json!({ "key": key, "group": "" }),
    )
    .await;
    assert_eq!(error_code(&bad_group), Some("VALIDATION"), "{bad_group}");

    // startWorkOnIncident
    let started = call(
        &desk,
        Role::Agent,
        "startWorkOnIncident",
        "IncidentKeyInput",
        json!({ "key": key }),
    )
    .await;
    assert!(
        events(incident(&started, "startWorkOnIncident"))
            .contains(&"IncidentWorkStarted".to_owned())
    );
    let again = call(
        &desk,
        Role::Agent,
        "startWorkOnIncident",
        "IncidentKeyInput",
        json!({ "key": key }),
    )
    .await;
    assert_eq!(error_code(&again), Some("INVALID_TRANSITION"), "{again}");

    // putIncidentOnHold
    let held = call(
        &desk,
        Role::Agent,
        "putIncidentOnHold",
        "PutIncidentOnHoldInput",
        json!({ "key": key, "reason": "AWAITING_CUSTOMER" }),
    )
    .await;
    assert!(events(incident(&held, "putIncidentOnHold")).contains(&"IncidentPutOnHold".to_owned()));
    let held_again = call(
        &desk,
        Role::Agent,
        "putIncidentOnHold",
        "PutIncidentOnHoldInput",
        json!({ "key": key, "reason": "AWAITING_VENDOR" }),
    )
    .await;
    assert_eq!(
        error_code(&held_again),
        Some("INVALID_TRANSITION"),
        "{held_again}"
    );

    // resumeIncident
    let resumed = call(
        &desk,
        Role::Agent,
        "resumeIncident",
        "IncidentKeyInput",
        json!({ "key": key }),
    )
    .await;
    assert!(events(incident(&resumed, "resumeIncident")).contains(&"IncidentResumed".to_owned()));
    let resumed_again = call(
        &desk,
        Role::Agent,
        "resumeIncident",
        "IncidentKeyInput",
        json!({ "key": key }),
    )
    .await;
    assert_eq!(
        error_code(&resumed_again),
        Some("INVALID_TRANSITION"),
        "{resumed_again}"
    );

    // escalateIncident: functional, then hierarchical
    let functional = call(
        &desk,
        Role::Agent,
        "escalateIncident",
        "EscalateIncidentInput",
        json!({ "key": key, "to": { "group": "tier-2" }, "reason": "needs the mail team" }),
    )
    .await;
    let node = incident(&functional, "escalateIncident");
    assert_eq!(node["assignedGroup"], "tier-2");
    assert!(events(node).contains(&"IncidentEscalatedFunctionally".to_owned()));
    let hierarchical = call(
        &desk,
        Role::Agent,
        "escalateIncident",
        "EscalateIncidentInput",
        json!({ "key": key, "to": { "manager": "mail.manager" }, "reason": "VIP waiting" }),
    )
    .await;
    let node = incident(&hierarchical, "escalateIncident");
    assert_eq!(
        node["assignedGroup"], "tier-2",
        "a hierarchical escalation keeps the group"
    );
    assert!(events(node).contains(&"IncidentEscalatedHierarchically".to_owned()));
    let same_group = call(
        &desk,
        Role::Agent,
        "escalateIncident",
        "EscalateIncidentInput",
        json!({ "key": key, "to": { "group": "tier-2" }, "reason": "again" }),
    )
    .await;
    assert_eq!(error_code(&same_group), Some("VALIDATION"), "{same_group}");

    // The target names exactly one of group and manager.
    let both = call(
        &desk,
        Role::Agent,
        "escalateIncident",
        "EscalateIncidentInput",
        json!({ "key": key, "to": { "group": "tier-3", "manager": "boss" }, "reason": "both" }),
    )
    .await;
    assert_eq!(error_code(&both), Some("VALIDATION"), "{both}");

    // reprioritizeIncident
    let reprioritized = call(
        &desk,
        Role::Agent,
        "reprioritizeIncident",
        "ReprioritizeIncidentInput",
        json!({ "key": key, "impact": "HIGH", "urgency": "HIGH", "reason": "whole floor" }),
    )
    .await;
    let node = incident(&reprioritized, "reprioritizeIncident");
    assert_eq!(node["priority"], "P1");
    assert!(events(node).contains(&"IncidentReprioritized".to_owned()));
    let unchanged = call(
        &desk,
        Role::Agent,
        "reprioritizeIncident",
        "ReprioritizeIncidentInput",
        json!({ "key": key, "impact": "HIGH", "urgency": "HIGH", "reason": "again" }),
    )
    .await;
    assert_eq!(error_code(&unchanged), Some("CONFLICT"), "{unchanged}");

    // resolveIncident
    let resolved = call(
        &desk,
        Role::Agent,
        "resolveIncident",
        "ResolveIncidentInput",
        json!({ "key": key, "code": "FIXED", "notes": "profile rebuilt" }),
    )
    .await;
    assert!(
        events(incident(&resolved, "resolveIncident")).contains(&"IncidentResolved".to_owned())
    );
    let resolved_again = call(
        &desk,
        Role::Agent,
        "resolveIncident",
        "ResolveIncidentInput",
        json!({ "key": key, "code": "FIXED", "notes": "again" }),
    )
    .await;
    assert_eq!(
        error_code(&resolved_again),
        Some("INVALID_TRANSITION"),
        "{resolved_again}"
    );

    // reopenIncident
    let reopened = call(
        &desk,
        Role::Agent,
        "reopenIncident",
        "ReopenIncidentInput",
        json!({ "key": key, "reason": "it is back" }),
    )
    .await;
    assert!(events(incident(&reopened, "reopenIncident")).contains(&"IncidentReopened".to_owned()));
    let reopened_again = call(
        &desk,
        Role::Agent,
        "reopenIncident",
        "ReopenIncidentInput",
        json!({ "key": key, "reason": "still open" }),
    )
    .await;
    assert_eq!(
        error_code(&reopened_again),
        Some("INVALID_TRANSITION"),
        "{reopened_again}"
    );

    // cancelIncident
    let cancelled = call(
        &desk,
        Role::Agent,
        "cancelIncident",
        "CancelIncidentInput",
        json!({ "key": key, "reason": "duplicate of another ticket" }),
    )
    .await;
    assert!(
        events(incident(&cancelled, "cancelIncident")).contains(&"IncidentCancelled".to_owned())
    );
    let cancelled_again = call(
        &desk,
        Role::Agent,
        "cancelIncident",
        "CancelIncidentInput",
        json!({ "key": key, "reason": "again" }),
    )
    .await;
    assert_eq!(
        error_code(&cancelled_again),
        Some("INVALID_TRANSITION"),
        "{cancelled_again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_work_is_refused_to_requesters_and_auditors() {
    let desk = TestDesk::new().await.with_catalog().await;
    let key = log_for(&desk, "requester.user").await;
    let attempts = [
        (
            "assignIncident",
            "AssignIncidentInput",
            json!({ "key": key, "group": "g" }),
        ),
        (
            "startWorkOnIncident",
            "IncidentKeyInput",
            json!({ "key": key }),
        ),
        (
            "putIncidentOnHold",
            "PutIncidentOnHoldInput",
            json!({ "key": key, "reason": "AWAITING_VENDOR" }),
        ),
        ("resumeIncident", "IncidentKeyInput", json!({ "key": key })),
        (
            "escalateIncident",
            "EscalateIncidentInput",
            json!({ "key": key, "to": { "group": "g" }, "reason": "r" }),
        ),
        (
            "reprioritizeIncident",
            "ReprioritizeIncidentInput",
            json!({ "key": key, "impact": "LOW", "urgency": "LOW", "reason": "r" }),
        ),
        (
            "resolveIncident",
            "ResolveIncidentInput",
            json!({ "key": key, "code": "FIXED", "notes": "n" }),
        ),
        (
            "reopenIncident",
            "ReopenIncidentInput",
            json!({ "key": key, "reason": "r" }),
        ),
        (
            "cancelIncident",
            "CancelIncidentInput",
            json!({ "key": key, "reason": "r" }),
        ),
        (
            "attachFileToIncident",
            "AttachFileToIncidentInput",
            json!({ "key": key, "name": "a.png", "contentHash": "blake3:00", "uri": "s3://a", "sizeBytes": "1" }),
        ),
        (
            "linkIncident",
            "LinkIncidentInput",
            json!({ "key": key, "target": { "problem": "PRB-1" } }),
        ),
        (
            "declareMajorIncident",
            "DeclareMajorIncidentInput",
            json!({ "key": key, "reason": "r" }),
        ),
        (
            "linkToMajorIncident",
            "LinkToMajorIncidentInput",
            json!({ "key": key, "parent": "INC-9" }),
        ),
    ];
    for (op, input_type, input) in attempts {
        for role in [Role::Requester, Role::Auditor, Role::ChangeManager] {
            let response = call(&desk, role, op, input_type, input.clone()).await;
            assert_eq!(
                error_code(&response),
                Some("FORBIDDEN"),
                "{op} as {role}: {response}"
            );
        }
    }
    // The incident is untouched: only its logging is on record.
    let read = desk
        .gql(
            Role::Agent,
            &format!("{{ incident(key: \"{key}\") {{ timeline {{ eventType }} }} }}"),
            json!({}),
        )
        .await;
    assert!(
        !events(&read["data"]["incident"])
            .iter()
            .any(|event| event != "IncidentLogged" && !event.starts_with("IncidentSla")),
        "{read}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_comments_confirms_and_rates_their_own_incident_only() {
    let desk = TestDesk::new().await.with_catalog().await;
    let own = log_for(&desk, "requester.user").await;
    let other = log_for(&desk, "someone.else").await;

    // commentOnIncident: public on their own; internal refused; someone else's does not exist.
    // The desk's internal note on their ticket stays out of the payload they get back.
    let note = call(
        &desk,
        Role::Agent,
        "commentOnIncident",
        "CommentOnIncidentInput",
        json!({ "key": own, "text": "Relay 2 is flapping.", "visibility": "INTERNAL" }),
    )
    .await;
    incident(&note, "commentOnIncident");
    let commented = call(
        &desk,
        Role::Requester,
        "commentOnIncident",
        "CommentOnIncidentInput",
        json!({ "key": own, "text": "It fails on my laptop too." }),
    )
    .await;
    let seen = events(incident(&commented, "commentOnIncident"));
    assert_eq!(
        seen.iter()
            .filter(|event| *event == "IncidentCommented")
            .count(),
        1,
        "the requester sees their own comment only: {commented}"
    );
    let internal = call(
        &desk,
        Role::Requester,
        "commentOnIncident",
        "CommentOnIncidentInput",
        json!({ "key": own, "text": "psst", "visibility": "INTERNAL" }),
    )
    .await;
    assert_eq!(error_code(&internal), Some("FORBIDDEN"), "{internal}");
    let elsewhere = call(
        &desk,
        Role::Requester,
        "commentOnIncident",
        "CommentOnIncidentInput",
        json!({ "key": other, "text": "me too" }),
    )
    .await;
    assert_eq!(error_code(&elsewhere), Some("NOT_FOUND"), "{elsewhere}");
    let agent_note = call(
        &desk,
        Role::Agent,
        "commentOnIncident",
        "CommentOnIncidentInput",
        json!({ "key": other, "text": "check the relay", "visibility": "INTERNAL" }),
    )
    .await;
    assert!(
        events(incident(&agent_note, "commentOnIncident"))
            .contains(&"IncidentCommented".to_owned())
    );

    // Both get resolved by the desk.
    for key in [&own, &other] {
        let resolved = call(
            &desk,
            Role::Agent,
            "resolveIncident",
            "ResolveIncidentInput",
            json!({ "key": key, "code": "WORKAROUND", "notes": "use webmail" }),
        )
        .await;
        incident(&resolved, "resolveIncident");
    }

    // rateIncident: their own, 1..5; not someone else's; not by an agent.
    let out_of_range = call(
        &desk,
        Role::Requester,
        "rateIncident",
        "RateIncidentInput",
        json!({ "key": own, "score": 7 }),
    )
    .await;
    assert_eq!(
        error_code(&out_of_range),
        Some("VALIDATION"),
        "{out_of_range}"
    );
    let rated = call(
        &desk,
        Role::Requester,
        "rateIncident",
        "RateIncidentInput",
        json!({ "key": own, "score": 4, "comment": "quick" }),
    )
    .await;
    assert!(events(incident(&rated, "rateIncident")).contains(&"IncidentRated".to_owned()));
    let rated_twice = call(
        &desk,
        Role::Requester,
        "rateIncident",
        "RateIncidentInput",
        json!({ "key": own, "score": 5 }),
    )
    .await;
    assert_eq!(error_code(&rated_twice), Some("CONFLICT"), "{rated_twice}");
    let not_theirs = call(
        &desk,
        Role::Requester,
        "rateIncident",
        "RateIncidentInput",
        json!({ "key": other, "score": 1 }),
    )
    .await;
    assert_eq!(error_code(&not_theirs), Some("NOT_FOUND"), "{not_theirs}");
    let by_agent = call(
        &desk,
        Role::Agent,
        "rateIncident",
        "RateIncidentInput",
        json!({ "key": other, "score": 5 }),
    )
    .await;
    assert_eq!(error_code(&by_agent), Some("FORBIDDEN"), "{by_agent}");

    // closeIncident: the requester confirms their own resolution; not someone else's.
    let not_theirs = call(
        &desk,
        Role::Requester,
        "closeIncident",
        "IncidentKeyInput",
        json!({ "key": other }),
    )
    .await;
    assert_eq!(error_code(&not_theirs), Some("NOT_FOUND"), "{not_theirs}");
    let closed = call(
        &desk,
        Role::Requester,
        "closeIncident",
        "IncidentKeyInput",
        json!({ "key": own }),
    )
    .await;
    assert!(events(incident(&closed, "closeIncident")).contains(&"IncidentClosed".to_owned()));
    let closed_again = call(
        &desk,
        Role::Agent,
        "closeIncident",
        "IncidentKeyInput",
        json!({ "key": own }),
    )
    .await;
    assert_eq!(
        error_code(&closed_again),
        Some("INVALID_TRANSITION"),
        "{closed_again}"
    );
    let unknown = call(
        &desk,
        Role::Requester,
        "closeIncident",
        "IncidentKeyInput",
        json!({ "key": "INC-99" }),
    )
    .await;
    assert_eq!(error_code(&unknown), Some("NOT_FOUND"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_links_and_major_incidents() {
    let desk = TestDesk::new().await.with_catalog().await;
    let major = log_for(&desk, "requester.user").await;
    let child = log_for(&desk, "someone.else").await;

    // attachFileToIncident
    let file = json!({
        "key": major,
        "name": "screenshot.png",
        "contentHash": "blake3:af1349b9",
        "uri": "s3://attachments/af1349b9",
        "sizeBytes": "5000000000",
    });
    let attached = call(
        &desk,
        Role::Agent,
        "attachFileToIncident",
        "AttachFileToIncidentInput",
        file.clone(),
    )
    .await;
    assert!(
        events(incident(&attached, "attachFileToIncident"))
            .contains(&"IncidentFileAttached".to_owned())
    );
    let twice = call(
        &desk,
        Role::Agent,
        "attachFileToIncident",
        "AttachFileToIncidentInput",
        file.clone(),
    )
    .await;
    assert_eq!(error_code(&twice), Some("CONFLICT"), "{twice}");
    let mut negative = file;
    negative["sizeBytes"] = json!("-1");
    let negative = call(
        &desk,
        Role::Agent,
        "attachFileToIncident",
        "AttachFileToIncidentInput",
        negative,
    )
    .await;
    assert_eq!(error_code(&negative), Some("VALIDATION"), "{negative}");

    // linkIncident: to an existing problem; an unknown change is not found.
    desk.state
        .desk
        .record_problem(
            NewProblem {
                title: "Mail relay drops connections".to_owned(),
                description: "Intermittent.".to_owned(),
                service: "email".parse().expect("id"),
                impact: Impact::Medium,
                urgency: Urgency::Medium,
            },
            &actor(Role::Agent),
        )
        .await
        .expect("problem recorded");
    let linked = call(
        &desk,
        Role::Agent,
        "linkIncident",
        "LinkIncidentInput",
        json!({ "key": major, "target": { "problem": "PRB-1" } }),
    )
    .await;
    assert!(events(incident(&linked, "linkIncident")).contains(&"IncidentLinked".to_owned()));
    let unknown = call(
        &desk,
        Role::Agent,
        "linkIncident",
        "LinkIncidentInput",
        json!({ "key": major, "target": { "change": "CHG-9" } }),
    )
    .await;
    assert_eq!(error_code(&unknown), Some("NOT_FOUND"), "{unknown}");
    let malformed = call(
        &desk,
        Role::Agent,
        "linkIncident",
        "LinkIncidentInput",
        json!({ "key": major, "target": { "change": "PRB-1" } }),
    )
    .await;
    assert_eq!(error_code(&malformed), Some("VALIDATION"), "{malformed}");

    let neither = call(
        &desk,
        Role::Agent,
        "linkIncident",
        "LinkIncidentInput",
        json!({ "key": major, "target": {} }),
    )
    .await;
    assert_eq!(error_code(&neither), Some("VALIDATION"), "{neither}");

    // declareMajorIncident
    let declared = call(
        &desk,
        Role::Agent,
        "declareMajorIncident",
        "DeclareMajorIncidentInput",
        json!({ "key": major, "reason": "whole company without mail" }),
    )
    .await;
    assert!(
        events(incident(&declared, "declareMajorIncident"))
            .contains(&"IncidentDeclaredMajor".to_owned())
    );
    let twice = call(
        &desk,
        Role::Agent,
        "declareMajorIncident",
        "DeclareMajorIncidentInput",
        json!({ "key": major, "reason": "again" }),
    )
    .await;
    assert_eq!(error_code(&twice), Some("CONFLICT"), "{twice}");

    // linkToMajorIncident
    let joined = call(
        &desk,
        Role::Agent,
        "linkToMajorIncident",
        "LinkToMajorIncidentInput",
        json!({ "key": child, "parent": major }),
    )
    .await;
    assert!(
        events(incident(&joined, "linkToMajorIncident"))
            .contains(&"IncidentLinkedToMajor".to_owned())
    );
    let no_parent = call(
        &desk,
        Role::Agent,
        "linkToMajorIncident",
        "LinkToMajorIncidentInput",
        json!({ "key": child, "parent": "INC-99" }),
    )
    .await;
    assert_eq!(error_code(&no_parent), Some("NOT_FOUND"), "{no_parent}");
    let own_parent = call(
        &desk,
        Role::Agent,
        "linkToMajorIncident",
        "LinkToMajorIncidentInput",
        json!({ "key": major, "parent": major }),
    )
    .await;
    assert_eq!(error_code(&own_parent), Some("VALIDATION"), "{own_parent}");
}
