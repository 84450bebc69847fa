//! The HTTP surface: `POST /graphql`, `GraphiQL` at `GET /graphql`, subscriptions at
//! `GET /graphql/ws`, `GET /healthz`, `GET /metrics` (Prometheus text).
//!
//! Every refusal is a GraphQL error with `extensions.code`, never a crash, and nothing is
//! written before a request passed all checks:
//!
//! | check | code | HTTP status |
//! |---|---|---|
//! | body larger than `Limits::max_body_bytes` | `LIMIT_EXCEEDED` | 413 |
//! | content type not `application/json`, malformed JSON, no query | `VALIDATION` | 400 |
//! | unknown, revoked or expired bearer token | `UNAUTHENTICATED` | 200 |
//! | more than the token's rate (`Limits::rate_per_second`, `rate_burst`; all anonymous requests share one bucket) | `LIMIT_EXCEEDED` | 429 |
//! | query too deep or too complex | `LIMIT_EXCEEDED` | 200 |
//! | any other parse or validation error (wrongly typed variables, unknown fields) | `VALIDATION` | 200 |
//!
//! The last two come from async-graphql without a code; [`with_codes`] adds one to every error
//! that lacks it (resolver errors always have one: they leave through `ApiError`).

use std::sync::Arc;
use std::time::Instant;

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{Data, ErrorExtensionValues, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLResponse, GraphQLWebSocket};
use axum::Router;
use axum::body::Body;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use itsm_eventstore::EventStore;
use tower_http::limit::RequestBodyLimitLayer;

use crate::auth::{Principal, token_hash};
use crate::documents::Documents;
use crate::error::ApiError;
use crate::metrics::Gauges;
use crate::schema::{DeskSchema, build_schema};
use crate::state::AppState;

/// The rate-limit bucket all requests without a token share (no BLAKE3 output is all zeros in
/// practice).
const ANONYMOUS: [u8; 32] = [0; 32];

#[derive(Clone)]
struct Server {
    schema: DeskSchema,
    state: AppState,
    documents: Arc<Documents>,
}

/// The bearer token of an `Authorization` header value, if it is one.
fn bearer(value: &str) -> Option<&str> {
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

/// A JSON response with `status` holding one GraphQL error with its code (no data).
fn refusal(status: StatusCode, error: ApiError) -> Response {
    let error: async_graphql::Error = error.into();
    let mut error = error.into_server_error(async_graphql::Pos::default());
    // No position in a query: the request never got that far.
    error.locations.clear();
    let response = async_graphql::Response::from_errors(vec![error]);
    let body = serde_json::to_vec(&response).unwrap_or_default();
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}

/// The code async-graphql's own errors get: its depth and complexity refusals are limits,
/// everything else it reports (syntax, unknown fields, wrongly typed variables) is input.
fn code_for(message: &str) -> &'static str {
    if message.starts_with("Query is nested too deep")
        || message.starts_with("Query is too complex")
    {
        "LIMIT_EXCEEDED"
    } else {
        "VALIDATION"
    }
}

/// Gives every error without `extensions.code` one (see [`code_for`]).
fn with_codes(mut response: async_graphql::Response) -> async_graphql::Response {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|extensions| extensions.get("code").is_some());
        if !has_code {
            let code = code_for(&error.message);
            error
                .extensions
                .get_or_insert_with(ErrorExtensionValues::default)
                .set("code", code);
        }
    }
    response
}

/// The schema as the websocket handler runs it: every subscription response (its parse and
/// validation errors included) gets codes too, since websocket requests never pass through the
/// HTTP handler. A wrapper, not a schema extension: with any extension registered,
/// async-graphql resolves every field through the extension chain (a registry lookup and a
/// boxed future per field and list item), which took about 40 % of the server's CPU time on a
/// queue page (docs/PERFORMANCE.md, "HTTP load (loadgen)").
#[derive(Clone)]
struct CodedSchema(DeskSchema);

impl async_graphql::Executor for CodedSchema {
    async fn execute(&self, request: async_graphql::Request) -> async_graphql::Response {
        with_codes(self.0.execute(request).await)
    }

    fn execute_stream(
        &self,
        request: async_graphql::Request,
        session_data: Option<Arc<Data>>,
    ) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
        use futures_util::StreamExt;
        self.0
            .execute_stream_with_session_data(request, session_data.unwrap_or_default())
            .map(with_codes)
            .boxed()
    }
}

