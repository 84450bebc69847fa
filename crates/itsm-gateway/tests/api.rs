//! The gateway through its router: mutations, queries, auth and error codes.

mod support;

use axum::http::StatusCode;
use itsm_kernel::Role;
use serde_json::json;
use support::{TestDesk, error_code};

const LOG: &str = r"mutation($input: LogIncidentInput!) {
  logIncident(input: $input) { position incident { key status priority requester timeline { eventType } } }
}";

fn log_input() -> serde_json::Value {
    json!({ "input": {
        "title": "Outlook cannot connect",
        "description": "Since 9:00.",
        "service": "email",
        "category": "email/connectivity",
        "impact": "MEDIUM",
        "urgency": "HIGH"
    }})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_logs_an_incident_and_reads_it_back() {
    let desk = TestDesk::new().await.with_catalog().await;
    let logged = desk.gql(Role::Requester, LOG, log_input()).await;
    assert_eq!(logged["errors"], serde_json::Value::Null, "{logged}");
    let incident = &logged["data"]["logIncident"]["incident"];
    assert_eq!(incident["key"], "INC-1");
    assert_eq!(incident["priority"], "P2");
    assert_eq!(incident["requester"], "requester.user");
    let position = logged["data"]["logIncident"]["position"]
        .as_str()
        .expect("position")
        .to_owned();

    let read = desk
        .gql(
            Role::Requester,
            "query($at: Position) { incident(key: \"INC-1\", atLeast: $at) { key status timeline { eventType actor } } }",
            json!({ "at": position }),
        )
        .await;
    assert_eq!(read["data"]["incident"]["key"], "INC-1", "{read}");
    assert_eq!(
        read["data"]["incident"]["timeline"][0]["eventType"],
        "IncidentLogged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_their_code() {
    let desk = TestDesk::new().await.with_catalog().await;
    // No token: the resolver needs one.
    let (status, anonymous) = desk
        .post(None, &json!({ "query": "{ me { user } }" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
    // A token nobody issued.
    let request = axum::http::Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", "Bearer forged")
        .body(axum::body::Body::from(
            json!({ "query": "{ __typename }" }).to_string(),
        ))
        .expect("request");
    assert_eq!(
        error_code(&desk.send(request).await.1),
        Some("UNAUTHENTICATED")
    );
    // The auditor writes nothing.
    assert_eq!(
        error_code(&desk.gql(Role::Auditor, LOG, log_input()).await),
        Some("FORBIDDEN")
    );
    // A malformed key.
    let bad_key = desk
        .gql(
            Role::Agent,
            "{ incident(key: \"INC-x\") { key } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&bad_key), Some("VALIDATION"));
    // An unknown service.
    let mut input = log_input();
    input["input"]["service"] = json!("fax");
    assert_eq!(
        error_code(&desk.gql(Role::Agent, LOG, input).await),
        Some("NOT_FOUND")
    );
    // Acknowledging twice is a duplicate.
    desk.gql(Role::Agent, LOG, log_input()).await;
    let ack = "mutation { acknowledgeIncident(input: { key: \"INC-1\" }) { position } }";
    assert_eq!(
        desk.gql(Role::Agent, ack, json!({})).await["errors"],
        serde_json::Value::Null
    );
    assert_eq!(
        error_code(&desk.gql(Role::Agent, ack, json!({})).await),
        Some("CONFLICT")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_does_not_see_other_peoples_incidents() {
    let desk = TestDesk::new().await.with_catalog().await;
    let mut input = log_input();
    input["input"]["requester"] = json!("someone.else");
    let logged = desk.gql(Role::Agent, LOG, input).await;
    assert_eq!(
        logged["data"]["logIncident"]["incident"]["key"], "INC-1",
        "{logged}"
    );
    let query = "{ incident(key: \"INC-1\") { key } }";
    assert_eq!(
        desk.gql(Role::Requester, query, json!({})).await["data"]["incident"],
        serde_json::Value::Null
    );
    assert_eq!(
        desk.gql(Role::Agent, query, json!({})).await["data"]["incident"]["key"],
        "INC-1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_file_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/schema.graphql");
    let sdl = itsm_gateway::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &sdl).expect("schema written");
    }
    let stored = std::fs::read_to_string(&path)
        .expect("schema/schema.graphql exists (UPDATE_SCHEMA=1 writes it)");
    assert!(
        stored == sdl,
        "schema/schema.graphql differs from the code's schema; run `make schema` and review the diff"
    );
}
