//! Ticket detail views, folded from their stream on read (so `asOf` is exact and free).

use async_graphql::{Context, Object, SimpleObject};
use itsm_app::stream;
use itsm_eventstore::EventStore;
use itsm_kernel::IncidentKey;
use itsm_projections::views::{AsOf, ChangeView, IncidentView, ProblemView, TimelineEntry};

use crate::auth::require;
use crate::error::{ApiError, ApiResult};
use crate::query::{state, wait_for};
use crate::roles::Access;
use crate::scalar::Position;

#[derive(Default)]
pub struct TicketQueries;

/// One line of a ticket's history: who did what, when.
#[derive(SimpleObject)]
pub struct TimelineItem {
    pub position: Position,
    pub recorded_at: String,
    pub actor: String,
    pub event_type: String,
    pub summary: String,
}

impl From<&TimelineEntry> for TimelineItem {
    fn from(entry: &TimelineEntry) -> Self {
        Self {
            position: Position(entry.position),
            recorded_at: entry.recorded_at.to_rfc3339(),
            actor: entry.actor.clone(),
            event_type: entry.event_type.clone(),
            summary: entry.summary.clone(),
        }
    }
}

/// An incident as its history tells it.
#[derive(SimpleObject)]
pub struct IncidentNode {
    /// The human key, `INC-<n>`.
    pub key: async_graphql::ID,
    pub title: String,
    pub status: String,
    pub priority: String,
    pub service: String,
    pub requester: String,
    pub assigned_group: Option<String>,
    pub assigned_agent: Option<String>,
    /// The ledger position of the last event folded into this view.
    pub position: Position,
    pub timeline: Vec<TimelineItem>,
}

impl IncidentNode {
    pub fn from_view(key: IncidentKey, view: &IncidentView) -> Self {
        let incident = &view.incident;
        Self {
            key: async_graphql::ID(key.to_string()),
            title: incident.title.clone(),
            status: format!("{:?}", incident.status),
            priority: incident.priority.to_string(),
            service: incident.service.to_string(),
            requester: incident.requester.to_string(),
            assigned_group: incident.group.as_ref().map(ToString::to_string),
            assigned_agent: incident.agent.as_ref().map(ToString::to_string),
            position: Position(view.position),
            timeline: view.timeline.iter().map(TimelineItem::from).collect(),
        }
    }
}

#[Object]
impl TicketQueries {
    /// One incident with its full timeline; `asOf` shows it as it was at a past position.
    async fn incident(
        &self,
        ctx: &Context<'_>,
        key: async_graphql::ID,
        as_of: Option<Position>,
        at_least: Option<Position>,
    ) -> ApiResult<Option<IncidentNode>> {
        let (principal, access) = require(ctx, "incident")?;
        let key: IncidentKey = crate::types::key(&key)?;
        let state = state(ctx);
        wait_for(state, at_least).await?;
        let envelopes = state
            .store
            .read_stream(&stream::incident(key), 1)
            .await
            .map_err(ApiError::from)?;
        let as_of = as_of.map_or(AsOf::Now, |Position(p)| AsOf::Position(p));
        let Some(view) = IncidentView::as_of(&envelopes, as_of).map_err(ApiError::from)? else {
            return Ok(None);
        };
        if access == Access::Own && view.incident.requester != principal.user {
            // Someone else's ticket does not exist for a requester.
            return Ok(None);
        }
        Ok(Some(IncidentNode::from_view(key, &view)))
    }
}

/// A problem as its history tells it.
#[derive(SimpleObject)]
pub struct ProblemNode {
    /// The human key, `PRB-<n>`.
    pub key: async_graphql::ID,
    pub title: String,
    pub status: String,
    pub priority: String,
    pub service: String,
    pub root_cause: Option<String>,
    pub workaround: Option<String>,
    pub position: Position,
    pub timeline: Vec<TimelineItem>,
}

impl ProblemNode {
    pub fn from_view(view: &ProblemView) -> Self {
        let problem = &view.problem;
        Self {
            key: async_graphql::ID(problem.key.to_string()),
            title: problem.title.clone(),
            status: format!("{:?}", problem.status),
            priority: problem.priority.to_string(),
            service: problem.service.to_string(),
            root_cause: problem.root_cause.clone(),
            workaround: problem.workaround.clone(),
            position: Position(view.position),
            timeline: view.timeline.iter().map(TimelineItem::from).collect(),
        }
    }
}

/// A change as its history tells it.
#[derive(SimpleObject)]
pub struct ChangeNode {
    /// The human key, `CHG-<n>`.
    pub key: async_graphql::ID,
    pub title: String,
    pub status: String,
    pub risk: String,
    pub service: String,
    /// The planned slot, RFC 3339 instants.
    pub scheduled_from: Option<String>,
    pub scheduled_to: Option<String>,
    pub position: Position,
    pub timeline: Vec<TimelineItem>,
}

impl ChangeNode {
    pub fn from_view(view: &ChangeView) -> Self {
        let change = &view.change;
        Self {
            key: async_graphql::ID(change.key.to_string()),
            title: change.title.clone(),
            status: format!("{:?}", change.status),
            risk: format!("{:?}", change.risk),
            service: change.service.to_string(),
            scheduled_from: change.slot.map(|slot| slot.from.to_rfc3339()),
            scheduled_to: change.slot.map(|slot| slot.to.to_rfc3339()),
            position: Position(view.position),
            timeline: view.timeline.iter().map(TimelineItem::from).collect(),
        }
    }
}
