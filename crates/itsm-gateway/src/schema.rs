//! The schema: queries, mutations and subscriptions merged from one module per area, so each
//! area grows in its own file.

use async_graphql::{MergedObject, MergedSubscription, Schema};

use crate::mutation::{
    AccessMutations, CatalogMutations, ChangeMutations, IncidentMutations, ProblemMutations,
};
use crate::query::{
    CatalogQueries, LedgerQueries, ListQueries, QueueQueries, SlaQueries, TicketQueries,
};
use crate::state::{AppState, Limits};
use crate::subscription::LedgerSubscriptions;

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    TicketQueries,
    ListQueries,
    QueueQueries,
    SlaQueries,
    CatalogQueries,
    LedgerQueries,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    IncidentMutations,
    ProblemMutations,
    ChangeMutations,
    CatalogMutations,
    AccessMutations,
);

#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(LedgerSubscriptions);

pub type DeskSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

fn builder(
    limits: &Limits,
) -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
}

/// The schema serving `state`.
pub fn build_schema(state: AppState) -> DeskSchema {
    builder(&state.limits).data(state).finish()
}

/// The schema's SDL (what `ledgerdesk schema` prints and schema/schema.graphql holds).
pub fn sdl() -> String {
    builder(&Limits::default()).finish().sdl()
}
