//! Problem mutations.

use async_graphql::{Context, InputObject, Object, SimpleObject};
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
use crate::types::{ImpactLevel, UrgencyLevel, id};

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
}
