//! Subscriptions over websocket (graphql-transport-ws). Each one follows the ledger with
//! `subscribe_all` (catch-up, then live, no gap and no duplicate) and checks the role table on
//! the connection's principal exactly like a query. `fromPosition` lets a client resume where
//! it stopped (and lets tests subscribe before they write).

use std::collections::BTreeSet;

use async_graphql::{Context, Enum, SimpleObject, Subscription};
use futures_util::Stream;
use itsm_app::stream;
use itsm_eventstore::{Envelope, EventStore, StreamId, Subscription as LedgerSubscription};
use itsm_incident::{IncidentEvent, Visibility};
use itsm_kernel::{ChangeKey, GroupId, IncidentKey, ProblemKey, Role};
use itsm_projections::views::{ChangeView, IncidentView};
use itsm_projections::{LedgerEvent, QueueFilter, QueueSelector, StreamKind, decode, views};

use crate::auth::require;
use crate::error::ApiError;
use crate::query::page::page_size;
use crate::query::queue::QueueItemNode;
use crate::query::state;
use crate::query::ticket::{ClockName, clock_name};
use crate::roles::Access;
use crate::scalar::Position;
use crate::state::AppState;
use crate::types::id;

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

/// One event of a ticket's stream.
#[derive(SimpleObject, Clone)]
pub struct TicketEvent {
    /// The ticket's key (`INC-42`, `PRB-7`, `CHG-3`).
    pub key: async_graphql::ID,
    pub position: Position,
    pub version: Position,
    pub event_type: String,
    pub actor: String,
    pub recorded_at: String,
    /// A sentence for people.
    pub summary: String,
}

/// A warning (the warning threshold of a clock passed) or a breach (its due time passed).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaAlertKind {
    Warning,
    Breach,
}

/// An SLA warning or breach as it is recorded.
#[derive(SimpleObject, Clone)]
pub struct SlaAlert {
    /// `INC-<n>`.
    pub incident: async_graphql::ID,
    pub alert: SlaAlertKind,
    pub clock: ClockName,
    /// The group of an OLA clock.
    pub group: Option<String>,
    pub due: String,
    pub position: Position,
    pub recorded_at: String,
}

/// A group's queue after an event touched it: its counts and first page.
#[derive(SimpleObject, Clone)]
pub struct QueueChange {
    pub group: String,
    /// The event that touched the queue.
    pub position: Position,
    /// The incident it concerned.
    pub incident: async_graphql::ID,
    pub event_type: String,
    pub open: i64,
    pub at_risk: i64,
    pub breached: i64,
    /// The most urgent items, as `queue(group:)` orders them.
    pub items: Vec<QueueItemNode>,
}

/// Where a subscription starts: `fromPosition`, or the next event.
fn start(state: &AppState, from_position: Option<Position>) -> u64 {
    from_position.map_or_else(|| state.store.head() + 1, |Position(p)| p.max(1))
}

/// Follows the ledger, mapping each envelope through `pick` (which may drop it and carries
/// some state along), until the store closes.
fn follow<T, C, F, Fut>(
    subscription: LedgerSubscription,
    context: C,
    pick: F,
) -> impl Stream<Item = T>
where
    F: Fn(Envelope, C) -> Fut,
    Fut: std::future::Future<Output = (Option<T>, C)>,
{
    futures_util::stream::unfold(
        (subscription, context, pick),
        |(mut subscription, mut context, pick)| async move {
            loop {
                match subscription.next().await {
                    Ok(envelope) => {
                        let (item, next) = pick(envelope, context).await;
                        context = next;
                        if let Some(item) = item {
                            return Some((item, (subscription, context, pick)));
                        }
                    }
                    Err(error) => {
                        tracing::info!(%error, "subscription ended");
                        return None;
                    }
                }
            }
        },
    )
}

