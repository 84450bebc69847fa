//! Queries about the caller and the ledger itself.

use async_graphql::{Context, Object, SimpleObject};
use itsm_eventstore::EventStore;

use crate::auth::require;
use crate::error::ApiResult;
use crate::query::state;
use crate::scalar::Position;

#[derive(Default)]
pub struct LedgerQueries;

/// The caller, as their token says.
#[derive(SimpleObject)]
pub struct Me {
    pub user: String,
    pub role: String,
    /// The name of the token in use (never the token).
    pub token_name: String,
    /// The ledger head and the read models' position when asked.
    pub ledger_head: Position,
    pub read_models_at: Position,
}

#[Object]
impl LedgerQueries {
    /// Who is calling, and how far the ledger and the read models are.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<Me> {
        let (principal, _) = require(ctx, "me")?;
        let state = state(ctx);
        Ok(Me {
            user: principal.user.to_string(),
            role: principal.role.to_string(),
            token_name: principal.token_name.clone(),
            ledger_head: Position(state.store.head()),
            read_models_at: Position(state.runner.position()),
        })
    }
}
