//! Ticket lists with Relay cursor connections. Tickets are found through the audit index (the
//! positions of `IncidentLogged`, `ProblemRecorded`, `ChangeRaised`), filtered on the read
//! models, and each ticket on the page is folded from its own stream, like the detail queries.
//! The cursor is the position of the ticket's first event, so pages stay stable while new
//! tickets arrive.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use itsm_app::stream;
use itsm_change::Status as ChangeStatus;
use itsm_eventstore::{Envelope, EventStore};
use itsm_incident::{IncidentEvent, Status};
use itsm_kernel::{ChangeKey, IncidentKey, Priority, ProblemKey, ServiceId};
use itsm_problem::ProblemStatus;
use itsm_projections::views::{ChangeView, IncidentView, ProblemView};
use itsm_projections::{LedgerEvent, StreamKind, decode};

use crate::auth::require;
use crate::error::{ApiError, ApiResult};
use crate::query::page::{page_size, position_cursor, scan};
use crate::query::ticket::{ChangeNode, IncidentNode, ProblemNode};
use crate::query::{state, wait_for};
use crate::roles::Access;
use crate::scalar::Position;
use crate::state::AppState;
use crate::types::{PriorityLevel, id};

#[derive(Default)]
pub struct ListQueries;

/// Where an incident is in its lifecycle, for filters. `OPEN` is any of new, assigned, in
/// progress or on hold.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentStatusFilter {
    Open,
    New,
    Assigned,
    InProgress,
    OnHold,
    Resolved,
    Closed,
    Cancelled,
}

impl IncidentStatusFilter {
    fn matches(self, status: Status) -> bool {
        match self {
            IncidentStatusFilter::Open => status.is_open(),
            IncidentStatusFilter::New => status == Status::New,
            IncidentStatusFilter::Assigned => status == Status::Assigned,
            IncidentStatusFilter::InProgress => status == Status::InProgress,
            IncidentStatusFilter::OnHold => matches!(status, Status::OnHold(_)),
            IncidentStatusFilter::Resolved => status == Status::Resolved,
            IncidentStatusFilter::Closed => status == Status::Closed,
            IncidentStatusFilter::Cancelled => status == Status::Cancelled,
        }
    }
}

/// Conditions every listed incident meets; absent is any.
#[derive(InputObject, Default)]
pub struct IncidentFilter {
    pub status: Option<IncidentStatusFilter>,
    pub priority: Option<PriorityLevel>,
    pub service: Option<String>,
    /// The assignment group.
    pub group: Option<String>,
    pub agent: Option<String>,
    pub requester: Option<String>,
}

/// Where a problem is in its lifecycle, for filters.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemStatusFilter {
    Logged,
    UnderInvestigation,
    KnownError,
    Resolved,
    Closed,
    Cancelled,
}

impl From<ProblemStatusFilter> for ProblemStatus {
    fn from(status: ProblemStatusFilter) -> Self {
        match status {
            ProblemStatusFilter::Logged => ProblemStatus::Logged,
            ProblemStatusFilter::UnderInvestigation => ProblemStatus::UnderInvestigation,
            ProblemStatusFilter::KnownError => ProblemStatus::KnownError,
            ProblemStatusFilter::Resolved => ProblemStatus::Resolved,
            ProblemStatusFilter::Closed => ProblemStatus::Closed,
            ProblemStatusFilter::Cancelled => ProblemStatus::Cancelled,
        }
    }
}

/// Where a change is in its lifecycle, for filters.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeStatusFilter {
    Draft,
    Submitted,
    Assessed,
    Authorized,
    Rejected,
    Scheduled,
    Implementing,
    Implemented,
    Failed,
    Reviewed,
    Closed,
    Cancelled,
}

impl From<ChangeStatusFilter> for ChangeStatus {
    fn from(status: ChangeStatusFilter) -> Self {
        match status {
            ChangeStatusFilter::Draft => ChangeStatus::Draft,
            ChangeStatusFilter::Submitted => ChangeStatus::Submitted,
            ChangeStatusFilter::Assessed => ChangeStatus::Assessed,
            ChangeStatusFilter::Authorized => ChangeStatus::Authorized,
            ChangeStatusFilter::Rejected => ChangeStatus::Rejected,
            ChangeStatusFilter::Scheduled => ChangeStatus::Scheduled,
            ChangeStatusFilter::Implementing => ChangeStatus::Implementing,
            ChangeStatusFilter::Implemented => ChangeStatus::Implemented,
            ChangeStatusFilter::Failed => ChangeStatus::Failed,
            ChangeStatusFilter::Reviewed => ChangeStatus::Reviewed,
            ChangeStatusFilter::Closed => ChangeStatus::Closed,
            ChangeStatusFilter::Cancelled => ChangeStatus::Cancelled,
        }
    }
}

/// Conditions every listed problem meets; absent is any.
#[derive(InputObject, Default)]
pub struct ProblemFilter {
    pub status: Option<ProblemStatusFilter>,
    pub service: Option<String>,
}

