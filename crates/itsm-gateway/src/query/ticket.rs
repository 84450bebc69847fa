//! Ticket detail views, folded from their stream on read (so `asOf` is exact and free).

use async_graphql::{ComplexObject, Context, Enum, Object, SimpleObject};
use chrono::{DateTime, TimeDelta, Utc};
use itsm_app::stream;
use itsm_eventstore::EventStore;
use itsm_incident::{Status, Visibility};
use itsm_kernel::{ChangeKey, IncidentKey, ProblemKey, Role};
use itsm_projections::views::{
    AsOf, ChangeView, ClockView, IncidentView, ProblemView, TimelineEntry,
};
use itsm_sla::{ClockKind, ClockStatus, ClockStep, ClockStepKind};

use crate::auth::{Principal, require};
use crate::error::{ApiError, ApiResult};
use crate::query::{state, wait_for};
use crate::roles::Access;
use crate::scalar::Position;
use crate::state::AppState;
use crate::types::{
    CommentVisibility, ContactChannel, ImpactLevel, LikelihoodLevel, OnHoldReason,
    ResolutionCategory, Tier, UrgencyLevel, instant,
};

#[derive(Default)]
pub struct TicketQueries;

/// One line of a ticket's history: who did what, when, and why (the command, the user action
/// it belongs to, and what directly caused it).
#[derive(SimpleObject, Clone)]
pub struct TimelineItem {
    pub position: Position,
    pub version: Position,
    pub recorded_at: String,
    pub actor: String,
    pub event_type: String,
    pub summary: String,
    pub command_id: Option<String>,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
}

impl From<&TimelineEntry> for TimelineItem {
    fn from(entry: &TimelineEntry) -> Self {
        Self {
            position: Position(entry.position),
            version: Position(entry.version),
            recorded_at: entry.recorded_at.to_rfc3339(),
            actor: entry.actor.clone(),
            event_type: entry.event_type.clone(),
            summary: entry.summary.clone(),
            command_id: entry.command_id.map(|id| id.to_string()),
            correlation_id: entry.correlation_id.map(|id| id.to_string()),
            causation_id: entry.causation_id.map(|id| id.to_string()),
        }
    }
}

/// A comment on an incident. Requesters only ever see public ones.
#[derive(SimpleObject, Clone)]
pub struct CommentNode {
    pub text: String,
    pub visibility: CommentVisibility,
    pub at: String,
    /// The author as the ledger records them, e.g. `alice (agent)`.
    pub by: String,
}

/// A file reference attached to an incident.
#[derive(SimpleObject, Clone)]
pub struct AttachmentNode {
    pub name: String,
    pub content_hash: String,
    pub uri: String,
    /// Bytes, as a decimal string (may exceed a 32-bit `Int`).
    pub size_bytes: String,
}

/// How the incident was last resolved.
#[derive(SimpleObject, Clone)]
pub struct ResolutionNode {
    pub code: ResolutionCategory,
    pub notes: String,
    pub at: String,
    pub by: String,
}

/// A satisfaction rating (1..5) given after a resolution.
#[derive(SimpleObject, Clone)]
pub struct RatingNode {
    pub score: i32,
    pub comment: String,
    pub at: String,
    pub by: String,
}

/// Which SLA clock.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockName {
    FirstResponse,
    Resolution,
    /// The operational-level clock of one assignment group.
    Ola,
}

/// Where a clock stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockStatusName {
    NotStarted,
    Running,
    Paused,
    Met,
    Breached,
    Stopped,
}

/// What one step of a clock's life did.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockStepName {
    Started,
    Paused,
    Resumed,
    Retargeted,
    Warned,
    Breached,
    Met,
    Stopped,
}

/// One explained step: when, what, and the due time it led to where it moved it.
#[derive(SimpleObject, Clone)]
pub struct ClockStepNode {
    pub at: String,
    pub step: ClockStepName,
    /// The due time after this step (started, resumed, retargeted).
    pub due: Option<String>,
    /// Why the clock paused.
    pub hold_reason: Option<OnHoldReason>,
    /// Business seconds counted so far (paused, met).
    pub elapsed_seconds: Option<i64>,
    /// Business seconds the pause that ends here lasted (resumed).
    pub paused_seconds: Option<i64>,
    /// The target in business seconds (started; the new one when retargeted).
    pub target_seconds: Option<i64>,
    pub old_target_seconds: Option<i64>,
    /// Why it was retargeted.
    pub reason: Option<String>,
}

