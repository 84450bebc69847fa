//! Catalog mutations: services, calendars, SLA policies, freeze windows.

use async_graphql::{Context, InputObject, Object, SimpleObject};

use crate::auth::require;
use crate::error::{ApiError, ApiResult};
use crate::query::state;
use crate::scalar::Position;
use crate::types::{ServiceCriticality, id};

#[derive(Default)]
pub struct CatalogMutations;

/// The ledger position that recorded a catalog change.
#[derive(SimpleObject)]
pub struct CatalogPayload {
    pub position: Position,
}

#[derive(InputObject)]
pub struct DefineServiceInput {
    /// The service id, such as `email`.
    pub service: String,
    pub name: String,
    /// The owning assignment group.
    pub owner: String,
    pub criticality: ServiceCriticality,
}

#[Object]
impl CatalogMutations {
    /// Adds a service to the catalog.
    async fn define_service(
        &self,
        ctx: &Context<'_>,
        input: DefineServiceInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "defineService")?;
        let result = state(ctx)
            .desk
            .define_service(
                id("service", &input.service)?,
                input.name,
                id("owner", &input.owner)?,
                input.criticality.into(),
                &principal.actor(),
            )
            .await
            .map_err(ApiError::from)?;
        Ok(CatalogPayload {
            position: Position(result.position),
        })
    }
}