/// The stream of a ticket key the caller may follow, or `NOT_FOUND` (also for a requester's
/// look at someone else's ticket, so its existence does not leak).
async fn ticket_stream(
    state: &AppState,
    key: &async_graphql::ID,
    user: &itsm_kernel::UserId,
    access: Access,
) -> Result<StreamId, ApiError> {
    let not_found = || ApiError::NotFound(format!("ticket {}", key.as_str()));
    let (stream, owner) = if let Ok(incident) = crate::types::key::<IncidentKey>(key) {
        let stream = stream::incident(incident);
        let envelopes = state.store.read_stream(&stream, 1).await?;
        let owner = IncidentView::from_envelopes(&envelopes)?.map(|v| v.incident.requester);
        (stream, owner)
    } else if let Ok(change) = crate::types::key::<ChangeKey>(key) {
        let stream = stream::change(change);
        let envelopes = state.store.read_stream(&stream, 1).await?;
        let owner = ChangeView::from_envelopes(&envelopes)?.map(|v| v.change.requested_by);
        (stream, owner)
    } else if let Ok(problem) = crate::types::key::<ProblemKey>(key) {
        let stream = stream::problem(problem);
        if state.store.read_stream(&stream, 1).await?.is_empty() {
            return Err(not_found());
        }
        // Problems are nobody's own tickets.
        if access == Access::Own {
            return Err(not_found());
        }
        return Ok(stream);
    } else {
        return Err(ApiError::Validation(format!(
            "{:?} is not a ticket key (INC-<n>, PRB-<n>, CHG-<n>)",
            key.as_str()
        )));
    };
    match owner {
        // A ticket that does not exist, or (for a requester) someone else's.
        None => Err(not_found()),
        Some(owner) if access == Access::Own && &owner != user => Err(not_found()),
        Some(_) => Ok(stream),
    }
}

/// The queue of `group` now: counts and the first `first` items.
fn queue_change(
    state: &AppState,
    group: &GroupId,
    first: usize,
    envelope: &Envelope,
    incident: IncidentKey,
) -> (QueueChange, BTreeSet<u64>) {
    let now = state.clock.now();
    let selector = QueueSelector::Group(group.clone());
    state.runner.read(|models| {
        let all = models
            .queues
            .queue(&selector, &QueueFilter::default(), now, None, usize::MAX);
        let members = all.items.iter().map(|item| item.key.number()).collect();
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let change = QueueChange {
            group: group.to_string(),
            position: Position(envelope.position),
            incident: async_graphql::ID(incident.to_string()),
            event_type: envelope.event_type.clone(),
            open: count(all.total),
            at_risk: count(all.items.iter().filter(|i| i.at_risk).count()),
            breached: count(all.items.iter().filter(|i| i.breached).count()),
            items: all
                .items
                .iter()
                .take(first)
                .map(QueueItemNode::from)
                .collect(),
        };
        (change, members)
    })
}