/// Conditions every listed change meets; absent is any.
#[derive(InputObject, Default)]
pub struct ChangeFilter {
    pub status: Option<ChangeStatusFilter>,
    pub service: Option<String>,
}

/// What the filters look at, from the queue read model (or, for a cancelled incident the
/// queues dropped, from its logging event).
struct IncidentFacts {
    key: IncidentKey,
    status: Status,
    priority: Priority,
    service: String,
    group: Option<String>,
    agent: Option<String>,
    requester: String,
}

fn incident_facts(
    state: &AppState,
    envelope: &Envelope,
) -> Result<Option<IncidentFacts>, ApiError> {
    // The key comes from the stream name; the payload is decoded only when the queues do not
    // know the incident, so a scan costs one read and no decoding per incident.
    let Some(StreamKind::Incident(key)) = StreamKind::of(&envelope.stream_id) else {
        return Ok(None);
    };
    let known = state.runner.read(|models| {
        let queues = &models.queues;
        queues.ticket(key).map(|ticket| IncidentFacts {
            key,
            status: ticket.status,
            priority: ticket.priority,
            service: queues.name(ticket.service).to_owned(),
            group: ticket.group.map(|g| queues.name(g).to_owned()),
            agent: ticket.agent.map(|a| queues.name(a).to_owned()),
            requester: queues.name(ticket.requester).to_owned(),
        })
    });
    if known.is_some() {
        return Ok(known);
    }
    // The queues keep every incident but the cancelled ones.
    let Some(LedgerEvent::Incident(_, event)) = decode(envelope)? else {
        return Ok(None);
    };
    Ok(match event {
        IncidentEvent::Logged {
            requester,
            service,
            priority,
            ..
        } => Some(IncidentFacts {
            key,
            status: Status::Cancelled,
            priority,
            service: service.to_string(),
            group: None,
            agent: None,
            requester: requester.to_string(),
        }),
        _ => None,
    })
}

struct ParsedIncidentFilter {
    status: Option<IncidentStatusFilter>,
    priority: Option<Priority>,
    service: Option<ServiceId>,
    group: Option<String>,
    agent: Option<String>,
    requester: Option<String>,
}

impl ParsedIncidentFilter {
    fn parse(filter: IncidentFilter) -> Result<Self, ApiError> {
        Ok(Self {
            status: filter.status,
            priority: filter.priority.map(Into::into),
            service: filter
                .service
                .as_deref()
                .map(|s| id("filter.service", s))
                .transpose()?,
            group: filter.group,
            agent: filter.agent,
            requester: filter.requester,
        })
    }

    fn matches(&self, facts: &IncidentFacts) -> bool {
        self.status.is_none_or(|s| s.matches(facts.status))
            && self.priority.is_none_or(|p| p == facts.priority)
            && self
                .service
                .as_ref()
                .is_none_or(|s| s.as_str() == facts.service)
            && self
                .group
                .as_ref()
                .is_none_or(|g| facts.group.as_ref() == Some(g))
            && self
                .agent
                .as_ref()
                .is_none_or(|a| facts.agent.as_ref() == Some(a))
            && self
                .requester
                .as_ref()
                .is_none_or(|r| &facts.requester == r)
    }
}

#[Object]
impl ListQueries {
    /// Incidents in the order they were logged, with Relay paging (`first`, `after`).
    /// Requesters get their own incidents only.
    async fn incidents(
        &self,
        ctx: &Context<'_>,
        filter: Option<IncidentFilter>,
        first: Option<i32>,
        after: Option<String>,
        at_least: Option<Position>,
    ) -> ApiResult<Connection<String, IncidentNode>> {
        let (principal, access) = require(ctx, "incidents")?;
        let state = state(ctx);
        let first = page_size(state, first)?;
        let after = position_cursor(after.as_deref())?;
        let mut filter = ParsedIncidentFilter::parse(filter.unwrap_or_default())?;
        if access == Access::Own {
            if filter
                .requester
                .as_ref()
                .is_some_and(|r| r != principal.user.as_str())
            {
                return Ok(Connection::new(after > 0, false));
            }
            filter.requester = Some(principal.user.to_string());
        }
        wait_for(state, at_least).await?;
        let (found, has_next) = scan(state, "IncidentLogged", after, first, |envelope| {
            Ok(incident_facts(state, envelope)?
                .filter(|facts| filter.matches(facts))
                .map(|facts| facts.key))
        })
        .await?;
        let mut connection = Connection::new(after > 0, has_next);
        for (position, key) in found {
            let envelopes = state.store.read_stream(&stream::incident(key), 1).await?;
            if let Some(view) = IncidentView::from_envelopes(&envelopes)? {
                connection.edges.push(Edge::new(
                    position.to_string(),
                    IncidentNode::from_view(key, &view),
                ));
            }
        }
        Ok(connection)
    }