/// One SLA clock of an incident, explained.
#[derive(SimpleObject, Clone)]
pub struct ClockNode {
    pub clock: ClockName,
    /// The group of an OLA clock.
    pub group: Option<String>,
    pub status: ClockStatusName,
    pub due: Option<String>,
    pub warning_at: Option<String>,
    /// The hold reason while paused.
    pub paused_for: Option<OnHoldReason>,
    pub warned: bool,
    pub breached: bool,
    pub met: bool,
    pub policy: String,
    pub policy_revision: i32,
    pub calendar: String,
    pub target_seconds: i64,
    /// Every step of every run, oldest first.
    pub steps: Vec<ClockStepNode>,
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339()
}

fn secs(delta: TimeDelta) -> i64 {
    delta.num_seconds()
}

/// The GraphQL name and group of a clock kind.
pub fn clock_name(kind: &ClockKind) -> (ClockName, Option<String>) {
    match kind {
        ClockKind::FirstResponse => (ClockName::FirstResponse, None),
        ClockKind::Resolution => (ClockName::Resolution, None),
        ClockKind::Ola { group } => (ClockName::Ola, Some(group.to_string())),
    }
}

fn status_name(status: ClockStatus) -> ClockStatusName {
    match status {
        ClockStatus::NotStarted => ClockStatusName::NotStarted,
        ClockStatus::Running => ClockStatusName::Running,
        ClockStatus::Paused => ClockStatusName::Paused,
        ClockStatus::Met => ClockStatusName::Met,
        ClockStatus::Breached => ClockStatusName::Breached,
        ClockStatus::Stopped => ClockStatusName::Stopped,
    }
}

fn step_node(step: &ClockStep) -> ClockStepNode {
    let mut node = ClockStepNode {
        at: time(step.at),
        step: ClockStepName::Started,
        due: None,
        hold_reason: None,
        elapsed_seconds: None,
        paused_seconds: None,
        target_seconds: None,
        old_target_seconds: None,
        reason: None,
    };
    match &step.what {
        ClockStepKind::Started { target, due } => {
            node.target_seconds = Some(secs(*target));
            node.due = due.map(time);
        }
        ClockStepKind::Paused { reason, elapsed } => {
            node.step = ClockStepName::Paused;
            node.hold_reason = Some((*reason).into());
            node.elapsed_seconds = Some(secs(*elapsed));
        }
        ClockStepKind::Resumed { due, paused_for } => {
            node.step = ClockStepName::Resumed;
            node.due = due.map(time);
            node.paused_seconds = Some(secs(*paused_for));
        }
        ClockStepKind::Retargeted {
            old_target,
            new_target,
            due,
            reason,
        } => {
            node.step = ClockStepName::Retargeted;
            node.old_target_seconds = Some(secs(*old_target));
            node.target_seconds = Some(secs(*new_target));
            node.due = due.map(time);
            node.reason = Some(reason.clone());
        }
        ClockStepKind::Warned => node.step = ClockStepName::Warned,
        ClockStepKind::Breached => node.step = ClockStepName::Breached,
        ClockStepKind::Met { elapsed } => {
            node.step = ClockStepName::Met;
            node.elapsed_seconds = Some(secs(*elapsed));
        }
        ClockStepKind::Stopped => node.step = ClockStepName::Stopped,
    }
    node
}

impl ClockNode {
    pub fn from_view(clock: &ClockView) -> Self {
        let (name, group) = clock_name(&clock.kind);
        let state = &clock.state;
        Self {
            clock: name,
            group,
            status: status_name(clock.timeline.state),
            due: clock.timeline.due.map(time),
            warning_at: clock.timeline.warning_at.map(time),
            paused_for: state.paused_for.map(Into::into),
            warned: state.warned_for.is_some(),
            breached: state.breached,
            met: state.met,
            policy: state.policy.to_string(),
            policy_revision: i32::try_from(state.revision).unwrap_or(i32::MAX),
            calendar: state.calendar_name.to_string(),
            target_seconds: secs(state.clock.target),
            steps: clock.timeline.steps.iter().map(step_node).collect(),
        }
    }
}

