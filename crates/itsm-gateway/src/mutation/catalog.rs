//! Catalog mutations: services, calendars, SLA policies, freeze windows.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use itsm_app::CommandResult;
use itsm_app::desk::NewSlaPolicy;
use itsm_catalog::FreezeScope;
use itsm_kernel::{Name, ServiceId};

use crate::auth::require;
use crate::error::{ApiError, ApiResult};
use crate::query::catalog::{CalendarNode, FreezeWindowNode, ServiceNode, SlaPolicyNode};
use crate::query::state;
use crate::scalar::Position;
use crate::state::AppState;
use crate::types::{
    CalendarInput, OlaTargetInput, PriorityLevel, ServiceCriticality, SlaTargetsInput, Tier, id,
    instant, ola_targets,
};

#[derive(Default)]
pub struct CatalogMutations;

/// The catalog entry a mutation wrote, as the catalog stands after the write, and the ledger
/// position that recorded it. Exactly one of the entries is set, the one the mutation is about.
#[derive(SimpleObject)]
pub struct CatalogPayload {
    pub position: Position,
    /// Set by `defineService`, `reviseService`, `retireService`.
    pub service: Option<ServiceNode>,
    /// Set by `defineCalendar`, `reviseCalendar`.
    pub calendar: Option<CalendarNode>,
    /// Set by `defineSlaPolicy`, `reviseSlaPolicy`.
    pub sla_policy: Option<SlaPolicyNode>,
    /// Set by `defineFreezeWindow`, `cancelFreezeWindow`.
    pub freeze_window: Option<FreezeWindowNode>,
}

/// What a catalog mutation wrote, to show in its payload.
enum Entry {
    Service(ServiceId),
    Calendar(Name),
    SlaPolicy(Name),
    FreezeWindow(Name),
}

