//! Tokens backed by the ledger: issued and revoked through GraphQL or the shell API, restored
//! at start, followed while running, refused when unknown, revoked or expired.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use chrono::TimeDelta;
use itsm_app::{Clock, ProcessConfig};
use itsm_eventstore::EventStore;
use itsm_gateway::{
    AppState, Limits, NewToken, app, bootstrap_actor, issue_token, revoke_token, token_hash,
};
use itsm_kernel::{Actor, Role, UserId};
use serde_json::{Value, json};
use support::{TestDesk, error_code};
use tower::ServiceExt;

const ISSUE: &str = r"mutation($input: IssueTokenInput!) {
  issueToken(input: $input) { token name user role expiresAt position }
}";

const REVOKE: &str = r"mutation($input: RevokeTokenInput!) {
  revokeToken(input: $input) { name position }
}";

const ME: &str = "{ me { user role tokenName } }";

fn issue_input(name: &str, role: &str, expires_at: Option<&str>) -> Value {
    json!({ "input": { "name": name, "user": "carol", "role": role, "expiresAt": expires_at } })
}

/// Runs `query` with a raw bearer token.
async fn as_token(desk: &TestDesk, token: &str, query: &str) -> Value {
    through(&desk.router, token, query).await
}

/// Runs `query` with a raw bearer token through `router`.
async fn through(router: &Router, token: &str, query: &str) -> Value {
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(json!({ "query": query }).to_string()))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("answers");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    serde_json::from_slice(&bytes).expect("JSON")
}

