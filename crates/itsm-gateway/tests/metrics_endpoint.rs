//! `GET /metrics` through the router: Prometheus text with request counts by operation type and
//! outcome, errors by code, the latency histogram, the ledger head and the projection lag.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use itsm_eventstore::EventStore;
use itsm_kernel::Role;
use serde_json::json;
use support::TestDesk;
use tower::ServiceExt;

async fn scrape(desk: &TestDesk) -> (StatusCode, String, String) {
    let response = desk
        .router
        .clone()
        .oneshot(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answers");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (
        status,
        content_type,
        String::from_utf8(bytes.to_vec()).expect("UTF-8"),
    )
}

/// The value of the sample named exactly `series` (name with labels), if it is a whole number.
fn sample(text: &str, series: &str) -> Option<u64> {
    raw_sample(text, series)?.parse().ok()
}

fn raw_sample<'a>(text: &'a str, series: &str) -> Option<&'a str> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_errors_latency_and_the_ledger() {
    let desk = TestDesk::new().await.with_catalog().await;
    let (status, content_type, before) = scrape(&desk).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    assert_eq!(
        sample(
            &before,
            "ledgerdesk_requests_total{operation=\"query\",outcome=\"ok\"}"
        ),
        Some(0)
    );

    // Two queries that succeed, a mutation that is forbidden, one that succeeds, a bad request.
    desk.gql(Role::Agent, "{ me { user } }", json!({})).await;
    desk.gql(Role::Auditor, "query Who { me { role } }", json!({}))
        .await;
    let log = r#"mutation { logIncident(input: { title: "VPN down", description: "", service: "email",
        category: "network/vpn", impact: HIGH, urgency: HIGH }) { position } }"#;
    desk.gql(Role::Auditor, log, json!({})).await;
    let logged = desk.gql(Role::Agent, log, json!({})).await;
    assert_eq!(logged["errors"], serde_json::Value::Null, "{logged}");
    let position: u64 = logged["data"]["logIncident"]["position"]
        .as_str()
        .expect("position")
        .parse()
        .expect("number");
    desk.post(Some(Role::Agent), &json!({ "variables": {} }))
        .await;
    desk.state
        .runner
        .wait_for(position, std::time::Duration::from_secs(10))
        .await
        .expect("read models catch up");

    let (_, _, after) = scrape(&desk).await;
    let value =
        |series: &str| sample(&after, series).unwrap_or_else(|| panic!("no {series} in\n{after}"));
    assert_eq!(
        value("ledgerdesk_requests_total{operation=\"query\",outcome=\"ok\"}"),
        2
    );
    assert_eq!(
        value("ledgerdesk_requests_total{operation=\"mutation\",outcome=\"ok\"}"),
        1
    );
    assert_eq!(
        value("ledgerdesk_requests_total{operation=\"mutation\",outcome=\"error\"}"),
        1
    );
    assert_eq!(
        value("ledgerdesk_requests_total{operation=\"unknown\",outcome=\"error\"}"),
        1
    );
    assert_eq!(value("ledgerdesk_errors_total{code=\"FORBIDDEN\"}"), 1);
    assert_eq!(value("ledgerdesk_errors_total{code=\"VALIDATION\"}"), 1);
    assert_eq!(value("ledgerdesk_request_duration_seconds_count"), 5);
    assert_eq!(
        value("ledgerdesk_request_duration_seconds_bucket{le=\"+Inf\"}"),
        5
    );
    let sum: f64 = raw_sample(&after, "ledgerdesk_request_duration_seconds_sum")
        .and_then(|text| text.parse().ok())
        .expect("a latency sum");
    assert!(sum > 0.0, "{sum}");
    let head = desk.state.store.head();
    assert!(head >= position);
    assert_eq!(value("ledgerdesk_ledger_head"), head);
    let lag = value("ledgerdesk_projection_lag");
    assert_eq!(value("ledgerdesk_read_models_position") + lag, head);
    assert!(after.contains("# TYPE ledgerdesk_request_duration_seconds histogram"));
    assert!(after.contains("# TYPE ledgerdesk_requests_total counter"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_ledger_tokens_in_force() {
    let desk = TestDesk::new().await;
    let (_, _, before) = scrape(&desk).await;
    assert_eq!(sample(&before, "ledgerdesk_tokens_in_force"), Some(0));
    let issue =
        r#"mutation { issueToken(input: { name: "bot", user: "ci.bot", role: AGENT }) { name } }"#;
    let issued = desk.gql(Role::Admin, issue, json!({})).await;
    assert_eq!(issued["data"]["issueToken"]["name"], "bot", "{issued}");
    let (_, _, after) = scrape(&desk).await;
    assert_eq!(sample(&after, "ledgerdesk_tokens_in_force"), Some(1));
}