/// The payload of a catalog command: the entry it wrote, read from the catalog after the write.
async fn catalog_payload(
    state: &AppState,
    entry: Entry,
    result: &CommandResult,
) -> Result<CatalogPayload, ApiError> {
    let catalog = state.desk.catalog().await?;
    let missing = |what: String| ApiError::Internal(format!("{what} is missing after a command"));
    let mut payload = CatalogPayload {
        position: Position(result.position),
        service: None,
        calendar: None,
        sla_policy: None,
        freeze_window: None,
    };
    match entry {
        Entry::Service(id) => {
            let service = catalog
                .service(&id)
                .ok_or_else(|| missing(format!("service {id}")))?;
            payload.service = Some(ServiceNode::from(service));
        }
        Entry::Calendar(name) => {
            let calendar = catalog
                .calendar(&name)
                .ok_or_else(|| missing(format!("calendar {name}")))?;
            payload.calendar = Some(CalendarNode::from(calendar));
        }
        Entry::SlaPolicy(name) => {
            let policy = catalog
                .policy(&name)
                .ok_or_else(|| missing(format!("SLA policy {name}")))?;
            payload.sla_policy = Some(SlaPolicyNode::from(policy));
        }
        Entry::FreezeWindow(name) => {
            let window = catalog
                .freeze_window(&name)
                .ok_or_else(|| missing(format!("freeze window {name}")))?;
            payload.freeze_window = Some(FreezeWindowNode {
                name: window.name.to_string(),
                service: window.scope.service().map(ToString::to_string),
                from: window.from.to_rfc3339(),
                to: window.to.to_rfc3339(),
                reason: window.reason.clone(),
                cancelled: window.cancelled.is_some(),
            });
        }
    }
    Ok(payload)
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

#[Object]
impl CatalogMutations {
    /// Adds a service to the catalog.
    async fn define_service(
        &self,
        ctx: &Context<'_>,
        input: DefineServiceInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "defineService")?;
        let service: ServiceId = id("service", &input.service)?;
        let state = state(ctx);
        let result = state
            .desk
            .define_service(
                service.clone(),
                input.name,
                id("owner", &input.owner)?,
                input.criticality.into(),
                &principal.actor(),
            )
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(state, Entry::Service(service), &result).await?)
    }

    /// Changes an active service's name, owner or criticality.
    async fn revise_service(
        &self,
        ctx: &Context<'_>,
        input: ReviseServiceInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "reviseService")?;
        let service: ServiceId = id("service", &input.service)?;
        let state = state(ctx);
        let result = state
            .desk
            .revise_service(
                service.clone(),
                input.name,
                id("owner", &input.owner)?,
                input.criticality.into(),
                &principal.actor(),
            )
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(state, Entry::Service(service), &result).await?)
    }

    /// Takes a service out of use; it stays in the catalog for its history.
    async fn retire_service(
        &self,
        ctx: &Context<'_>,
        input: RetireServiceInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "retireService")?;
        let service: ServiceId = id("service", &input.service)?;
        let state = state(ctx);
        let result = state
            .desk
            .retire_service(service.clone(), input.reason, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(state, Entry::Service(service), &result).await?)
    }

    /// Adds a business calendar (timezone, weekly working hours, holidays).
    async fn define_calendar(
        &self,
        ctx: &Context<'_>,
        input: DefineCalendarInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "defineCalendar")?;
        let name: Name = id("name", &input.name)?;
        let calendar = input.calendar.to_calendar()?;
        let state = state(ctx);
        let result = state
            .desk
            .define_calendar(name.clone(), calendar, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(state, Entry::Calendar(name), &result).await?)
    }

    /// Replaces a calendar's definition with a new revision.
    async fn revise_calendar(
        &self,
        ctx: &Context<'_>,
        input: ReviseCalendarInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "reviseCalendar")?;
        let name: Name = id("name", &input.name)?;
        let calendar = input.calendar.to_calendar()?;
        let state = state(ctx);
        let result = state
            .desk
            .revise_calendar(name.clone(), calendar, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(state, Entry::Calendar(name), &result).await?)
    }

    /// Adds the SLA policy of one service x priority x customer tier.
    async fn define_sla_policy(
        &self,
        ctx: &Context<'_>,
        input: DefineSlaPolicyInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "defineSlaPolicy")?;
        let policy: Name = id("policy", &input.policy)?;
        let new = NewSlaPolicy {
            policy: policy.clone(),
            service: id("service", &input.service)?,
            priority: input.priority.into(),
            tier: input.tier.into(),
            targets: input.targets.to_targets()?,
            calendar: id("calendar", &input.calendar)?,
            ola: ola_targets(&input.ola)?,
        };
        let state = state(ctx);
        let result = state
            .desk
            .define_sla_policy(new, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(state, Entry::SlaPolicy(policy), &result).await?)
    }

    /// Replaces a policy's targets, calendar and OLA targets with a new revision (its scope
    /// never changes). Running incidents keep their terms until re-targeted.
    async fn revise_sla_policy(
        &self,
        ctx: &Context<'_>,
        input: ReviseSlaPolicyInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "reviseSlaPolicy")?;
        let policy: Name = id("policy", &input.policy)?;
        let targets = input.targets.to_targets()?;
        let calendar = id("calendar", &input.calendar)?;
        let ola = ola_targets(&input.ola)?;
        let state = state(ctx);
        let result = state
            .desk
            .revise_sla_policy(policy.clone(), targets, calendar, ola, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(state, Entry::SlaPolicy(policy), &result).await?)
    }

    /// Declares a blackout period `[from, to)` for one service or, without `service`, for all.
    async fn define_freeze_window(
        &self,
        ctx: &Context<'_>,
        input: DefineFreezeWindowInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "defineFreezeWindow")?;
        let window: Name = id("window", &input.window)?;
        let scope = match &input.service {
            Some(service) => FreezeScope::Service(id("service", service)?),
            None => FreezeScope::Global,
        };
        let from = instant("from", &input.from)?;
        let to = instant("to", &input.to)?;
        let state = state(ctx);
        let result = state
            .desk
            .define_freeze_window(
                window.clone(),
                scope,
                (from, to),
                input.reason,
                &principal.actor(),
            )
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(state, Entry::FreezeWindow(window), &result).await?)
    }

    /// Lifts a freeze window before or while it is in force.
    async fn cancel_freeze_window(
        &self,
        ctx: &Context<'_>,
        input: CancelFreezeWindowInput,
    ) -> ApiResult<CatalogPayload> {
        let (principal, _) = require(ctx, "cancelFreezeWindow")?;
        let window: Name = id("window", &input.window)?;
        let state = state(ctx);
        let result = state
            .desk
            .cancel_freeze_window(window.clone(), input.reason, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(catalog_payload(state, Entry::FreezeWindow(window), &result).await?)
    }
}
