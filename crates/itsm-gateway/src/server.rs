//! The HTTP surface: `POST /graphql`, `GraphiQL` at `GET /graphql`, subscriptions at
//! `GET /graphql/ws`, `GET /healthz`.

use std::sync::Arc;

use async_graphql::Data;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use itsm_eventstore::EventStore;
use tower_http::limit::RequestBodyLimitLayer;

use crate::auth::Tokens;
use crate::error::ApiError;
use crate::schema::{DeskSchema, build_schema};
use crate::state::AppState;

#[derive(Clone)]
struct Server {
    schema: DeskSchema,
    state: AppState,
}

/// The bearer token of an `Authorization` header value, if it is one.
fn bearer(value: &str) -> Option<&str> {
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

/// A response holding one GraphQL error with its code (no data).
fn refusal(error: ApiError) -> Response {
    let error: async_graphql::Error = error.into();
    let response = async_graphql::Response::from_errors(vec![
        error.into_server_error(async_graphql::Pos::default()),
    ]);
    GraphQLResponse::from(response).into_response()
}

async fn graphql(
    State(server): State<Server>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    let mut request = request.into_inner();
    if let Some(header) = headers.get(AUTHORIZATION) {
        let principal = header
            .to_str()
            .ok()
            .and_then(bearer)
            .and_then(|token| server.state.tokens.verify(token));
        match principal {
            Some(principal) => request = request.data(principal),
            None => return refusal(ApiError::Unauthenticated),
        }
    }
    GraphQLResponse::from(server.schema.execute(request).await).into_response()
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
fn connection_init(tokens: &Tokens, payload: &serde_json::Value) -> async_graphql::Result<Data> {
    let header = payload
        .get("Authorization")
        .or_else(|| payload.get("authorization"))
        .and_then(serde_json::Value::as_str);
    let principal = header
        .and_then(bearer)
        .and_then(|token| tokens.verify(token))
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
            let tokens = Arc::clone(&server.state.tokens);
            GraphQLWebSocket::new(socket, server.schema, protocol)
                .on_connection_init(move |payload| {
                    let data = connection_init(&tokens, &payload);
                    async move { data }
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

/// The whole HTTP application for `state`.
pub fn app(state: AppState) -> Router {
    let schema = build_schema(state.clone());
    let body_limit = state.limits.max_body_bytes;
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(subscriptions))
        .route("/healthz", get(healthz))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .with_state(Server { schema, state })
}
