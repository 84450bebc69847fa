//! Request limits through the router: body size, malformed requests, depth and complexity,
//! wrongly typed variables, and the per-token rate. Each refusal is a JSON GraphQL error with
//! `extensions.code`, and nothing is written.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use itsm_eventstore::EventStore;
use itsm_gateway::Limits;
use itsm_kernel::Role;
use serde_json::{Value, json};
use support::{TestDesk, error_code, token};
use tower::ServiceExt;

const LOG: &str = r"mutation($input: LogIncidentInput!) {
  logIncident(input: $input) { position }
}";

fn log_input() -> Value {
    json!({ "input": {
        "title": "Outlook cannot connect",
        "description": "Since 9:00.",
        "service": "email",
        "category": "email/connectivity",
        "impact": "MEDIUM",
        "urgency": "HIGH"
    }})
}

fn raw(content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut request =
        Request::post("/graphql").header("authorization", format!("Bearer {}", token(Role::Agent)));
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.body(body.into()).expect("request")
}

fn message(response: &Value) -> &str {
    response["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_refused_with_413_and_nothing_is_written() {
    let desk = TestDesk::with_limits(Limits {
        max_body_bytes: 2_048,
        ..Limits::default()
    })
    .await
    .with_catalog()
    .await;
    let head = desk.state.store.head();
    let mut input = log_input();
    input["input"]["description"] = json!("x".repeat(4_096));
    let (status, response) = desk
        .post(
            Some(Role::Agent),
            &json!({ "query": LOG, "variables": input }),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&response), Some("LIMIT_EXCEEDED"), "{response}");
    assert!(message(&response).contains("2048 bytes"));
    // Without a Content-Length (streamed), the same.
    let chunks = futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(format!(
            "{{\"query\": \"{{ me {{ user }} }}\", \"x\": \"{}",
            "y".repeat(3_000)
        )),
        Ok("\"}".to_owned()),
    ]);
    let (status, response) = desk
        .send(raw(Some("application/json"), Body::from_stream(chunks)))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&response), Some("LIMIT_EXCEEDED"), "{response}");
    assert_eq!(desk.state.store.head(), head, "nothing was written");
    // A small request still passes.
    let (status, small) = desk
        .post(
            Some(Role::Agent),
            &json!({ "query": LOG, "variables": log_input() }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(small["errors"], Value::Null, "{small}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_refused_with_400_validation() {
    let desk = TestDesk::new().await;
    let cases = [
        (
            Some("application/json"),
            "{ not json".to_owned(),
            "not a GraphQL request",
        ),
        (
            Some("application/json"),
            json!({ "variables": {} }).to_string(),
            "no query",
        ),
        (
            Some("application/json"),
            json!({ "query": "  " }).to_string(),
            "no query",
        ),
        (
            Some("application/json"),
            "[]".to_owned(),
            "not a GraphQL request",
        ),
        (
            Some("text/plain"),
            json!({ "query": "{ me { user } }" }).to_string(),
            "application/json",
        ),
        (
            None,
            json!({ "query": "{ me { user } }" }).to_string(),
            "application/json",
        ),
    ];
    for (content_type, body, says) in cases {
        let (status, response) = desk.send(raw(content_type, body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{content_type:?} {body}");
        assert_eq!(
            error_code(&response),
            Some("VALIDATION"),
            "{body}: {response}"
        );
        assert!(message(&response).contains(says), "{body}: {response}");
    }
    // A content type with parameters is still JSON.
    let (status, response) = desk
        .send(raw(
            Some("application/json; charset=utf-8"),
            json!({ "query": "{ me { user } }" }).to_string(),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response["data"]["me"]["user"], "agent.user", "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_too_deep_or_too_complex_are_limit_exceeded() {
    let desk = TestDesk::with_limits(Limits {
        max_depth: 3,
        max_complexity: 5,
        ..Limits::default()
    })
    .await;
    let deep = "{ __schema { types { fields { type { name } } } } }";
    let response = desk.gql(Role::Agent, deep, json!({})).await;
    assert_eq!(error_code(&response), Some("LIMIT_EXCEEDED"), "{response}");
    assert!(message(&response).contains("too deep"));
    let wide = "{ a: me { user role } b: me { user role } c: me { user role } }";
    let response = desk.gql(Role::Agent, wide, json!({})).await;
    assert_eq!(error_code(&response), Some("LIMIT_EXCEEDED"), "{response}");
    assert!(message(&response).contains("too complex"));
    let fine = desk.gql(Role::Agent, "{ me { user } }", json!({})).await;
    assert_eq!(fine["data"]["me"]["user"], "agent.user", "{fine}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrongly_typed_variables_and_unknown_fields_are_validation_errors() {
    let desk = TestDesk::new().await.with_catalog().await;
    let head = desk.state.store.head();
    let mut input = log_input();
    input["input"]["impact"] = json!(42);
    let response = desk.gql(Role::Agent, LOG, input).await;
    assert_eq!(error_code(&response), Some("VALIDATION"), "{response}");
    let response = desk.gql(Role::Agent, LOG, json!({})).await;
    assert_eq!(error_code(&response), Some("VALIDATION"), "{response}");
    let response = desk.gql(Role::Agent, "{ noSuchField }", json!({})).await;
    assert_eq!(error_code(&response), Some("VALIDATION"), "{response}");
    let response = desk.gql(Role::Agent, "{ me { user ", json!({})).await;
    assert_eq!(error_code(&response), Some("VALIDATION"), "{response}");
    assert_eq!(desk.state.store.head(), head, "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_has_its_own_request_rate() {
    // A burst of 3 and a refill so slow that none comes back during the test.
    let desk = TestDesk::with_limits(Limits {
        rate_per_second: 0.001,
        rate_burst: 3,
        ..Limits::default()
    })
    .await;
    let me = json!({ "query": "{ me { user } }" });
    for _ in 0..3 {
        let (status, response) = desk.post(Some(Role::Agent), &me).await;
        assert_eq!(status, StatusCode::OK, "{response}");
        assert_eq!(response["data"]["me"]["user"], "agent.user");
    }
    let (status, refused) = desk.post(Some(Role::Agent), &me).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&refused), Some("LIMIT_EXCEEDED"), "{refused}");
    assert!(message(&refused).contains("agent test token"), "{refused}");
    // The refusal says when to come back: about 1000 s at 0.001 requests per second.
    let response = desk
        .router
        .clone()
        .oneshot(raw(Some("application/json"), me.to_string()))
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("seconds");
    assert!((900..=1_001).contains(&retry_after), "{retry_after}");
    // Another token is not affected.
    let (status, other) = desk.post(Some(Role::Auditor), &me).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(other["data"]["me"]["user"], "auditor.user", "{other}");
    // Anonymous callers share one bucket.
    let typename = json!({ "query": "{ __typename }" });
    for _ in 0..3 {
        let (status, response) = desk.post(None, &typename).await;
        assert_eq!(status, StatusCode::OK, "{response}");
    }
    let (status, refused) = desk.post(None, &typename).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&refused), Some("LIMIT_EXCEEDED"), "{refused}");
}
