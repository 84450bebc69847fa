//! Work queues from the queues read model: most urgent first by its documented score
//! (`itsm_projections::queues`), with `score:key` cursors, counts, `asOf` and `atLeast`.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use itsm_projections::queues::QueueCount;
use itsm_projections::{QueueCursor, QueueFilter, QueueItem, QueueSelector, QueueStatus};

use crate::auth::require;
use crate::error::{ApiError, ApiResult};
use crate::query::page::{Models, page_size};
use crate::query::ticket::as_of_arg;
use crate::query::{state, wait_for};
use crate::scalar::Position;
use crate::types::{OnHoldReason, PriorityLevel, id};

#[derive(Default)]
pub struct QueueQueries;

/// An open incident's status as queues filter it (every hold reason is `ON_HOLD`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueStatusFilter {
    New,
    Assigned,
    InProgress,
    OnHold,
}

impl From<QueueStatusFilter> for QueueStatus {
    fn from(status: QueueStatusFilter) -> Self {
        match status {
            QueueStatusFilter::New => QueueStatus::New,
            QueueStatusFilter::Assigned => QueueStatus::Assigned,
            QueueStatusFilter::InProgress => QueueStatus::InProgress,
            QueueStatusFilter::OnHold => QueueStatus::OnHold,
        }
    }
}

/// Conditions every queue item meets; absent or false is any.
#[derive(InputObject, Default)]
pub struct QueueFilterInput {
    pub status: Option<QueueStatusFilter>,
    pub priority: Option<PriorityLevel>,
    pub service: Option<String>,
    /// Only tickets at risk: a running clock warned or due within the hour, not breached.
    #[graphql(default)]
    pub at_risk: bool,
    /// Only breached tickets.
    #[graphql(default)]
    pub breached: bool,
}

impl QueueFilterInput {
    fn parse(self) -> Result<QueueFilter, ApiError> {
        Ok(QueueFilter {
            status: self.status.map(Into::into),
            priority: self.priority.map(Into::into),
            service: self
                .service
                .as_deref()
                .map(|s| id("filter.service", s))
                .transpose()?,
            at_risk: self.at_risk,
            breached: self.breached,
        })
    }
}

/// One open incident in a queue.
#[derive(SimpleObject, Clone)]
pub struct QueueItemNode {
    /// `INC-<n>`.
    pub key: async_graphql::ID,
    pub title: String,
    pub priority: String,
    pub status: String,
    pub hold_reason: Option<OnHoldReason>,
    pub service: String,
    pub assigned_group: Option<String>,
    pub assigned_agent: Option<String>,
    /// The earliest due time of the running first-response and resolution clocks.
    pub due: Option<String>,
    /// Since when the requester's public reply waits for an answer.
    pub waiting_since: Option<String>,
    pub at_risk: bool,
    pub breached: bool,
    /// The urgency score in seconds (lower is more urgent), as documented in
    /// docs/ARCHITECTURE.md.
    pub score: i64,
}

impl From<&QueueItem> for QueueItemNode {
    fn from(item: &QueueItem) -> Self {
        Self {
            key: async_graphql::ID(item.key.to_string()),
            title: item.title.clone(),
            priority: item.priority.to_string(),
            status: format!("{:?}", item.status),
            hold_reason: match item.status {
                itsm_incident::Status::OnHold(reason) => Some(reason.into()),
                _ => None,
            },
            service: item.service.to_string(),
            assigned_group: item.group.as_ref().map(ToString::to_string),
            assigned_agent: item.agent.as_ref().map(ToString::to_string),
            due: item.due.map(|at| at.to_rfc3339()),
            waiting_since: item.waiting_since.map(|at| at.to_rfc3339()),
            at_risk: item.at_risk,
            breached: item.breached,
            score: item.score,
        }
    }
}

/// Totals of the whole queue (all pages) under the filter.
#[derive(SimpleObject)]
pub struct QueueTotals {
    pub total_count: i64,
}