fn codes(errors: &[ServerError]) -> Vec<String> {
    errors
        .iter()
        .map(|error| {
            match error
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get("code"))
            {
                Some(async_graphql::Value::String(code)) => code.clone(),
                _ => "OTHER".to_owned(),
            }
        })
        .collect()
}

/// The type of the operation a request runs (`unknown` when the query does not parse or names
/// no operation of the document); for the metrics only. The parsed document stays in the
/// request, so the schema does not parse the query a second time (parsing was about 5 % of
/// the server's CPU time under a `logIncident` load, see docs/PERFORMANCE.md).
fn operation_type(request: &mut async_graphql::Request) -> &'static str {
    let operation_name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return "unknown";
    };
    let operation = match (&document.operations, operation_name.as_deref()) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations
            .iter()
            .find(|(candidate, _)| candidate.as_str() == name)
            .map(|(_, operation)| operation),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next()
        }
        (DocumentOperations::Multiple(_), None) => None,
    };
    match operation.map(|operation| operation.node.ty) {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "unknown",
    }
}

/// Whether the request says it carries JSON (`application/json`, any parameters).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

async fn graphql(State(server): State<Server>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let (operation, response) = handle(&server, &headers, body).await;
    let codes = match &response {
        Handled::Executed(response) => codes(&response.errors),
        Handled::Refused(_, error) | Handled::Limited(_, error) => vec![error.code().to_owned()],
    };
    server.state.metrics.record(
        operation,
        started.elapsed(),
        codes.iter().map(String::as_str),
    );
    match response {
        Handled::Executed(response) => GraphQLResponse::from(response).into_response(),
        Handled::Refused(status, error) => refusal(status, error),
        Handled::Limited(wait, error) => {
            let mut response = refusal(StatusCode::TOO_MANY_REQUESTS, error);
            // Whole seconds, at least 1, at most a day.
            let seconds = wait.as_secs().saturating_add(1).min(86_400);
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
    }
}

enum Handled {
    Executed(async_graphql::Response),
    Refused(StatusCode, ApiError),
    /// Over the rate: 429 with `Retry-After`.
    Limited(std::time::Duration, ApiError),
}

async fn handle(server: &Server, headers: &HeaderMap, body: Body) -> (&'static str, Handled) {
    let refused = |status, error| ("unknown", Handled::Refused(status, error));
    if !is_json(headers) {
        return refused(
            StatusCode::BAD_REQUEST,
            ApiError::Validation("send the request as Content-Type: application/json".to_owned()),
        );
    }
    let limit = server.state.limits.max_body_bytes;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(error) if error.to_string().contains("length limit") => {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                ApiError::LimitExceeded(format!("the request body is larger than {limit} bytes")),
            );
        }
        Err(error) => {
            return refused(
                StatusCode::BAD_REQUEST,
                ApiError::Validation(format!("the request body could not be read: {error}")),
            );
        }
    };
    // One request object; serde would also take a JSON array as the struct's fields.
    let is_object = bytes
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|first| *first == b'{');
    let parsed = if is_object {
        serde_json::from_slice(&bytes)
    } else {
        Err(serde::de::Error::custom("a JSON object is expected"))
    };
    let mut request: async_graphql::Request = match parsed {
        Ok(request) => request,
        Err(error) => {
            return refused(
                StatusCode::BAD_REQUEST,
                ApiError::Validation(format!("the body is not a GraphQL request: {error}")),
            );
        }
    };
    if request.query.trim().is_empty() {
        return refused(
            StatusCode::BAD_REQUEST,
            ApiError::Validation("the request has no query".to_owned()),
        );
    }
    server.documents.prepare(&mut request);
    let operation = operation_type(&mut request);
    if let Some(header) = headers.get(AUTHORIZATION) {
        let Some(token) = header.to_str().ok().and_then(bearer) else {
            return (
                operation,
                Handled::Refused(StatusCode::OK, ApiError::Unauthenticated),
            );
        };
        let hash = token_hash(token);
        let state = &server.state;
        let Some(principal) = state
            .tokens
            .authenticate(&*state.store, &hash, state.clock.now())
            .await
        else {
            return (
                operation,
                Handled::Refused(StatusCode::OK, ApiError::Unauthenticated),
            );
        };
        if let Err(wait) = state.rate.check(&hash, Instant::now()) {
            tracing::debug!(token = %principal.token_name, ?wait, "rate limit");
            return (
                operation,
                Handled::Limited(
                    wait,
                    ApiError::LimitExceeded(format!(
                        "token {} made more than {} requests per second (burst {})",
                        principal.token_name, state.limits.rate_per_second, state.limits.rate_burst
                    )),
                ),
            );
        }
        request = request.data(principal);
    } else if let Err(wait) = server.state.rate.check(&ANONYMOUS, Instant::now()) {
        // Anonymous callers can only introspect, but they share one bucket so that they
        // cannot flood the server either.
        tracing::debug!(?wait, "rate limit for anonymous requests");
        return (
            operation,
            Handled::Limited(
                wait,
                ApiError::LimitExceeded(format!(
                    "anonymous requests exceeded {} per second (burst {})",
                    server.state.limits.rate_per_second, server.state.limits.rate_burst
                )),
            ),
        );
    }
    let response = with_codes(server.schema.execute(request).await);
    (operation, Handled::Executed(response))
}