/// An incident as its history tells it.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct IncidentNode {
    /// The human key, `INC-<n>`.
    pub key: async_graphql::ID,
    pub title: String,
    pub description: String,
    pub status: String,
    /// Why it waits, while on hold.
    pub hold_reason: Option<OnHoldReason>,
    pub priority: String,
    pub impact: ImpactLevel,
    pub urgency: UrgencyLevel,
    pub channel: ContactChannel,
    pub tier: Tier,
    pub service: String,
    pub category: String,
    pub requester: String,
    pub assigned_group: Option<String>,
    pub assigned_agent: Option<String>,
    pub logged_at: String,
    pub acknowledged_at: Option<String>,
    pub escalation_level: i32,
    pub managers_notified: Vec<String>,
    pub major: bool,
    /// The major incident this one is a child of.
    pub parent: Option<async_graphql::ID>,
    /// Linked problems (`PRB-<n>`) and changes (`CHG-<n>`).
    pub problems: Vec<async_graphql::ID>,
    pub changes: Vec<async_graphql::ID>,
    pub attachments: Vec<AttachmentNode>,
    pub resolution: Option<ResolutionNode>,
    pub ratings: Vec<RatingNode>,
    pub reopen_count: i32,
    /// Every SLA clock (first response, resolution, OLA per group), explained.
    pub clocks: Vec<ClockNode>,
    /// The ledger position of the last event folded into this view.
    pub position: Position,
    /// The stream version of that event.
    pub version: Position,
    #[graphql(skip)]
    all_comments: Vec<CommentNode>,
    /// Timeline entries, each marked internal (an internal note) or not.
    #[graphql(skip)]
    all_timeline: Vec<(TimelineItem, bool)>,
}

/// Whether the caller sees internal notes (everyone but requesters; fails closed).
fn sees_internal(ctx: &Context<'_>) -> bool {
    crate::auth::principal(ctx).is_ok_and(|principal| principal.role != Role::Requester)
}

#[ComplexObject]
impl IncidentNode {
    /// Comments, oldest first; requesters see public ones only.
    async fn comments(&self, ctx: &Context<'_>) -> Vec<CommentNode> {
        let internal = sees_internal(ctx);
        self.all_comments
            .iter()
            .filter(|c| internal || c.visibility == CommentVisibility::Public)
            .cloned()
            .collect()
    }

    /// Who did what, when; requesters do not see internal notes.
    async fn timeline(&self, ctx: &Context<'_>) -> Vec<TimelineItem> {
        let internal = sees_internal(ctx);
        self.all_timeline
            .iter()
            .filter(|(_, is_internal)| internal || !is_internal)
            .map(|(item, _)| item.clone())
            .collect()
    }
}

impl IncidentNode {
    pub fn from_view(key: IncidentKey, view: &IncidentView) -> Self {
        let incident = &view.incident;
        let by = |actor: &itsm_kernel::Actor| actor.to_string();
        // The n-th `IncidentCommented` entry is the n-th comment.
        let mut comments = incident.comments.iter();
        let all_timeline = view
            .timeline
            .iter()
            .map(|entry| {
                let internal = entry.event_type == "IncidentCommented"
                    && comments
                        .next()
                        .is_some_and(|c| c.visibility == Visibility::Internal);
                (TimelineItem::from(entry), internal)
            })
            .collect();
        Self {
            key: async_graphql::ID(key.to_string()),
            title: incident.title.clone(),
            description: incident.description.clone(),
            status: format!("{:?}", incident.status),
            hold_reason: match incident.status {
                Status::OnHold(reason) => Some(reason.into()),
                _ => None,
            },
            priority: incident.priority.to_string(),
            impact: incident.impact.into(),
            urgency: incident.urgency.into(),
            channel: incident.channel.into(),
            tier: incident.tier.into(),
            service: incident.service.to_string(),
            category: incident.category.to_string(),
            requester: incident.requester.to_string(),
            assigned_group: incident.group.as_ref().map(ToString::to_string),
            assigned_agent: incident.agent.as_ref().map(ToString::to_string),
            logged_at: time(incident.logged_at),
            acknowledged_at: incident.acknowledged_at.map(time),
            escalation_level: i32::from(incident.escalation_level),
            managers_notified: incident
                .managers_notified
                .iter()
                .map(ToString::to_string)
                .collect(),
            major: incident.major,
            parent: incident.parent.map(|p| async_graphql::ID(p.to_string())),
            problems: incident
                .problems
                .iter()
                .map(|p| async_graphql::ID(p.to_string()))
                .collect(),
            changes: incident
                .changes
                .iter()
                .map(|c| async_graphql::ID(c.to_string()))
                .collect(),
            attachments: incident
                .attachments
                .iter()
                .map(|a| AttachmentNode {
                    name: a.name.clone(),
                    content_hash: a.content_hash.clone(),
                    uri: a.uri.clone(),
                    size_bytes: a.size_bytes.to_string(),
                })
                .collect(),
            resolution: incident.resolution.as_ref().map(|r| ResolutionNode {
                code: r.code.into(),
                notes: r.notes.clone(),
                at: time(r.at),
                by: by(&r.by),
            }),
            ratings: incident
                .ratings
                .iter()
                .map(|r| RatingNode {
                    score: i32::from(r.score),
                    comment: r.comment.clone(),
                    at: time(r.at),
                    by: by(&r.by),
                })
                .collect(),
            reopen_count: i32::try_from(incident.reopen_count).unwrap_or(i32::MAX),
            clocks: view.clocks.iter().map(ClockNode::from_view).collect(),
            position: Position(view.position),
            version: Position(view.version),
            all_comments: incident
                .comments
                .iter()
                .map(|c| CommentNode {
                    text: c.text.clone(),
                    visibility: c.visibility.into(),
                    at: time(c.at),
                    by: by(&c.by),
                })
                .collect(),
            all_timeline,
        }
    }
}

