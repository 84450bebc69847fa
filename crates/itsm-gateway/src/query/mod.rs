//! Queries over the read models and the ledger. Every query takes `atLeast` (wait, bounded,
//! until the read models reached a position) and, where it makes sense, `asOf` (as it was).

pub mod catalog;
mod ledger;
mod list;
pub mod page;
pub mod queue;
mod sla;
pub mod ticket;

pub use catalog::CatalogQueries;
pub use ledger::LedgerQueries;
pub use list::ListQueries;
pub use queue::QueueQueries;
pub use sla::SlaQueries;
pub use ticket::TicketQueries;

use async_graphql::Context;

use crate::error::ApiError;
use crate::scalar::Position;
use crate::state::AppState;

/// The state every resolver reads.
pub fn state<'a>(ctx: &'a Context<'_>) -> &'a AppState {
    // Proven infallible: `build_schema` always puts the state into the schema's data.
    ctx.data_unchecked::<AppState>()
}

/// Waits until the read models applied `at_least` (read-your-writes), within the wait limit.
pub async fn wait_for(state: &AppState, at_least: Option<Position>) -> Result<(), ApiError> {
    if let Some(Position(position)) = at_least {
        state
            .runner
            .wait_for(position, state.limits.max_wait)
            .await?;
    }
    Ok(())
}
