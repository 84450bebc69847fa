//! A gateway around a real `SledStore` in a temporary directory, driven with
//! `tower::ServiceExt::oneshot` (no socket), with one token per role.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the support"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{TimeDelta, TimeZone, Utc};
use itsm_app::{ManualClock, ProcessConfig};
use itsm_catalog::Criticality;
use itsm_eventstore::{SledConfig, SledStore};
use itsm_gateway::{AppState, Limits, Principal, app, token_hash};
use itsm_kernel::{Actor, CustomerTier, Priority, Role, UserId};
use itsm_sla::{Calendar, HoldReason, SlaTargets};
use serde_json::{Value, json};
use tower::ServiceExt;

pub struct TestDesk {
    pub router: Router,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    _processes: itsm_app::ProcessHandle,
    _dir: tempfile::TempDir,
}

/// The token of each role's test user: `token-<role>`, user `<role>.user`.
pub fn token(role: Role) -> String {
    format!("token-{role}")
}

pub fn user(role: Role) -> UserId {
    UserId::new(format!("{role}.user")).expect("valid id")
}

pub fn actor(role: Role) -> Actor {
    Actor::user(user(role), role)
}

impl TestDesk {
    /// A desk at Monday 2026-01-05 09:00 UTC (manual clock) with one token per role.
    pub async fn new() -> Self {
        Self::with_limits(Limits::default()).await
    }

    pub async fn with_limits(limits: Limits) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = SledConfig {
            cache_capacity: 16 * 1024 * 1024,
            ..SledConfig::default()
        };
        let store = Arc::new(SledStore::open(dir.path(), &config).expect("store opens"));
        let start = Utc
            .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
            .single()
            .expect("valid date");
        let clock = Arc::new(ManualClock::new(start));
        let running = AppState::start(store, clock.clone(), limits, ProcessConfig::default())
            .await
            .expect("desk starts");
        for role in Role::ALL {
            running.state.tokens.insert(
                token_hash(&token(role)),
                Principal {
                    user: user(role),
                    role,
                    token_name: format!("{role} test token"),
                },
            );
        }
        Self {
            router: app(running.state.clone()),
            state: running.state,
            clock,
            _processes: running.processes,
            _dir: dir,
        }
    }

    /// Defines the `email` service, a 24x7 calendar and a P1..P5 standard policy (1h / 8h).
    pub async fn with_catalog(self) -> Self {
        let manager = actor(Role::ServiceManager);
        let desk = &self.state.desk;
        desk.define_calendar(
            "24x7".parse().expect("name"),
            Calendar::always_open(),
            &manager,
        )
        .await
        .expect("calendar");
        desk.define_service(
            "email".parse().expect("id"),
            "Corporate e-mail".to_owned(),
            "service-desk".parse().expect("id"),
            Criticality::High,
            &manager,
        )
        .await
        .expect("service");
        for priority in Priority::ALL {
            let targets = SlaTargets::new(
                TimeDelta::hours(1),
                TimeDelta::hours(8),
                80,
                BTreeSet::from([HoldReason::AwaitingCustomer]),
            )
            .expect("targets");
            desk.define_sla_policy(
                itsm_app::desk::NewSlaPolicy {
                    policy: format!("email-{}", priority.level()).parse().expect("name"),
                    service: "email".parse().expect("id"),
                    priority,
                    tier: CustomerTier::Standard,
                    targets,
                    calendar: "24x7".parse().expect("name"),
                    ola: BTreeMap::new(),
                },
                &manager,
            )
            .await
            .expect("policy");
        }
        self
    }

    /// POSTs a GraphQL request as `role` (or anonymously) and returns the HTTP status and JSON.
    pub async fn post(&self, role: Option<Role>, body: &Value) -> (StatusCode, Value) {
        let mut request = Request::post("/graphql").header("content-type", "application/json");
        if let Some(role) = role {
            request = request.header("authorization", format!("Bearer {}", token(role)));
        }
        let request = request.body(Body::from(body.to_string())).expect("request");
        self.send(request).await
    }

    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router answers");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!({ "raw": String::from_utf8_lossy(&bytes) }));
        (status, value)
    }

    /// Runs `query` with `variables` as `role`; returns the JSON response.
    pub async fn gql(&self, role: Role, query: &str, variables: Value) -> Value {
        self.post(
            Some(role),
            &json!({ "query": query, "variables": variables }),
        )
        .await
        .1
    }
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}
