//! Concurrency over HTTP: 32 clients, each with its own token, update the same incident at once
//! (internal notes and attachments, which are always valid together), several rounds each. No
//! update is lost: every acknowledged mutation is in the incident's stream exactly once at the
//! position it was acknowledged with, the stream's versions are consecutive, and the incident
//! view (folded from the stream) shows exactly the acknowledged notes and attachments.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use itsm_e2e::support::client::{
    ATTACH, COMMENT, Client, LOG_INCIDENT, attach_input, comment_input, incident_stream,
    log_incident_input, one_minute_catalog, payload_field,
};
use itsm_e2e::support::{Desk, Role, position};
use serde_json::{Value, json};
use tokio::sync::Barrier;

const CLIENTS: usize = 32;
/// Updates each client sends, one after the other.
const ROUNDS: usize = 4;

/// One client's rounds, all released at once by the barrier: (text, event type, position) of
/// each acknowledged update.
async fn update(
    client: Client,
    key: String,
    id: usize,
    start: Arc<Barrier>,
) -> Vec<(String, &'static str, u64)> {
    start.wait().await;
    let mut acknowledged = Vec::new();
    for round in 0..ROUNDS {
        let text = format!("client {id} round {round}");
        let (query, input, kind) = if (id + round).is_multiple_of(3) {
            let seed = u64::try_from(id * 100 + round).expect("small");
            (
                ATTACH,
                attach_input(&key, &text, seed),
                "IncidentFileAttached",
            )
        } else {
            (COMMENT, comment_input(&key, &text), "IncidentCommented")
        };
        let data = client.ok(query, input).await;
        let payload = data
            .as_object()
            .and_then(|data| data.values().next())
            .cloned()
            .unwrap_or_default();
        acknowledged.push((text, kind, position(&payload["position"])));
    }
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_clients_updating_one_incident_lose_nothing() {
    let desk = Desk::start().await;
    one_minute_catalog(&desk).await;
    let agent = Client::new(desk.address(), desk.token(Role::Agent));
    let logged = agent.ok(LOG_INCIDENT, log_incident_input("shared")).await;
    let key = logged["logIncident"]["incident"]["key"]
        .as_str()
        .expect("a key")
        .to_owned();
    let mut clients = Vec::new();
    for id in 0..CLIENTS {
        let token = desk
            .issue_token(Role::Agent, "alex", &format!("concurrent-{id}"))
            .await;
        clients.push(Client::new(desk.address(), &token));
    }

    let start = Arc::new(Barrier::new(CLIENTS));
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(id, client)| tokio::spawn(update(client, key.clone(), id, Arc::clone(&start))))
        .collect();
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.expect("a client task does not panic"));
    }
    assert_eq!(acknowledged.len(), CLIENTS * ROUNDS);
    let positions: BTreeSet<u64> = acknowledged.iter().map(|(_, _, at)| *at).collect();
    assert_eq!(
        positions.len(),
        acknowledged.len(),
        "two acknowledgements name one position"
    );

    let auditor = Client::new(desk.address(), desk.token(Role::Auditor));
    let stream = auditor.stream_events(&incident_stream(&key)).await;
    // The timers may add SLA warnings to the stream meanwhile: versions stay consecutive anyway.
    let versions: Vec<u64> = stream.iter().map(|e| position(&e["version"])).collect();
    let expected: Vec<u64> = (1..=u64::try_from(versions.len()).expect("fits")).collect();
    assert_eq!(
        versions, expected,
        "the stream's versions are not consecutive"
    );
    let positions_in_stream: Vec<u64> = stream.iter().map(|e| position(&e["position"])).collect();
    assert!(
        positions_in_stream.windows(2).all(|pair| pair[0] < pair[1]),
        "the stream's positions do not increase: {positions_in_stream:?}"
    );
    let by_position: BTreeMap<u64, &Value> = stream
        .iter()
        .map(|event| (position(&event["position"]), event))
        .collect();
    for (text, kind, at) in &acknowledged {
        let event = by_position
            .get(at)
            .unwrap_or_else(|| panic!("{text}: no event of the stream at {at}"));
        assert_eq!(event["eventType"].as_str(), Some(*kind), "{text}: {event}");
        let field = if *kind == "IncidentCommented" {
            "text"
        } else {
            "name"
        };
        assert_eq!(payload_field(event, field).as_deref(), Some(text.as_str()));
    }
    let stored: Vec<(String, &str)> = stream
        .iter()
        .filter_map(|event| match event["eventType"].as_str() {
            Some(kind @ "IncidentCommented") => Some((payload_field(event, "text")?, kind)),
            Some(kind @ "IncidentFileAttached") => Some((payload_field(event, "name")?, kind)),
            _ => None,
        })
        .collect();
    assert_eq!(
        stored.len(),
        acknowledged.len(),
        "the stream holds other updates than were acknowledged"
    );

    // The view is the serial fold of the stored events: exactly the acknowledged notes and
    // attachments, each once, and the stream's last version.
    let last = stream.last().expect("the stream has events");
    let data = auditor
        .ok(
            "query($key: ID!, $atLeast: Position) { incident(key: $key, atLeast: $atLeast) { comments { text } attachments { name } version position } }",
            json!({"key": key, "atLeast": last["position"]}),
        )
        .await;
    let view = &data["incident"];
    let shown = |field: &str, inner: &str| -> BTreeSet<String> {
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
    let wanted = |kind: &str| -> BTreeSet<String> {
        acknowledged
            .iter()
            .filter(|(_, k, _)| *k == kind)
            .map(|(text, _, _)| text.clone())
            .collect()
    };
    assert_eq!(
        view["comments"].as_array().map(Vec::len),
        Some(wanted("IncidentCommented").len())
    );
    assert_eq!(shown("comments", "text"), wanted("IncidentCommented"));
    assert_eq!(
        view["attachments"].as_array().map(Vec::len),
        Some(wanted("IncidentFileAttached").len())
    );
    assert_eq!(shown("attachments", "name"), wanted("IncidentFileAttached"));
    assert!(
        position(&view["version"]) >= position(&last["version"]),
        "the view is behind its stream: {view}"
    );

    let verified = auditor
        .ok("{ verifyLedger { ok firstBadPosition } }", json!({}))
        .await;
    assert_eq!(verified["verifyLedger"]["ok"], json!(true), "{verified}");
}
