//! Problem mutations.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use itsm_app::CommandResult;
use itsm_app::desk::NewProblem;
use itsm_app::stream;
use itsm_eventstore::EventStore;
use itsm_kernel::ProblemKey;
use itsm_projections::views::ProblemView;

use crate::auth::require;
use crate::error::{ApiError, ApiResult};
use crate::query::state;
use crate::query::ticket::ProblemNode;
use crate::scalar::Position;
use crate::state::AppState;
use crate::types::{ImpactLevel, UrgencyLevel, id, key};

#[derive(Default)]
pub struct ProblemMutations;

/// The problem after the mutation, and the ledger position that recorded it.
#[derive(SimpleObject)]
pub struct ProblemPayload {
    pub problem: ProblemNode,
    pub position: Position,
}

#[derive(InputObject)]
pub struct RecordProblemInput {
    pub title: String,
    pub description: String,
    pub service: String,
    pub impact: ImpactLevel,
    pub urgency: UrgencyLevel,
}

#[derive(InputObject)]
pub struct StartProblemInvestigationInput {
    /// `PRB-<n>`.
    pub key: ID,
    /// The group that investigates.
    pub group: String,
    pub assignee: Option<String>,
}

#[derive(InputObject)]
pub struct ReassignProblemInput {
    /// `PRB-<n>`.
    pub key: ID,
    pub group: String,
    pub assignee: Option<String>,
}

#[derive(InputObject)]
pub struct RecordRootCauseInput {
    /// `PRB-<n>`.
    pub key: ID,
    pub root_cause: String,
}

#[derive(InputObject)]
pub struct DocumentWorkaroundInput {
    /// `PRB-<n>`.
    pub key: ID,
    pub workaround: String,
}

#[derive(InputObject)]
pub struct ProblemIncidentInput {
    /// `PRB-<n>`.
    pub key: ID,
    /// `INC-<n>`.
    pub incident: ID,
}

#[derive(InputObject)]
pub struct LinkFixChangeInput {
    /// `PRB-<n>`.
    pub key: ID,
    /// `CHG-<n>`: the change that fixes the root cause.
    pub change: ID,
}

#[derive(InputObject)]
pub struct ResolveProblemInput {
    /// `PRB-<n>`.
    pub key: ID,
    pub resolution: String,
}

#[derive(InputObject)]
pub struct ProblemKeyInput {
    /// `PRB-<n>`.
    pub key: ID,
}

#[derive(InputObject)]
pub struct ReopenProblemInput {
    /// `PRB-<n>`.
    pub key: ID,
    pub reason: String,
}

#[derive(InputObject)]
pub struct CancelProblemInput {
    /// `PRB-<n>`.
    pub key: ID,
    pub reason: String,
}

/// The payload of a command on problem `key`: its view folded from the stream.
pub async fn problem_payload(
    state: &AppState,
    key: ProblemKey,
    result: &CommandResult,
) -> Result<ProblemPayload, ApiError> {
    let envelopes = state.store.read_stream(&stream::problem(key), 1).await?;
    let view = ProblemView::from_envelopes(&envelopes)?
        .ok_or_else(|| ApiError::Internal(format!("{key} has no events after a command")))?;
    Ok(ProblemPayload {
        problem: ProblemNode::from_view(&view),
        position: Position(result.position),
    })
}

