//! Change mutations.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use itsm_app::CommandResult;
use itsm_app::stream;
use itsm_eventstore::EventStore;
use itsm_kernel::ChangeKey;
use itsm_projections::views::ChangeView;

use crate::auth::require;
use crate::error::{ApiError, ApiResult};
use crate::query::state;
use crate::query::ticket::ChangeNode;
use crate::scalar::Position;
use crate::state::AppState;
use crate::types::key;

#[derive(Default)]
pub struct ChangeMutations;

/// The change after the mutation, and the ledger position that recorded it.
#[derive(SimpleObject)]
pub struct ChangePayload {
    pub change: ChangeNode,
    pub position: Position,
}

#[derive(InputObject)]
pub struct ChangeKeyInput {
    /// `CHG-<n>`.
    pub key: async_graphql::ID,
}

/// The payload of a command on change `key`: its view folded from the stream.
pub async fn change_payload(
    state: &AppState,
    key: ChangeKey,
    result: &CommandResult,
) -> Result<ChangePayload, ApiError> {
    let envelopes = state.store.read_stream(&stream::change(key), 1).await?;
    let view = ChangeView::from_envelopes(&envelopes)?
        .ok_or_else(|| ApiError::Internal(format!("{key} has no events after a command")))?;
    Ok(ChangePayload {
        change: ChangeNode::from_view(&view),
        position: Position(result.position),
    })
}

#[Object]
impl ChangeMutations {
    /// Submits a drafted change for assessment (a standard change is authorized at once).
    async fn submit_change(
        &self,
        ctx: &Context<'_>,
        input: ChangeKeyInput,
    ) -> ApiResult<ChangePayload> {
        let (principal, _) = require(ctx, "submitChange")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .submit_change(key, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(change_payload(state, key, &result).await?)
    }
}