/// Which prefix of a ticket's stream to show: a position, an instant, or everything.
pub fn as_of_arg(position: Option<Position>, time: Option<&str>) -> Result<AsOf, ApiError> {
    match (position, time) {
        (Some(_), Some(_)) => Err(ApiError::Validation(
            "asOf and asOfTime: give one or the other".to_owned(),
        )),
        (Some(Position(p)), None) => Ok(AsOf::Position(p)),
        (None, Some(text)) => Ok(AsOf::Time(instant("asOfTime", text)?)),
        (None, None) => Ok(AsOf::Now),
    }
}

/// The incident view of `key` as of `as_of`, if the caller may see it (`None` otherwise, so a
/// requester cannot tell someone else's ticket from a missing one).
pub async fn incident_view(
    state: &AppState,
    key: IncidentKey,
    as_of: AsOf,
    principal: &Principal,
    access: Access,
) -> Result<Option<IncidentView>, ApiError> {
    let envelopes = state.store.read_stream(&stream::incident(key), 1).await?;
    let Some(view) = IncidentView::as_of(&envelopes, as_of)? else {
        return Ok(None);
    };
    if access == Access::Own && view.incident.requester != principal.user {
        return Ok(None);
    }
    Ok(Some(view))
}

#[Object]
impl TicketQueries {
    /// One incident with its full timeline. `asOf` shows it as it was at a past ledger
    /// position, `asOfTime` at a past instant (RFC 3339); `atLeast` waits for a write.
    async fn incident(
        &self,
        ctx: &Context<'_>,
        key: async_graphql::ID,
        as_of: Option<Position>,
        as_of_time: Option<String>,
        at_least: Option<Position>,
    ) -> ApiResult<Option<IncidentNode>> {
        let (principal, access) = require(ctx, "incident")?;
        let key: IncidentKey = crate::types::key(&key)?;
        let as_of = as_of_arg(as_of, as_of_time.as_deref())?;
        let state = state(ctx);
        wait_for(state, at_least).await?;
        let view = incident_view(state, key, as_of, principal, access).await?;
        Ok(view.map(|view| IncidentNode::from_view(key, &view)))
    }

    /// One problem with its full timeline, as of a past position or instant if asked.
    async fn problem(
        &self,
        ctx: &Context<'_>,
        key: async_graphql::ID,
        as_of: Option<Position>,
        as_of_time: Option<String>,
        at_least: Option<Position>,
    ) -> ApiResult<Option<ProblemNode>> {
        require(ctx, "problem")?;
        let key: ProblemKey = crate::types::key(&key)?;
        let as_of = as_of_arg(as_of, as_of_time.as_deref())?;
        let state = state(ctx);
        wait_for(state, at_least).await?;
        let envelopes = state
            .store
            .read_stream(&stream::problem(key), 1)
            .await
            .map_err(ApiError::from)?;
        let view = ProblemView::as_of(&envelopes, as_of).map_err(ApiError::from)?;
        Ok(view.map(|view| ProblemNode::from_view(&view)))
    }

    /// One change with its full timeline, as of a past position or instant if asked.
    /// Requesters see the changes they requested only.
    async fn change(
        &self,
        ctx: &Context<'_>,
        key: async_graphql::ID,
        as_of: Option<Position>,
        as_of_time: Option<String>,
        at_least: Option<Position>,
    ) -> ApiResult<Option<ChangeNode>> {
        let (principal, access) = require(ctx, "change")?;
        let key: ChangeKey = crate::types::key(&key)?;
        let as_of = as_of_arg(as_of, as_of_time.as_deref())?;
        let state = state(ctx);
        wait_for(state, at_least).await?;
        let envelopes = state
            .store
            .read_stream(&stream::change(key), 1)
            .await
            .map_err(ApiError::from)?;
        let view = ChangeView::as_of(&envelopes, as_of).map_err(ApiError::from)?;
        Ok(view
            .filter(|view| access != Access::Own || view.change.requested_by == principal.user)
            .map(|view| ChangeNode::from_view(&view)))
    }
}

