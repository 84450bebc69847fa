//! A graphql-transport-ws client on `tokio-tungstenite`: `connection_init` with the bearer
//! token, one `subscribe`, then its `next` messages.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the server sent for the subscription.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A `next` message: its payload (`data` and/or `errors`).
    Next(Value),
    /// An `error` message: its payload (a list of errors).
    Error(Value),
    /// `complete`: the subscription ended.
    Complete,
}

/// One subscription on its own connection.
pub struct Subscription {
    socket: Socket,
}

async fn receive(socket: &mut Socket, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??;
        match message.ok()? {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(text.as_str()).ok()?;
                if value["type"] == "ping" {
                    let pong = json!({"type": "pong"}).to_string();
                    socket.send(Message::text(pong)).await.ok()?;
                    continue;
                }
                return Some(value);
            }
            Message::Close(_) => return None,
            Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }
}

impl Subscription {
    /// Connects to `ws://<address>/graphql/ws`, authenticates with `token` in the
    /// `connection_init` payload, waits for `connection_ack` and subscribes. `Err` holds what
    /// the server answered instead of an ack (or why the connection failed).
    pub async fn start(
        address: SocketAddr,
        token: &str,
        query: &str,
        variables: Value,
    ) -> Result<Subscription, String> {
        let mut request = format!("ws://{address}/graphql/ws")
            .into_client_request()
            .map_err(|e| e.to_string())?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (mut socket, _response) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| format!("websocket connect: {e}"))?;
        let init = json!({
            "type": "connection_init",
            "payload": {"Authorization": format!("Bearer {token}")},
        });
        socket
            .send(Message::text(init.to_string()))
            .await
            .map_err(|e| e.to_string())?;
        match receive(&mut socket, Duration::from_secs(10)).await {
            Some(message) if message["type"] == "connection_ack" => {}
            other => return Err(format!("no connection_ack: {other:?}")),
        }
        let subscribe = json!({
            "id": "1",
            "type": "subscribe",
            "payload": {"query": query, "variables": variables},
        });
        socket
            .send(Message::text(subscribe.to_string()))
            .await
            .map_err(|e| e.to_string())?;
        Ok(Subscription { socket })
    }

    /// The next message for the subscription within `within`, or `None` when nothing came
    /// (or the connection closed).
    pub async fn next(&mut self, within: Duration) -> Option<Event> {
        let message = receive(&mut self.socket, within).await?;
        match message["type"].as_str() {
            Some("next") => Some(Event::Next(message["payload"].clone())),
            Some("error") => Some(Event::Error(message["payload"].clone())),
            Some("complete") => Some(Event::Complete),
            _ => Some(Event::Error(message)),
        }
    }

    /// The `data` of the next `next` message within `within`; panics on anything else.
    pub async fn next_data(&mut self, within: Duration) -> Value {
        match self.next(within).await {
            Some(Event::Next(payload)) if payload.get("errors").is_none() => {
                payload["data"].clone()
            }
            other => panic!("expected subscription data within {within:?}, got {other:?}"),
        }
    }

    /// Waits (bounded) for the first `next` data for which `wanted` holds, skipping others.
    pub async fn wait_for(&mut self, within: Duration, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let data = self.next_data(left).await;
            if wanted(&data) {
                return data;
            }
        }
    }

    /// The error code the subscription was refused with (from an `error` message or a `next`
    /// carrying errors), or `None` if it delivered data, completed or stayed silent.
    pub async fn refusal(&mut self, within: Duration) -> Option<String> {
        let errors = match self.next(within).await? {
            Event::Next(payload) => payload.get("errors")?.clone(),
            Event::Error(errors) => errors,
            Event::Complete => return None,
        };
        errors
            .get(0)
            .and_then(|error| error["extensions"]["code"].as_str())
            .map(str::to_owned)
    }

    pub async fn close(mut self) {
        let _closed = self.socket.close(None).await;
    }
}
