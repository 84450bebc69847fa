//! Subscriptions through the schema (`execute_stream` with the connection's principal, as the
//! websocket handler runs them), driven by desk commands. Each subscribes from the position
//! after the current head, so the event it waits for cannot be missed; the timeout only keeps
//! a broken subscription from hanging the test.

mod support;

use std::time::Duration;

use async_graphql::{Request, Variables};
use chrono::TimeDelta;
use futures_util::{Stream, StreamExt};
use itsm_app::desk::NewIncident;
use itsm_eventstore::EventStore;
use itsm_gateway::{Principal, build_schema};
use itsm_incident::{Channel, Visibility};
use itsm_kernel::{CustomerTier, Impact, IncidentKey, Role, Urgency, UserId};
use serde_json::{Value, json};
use support::{TestDesk, actor, user};

fn principal(role: Role) -> Principal {
    Principal {
        user: user(role),
        role,
        token_name: format!("{role} test token"),
    }
}

async fn log(desk: &TestDesk, requester: UserId) -> IncidentKey {
    desk.state
        .desk
        .log_incident(
            NewIncident {
                title: "VPN drops".to_owned(),
                description: "Every ten minutes".to_owned(),
                channel: Channel::Phone,
                requester,
                tier: CustomerTier::Standard,
                service: "email".parse().expect("id"),
                category: "network".parse().expect("name"),
                impact: Impact::Medium,
                urgency: Urgency::Medium,
            },
            &actor(Role::Agent),
        )
        .await
        .expect("logged")
        .0
}

/// Starts `query` as `role` from the position after the current head.
fn subscribe(
    desk: &TestDesk,
    role: Role,
    query: &str,
    mut variables: Value,
) -> impl Stream<Item = async_graphql::Response> + use<> {
    variables["from"] = json!((desk.state.store.head() + 1).to_string());
    let request = Request::new(query)
        .variables(Variables::from_json(variables))
        .data(principal(role));
    build_schema(desk.state.clone()).execute_stream(request)
}

async fn next(stream: &mut (impl Stream<Item = async_graphql::Response> + Unpin)) -> Value {
    let response = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an item arrives")
        .expect("the stream goes on");
    serde_json::to_value(&response).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_events_follow_one_ticket() {
    let desk = TestDesk::new().await.with_catalog().await;
    let mine = log(&desk, user(Role::Requester)).await;
    let other = log(&desk, "someone.else".parse().expect("id")).await;
    let query = "subscription($key: ID!, $from: Position) {
        ticketEvents(key: $key, fromPosition: $from) { key eventType actor summary }
    }";
    let mut events = Box::pin(subscribe(
        &desk,
        Role::Requester,
        query,
        json!({ "key": "INC-1" }),
    ));
    // An event on another ticket, and an internal note: a requester sees neither.
    desk.state
        .desk
        .comment(
            mine,
            "Looks like the relay".to_owned(),
            Visibility::Internal,
            &actor(Role::Agent),
        )
        .await
        .expect("internal note");
    desk.state
        .desk
        .acknowledge(other, &actor(Role::Agent))
        .await
        .expect("acknowledged");
    desk.state
        .desk
        .acknowledge(mine, &actor(Role::Agent))
        .await
        .expect("acknowledged");
    let item = next(&mut events).await;
    assert_eq!(item["errors"], Value::Null, "{item}");
    assert_eq!(item["data"]["ticketEvents"]["key"], "INC-1");
    assert_eq!(
        item["data"]["ticketEvents"]["eventType"],
        "IncidentAcknowledged"
    );

    // Staff see internal notes.
    let mut staff = Box::pin(subscribe(
        &desk,
        Role::Agent,
        query,
        json!({ "key": "INC-1" }),
    ));
    desk.state
        .desk
        .comment(
            mine,
            "Relay restarted".to_owned(),
            Visibility::Internal,
            &actor(Role::Agent),
        )
        .await
        .expect("internal note");
    let note = next(&mut staff).await;
    assert_eq!(
        note["data"]["ticketEvents"]["eventType"], "IncidentCommented",
        "{note}"
    );

    // Someone else's incident does not exist for a requester.
    let mut foreign = Box::pin(subscribe(
        &desk,
        Role::Requester,
        query,
        json!({ "key": "INC-2" }),
    ));
    let refused = next(&mut foreign).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_alerts_report_warnings_as_the_timer_raises_them() {
    let desk = TestDesk::new().await.with_catalog().await;
    log(&desk, user(Role::Requester)).await;
    let query = "subscription($from: Position) {
        slaAlerts(fromPosition: $from) { incident alert clock due }
    }";
    let mut alerts = Box::pin(subscribe(&desk, Role::Agent, query, json!({})));
    // The first-response target is 1h with a warning at 80%: 48 minutes.
    desk.clock.advance(TimeDelta::minutes(50));
    let item = next(&mut alerts).await;
    assert_eq!(item["errors"], Value::Null, "{item}");
    assert_eq!(
        item["data"]["slaAlerts"],
        json!({ "incident": "INC-1", "alert": "WARNING", "clock": "FIRST_RESPONSE",
                "due": "2026-01-05T10:00:00+00:00" })
    );

    let mut refused = Box::pin(subscribe(&desk, Role::Requester, query, json!({})));
    let refused = next(&mut refused).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_changed_emits_when_an_incident_enters_the_group() {
    let desk = TestDesk::new().await.with_catalog().await;
    let key = log(&desk, user(Role::Requester)).await;
    let other = log(&desk, user(Role::Requester)).await;
    let query = r#"subscription($from: Position) {
        queueChanged(group: "network", fromPosition: $from) {
          group incident eventType open items { key assignedGroup }
        }
    }"#;
    let mut changes = Box::pin(subscribe(&desk, Role::Agent, query, json!({})));
    // Not this group's business.
    desk.state
        .desk
        .acknowledge(other, &actor(Role::Agent))
        .await
        .expect("acknowledged");
    desk.state
        .desk
        .assign(
            key,
            Some("network".parse().expect("id")),
            None,
            &actor(Role::Agent),
        )
        .await
        .expect("assigned");
    let item = next(&mut changes).await;
    assert_eq!(item["errors"], Value::Null, "{item}");
    let change = &item["data"]["queueChanged"];
    assert_eq!(change["group"], "network");
    assert_eq!(change["incident"], "INC-1");
    assert_eq!(change["open"], 1);
    assert_eq!(
        change["items"],
        json!([{ "key": "INC-1", "assignedGroup": "network" }])
    );

    let mut refused = Box::pin(subscribe(&desk, Role::ChangeManager, query, json!({})));
    let refused = next(&mut refused).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_a_ticket_that_does_not_exist_is_not_found() {
    let desk = TestDesk::new().await.with_catalog().await;
    for key in ["INC-999", "CHG-999", "PRB-999"] {
        let mut stream = Box::pin(subscribe(
            &desk,
            Role::Agent,
            "subscription($key: ID!, $from: Position) { ticketEvents(key: $key, fromPosition: $from) { eventType } }",
            json!({"key": key}),
        ));
        let response = next(&mut stream).await;
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{key}: {response}"
        );
    }
}