    /// Problems in the order they were recorded, with Relay paging.
    async fn problems(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProblemFilter>,
        first: Option<i32>,
        after: Option<String>,
        at_least: Option<Position>,
    ) -> ApiResult<Connection<String, ProblemNode>> {
        require(ctx, "problems")?;
        let state = state(ctx);
        let first = page_size(state, first)?;
        let after = position_cursor(after.as_deref())?;
        let filter = filter.unwrap_or_default();
        wait_for(state, at_least).await?;
        let (found, has_next) = scan(state, "ProblemRecorded", after, first, |envelope| {
            let Some(StreamKind::Problem(key)) = StreamKind::of(&envelope.stream_id) else {
                return Ok(None);
            };
            let keep = state.runner.read(|models| {
                models.known_errors.problem(key).is_some_and(|problem| {
                    filter
                        .status
                        .is_none_or(|s| ProblemStatus::from(s) == problem.status)
                        && filter
                            .service
                            .as_ref()
                            .is_none_or(|s| s == problem.service.as_str())
                })
            });
            Ok(keep.then_some(key))
        })
        .await?;
        let mut connection = Connection::new(after > 0, has_next);
        for (position, key) in found {
            let key: ProblemKey = key;
            let envelopes = state.store.read_stream(&stream::problem(key), 1).await?;
            if let Some(view) = ProblemView::from_envelopes(&envelopes)? {
                connection.edges.push(Edge::new(
                    position.to_string(),
                    ProblemNode::from_view(&view),
                ));
            }
        }
        Ok(connection)
    }

    /// Changes in the order they were raised, with Relay paging. Requesters get the changes
    /// they requested only.
    async fn changes(
        &self,
        ctx: &Context<'_>,
        filter: Option<ChangeFilter>,
        first: Option<i32>,
        after: Option<String>,
        at_least: Option<Position>,
    ) -> ApiResult<Connection<String, ChangeNode>> {
        let (principal, access) = require(ctx, "changes")?;
        let state = state(ctx);
        let first = page_size(state, first)?;
        let after = position_cursor(after.as_deref())?;
        let filter = filter.unwrap_or_default();
        wait_for(state, at_least).await?;
        let (found, has_next) = scan(state, "ChangeRaised", after, first, |envelope| {
            let Some(StreamKind::Change(key)) = StreamKind::of(&envelope.stream_id) else {
                return Ok(None);
            };
            if access == Access::Own {
                // Only a requester's scan decodes: who requested it is in the raising event.
                let Some(LedgerEvent::Change(
                    _,
                    itsm_change::ChangeEvent::Raised { requested_by, .. },
                )) = decode(envelope)?
                else {
                    return Ok(None);
                };
                if requested_by != principal.user {
                    return Ok(None);
                }
            }
            let keep = state.runner.read(|models| {
                models.changes.change(key).is_some_and(|change| {
                    filter
                        .status
                        .is_none_or(|s| ChangeStatus::from(s) == change.status)
                        && filter
                            .service
                            .as_ref()
                            .is_none_or(|s| s == change.service.as_str())
                })
            });
            Ok(keep.then_some(key))
        })
        .await?;
        let mut connection = Connection::new(after > 0, has_next);
        for (position, key) in found {
            let key: ChangeKey = key;
            let envelopes = state.store.read_stream(&stream::change(key), 1).await?;
            if let Some(view) = ChangeView::from_envelopes(&envelopes)? {
                connection.edges.push(Edge::new(
                    position.to_string(),
                    ChangeNode::from_view(&view),
                ));
            }
        }
        Ok(connection)
    }

    /// The known-error database: problems with a documented workaround whose title, root
    /// cause or workaround contains every word of `search` (all when empty).
    async fn known_errors(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] search: String,
        service: Option<String>,
        at_least: Option<Position>,
    ) -> ApiResult<Vec<KnownErrorNode>> {
        require(ctx, "knownErrors")?;
        let state = state(ctx);
        let service: Option<ServiceId> =
            service.as_deref().map(|s| id("service", s)).transpose()?;
        wait_for(state, at_least).await?;
        Ok(state.runner.read(|models| {
            models
                .known_errors
                .search(&search, service.as_ref())
                .into_iter()
                .map(|known| KnownErrorNode {
                    key: async_graphql::ID(known.key.to_string()),
                    title: known.title.clone(),
                    service: known.service.to_string(),
                    root_cause: known.root_cause.clone(),
                    workaround: known.workaround.clone().unwrap_or_default(),
                    status: format!("{:?}", known.status),
                    linked_incidents: known
                        .linked_incidents
                        .iter()
                        .map(|key| async_graphql::ID(key.to_string()))
                        .collect(),
                })
                .collect()
        }))
    }
}

/// A published known error: the problem, its root cause if known, and the workaround.
#[derive(SimpleObject)]
pub struct KnownErrorNode {
    /// `PRB-<n>`.
    pub key: async_graphql::ID,
    pub title: String,
    pub service: String,
    pub root_cause: Option<String>,
    pub workaround: String,
    pub status: String,
    pub linked_incidents: Vec<async_graphql::ID>,
}