#[Subscription]
impl LedgerSubscriptions {
    /// The events of one ticket (`INC-`, `PRB-` or `CHG-` key) from `fromPosition` (default:
    /// the next event) on. Requesters may follow their own incidents and changes only, and do
    /// not see internal notes.
    #[allow(
        clippy::unused_async,
        reason = "async-graphql subscription fields are async fns"
    )]
    async fn ticket_events(
        &self,
        ctx: &Context<'_>,
        key: async_graphql::ID,
        from_position: Option<Position>,
    ) -> async_graphql::Result<impl Stream<Item = TicketEvent>> {
        let (principal, access) = require(ctx, "ticketEvents")?;
        let state = state(ctx);
        let stream = ticket_stream(state, &key, &principal.user, access).await?;
        let subscription = state.store.subscribe_all(start(state, from_position));
        let key = key.to_string();
        let internal_visible = principal.role != Role::Requester;
        Ok(follow(subscription, (), move |envelope: Envelope, ()| {
            let shown =
                envelope.stream_id == stream && (internal_visible || !is_internal_note(&envelope));
            let item = shown.then(|| TicketEvent {
                key: async_graphql::ID(key.clone()),
                position: Position(envelope.position),
                version: Position(envelope.version),
                event_type: envelope.event_type.clone(),
                actor: envelope.metadata.actor.clone(),
                recorded_at: envelope.metadata.recorded_at.to_rfc3339(),
                summary: decode(&envelope)
                    .ok()
                    .flatten()
                    .map(|event| views::summary(&event))
                    .unwrap_or_default(),
            });
            async move { (item, ()) }
        }))
    }

    /// SLA warnings and breaches as the SLA timer records them, from `fromPosition` (default:
    /// the next event) on.
    #[allow(
        clippy::unused_async,
        reason = "async-graphql subscription fields are async fns"
    )]
    async fn sla_alerts(
        &self,
        ctx: &Context<'_>,
        from_position: Option<Position>,
    ) -> async_graphql::Result<impl Stream<Item = SlaAlert>> {
        require(ctx, "slaAlerts")?;
        let state = state(ctx);
        let subscription = state.store.subscribe_all(start(state, from_position));
        Ok(follow(subscription, (), |envelope: Envelope, ()| {
            let item = sla_alert(&envelope);
            async move { (item, ()) }
        }))
    }

    /// A group's queue (counts and the first `first` items) each time an event touches it: an
    /// incident of the group changes, or one enters or leaves it. From `fromPosition` (default:
    /// the next event) on. Each item is read once the read models have applied its event, so
    /// live items show the queue right after it; events replayed from an older `fromPosition`
    /// show the queue as it is when they are sent.
    #[allow(
        clippy::unused_async,
        reason = "async-graphql subscription fields are async fns"
    )]
    async fn queue_changed(
        &self,
        ctx: &Context<'_>,
        group: String,
        first: Option<i32>,
        from_position: Option<Position>,
    ) -> async_graphql::Result<impl Stream<Item = QueueChange>> {
        require(ctx, "queueChanged")?;
        let state = state(ctx).clone();
        let group: GroupId = id("group", &group)?;
        let first = page_size(&state, first)?;
        let subscription = state.store.subscribe_all(start(&state, from_position));
        // The incidents in the group so far, to notice one leaving it.
        let now = state.clock.now();
        let members: BTreeSet<u64> = state.runner.read(|models| {
            models
                .queues
                .queue(
                    &QueueSelector::Group(group.clone()),
                    &QueueFilter::default(),
                    now,
                    None,
                    usize::MAX,
                )
                .items
                .iter()
                .map(|item| item.key.number())
                .collect()
        });
        Ok(follow(
            subscription,
            members,
            move |envelope: Envelope, members: BTreeSet<u64>| {
                let state = state.clone();
                let group = group.clone();
                async move {
                    let Some(StreamKind::Incident(incident)) = StreamKind::of(&envelope.stream_id)
                    else {
                        return (None, members);
                    };
                    if let Err(error) = state
                        .runner
                        .wait_for(envelope.position, state.limits.max_wait)
                        .await
                    {
                        tracing::warn!(%error, "queue subscription: read models lag");
                    }
                    let (change, now_members) =
                        queue_change(&state, &group, first, &envelope, incident);
                    let touched = members.contains(&incident.number())
                        || now_members.contains(&incident.number());
                    (touched.then_some(change), now_members)
                }
            },
        ))
    }

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

/// Whether an envelope is an internal note on an incident (never shown to requesters).
fn is_internal_note(envelope: &Envelope) -> bool {
    matches!(
        decode(envelope),
        Ok(Some(LedgerEvent::Incident(
            _,
            IncidentEvent::Commented {
                visibility: Visibility::Internal,
                ..
            }
        )))
    )
}

/// The alert an envelope records, if it is an SLA warning or breach.
fn sla_alert(envelope: &Envelope) -> Option<SlaAlert> {
    let Ok(Some(LedgerEvent::Incident(key, event))) = decode(envelope) else {
        return None;
    };
    let (alert, clock, due) = match &event {
        IncidentEvent::SlaWarningRaised { clock, due, .. } => (SlaAlertKind::Warning, clock, due),
        IncidentEvent::SlaBreached { clock, due, .. } => (SlaAlertKind::Breach, clock, due),
        _ => return None,
    };
    let (clock, group) = clock_name(clock);
    Some(SlaAlert {
        incident: async_graphql::ID(key.to_string()),
        alert,
        clock,
        group,
        due: due.to_rfc3339(),
        position: Position(envelope.position),
        recorded_at: envelope.metadata.recorded_at.to_rfc3339(),
    })
}
