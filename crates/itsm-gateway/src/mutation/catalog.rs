//! Catalog mutations: services, calendars, SLA policies, freeze windows.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use itsm_app::CommandResult;
use itsm_app::desk::NewSlaPolicy;
use itsm_catalog::FreezeScope;

use crate::auth::require;
use crate::error::{ApiError, ApiResult};
use crate::query::state;
use crate::scalar::Position;
use crate::types::{
    CalendarInput, OlaTargetInput, PriorityLevel, ServiceCriticality, SlaTargetsInput, Tier, id,
    instant, ola_targets,
};

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

#[derive(InputObject)]
pub struct ReviseServiceInput {
    /// The service id, such as `email`.
    pub service: String,
    pub name: String,
    /// The owning assignment group.
    pub owner: String,
    pub criticality: ServiceCriticality,
}

#[derive(InputObject)]
pub struct RetireServiceInput {
    pub service: String,
    pub reason: String,
}

#[derive(InputObject)]
pub struct DefineCalendarInput {
    /// The calendar's name, such as `berlin-office`.
    pub name: String,
    pub calendar: CalendarInput,
}

#[derive(InputObject)]
pub struct ReviseCalendarInput {
    pub name: String,
    /// The new definition; earlier revisions stay on record.
    pub calendar: CalendarInput,
}

#[derive(InputObject)]
pub struct DefineSlaPolicyInput {
    /// The policy's name, such as `email-p1-vip`.
    pub policy: String,
    pub service: String,
    pub priority: PriorityLevel,
    pub tier: Tier,
    pub targets: SlaTargetsInput,
    /// The business calendar the targets are counted in.
    pub calendar: String,
    /// Operational-level targets of assignment groups.
    #[graphql(default)]
    pub ola: Vec<OlaTargetInput>,
}

#[derive(InputObject)]
pub struct ReviseSlaPolicyInput {
    pub policy: String,
    pub targets: SlaTargetsInput,
    pub calendar: String,
    #[graphql(default)]
    pub ola: Vec<OlaTargetInput>,
}

#[derive(InputObject)]
pub struct DefineFreezeWindowInput {
    /// The window's name, such as `year-end`.
    pub window: String,
    /// The one service it blocks; without it the window is global.
    pub service: Option<String>,
    /// Start, RFC 3339 (inclusive).
    pub from: String,
    /// End, RFC 3339 (exclusive).
    pub to: String,
    pub reason: String,
}

#[derive(InputObject)]
pub struct CancelFreezeWindowInput {
    pub window: String,
    pub reason: String,
}

fn catalog_payload(result: &CommandResult) -> CatalogPayload {
    CatalogPayload {
        position: Position(result.position),
    }
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
        Ok(catalog_payload(&result))
    }

    /// Changes an active service's name, owner or criticality.
    async fn revise_service(
        &self,
        ctx: &Context<'_>,
        input: ReviseServiceInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "reviseService")?;
        let result = state(ctx)
            .desk
            .revise_service(
                id("service", &input.service)?,
                input.name,
                id("owner", &input.owner)?,
                input.criticality.into(),
                &principal.actor(),
            )
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(&result))
    }

    /// Takes a service out of use; it stays in the catalog for its history.
    async fn retire_service(
        &self,
        ctx: &Context<'_>,
        input: RetireServiceInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "retireService")?;
        let result = state(ctx)
            .desk
            .retire_service(
                id("service", &input.service)?,
                input.reason,
                &principal.actor(),
            )
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(&result))
    }

    /// Adds a business calendar (timezone, weekly working hours, holidays).
    async fn define_calendar(
        &self,
        ctx: &Context<'_>,
        input: DefineCalendarInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "defineCalendar")?;
        let result = state(ctx)
            .desk
            .define_calendar(
                id("name", &input.name)?,
                input.calendar.to_calendar()?,
                &principal.actor(),
            )
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(&result))
    }

    /// Replaces a calendar's definition with a new revision.
    async fn revise_calendar(
        &self,
        ctx: &Context<'_>,
        input: ReviseCalendarInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "reviseCalendar")?;
        let result = state(ctx)
            .desk
            .revise_calendar(
                id("name", &input.name)?,
                input.calendar.to_calendar()?,
                &principal.actor(),
            )
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(&result))
    }

    /// Adds the SLA policy of one service x priority x customer tier.
    async fn define_sla_policy(
        &self,
        ctx: &Context<'_>,
        input: DefineSlaPolicyInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "defineSlaPolicy")?;
        let new = NewSlaPolicy {
            policy: id("policy", &input.policy)?,
            service: id("service", &input.service)?,
            priority: input.priority.into(),
            tier: input.tier.into(),
            targets: input.targets.to_targets()?,
            calendar: id("calendar", &input.calendar)?,
            ola: ola_targets(&input.ola)?,
        };
        let result = state(ctx)
            .desk
            .define_sla_policy(new, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(&result))
    }

    /// Replaces a policy's targets, calendar and OLA targets with a new revision (its scope
    /// never changes). Running incidents keep their terms until re-targeted.
    async fn revise_sla_policy(
        &self,
        ctx: &Context<'_>,
        input: ReviseSlaPolicyInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "reviseSlaPolicy")?;
        let result = state(ctx)
            .desk
            .revise_sla_policy(
                id("policy", &input.policy)?,
                input.targets.to_targets()?,
                id("calendar", &input.calendar)?,
                ola_targets(&input.ola)?,
                &principal.actor(),
            )
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(&result))
    }

    /// Declares a blackout period `[from, to)` for one service or, without `service`, for all.
    async fn define_freeze_window(
        &self,
        ctx: &Context<'_>,
        input: DefineFreezeWindowInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "defineFreezeWindow")?;
        let scope = match &input.service {
            Some(service) => FreezeScope::Service(id("service", service)?),
            None => FreezeScope::Global,
        };
        let from = instant("from", &input.from)?;
        let to = instant("to", &input.to)?;
        let result = state(ctx)
            .desk
            .define_freeze_window(
                id("window", &input.window)?,
                scope,
                (from, to),
                input.reason,
                &principal.actor(),
            )
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(&result))
    }

    /// Lifts a freeze window before or while it is in force.
    async fn cancel_freeze_window(
        &self,
        ctx: &Context<'_>,
        input: CancelFreezeWindowInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "cancelFreezeWindow")?;
        let result = state(ctx)
            .desk
            .cancel_freeze_window(
                id("window", &input.window)?,
                input.reason,
                &principal.actor(),
            )
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(&result))
    }
}