#[Object]
impl ProblemMutations {
    /// Opens a problem: the unknown cause behind one or more incidents.
    async fn record_problem(
        &self,
        ctx: &Context<'_>,
        input: RecordProblemInput,
    ) -> ApiResult<ProblemPayload> {
        let (principal, _) = require(ctx, "recordProblem")?;
        let new = NewProblem {
            title: input.title,
            description: input.description,
            service: id("service", &input.service)?,
            impact: input.impact.into(),
            urgency: input.urgency.into(),
        };
        let state = state(ctx);
        let (key, result) = state
            .desk
            .record_problem(new, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(problem_payload(state, key, &result).await?)
    }

    /// A group starts investigating the problem's cause.
    async fn start_problem_investigation(
        &self,
        ctx: &Context<'_>,
        input: StartProblemInvestigationInput,
    ) -> ApiResult<ProblemPayload> {
        let (principal, _) = require(ctx, "startProblemInvestigation")?;
        let key = key(&input.key)?;
        let group = id("group", &input.group)?;
        let assignee = input
            .assignee
            .as_deref()
            .map(|a| id("assignee", a))
            .transpose()?;
        let state = state(ctx);
        let result = state
            .desk
            .start_investigation(key, group, assignee, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(problem_payload(state, key, &result).await?)
    }

    /// Gives the investigation to another group or person.
    async fn reassign_problem(
        &self,
        ctx: &Context<'_>,
        input: ReassignProblemInput,
    ) -> ApiResult<ProblemPayload> {
        let (principal, _) = require(ctx, "reassignProblem")?;
        let key = key(&input.key)?;
        let group = id("group", &input.group)?;
        let assignee = input
            .assignee
            .as_deref()
            .map(|a| id("assignee", a))
            .transpose()?;
        let state = state(ctx);
        let result = state
            .desk
            .reassign_problem(key, group, assignee, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(problem_payload(state, key, &result).await?)
    }

    /// Records what causes the problem (needed before it can be resolved).
    async fn record_root_cause(
        &self,
        ctx: &Context<'_>,
        input: RecordRootCauseInput,
    ) -> ApiResult<ProblemPayload> {
        let (principal, _) = require(ctx, "recordRootCause")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .record_root_cause(key, input.root_cause, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(problem_payload(state, key, &result).await?)
    }

    /// Documents a workaround: the problem becomes a known error, published to the known-error
    /// database, and its linked incidents are told.
    async fn document_workaround(
        &self,
        ctx: &Context<'_>,
        input: DocumentWorkaroundInput,
    ) -> ApiResult<ProblemPayload> {
        let (principal, _) = require(ctx, "documentWorkaround")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .document_workaround(key, input.workaround, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(problem_payload(state, key, &result).await?)
    }

    /// Links an incident to the problem, on both sides (a closed or cancelled incident on the
    /// problem's side only). `position` is that of the last side written.
    async fn link_problem_incident(
        &self,
        ctx: &Context<'_>,
        input: ProblemIncidentInput,
    ) -> ApiResult<ProblemPayload> {
        let (principal, _) = require(ctx, "linkProblemIncident")?;
        let key = key(&input.key)?;
        let incident = crate::types::key(&input.incident)?;
        let state = state(ctx);
        let result = state
            .desk
            .link_problem_incident(key, incident, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(problem_payload(state, key, &result).await?)
    }

    /// Removes an incident from the problem's list.
    async fn unlink_problem_incident(
        &self,
        ctx: &Context<'_>,
        input: ProblemIncidentInput,
    ) -> ApiResult<ProblemPayload> {
        let (principal, _) = require(ctx, "unlinkProblemIncident")?;
        let key = key(&input.key)?;
        let incident = crate::types::key(&input.incident)?;
        let state = state(ctx);
        let result = state
            .desk
            .unlink_problem_incident(key, incident, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(problem_payload(state, key, &result).await?)
    }

    /// Names the change that fixes the problem; the change must exist.
    async fn link_fix_change(
        &self,
        ctx: &Context<'_>,
        input: LinkFixChangeInput,
    ) -> ApiResult<ProblemPayload> {
        let (principal, _) = require(ctx, "linkFixChange")?;
        let key = key(&input.key)?;
        let change = crate::types::key(&input.change)?;
        let state = state(ctx);
        let result = state
            .desk
            .link_fix_change(key, change, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(problem_payload(state, key, &result).await?)
    }

    /// The root cause is removed; needs a recorded root cause.
    async fn resolve_problem(
        &self,
        ctx: &Context<'_>,
        input: ResolveProblemInput,
    ) -> ApiResult<ProblemPayload> {
        let (principal, _) = require(ctx, "resolveProblem")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .resolve_problem(key, input.resolution, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(problem_payload(state, key, &result).await?)
    }

    /// Closes a resolved problem.
    async fn close_problem(
        &self,
        ctx: &Context<'_>,
        input: ProblemKeyInput,
    ) -> ApiResult<ProblemPayload> {
        let (principal, _) = require(ctx, "closeProblem")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .close_problem(key, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(problem_payload(state, key, &result).await?)
    }

    /// Reopens a resolved problem.
    async fn reopen_problem(
        &self,
        ctx: &Context<'_>,
        input: ReopenProblemInput,
    ) -> ApiResult<ProblemPayload> {
        let (principal, _) = require(ctx, "reopenProblem")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .reopen_problem(key, input.reason, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(problem_payload(state, key, &result).await?)
    }

    /// Cancels an open problem; final.
    async fn cancel_problem(
        &self,
        ctx: &Context<'_>,
        input: CancelProblemInput,
    ) -> ApiResult<ProblemPayload> {
        let (principal, _) = require(ctx, "cancelProblem")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .cancel_problem(key, input.reason, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(problem_payload(state, key, &result).await?)
    }
}