/// A problem as its history tells it.
#[derive(SimpleObject)]
pub struct ProblemNode {
    /// The human key, `PRB-<n>`.
    pub key: async_graphql::ID,
    pub title: String,
    pub description: String,
    pub status: String,
    pub priority: String,
    pub impact: ImpactLevel,
    pub urgency: UrgencyLevel,
    pub service: String,
    pub assigned_group: Option<String>,
    pub assignee: Option<String>,
    pub root_cause: Option<String>,
    pub workaround: Option<String>,
    pub linked_incidents: Vec<async_graphql::ID>,
    pub fix_change: Option<async_graphql::ID>,
    pub resolution: Option<String>,
    pub recorded_by: String,
    pub recorded_at: String,
    pub updated_at: String,
    pub position: Position,
    pub version: Position,
    pub timeline: Vec<TimelineItem>,
}

impl ProblemNode {
    pub fn from_view(view: &ProblemView) -> Self {
        let problem = &view.problem;
        Self {
            key: async_graphql::ID(problem.key.to_string()),
            title: problem.title.clone(),
            description: problem.description.clone(),
            status: format!("{:?}", problem.status),
            priority: problem.priority.to_string(),
            impact: problem.impact.into(),
            urgency: problem.urgency.into(),
            service: problem.service.to_string(),
            assigned_group: problem.group.as_ref().map(ToString::to_string),
            assignee: problem.assignee.as_ref().map(ToString::to_string),
            root_cause: problem.root_cause.clone(),
            workaround: problem.workaround.clone(),
            linked_incidents: problem
                .linked_incidents
                .iter()
                .map(|key| async_graphql::ID(key.to_string()))
                .collect(),
            fix_change: problem
                .fix_change
                .map(|key| async_graphql::ID(key.to_string())),
            resolution: problem.resolution.clone(),
            recorded_by: problem.recorded_by.to_string(),
            recorded_at: time(problem.recorded_at),
            updated_at: time(problem.updated_at),
            position: Position(view.position),
            version: Position(view.version),
            timeline: view.timeline.iter().map(TimelineItem::from).collect(),
        }
    }
}

/// One CAB vote on a change.
#[derive(SimpleObject)]
pub struct CabVoteNode {
    pub approver: String,
    pub vote: String,
}

/// A change as its history tells it.
#[derive(SimpleObject)]
pub struct ChangeNode {
    /// The human key, `CHG-<n>`.
    pub key: async_graphql::ID,
    pub title: String,
    pub description: String,
    /// `Standard { template }`, `Normal` or `Emergency`.
    pub change_type: String,
    pub status: String,
    pub risk: String,
    pub impact: ImpactLevel,
    pub likelihood: LikelihoodLevel,
    pub service: String,
    pub implementation_plan: String,
    pub backout_plan: String,
    pub requested_by: String,
    pub cab: Vec<String>,
    pub required_approvals: i32,
    pub votes: Vec<CabVoteNode>,
    /// The planned slot, RFC 3339 instants.
    pub scheduled_from: Option<String>,
    pub scheduled_to: Option<String>,
    pub backout_performed: Option<bool>,
    pub review: Option<String>,
    pub position: Position,
    pub version: Position,
    pub timeline: Vec<TimelineItem>,
}

impl ChangeNode {
    pub fn from_view(view: &ChangeView) -> Self {
        let change = &view.change;
        Self {
            key: async_graphql::ID(change.key.to_string()),
            title: change.title.clone(),
            description: change.description.clone(),
            change_type: format!("{:?}", change.change_type),
            status: format!("{:?}", change.status),
            risk: format!("{:?}", change.risk),
            impact: change.impact.into(),
            likelihood: change.likelihood.into(),
            service: change.service.to_string(),
            implementation_plan: change.implementation_plan.clone(),
            backout_plan: change.backout_plan.clone(),
            requested_by: change.requested_by.to_string(),
            cab: change.cab.iter().map(ToString::to_string).collect(),
            required_approvals: i32::from(change.required_approvals),
            votes: change
                .votes
                .iter()
                .map(|vote| CabVoteNode {
                    approver: vote.approver.to_string(),
                    vote: format!("{:?}", vote.vote),
                })
                .collect(),
            scheduled_from: change.slot.map(|slot| time(slot.from)),
            scheduled_to: change.slot.map(|slot| time(slot.to)),
            backout_performed: change.backout_performed,
            review: change.review.map(|review| format!("{review:?}")),
            position: Position(view.position),
            version: Position(view.version),
            timeline: view.timeline.iter().map(TimelineItem::from).collect(),
        }
    }
}
