//! Change mutations through the router: each one's success path and its typical refusal,
//! including how `approveChange` / `rejectChange` map onto CAB votes and a manager's decline.

mod support;

use chrono::{TimeZone, Utc};
use itsm_catalog::FreezeScope;
use itsm_kernel::Role;
use serde_json::{Value, json};
use support::{TestDesk, actor, error_code};

const CHANGE: &str = "key status scheduledFrom scheduledTo timeline { eventType actor }";

/// Runs `op(input: $input)` with an `input` of GraphQL type `input_type` as `role`.
async fn call(desk: &TestDesk, role: Role, op: &str, input_type: &str, input: Value) -> Value {
    let query = format!(
        "mutation($input: {input_type}!) {{ {op}(input: $input) {{ position change {{ {CHANGE} }} }} }}"
    );
    desk.gql(role, &query, json!({ "input": input })).await
}

/// The change of a successful mutation `op`; fails the test on any error.
fn change<'a>(response: &'a Value, op: &str) -> &'a Value {
    assert_eq!(response["errors"], Value::Null, "{op}: {response}");
    assert!(
        response["data"][op]["position"].as_str().is_some(),
        "{op} answers a position: {response}"
    );
    &response["data"][op]["change"]
}

/// The event types of a change's timeline, oldest first.
fn events(change: &Value) -> Vec<&str> {
    change["timeline"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["eventType"].as_str())
                .collect()
        })
        .unwrap_or_default()
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

fn raise_input(kind: &str) -> Value {
    json!({
        "kind": kind,
        "title": "Enlarge the TLS session cache",
        "description": "From 1k to 64k entries.",
        "service": "email",
        "impact": "MEDIUM",
        "likelihood": "LOW",
        "implementationPlan": "Edit the relay config, reload.",
        "backoutPlan": "Revert the config, reload.",
    })
}

/// Raises (as an agent) and submits a change of `kind`; returns its key.
async fn raise_and_submit(desk: &TestDesk, kind: &str) -> String {
    let raised = call(
        desk,
        Role::Agent,
        "raiseChange",
        "RaiseChangeInput",
        raise_input(kind),
    )
    .await;
    let key = change(&raised, "raiseChange")["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let submitted = call(
        desk,
        Role::Agent,
        "submitChange",
        "ChangeKeyInput",
        json!({ "key": key }),
    )
    .await;
    change(&submitted, "submitChange");
    key
}