/// Turns the body-limit layer's plain-text 413 (sent before any handler ran, when
/// `Content-Length` is too large) into a GraphQL error.
async fn json_payload_too_large(State(server): State<Server>, response: Response) -> Response {
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE || is_json {
        return response;
    }
    server
        .state
        .metrics
        .record("unknown", std::time::Duration::ZERO, ["LIMIT_EXCEEDED"]);
    refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        ApiError::LimitExceeded(format!(
            "the request body is larger than {} bytes",
            server.state.limits.max_body_bytes
        )),
    )
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .finish(),
    )
}

/// Authenticates a websocket from its `connection_init` payload:
/// `{"Authorization": "Bearer <token>"}` (or `authorization`).
async fn connection_init(
    state: &AppState,
    payload: &serde_json::Value,
) -> async_graphql::Result<Data> {
    let token = payload
        .get("Authorization")
        .or_else(|| payload.get("authorization"))
        .and_then(serde_json::Value::as_str)
        .and_then(bearer)
        .ok_or(ApiError::Unauthenticated)?;
    let principal: Principal = state
        .tokens
        .authenticate(&*state.store, &token_hash(token), state.clock.now())
        .await
        .ok_or(ApiError::Unauthenticated)?;
    let mut data = Data::default();
    data.insert(principal);
    Ok(data)
}

async fn subscriptions(
    State(server): State<Server>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            let state = Arc::new(server.state.clone());
            GraphQLWebSocket::new(socket, CodedSchema(server.schema), protocol)
                .on_connection_init(move |payload| {
                    let state = Arc::clone(&state);
                    async move { connection_init(&state, &payload).await }
                })
                .serve()
        })
}

async fn healthz(State(server): State<Server>) -> impl IntoResponse {
    let head = server.state.store.head();
    let applied = server.state.runner.position();
    axum::Json(serde_json::json!({
        "status": "ok",
        "ledger_head": head.to_string(),
        "read_models_at": applied.to_string(),
    }))
}

/// Prometheus text exposition (unauthenticated, like `/healthz`: it holds counts, no data;
/// the server listens on 127.0.0.1 by default).
async fn metrics(State(server): State<Server>) -> impl IntoResponse {
    let state = &server.state;
    let gauges = Gauges {
        ledger_head: state.store.head(),
        read_models_position: state.runner.position(),
        tokens_in_force: state.tokens.in_force(state.clock.now()),
    };
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(gauges),
    )
}

/// The whole HTTP application for `state`.
pub fn app(state: AppState) -> Router {
    let schema = build_schema(state.clone());
    let body_limit = state.limits.max_body_bytes;
    let server = Server {
        schema,
        state,
        documents: Arc::default(),
    };
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(subscriptions))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(axum::middleware::map_response_with_state(
            server.clone(),
            json_payload_too_large,
        ))
        .with_state(server)
}

/// Serves [`app`] for `state` on `listener` until `shutdown` completes, then lets in-flight
/// requests finish. The binary calls this, so HTTP stays inside this crate.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
