//! Subscriptions over websocket (graphql-transport-ws).

use async_graphql::{Context, SimpleObject, Subscription};
use futures_util::Stream;
use itsm_eventstore::{Envelope, EventStore};

use crate::auth::require;
use crate::query::state;
use crate::scalar::Position;

#[derive(Default)]
pub struct LedgerSubscriptions;

/// One ledger event as the auditor's feed shows it.
#[derive(SimpleObject, Clone)]
pub struct FeedEvent {
    pub position: Position,
    pub stream: String,
    pub version: Position,
    pub event_type: String,
    pub actor: String,
    pub recorded_at: String,
    /// The BLAKE3 hash that chains this event to the one before.
    pub hash: String,
}

impl From<&Envelope> for FeedEvent {
    fn from(envelope: &Envelope) -> Self {
        Self {
            position: Position(envelope.position),
            stream: envelope.stream_id.as_str().to_owned(),
            version: Position(envelope.version),
            event_type: envelope.event_type.clone(),
            actor: envelope.metadata.actor.clone(),
            recorded_at: envelope.metadata.recorded_at.to_rfc3339(),
            hash: envelope.hash.to_string(),
        }
    }
}

#[Subscription]
impl LedgerSubscriptions {
    /// Every ledger event from `fromPosition` (default: the next one) on: catch-up, then live.
    #[allow(
        clippy::unused_async,
        reason = "async-graphql subscription fields are async fns"
    )]
    async fn event_feed(
        &self,
        ctx: &Context<'_>,
        from_position: Option<Position>,
    ) -> async_graphql::Result<impl Stream<Item = FeedEvent>> {
        require(ctx, "eventFeed")?;
        let store = state(ctx).store.clone();
        let from = from_position.map_or_else(|| store.head() + 1, |Position(p)| p.max(1));
        let subscription = store.subscribe_all(from);
        Ok(futures_util::stream::unfold(
            subscription,
            |mut subscription| async move {
                match subscription.next().await {
                    Ok(envelope) => Some((FeedEvent::from(&envelope), subscription)),
                    Err(error) => {
                        // The store closed (shutdown): the feed ends.
                        tracing::info!(%error, "event feed ended");
                        None
                    }
                }
            },
        ))
    }
}