/// Assesses `key` as the change manager with `cab` and quorum `required`.
async fn assess(desk: &TestDesk, key: &str, cab: &[&str], required: i32) -> Value {
    call(
        desk,
        Role::ChangeManager,
        "assessChange",
        "AssessChangeInput",
        json!({
            "key": key,
            "impact": "MEDIUM",
            "likelihood": "LOW",
            "notes": "Low risk, quick backout.",
            "cab": cab,
            "requiredApprovals": required,
        }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_change_goes_from_raise_to_close() {
    let desk = TestDesk::new().await.with_catalog().await;

    // raiseChange
    let mut standard = raise_input("STANDARD");
    refused(
        &desk,
        Role::Agent,
        "raiseChange",
        "RaiseChangeInput",
        standard.clone(),
        "VALIDATION",
    )
    .await;
    standard["template"] = json!("relay-reload");
    let raised = call(
        &desk,
        Role::Agent,
        "raiseChange",
        "RaiseChangeInput",
        standard,
    )
    .await;
    assert_eq!(events(change(&raised, "raiseChange")), ["ChangeRaised"]);
    let mut fax = raise_input("NORMAL");
    fax["service"] = json!("fax");
    refused(
        &desk,
        Role::Agent,
        "raiseChange",
        "RaiseChangeInput",
        fax,
        "NOT_FOUND",
    )
    .await;
    refused(
        &desk,
        Role::Requester,
        "raiseChange",
        "RaiseChangeInput",
        raise_input("NORMAL"),
        "FORBIDDEN",
    )
    .await;
    let key = raise_and_submit(&desk, "NORMAL").await;
    assert_eq!(key, "CHG-2");

    // assessChange
    let requester_on_cab = assess(&desk, &key, &["agent.user"], 1).await;
    assert_eq!(
        error_code(&requester_on_cab),
        Some("FORBIDDEN"),
        "{requester_on_cab}"
    );
    let bad_quorum = assess(&desk, &key, &["change_manager.user"], 2).await;
    assert_eq!(error_code(&bad_quorum), Some("VALIDATION"), "{bad_quorum}");
    refused(&desk, Role::Agent, "assessChange", "AssessChangeInput",
        json!({ "key": key, "impact": "LOW", "likelihood": "LOW", "notes": "n", "cab": ["admin.user"], "requiredApprovals": 1 }),
        "FORBIDDEN").await;
    let assessed = assess(&desk, &key, &["change_manager.user", "admin.user"], 2).await;
    assert_eq!(
        events(change(&assessed, "assessChange")).last(),
        Some(&"ChangeAssessed")
    );

    // approveChange: the caller's own vote, then a manager records a named member's vote.
    let own = call(
        &desk,
        Role::ChangeManager,
        "approveChange",
        "ApproveChangeInput",
        json!({ "key": key, "comment": "fine by me" }),
    )
    .await;
    let node = change(&own, "approveChange");
    assert_eq!(events(node).last(), Some(&"ChangeApprovalRecorded"));
    assert!(
        node["status"]
            .as_str()
            .expect("status")
            .contains("Assessed"),
        "{own}"
    );
    refused(
        &desk,
        Role::ChangeManager,
        "approveChange",
        "ApproveChangeInput",
        json!({ "key": key }),
        "CONFLICT",
    )
    .await;
    refused(
        &desk,
        Role::ChangeManager,
        "approveChange",
        "ApproveChangeInput",
        json!({ "key": key, "approver": "someone.else" }),
        "FORBIDDEN",
    )
    .await;
    let quorum = call(
        &desk,
        Role::ChangeManager,
        "approveChange",
        "ApproveChangeInput",
        json!({ "key": key, "approver": "admin.user", "comment": "by phone" }),
    )
    .await;
    let list = events(change(&quorum, "approveChange"));
    assert_eq!(
        &list[list.len() - 2..],
        ["ChangeApprovalRecorded", "ChangeAuthorized"]
    );

    // scheduleChange
    refused(
        &desk,
        Role::ChangeManager,
        "scheduleChange",
        "ScheduleChangeInput",
        json!({ "key": key, "from": "tomorrow", "to": "2026-01-06T12:00:00Z" }),
        "VALIDATION",
    )
    .await;
    refused(
        &desk,
        Role::ChangeManager,
        "scheduleChange",
        "ScheduleChangeInput",
        json!({ "key": key, "from": "2026-01-01T10:00:00Z", "to": "2026-01-01T12:00:00Z" }),
        "VALIDATION",
    )
    .await;
    desk.state
        .desk
        .define_freeze_window(
            "quarter-close".parse().expect("name"),
            FreezeScope::Global,
            (
                Utc.with_ymd_and_hms(2026, 1, 7, 0, 0, 0)
                    .single()
                    .expect("time"),
                Utc.with_ymd_and_hms(2026, 1, 8, 0, 0, 0)
                    .single()
                    .expect("time"),
            ),
            "quarter close".to_owned(),
            &actor(Role::ServiceManager),
        )
        .await
        .expect("freeze window");
    refused(
        &desk,
        Role::ChangeManager,
        "scheduleChange",
        "ScheduleChangeInput",
        json!({ "key": key, "from": "2026-01-07T10:00:00Z", "to": "2026-01-07T12:00:00Z" }),
        "INVALID_TRANSITION",
    )
    .await;
    let scheduled = call(
        &desk,
        Role::ChangeManager,
        "scheduleChange",
        "ScheduleChangeInput",
        json!({ "key": key, "from": "2026-01-06T11:00:00+01:00", "to": "2026-01-06T12:00:00Z" }),
    )
    .await;
    let node = change(&scheduled, "scheduleChange");
    assert_eq!(events(node).last(), Some(&"ChangeScheduled"));
    assert_eq!(node["scheduledFrom"], "2026-01-06T10:00:00+00:00");

    // rescheduleChange
    refused(
        &desk,
        Role::ChangeManager,
        "rescheduleChange",
        "RescheduleChangeInput",
        json!({ "key": key, "from": "2026-01-06T13:00:00Z", "to": "2026-01-06T13:00:00Z" }),
        "VALIDATION",
    )
    .await;
    let rescheduled = call(
        &desk,
        Role::ChangeManager,
        "rescheduleChange",
        "RescheduleChangeInput",
        json!({ "key": key, "from": "2026-01-06T13:00:00Z", "to": "2026-01-06T15:00:00Z" }),
    )
    .await;
    let node = change(&rescheduled, "rescheduleChange");
    assert_eq!(events(node).last(), Some(&"ChangeRescheduled"));
    assert_eq!(node["scheduledTo"], "2026-01-06T15:00:00+00:00");

    // startChangeImplementation: not before the slot.
    refused(
        &desk,
        Role::ChangeManager,
        "startChangeImplementation",
        "ChangeKeyInput",
        json!({ "key": key }),
        "INVALID_TRANSITION",
    )
    .await;
    desk.clock.set(
        Utc.with_ymd_and_hms(2026, 1, 6, 13, 5, 0)
            .single()
            .expect("time"),
    );
    refused(
        &desk,
        Role::Agent,
        "startChangeImplementation",
        "ChangeKeyInput",
        json!({ "key": key }),
        "FORBIDDEN",
    )
    .await;
    let started = call(
        &desk,
        Role::ChangeManager,
        "startChangeImplementation",
        "ChangeKeyInput",
        json!({ "key": key }),
    )
    .await;
    assert_eq!(
        events(change(&started, "startChangeImplementation")).last(),
        Some(&"ChangeImplementationStarted")
    );

    // completeChangeImplementation
    let completed = call(
        &desk,
        Role::ChangeManager,
        "completeChangeImplementation",
        "CompleteChangeImplementationInput",
        json!({ "key": key, "notes": "Reloaded at 13:20." }),
    )
    .await;
    assert_eq!(
        events(change(&completed, "completeChangeImplementation")).last(),
        Some(&"ChangeImplemented")
    );
    refused(
        &desk,
        Role::ChangeManager,
        "completeChangeImplementation",
        "CompleteChangeImplementationInput",
        json!({ "key": key, "notes": "again" }),
        "INVALID_TRANSITION",
    )
    .await;

    // reviewChange
    refused(
        &desk,
        Role::ChangeManager,
        "closeChange",
        "ChangeKeyInput",
        json!({ "key": key }),
        "INVALID_TRANSITION",
    )
    .await;
    let reviewed = call(
        &desk,
        Role::ChangeManager,
        "reviewChange",
        "ReviewChangeInput",
        json!({ "key": key, "outcome": "SUCCESSFUL", "notes": "No drops since." }),
    )
    .await;
    assert_eq!(
        events(change(&reviewed, "reviewChange")).last(),
        Some(&"ChangeReviewed")
    );
    refused(
        &desk,
        Role::ChangeManager,
        "reviewChange",
        "ReviewChangeInput",
        json!({ "key": key, "outcome": "SUCCESSFUL", "notes": "again" }),
        "INVALID_TRANSITION",
    )
    .await;

    // closeChange
    let closed = call(
        &desk,
        Role::ChangeManager,
        "closeChange",
        "ChangeKeyInput",
        json!({ "key": key }),
    )
    .await;
    assert_eq!(
        events(change(&closed, "closeChange")).last(),
        Some(&"ChangeClosed")
    );
    refused(
        &desk,
        Role::ChangeManager,
        "closeChange",
        "ChangeKeyInput",
        json!({ "key": key }),
        "INVALID_TRANSITION",
    )
    .await;

    // cancelChange: a closed change cannot be cancelled.
    refused(
        &desk,
        Role::ChangeManager,
        "cancelChange",
        "CancelChangeInput",
        json!({ "key": key, "reason": "too late" }),
        "INVALID_TRANSITION",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_change_is_a_veto_by_a_cab_member_or_a_managers_decline() {
    let desk = TestDesk::new().await.with_catalog().await;

    // A draft cannot be rejected yet.
    let raised = call(
        &desk,
        Role::Agent,
        "raiseChange",
        "RaiseChangeInput",
        raise_input("NORMAL"),
    )
    .await;
    let draft = change(&raised, "raiseChange")["key"]
        .as_str()
        .expect("key")
        .to_owned();
    refused(
        &desk,
        Role::ChangeManager,
        "rejectChange",
        "RejectChangeInput",
        json!({ "key": draft, "reason": "no" }),
        "INVALID_TRANSITION",
    )
    .await;

    // The caller sits on the CAB: their reject vote vetoes the change.
    let vetoed = raise_and_submit(&desk, "NORMAL").await;
    let assessed = assess(&desk, &vetoed, &["change_manager.user", "admin.user"], 1).await;
    change(&assessed, "assessChange");
    refused(
        &desk,
        Role::Agent,
        "rejectChange",
        "RejectChangeInput",
        json!({ "key": vetoed, "reason": "no" }),
        "FORBIDDEN",
    )
    .await;
    let veto = call(
        &desk,
        Role::ChangeManager,
        "rejectChange",
        "RejectChangeInput",
        json!({ "key": vetoed, "reason": "Backout untested." }),
    )
    .await;
    let node = change(&veto, "rejectChange");
    let list = events(node);
    assert_eq!(
        &list[list.len() - 2..],
        ["ChangeApprovalRecorded", "ChangeRejected"]
    );

    // A named member's reject vote, recorded by a change manager.
    let named = raise_and_submit(&desk, "EMERGENCY").await;
    change(
        &assess(&desk, &named, &["admin.user"], 1).await,
        "assessChange",
    );
    let vote = call(
        &desk,
        Role::ChangeManager,
        "rejectChange",
        "RejectChangeInput",
        json!({ "key": named, "reason": "Not now.", "approver": "admin.user" }),
    )
    .await;
    let list = events(change(&vote, "rejectChange"));
    assert_eq!(
        &list[list.len() - 2..],
        ["ChangeApprovalRecorded", "ChangeRejected"]
    );

    // The caller is not on the CAB: a change manager declines the change.
    let declined = raise_and_submit(&desk, "NORMAL").await;
    let decline = call(
        &desk,
        Role::ChangeManager,
        "rejectChange",
        "RejectChangeInput",
        json!({ "key": declined, "reason": "Duplicate of CHG-2." }),
    )
    .await;
    let list = events(change(&decline, "rejectChange"));
    assert_eq!(list.last(), Some(&"ChangeRejected"));
    assert!(!list.contains(&"ChangeApprovalRecorded"), "{decline}");
    refused(
        &desk,
        Role::ChangeManager,
        "rejectChange",
        "RejectChangeInput",
        json!({ "key": declined, "reason": "again" }),
        "INVALID_TRANSITION",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_change_overrides_a_freeze_fails_and_is_reviewed() {
    let desk = TestDesk::new().await.with_catalog().await;
    desk.state
        .desk
        .define_freeze_window(
            "quarter-close".parse().expect("name"),
            FreezeScope::Global,
            (
                Utc.with_ymd_and_hms(2026, 1, 7, 0, 0, 0)
                    .single()
                    .expect("time"),
                Utc.with_ymd_and_hms(2026, 1, 8, 0, 0, 0)
                    .single()
                    .expect("time"),
            ),
            "quarter close".to_owned(),
            &actor(Role::ServiceManager),
        )
        .await
        .expect("freeze window");
    let key = raise_and_submit(&desk, "EMERGENCY").await;
    change(
        &assess(&desk, &key, &["change_manager.user"], 1).await,
        "assessChange",
    );
    let approved = call(
        &desk,
        Role::ChangeManager,
        "approveChange",
        "ApproveChangeInput",
        json!({ "key": key }),
    )
    .await;
    assert_eq!(
        events(change(&approved, "approveChange")).last(),
        Some(&"ChangeAuthorized")
    );

    // failChange: only while implementing.
    refused(
        &desk,
        Role::ChangeManager,
        "failChange",
        "FailChangeInput",
        json!({ "key": key, "backoutPerformed": false, "notes": "n" }),
        "INVALID_TRANSITION",
    )
    .await;
    let scheduled = call(
        &desk,
        Role::ChangeManager,
        "scheduleChange",
        "ScheduleChangeInput",
        json!({ "key": key, "from": "2026-01-07T10:00:00Z", "to": "2026-01-07T11:00:00Z" }),
    )
    .await;
    assert_eq!(
        events(change(&scheduled, "scheduleChange")).last(),
        Some(&"ChangeScheduled")
    );
    desk.clock.set(
        Utc.with_ymd_and_hms(2026, 1, 7, 10, 0, 0)
            .single()
            .expect("time"),
    );
    let started = call(
        &desk,
        Role::ChangeManager,
        "startChangeImplementation",
        "ChangeKeyInput",
        json!({ "key": key }),
    )
    .await;
    change(&started, "startChangeImplementation");
    let failed = call(&desk, Role::ChangeManager, "failChange", "FailChangeInput",
        json!({ "key": key, "backoutPerformed": true, "notes": "Relay would not start; reverted." })).await;
    assert_eq!(
        events(change(&failed, "failChange")).last(),
        Some(&"ChangeFailed")
    );

    // A failed change is not reviewed as a success.
    refused(
        &desk,
        Role::ChangeManager,
        "reviewChange",
        "ReviewChangeInput",
        json!({ "key": key, "outcome": "SUCCESSFUL", "notes": "n" }),
        "VALIDATION",
    )
    .await;
    let reviewed = call(
        &desk,
        Role::ChangeManager,
        "reviewChange",
        "ReviewChangeInput",
        json!({ "key": key, "outcome": "UNSUCCESSFUL", "notes": "Test the backout first." }),
    )
    .await;
    assert_eq!(
        events(change(&reviewed, "reviewChange")).last(),
        Some(&"ChangeReviewed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_is_cancelled_by_its_requester_before_implementation() {
    let desk = TestDesk::new().await.with_catalog().await;
    let raised = call(
        &desk,
        Role::Agent,
        "raiseChange",
        "RaiseChangeInput",
        raise_input("NORMAL"),
    )
    .await;
    let key = change(&raised, "raiseChange")["key"]
        .as_str()
        .expect("key")
        .to_owned();
    refused(
        &desk,
        Role::Requester,
        "cancelChange",
        "CancelChangeInput",
        json!({ "key": key, "reason": "no longer needed" }),
        "FORBIDDEN",
    )
    .await;
    refused(
        &desk,
        Role::Agent,
        "cancelChange",
        "CancelChangeInput",
        json!({ "key": key, "reason": "" }),
        "VALIDATION",
    )
    .await;
    let cancelled = call(
        &desk,
        Role::Agent,
        "cancelChange",
        "CancelChangeInput",
        json!({ "key": key, "reason": "no longer needed" }),
    )
    .await;
    assert_eq!(
        events(change(&cancelled, "cancelChange")).last(),
        Some(&"ChangeCancelled")
    );
    refused(
        &desk,
        Role::Agent,
        "cancelChange",
        "CancelChangeInput",
        json!({ "key": key, "reason": "again" }),
        "INVALID_TRANSITION",
    )
    .await;
    // An unknown change.
    refused(
        &desk,
        Role::Agent,
        "cancelChange",
        "CancelChangeInput",
        json!({ "key": "CHG-9", "reason": "r" }),
        "NOT_FOUND",
    )
    .await;
}