async fn issued_secret(
    desk: &TestDesk,
    name: &str,
    role: &str,
    expires_at: Option<&str>,
) -> String {
    let issued = desk
        .gql(Role::Admin, ISSUE, issue_input(name, role, expires_at))
        .await;
    assert_eq!(issued["errors"], Value::Null, "{issued}");
    issued["data"]["issueToken"]["token"]
        .as_str()
        .expect("the secret")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_issues_a_token_that_works_at_once() {
    let desk = TestDesk::new().await;
    let issued = desk
        .gql(
            Role::Admin,
            ISSUE,
            issue_input("carol-laptop", "AGENT", None),
        )
        .await;
    assert_eq!(issued["errors"], Value::Null, "{issued}");
    let payload = &issued["data"]["issueToken"];
    assert_eq!(payload["name"], "carol-laptop");
    assert_eq!(payload["user"], "carol");
    assert_eq!(payload["role"], "AGENT");
    assert_eq!(payload["expiresAt"], Value::Null);
    let secret = payload["token"].as_str().expect("secret");
    assert_eq!(secret.len(), 64);
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(payload["position"].as_str().is_some());

    let me = as_token(&desk, secret, ME).await;
    assert_eq!(me["data"]["me"]["user"], "carol", "{me}");
    assert_eq!(me["data"]["me"]["role"], "agent");
    assert_eq!(me["data"]["me"]["tokenName"], "carol-laptop");

    // Only the hash is in the ledger.
    let stream = desk
        .state
        .store
        .read_stream(&itsm_gateway::access_stream(), 1)
        .await
        .expect("access stream");
    assert_eq!(stream.len(), 1);
    assert_eq!(stream[0].event_type, "TokenIssued");
    let hash = token_hash(secret);
    assert!(
        stream[0].payload.windows(32).any(|w| w == hash),
        "the payload holds the hash"
    );
    assert!(
        !stream[0]
            .payload
            .windows(secret.len())
            .any(|w| w == secret.as_bytes()),
        "the payload never holds the secret"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_issue_and_revoke_tokens() {
    let desk = TestDesk::new().await;
    for role in Role::ALL.into_iter().filter(|role| *role != Role::Admin) {
        let refused = desk
            .gql(
                role,
                ISSUE,
                issue_input(&format!("by-{role}"), "ADMIN", None),
            )
            .await;
        assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{role}: {refused}");
        let refused = desk
            .gql(
                role,
                REVOKE,
                json!({ "input": { "name": "x", "reason": "r" } }),
            )
            .await;
        assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{role}: {refused}");
    }
    // Anonymous callers are not even asked.
    let (_, anonymous) = desk
        .post(
            None,
            &json!({ "query": ISSUE, "variables": issue_input("anon", "ADMIN", None) }),
        )
        .await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
    assert!(
        desk.state
            .store
            .read_stream(&itsm_gateway::access_stream(), 1)
            .await
            .expect("stream")
            .is_empty(),
        "nothing was written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_from_the_next_request_on() {
    let desk = TestDesk::new().await;
    let secret = issued_secret(&desk, "temp", "AUDITOR", None).await;
    assert_eq!(
        as_token(&desk, &secret, ME).await["data"]["me"]["role"],
        "auditor"
    );
    let revoked = desk
        .gql(
            Role::Admin,
            REVOKE,
            json!({ "input": { "name": "temp", "reason": "laptop lost" } }),
        )
        .await;
    assert_eq!(revoked["data"]["revokeToken"]["name"], "temp", "{revoked}");
    assert_eq!(
        error_code(&as_token(&desk, &secret, ME).await),
        Some("UNAUTHENTICATED")
    );
    // Twice is a conflict; an unknown name is not found; a reason is required.
    let again = desk
        .gql(
            Role::Admin,
            REVOKE,
            json!({ "input": { "name": "temp", "reason": "again" } }),
        )
        .await;
    assert_eq!(error_code(&again), Some("CONFLICT"));
    let unknown = desk
        .gql(
            Role::Admin,
            REVOKE,
            json!({ "input": { "name": "nobody", "reason": "r" } }),
        )
        .await;
    assert_eq!(error_code(&unknown), Some("NOT_FOUND"));
    let secret = issued_secret(&desk, "other", "AGENT", None).await;
    let no_reason = desk
        .gql(
            Role::Admin,
            REVOKE,
            json!({ "input": { "name": "other", "reason": " " } }),
        )
        .await;
    assert_eq!(error_code(&no_reason), Some("VALIDATION"));
    assert_eq!(
        as_token(&desk, &secret, ME).await["data"]["me"]["role"],
        "agent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expires_on_the_desk_clock() {
    let desk = TestDesk::new().await;
    // The desk's clock stands at 2026-01-05 09:00 UTC.
    let secret = issued_secret(
        &desk,
        "day-pass",
        "REQUESTER",
        Some("2026-01-05T10:00:00+00:00"),
    )
    .await;
    assert_eq!(
        as_token(&desk, &secret, ME).await["data"]["me"]["role"],
        "requester"
    );
    desk.clock.advance(TimeDelta::hours(1));
    assert_eq!(
        error_code(&as_token(&desk, &secret, ME).await),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_token_requests_are_refused_with_their_code() {
    let desk = TestDesk::new().await;
    let past = desk
        .gql(
            Role::Admin,
            ISSUE,
            issue_input("stale", "AGENT", Some("2026-01-05T08:00:00Z")),
        )
        .await;
    assert_eq!(error_code(&past), Some("VALIDATION"), "{past}");
    let garbled = desk
        .gql(
            Role::Admin,
            ISSUE,
            issue_input("stale", "AGENT", Some("tomorrow")),
        )
        .await;
    assert_eq!(error_code(&garbled), Some("VALIDATION"));
    let bad_name = desk
        .gql(Role::Admin, ISSUE, issue_input("two words", "AGENT", None))
        .await;
    assert_eq!(error_code(&bad_name), Some("VALIDATION"));
    issued_secret(&desk, "taken", "AGENT", None).await;
    let duplicate = desk
        .gql(Role::Admin, ISSUE, issue_input("taken", "ADMIN", None))
        .await;
    assert_eq!(error_code(&duplicate), Some("CONFLICT"));
    // A header that is not a bearer token, and a forged one.
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", "Basic YWxpY2U6c2VjcmV0")
        .body(Body::from(json!({ "query": ME }).to_string()))
        .expect("request");
    assert_eq!(
        error_code(&desk.send(request).await.1),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        error_code(&as_token(&desk, &"0".repeat(64), ME).await),
        Some("UNAUTHENTICATED")
    );
}

/// A desk started over a store already holding tokens knows them; one running follows tokens
/// issued and revoked by another writer (the CLI, another bus) without a request of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_restored_at_start_and_followed_while_running() {
    let desk = TestDesk::new().await;
    let bus = desk.state.desk.bus();
    // The first admin token is bootstrapped (no token in force yet), the next is by an admin.
    let first = issue_token(
        bus,
        NewToken {
            name: "first-admin".to_owned(),
            user: "root".to_owned(),
            role: Role::Admin,
            expires_at: None,
        },
        &bootstrap_actor(),
    )
    .await
    .expect("bootstrap");
    let refused = issue_token(
        bus,
        NewToken {
            name: "second-admin".to_owned(),
            user: "root".to_owned(),
            role: Role::Admin,
            expires_at: None,
        },
        &bootstrap_actor(),
    )
    .await
    .expect_err("bootstrap only while no token is in force");
    assert_eq!(refused.code(), "FORBIDDEN");
    let admin = Actor::user(UserId::new("root").expect("id"), Role::Admin);
    let second = issue_token(
        bus,
        NewToken {
            name: "ops".to_owned(),
            user: "olga".to_owned(),
            role: Role::ServiceManager,
            expires_at: None,
        },
        &admin,
    )
    .await
    .expect("issued by an admin");

    // A second desk over the same ledger restores both at start.
    let running = AppState::start(
        Arc::clone(&desk.state.store),
        desk.clock.clone(),
        Limits::default(),
        ProcessConfig::default(),
    )
    .await
    .expect("starts");
    let tokens = Arc::clone(&running.state.tokens);
    let now = desk.clock.now();
    assert_eq!(tokens.in_force(now), 2);
    assert_eq!(
        tokens.verify(&first.secret, now).map(|p| p.role),
        Some(Role::Admin)
    );
    let router = app(running.state.clone());
    assert_eq!(
        through(&router, &second.secret, ME).await["data"]["me"]["user"],
        "olga"
    );

    // Revoked elsewhere: the running desk's follower applies it.
    revoke_token(bus, "ops", "moved teams".to_owned(), &admin)
        .await
        .expect("revoked");
    tokio::time::timeout(Duration::from_secs(10), async {
        while tokens.version() < 3 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the follower applies the revocation");
    assert_eq!(
        error_code(&through(&router, &second.secret, ME).await),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(tokens.in_force(now), 1);
}