/// Open, at-risk and breached counts of one queue.
#[derive(SimpleObject, Clone)]
pub struct QueueCountNode {
    /// The group of a group queue.
    pub group: Option<String>,
    /// The agent of an agent queue.
    pub agent: Option<String>,
    /// True for the queue of incidents without a group.
    pub unassigned: bool,
    pub open: i64,
    pub at_risk: i64,
    pub breached: i64,
}

fn count(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl From<&QueueCount> for QueueCountNode {
    fn from(counts: &QueueCount) -> Self {
        let (group, agent, unassigned) = match &counts.selector {
            QueueSelector::Group(group) => (Some(group.to_string()), None, false),
            QueueSelector::Agent(agent) => (None, Some(agent.to_string()), false),
            QueueSelector::Unassigned => (None, None, true),
        };
        Self {
            group,
            agent,
            unassigned,
            open: count(counts.open),
            at_risk: count(counts.at_risk),
            breached: count(counts.breached),
        }
    }
}

/// Exactly one of a group, an agent or the unassigned queue.
pub fn selector(
    group: Option<&str>,
    agent: Option<&str>,
    unassigned: bool,
) -> Result<QueueSelector, ApiError> {
    match (group, agent, unassigned) {
        (Some(group), None, false) => Ok(QueueSelector::Group(id("group", group)?)),
        (None, Some(agent), false) => Ok(QueueSelector::Agent(id("agent", agent)?)),
        (None, None, true) => Ok(QueueSelector::Unassigned),
        _ => Err(ApiError::Validation(
            "name exactly one queue: group, agent or unassigned: true".to_owned(),
        )),
    }
}

pub type QueueConnection = Connection<String, QueueItemNode, QueueTotals, EmptyFields>;

#[Object]
impl QueueQueries {
    /// One work queue (a group's, an agent's, or the unassigned incidents), most urgent first,
    /// with Relay paging. `asOf` shows the queue as it was right after a past position (scores
    /// computed at the moment that position was recorded), `asOfTime` at a past instant.
    #[allow(clippy::too_many_arguments, reason = "one GraphQL argument each")]
    async fn queue(
        &self,
        ctx: &Context<'_>,
        group: Option<String>,
        agent: Option<String>,
        #[graphql(default)] unassigned: bool,
        filter: Option<QueueFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        as_of: Option<Position>,
        as_of_time: Option<String>,
        at_least: Option<Position>,
    ) -> ApiResult<QueueConnection> {
        require(ctx, "queue")?;
        let state = state(ctx);
        let selector = selector(group.as_deref(), agent.as_deref(), unassigned)?;
        let filter = filter.unwrap_or_default().parse()?;
        let first = page_size(state, first)?;
        let after: Option<QueueCursor> = after
            .as_deref()
            .map(|text| {
                text.parse()
                    .map_err(|_| ApiError::Validation(format!("after: {text:?} is not a cursor")))
            })
            .transpose()?;
        wait_for(state, at_least).await?;
        let models = Models::get(state, as_of_arg(as_of, as_of_time.as_deref())?).await?;
        let now = models.now(state);
        let page = models.read(state, |models| {
            models.queues.queue(&selector, &filter, now, after, first)
        });
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            page.has_next,
            QueueTotals {
                total_count: count(page.total),
            },
        );
        connection.edges.extend(
            page.items
                .iter()
                .map(|item| Edge::new(item.cursor.to_string(), QueueItemNode::from(item))),
        );
        Ok(connection)
    }

    /// Open, at-risk and breached counts of every non-empty group and agent queue, and of the
    /// unassigned queue.
    async fn queue_counts(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Position>,
        as_of_time: Option<String>,
        at_least: Option<Position>,
    ) -> ApiResult<Vec<QueueCountNode>> {
        require(ctx, "queueCounts")?;
        let state = state(ctx);
        wait_for(state, at_least).await?;
        let models = Models::get(state, as_of_arg(as_of, as_of_time.as_deref())?).await?;
        let now = models.now(state);
        Ok(models.read(state, |models| {
            models
                .queues
                .counts(now)
                .iter()
                .map(QueueCountNode::from)
                .collect()
        }))
    }
}
