//! Hostile and broken requests against the real server: each gets its HTTP status and
//! `extensions.code`, writes nothing (the ledger head stays where it was), and the server keeps
//! serving afterwards.

use itsm_e2e::support::{Desk, Event, Role, email_service_with_an_incident, error_code, http};
use serde_json::{Value, json};

/// One server for the whole file, with a service, a policy and one incident to aim at.
async fn desk_with_an_incident() -> (Desk, String) {
    let desk = Desk::start().await;
    let key =
        email_service_with_an_incident(&desk, ("weekdays", "UTC", "00:00", "24:00"), (240, 960))
            .await;
    (desk, key)
}

/// Sends `body` as agent with `content_type`; returns (status, response JSON).
async fn raw(desk: &Desk, content_type: &str, body: &[u8]) -> (u16, Value) {
    let authorization = format!("Bearer {}", desk.token(Role::Agent));
    let response = desk
        .post(
            &[
                ("Content-Type", content_type),
                ("Authorization", &authorization),
            ],
            body,
        )
        .await;
    (response.status, response.json())
}

/// Checks that a refusal wrote nothing and the server still answers.
async fn unharmed(desk: &mut Desk, head: u64, what: &str) {
    assert_eq!(desk.ledger_head().await, head, "{what} wrote to the ledger");
    assert!(desk.server.is_running(), "{what} stopped the server");
    let me = desk
        .ok(Role::Agent, "{ me { ledgerHead } }", json!({}))
        .await;
    assert_eq!(
        me["me"]["ledgerHead"].as_str(),
        Some(head.to_string().as_str()),
        "after {what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_requests_get_their_codes_write_nothing_and_the_server_keeps_serving() {
    let (mut desk, key) = desk_with_an_incident().await;
    let head = desk.ledger_head().await;

    // Transport-level refusals: (what, content type, body, HTTP status, code).
    let big_title = "x".repeat(2 * 1024 * 1024);
    let oversized = json!({
        "query": "mutation($t: String!) { logIncident(input: {title: $t, description: \"d\", service: \"email\", category: \"c\", impact: LOW, urgency: LOW}) { position } }",
        "variables": {"t": big_title},
    })
    .to_string();
    let cases: [(&str, &str, &[u8], u16, &str); 5] = [
        (
            "malformed JSON",
            "application/json",
            b"{\"query\": \"{ me { user } }\"",
            400,
            "VALIDATION",
        ),
        (
            "a JSON array",
            "application/json",
            b"[1, 2, 3]",
            400,
            "VALIDATION",
        ),
        (
            "an empty query",
            "application/json",
            b"{\"query\": \"  \"}",
            400,
            "VALIDATION",
        ),
        (
            "a form body",
            "application/x-www-form-urlencoded",
            b"query=%7Bme%7D",
            400,
            "VALIDATION",
        ),
        (
            "a body over the limit",
            "application/json",
            oversized.as_bytes(),
            413,
            "LIMIT_EXCEEDED",
        ),
    ];
    for (what, content_type, body, status, code) in cases {
        let (got_status, response) = raw(&desk, content_type, body).await;
        assert_eq!(
            (got_status, error_code(&response).as_deref()),
            (status, Some(code)),
            "{what}: {response}"
        );
        assert!(response["data"].is_null(), "{what}: {response}");
        unharmed(&mut desk, head, what).await;
    }

    // GraphQL-level refusals: (what, document, variables, code).
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {} name {} }} }} }} }}",
        "{ ofType ".repeat(12),
        "}".repeat(12)
    );
    // Thousands of aliases of one field: shallow, but far over the complexity limit.
    let wide = format!(
        "{{ {} }}",
        (0..3000)
            .map(|i| format!("a{i}: me {{ user }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let log_incident =
        "mutation($input: LogIncidentInput!) { logIncident(input: $input) { position } }";
    let acknowledge =
        "mutation($key: ID!) { acknowledgeIncident(input: {key: $key}) { position } }";
    let resume = "mutation($key: ID!) { resumeIncident(input: {key: $key}) { position } }";
    let valid_input = json!({"title": "t", "description": "d", "service": "email",
                             "category": "c", "impact": "MEDIUM", "urgency": "MEDIUM"});
    let mut wrong_type = valid_input.clone();
    wrong_type["title"] = json!(42);
    let mut unknown_enum = valid_input.clone();
    unknown_enum["impact"] = json!("CATASTROPHIC");
    let mut missing_field = valid_input.clone();
    missing_field
        .as_object_mut()
        .expect("an object")
        .remove("service");
    let mut unknown_service = valid_input.clone();
    unknown_service["service"] = json!("no-such-service");
    let mut control_chars = valid_input.clone();
    control_chars["title"] = json!("bell\u{7}");
    let cases: Vec<(&str, String, Value, &str)> = vec![
        ("a query too deep", deep, json!({}), "LIMIT_EXCEEDED"),
        ("a query too complex", wide, json!({}), "LIMIT_EXCEEDED"),
        (
            "a syntax error",
            "{ me { user }".to_owned(),
            json!({}),
            "VALIDATION",
        ),
        (
            "an unknown field",
            "{ me { password } }".to_owned(),
            json!({}),
            "VALIDATION",
        ),
        (
            "a wrongly typed variable",
            log_incident.to_owned(),
            json!({"input": wrong_type}),
            "VALIDATION",
        ),
        (
            "an unknown enum value",
            log_incident.to_owned(),
            json!({"input": unknown_enum}),
            "VALIDATION",
        ),
        (
            "a missing required field",
            log_incident.to_owned(),
            json!({"input": missing_field}),
            "VALIDATION",
        ),
        (
            "an unknown service",
            log_incident.to_owned(),
            json!({"input": unknown_service}),
            "NOT_FOUND",
        ),
        (
            "a control character in a title",
            log_incident.to_owned(),
            json!({"input": control_chars}),
            "VALIDATION",
        ),
        (
            "a key of the wrong kind",
            acknowledge.to_owned(),
            json!({"key": "PRB-1"}),
            "VALIDATION",
        ),
        (
            "a key that is no key",
            acknowledge.to_owned(),
            json!({"key": "INC-one'; DROP TABLE"}),
            "VALIDATION",
        ),
        (
            "an incident that does not exist",
            acknowledge.to_owned(),
            json!({"key": "INC-999999"}),
            "NOT_FOUND",
        ),
        (
            "a position that is no number",
            "{ incident(key: \"INC-1\", asOf: \"yesterday\") { key } }".to_owned(),
            json!({}),
            "VALIDATION",
        ),
        (
            "a page larger than the limit",
            "{ incidents(first: 100000) { nodes { key } } }".to_owned(),
            json!({}),
            "LIMIT_EXCEEDED",
        ),
        (
            "resuming an incident that is not on hold",
            resume.to_owned(),
            json!({"key": key}),
            "INVALID_TRANSITION",
        ),
    ];
    for (what, document, variables, code) in cases {
        let body = json!({"query": document, "variables": variables}).to_string();
        let (status, response) = raw(&desk, "application/json", body.as_bytes()).await;
        assert_eq!(status, 200, "{what}: {response}");
        assert_eq!(
            error_code(&response).as_deref(),
            Some(code),
            "{what}: {response}"
        );
        unharmed(&mut desk, head, what).await;
    }

    // A transition the incident's state forbids, after a valid one.
    let acknowledged = desk
        .mutate(
            Role::Agent,
            "acknowledgeIncident",
            json!({"key": key}),
            "position",
        )
        .await;
    let head = desk.ledger_head().await;
    assert!(head >= itsm_e2e::support::position(&acknowledged["position"]));
    for (what, operation, input, code) in [
        (
            "acknowledging twice",
            "acknowledgeIncident",
            json!({"key": key}),
            "CONFLICT",
        ),
        (
            "closing an unresolved incident",
            "closeIncident",
            json!({"key": key}),
            "INVALID_TRANSITION",
        ),
        (
            "rating an unresolved incident",
            "rateIncident",
            json!({"key": key, "score": 5}),
            "INVALID_TRANSITION",
        ),
    ] {
        let role = if operation == "rateIncident" {
            Role::Requester
        } else {
            Role::Agent
        };
        assert_eq!(desk.refused(role, operation, input).await, code, "{what}");
        unharmed(&mut desk, head, what).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_over_its_rate_gets_429_and_others_are_not_affected() {
    let mut desk = Desk::start().await;
    let token = desk.issue_token(Role::Auditor, "flood", "flood").await;
    let authorization = format!("Bearer {token}");
    let body = json!({"query": "{ me { user } }"}).to_string();
    // The burst is 100 requests at 50 per second: 400 sent at once cannot all pass (that would
    // take them more than six seconds), however slow the machine.
    let requests: Vec<_> = (0..400)
        .map(|_| {
            let address = desk.address();
            let authorization = authorization.clone();
            let body = body.clone();
            tokio::spawn(async move {
                // So many connections at once may see a reset under load (the listener's
                // queue); that is the socket, not the server: try again, a few times.
                let mut attempts = 0;
                loop {
                    let answer = http::request(
                        address,
                        "POST",
                        "/graphql",
                        &[
                            ("Content-Type", "application/json"),
                            ("Authorization", &authorization),
                        ],
                        Some(body.as_bytes()),
                    )
                    .await;
                    attempts += 1;
                    match answer {
                        Ok(response) => return response,
                        Err(_) if attempts < 5 => {}
                        Err(error) => panic!("the server does not answer: {error}"),
                    }
                }
            })
        })
        .collect();
    let mut limited = None;
    let mut served = 0;
    for request in requests {
        let response = request.await.expect("the request task");
        match response.status {
            200 => served += 1,
            429 => limited = Some(response),
            other => panic!("status {other}: {}", response.text()),
        }
    }
    assert!(served >= 100, "the burst is served: {served}");
    let limited = limited.expect("the rate limit never applied");
    assert_eq!(
        error_code(&limited.json()).as_deref(),
        Some("LIMIT_EXCEEDED")
    );
    assert!(
        limited.header("Retry-After").is_some(),
        "429 says when to retry"
    );
    // Other tokens have their own budget.
    let head = desk.ledger_head().await;
    unharmed(&mut desk, head, "a flood of requests").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_subscriptions_are_refused_and_the_server_keeps_serving() {
    let (mut desk, key) = desk_with_an_incident().await;
    let head = desk.ledger_head().await;
    for (what, document, variables, code) in [
        (
            "a key that is no ticket key",
            "subscription($key: ID!) { ticketEvents(key: $key) { eventType } }",
            json!({"key": "ABC-1"}),
            Some("VALIDATION"),
        ),
        (
            "a syntax error",
            "subscription { eventFeed { position }",
            json!({}),
            Some("VALIDATION"),
        ),
        (
            "a wrongly typed variable",
            "subscription($from: Position) { eventFeed(fromPosition: $from) { position } }",
            json!({"from": "minus one"}),
            Some("VALIDATION"),
        ),
        (
            "a role that may not follow the feed",
            "subscription { eventFeed { position } }",
            json!({}),
            Some("FORBIDDEN"),
        ),
    ] {
        let mut subscription = desk.subscribe(Role::Agent, document, variables).await;
        let event = subscription.next(itsm_e2e::support::WAIT).await;
        subscription.close().await;
        let errors = match &event {
            Some(Event::Next(payload)) if payload["data"].is_null() => payload["errors"].clone(),
            Some(Event::Error(errors)) => errors.clone(),
            other => panic!("{what}: expected a refusal, got {other:?}"),
        };
        let got = errors[0]["extensions"]["code"].as_str();
        assert!(
            errors[0]["message"].is_string(),
            "{what}: an error with a message: {errors}"
        );
        assert_eq!(got, code, "{what}: {errors}");
        unharmed(&mut desk, head, what).await;
    }
    // The connection itself: an unknown token gets no acknowledgement.
    let refused = itsm_e2e::support::Subscription::start(
        desk.address(),
        "forged",
        "subscription { slaAlerts { alert } }",
        json!({}),
    )
    .await;
    assert!(refused.is_err(), "a forged token subscribed");
    unharmed(&mut desk, head, "a forged websocket token").await;
    // And a valid subscription still works afterwards.
    let mut events = desk
        .subscribe(
            Role::Agent,
            "subscription($key: ID!) { ticketEvents(key: $key, fromPosition: \"1\") { eventType } }",
            json!({"key": key}),
        )
        .await;
    let first = events.next_data(itsm_e2e::support::WAIT).await;
    assert_eq!(
        first["ticketEvents"]["eventType"].as_str(),
        Some("IncidentLogged")
    );
    events.close().await;
}
