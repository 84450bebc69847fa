//! The catalog (services, business calendars, SLA policies, as the catalog stream folds them)
//! and the change calendar read model (slots, freeze windows, collisions).

use async_graphql::{Context, Object, SimpleObject};
use chrono::Weekday;
use itsm_catalog::{BusinessCalendar, Service, SlaPolicy};
use itsm_projections::{CalendarChange, CalendarFreeze, Collision};

use crate::auth::require;
use crate::error::{ApiError, ApiResult};
use crate::query::page::Models;
use crate::query::ticket::as_of_arg;
use crate::query::{state, wait_for};
use crate::scalar::Position;
use crate::types::{OnHoldReason, ServiceCriticality, Tier, instant};

#[derive(Default)]
pub struct CatalogQueries;

/// A service of the catalog.
#[derive(SimpleObject)]
pub struct ServiceNode {
    /// The service id, such as `email`.
    pub id: async_graphql::ID,
    pub name: String,
    /// The owning assignment group.
    pub owner: String,
    pub criticality: ServiceCriticality,
    /// False once retired.
    pub active: bool,
    pub defined_at: String,
    pub revised_at: String,
}

impl From<&Service> for ServiceNode {
    fn from(service: &Service) -> Self {
        Self {
            id: async_graphql::ID(service.id.to_string()),
            name: service.name.clone(),
            owner: service.owner.to_string(),
            criticality: service.criticality.into(),
            active: service.is_active(),
            defined_at: service.defined_at.to_rfc3339(),
            revised_at: service.revised_at.to_rfc3339(),
        }
    }
}

/// One local working interval `[start, end)` of a weekday (`end` 00:00 is midnight).
#[derive(SimpleObject)]
pub struct WorkingHoursNode {
    /// `MONDAY` .. `SUNDAY`.
    pub day: String,
    pub start: String,
    pub end: String,
}

/// A business calendar's current revision.
#[derive(SimpleObject)]
pub struct CalendarNode {
    pub name: String,
    pub revision: i32,
    /// IANA timezone.
    pub timezone: String,
    pub working_hours: Vec<WorkingHoursNode>,
    /// Local dates, `YYYY-MM-DD`.
    pub holidays: Vec<String>,
    pub revised_at: String,
    pub revised_by: String,
}

const WEEK: [(Weekday, &str); 7] = [
    (Weekday::Mon, "MONDAY"),
    (Weekday::Tue, "TUESDAY"),
    (Weekday::Wed, "WEDNESDAY"),
    (Weekday::Thu, "THURSDAY"),
    (Weekday::Fri, "FRIDAY"),
    (Weekday::Sat, "SATURDAY"),
    (Weekday::Sun, "SUNDAY"),
];

impl From<&BusinessCalendar> for CalendarNode {
    fn from(calendar: &BusinessCalendar) -> Self {
        let current = &calendar.current;
        let week = current.calendar.week();
        Self {
            name: calendar.name.to_string(),
            revision: i32::try_from(current.revision).unwrap_or(i32::MAX),
            timezone: current.calendar.timezone().name().to_owned(),
            working_hours: WEEK
                .iter()
                .flat_map(|(weekday, name)| {
                    week.day(*weekday).iter().map(|hours| WorkingHoursNode {
                        day: (*name).to_owned(),
                        start: hours.start().format("%H:%M").to_string(),
                        end: hours.end().format("%H:%M").to_string(),
                    })
                })
                .collect(),
            holidays: current
                .calendar
                .holidays()
                .iter()
                .map(ToString::to_string)
                .collect(),
            revised_at: current.at.to_rfc3339(),
            revised_by: current.by.to_string(),
        }
    }
}

/// The OLA target of one group, in business minutes.
#[derive(SimpleObject)]
pub struct OlaTargetNode {
    pub group: String,
    pub minutes: i64,
}

/// An SLA policy row (service x priority x tier), current revision.
#[derive(SimpleObject)]
pub struct SlaPolicyNode {
    pub name: String,
    pub service: String,
    pub priority: String,
    pub tier: Tier,
    pub revision: i32,
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
    pub warning_percent: i32,
    pub pause_on: Vec<OnHoldReason>,
    pub calendar: String,
    pub ola: Vec<OlaTargetNode>,
    pub revised_at: String,
}

impl From<&SlaPolicy> for SlaPolicyNode {
    fn from(policy: &SlaPolicy) -> Self {
        let current = &policy.current;
        Self {
            name: policy.name.to_string(),
            service: policy.service.to_string(),
            priority: policy.priority.to_string(),
            tier: policy.tier.into(),
            revision: i32::try_from(current.revision).unwrap_or(i32::MAX),
            first_response_minutes: current.targets.first_response().num_minutes(),
            resolution_minutes: current.targets.resolution().num_minutes(),
            warning_percent: i32::from(current.targets.warning_percent()),
            pause_on: current
                .targets
                .pause_on()
                .iter()
                .map(|reason| (*reason).into())
                .collect(),
            calendar: current.calendar.to_string(),
            ola: current
                .ola
                .iter()
                .map(|(group, target)| OlaTargetNode {
                    group: group.to_string(),
                    minutes: target.num_minutes(),
                })
                .collect(),
            revised_at: current.at.to_rfc3339(),
        }
    }
}

/// A change on the calendar.
#[derive(SimpleObject)]
pub struct CalendarChangeNode {
    /// `CHG-<n>`.
    pub key: async_graphql::ID,
    pub title: String,
    pub service: String,
    pub change_type: String,
    pub risk: String,
    pub status: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl From<&CalendarChange> for CalendarChangeNode {
    fn from(change: &CalendarChange) -> Self {
        Self {
            key: async_graphql::ID(change.key.to_string()),
            title: change.title.clone(),
            service: change.service.to_string(),
            change_type: format!("{:?}", change.change_type),
            risk: format!("{:?}", change.risk),
            status: format!("{:?}", change.status),
            from: change.slot.map(|slot| slot.0.to_rfc3339()),
            to: change.slot.map(|slot| slot.1.to_rfc3339()),
        }
    }
}

/// A freeze (blackout) window, global or for one service.
#[derive(SimpleObject)]
pub struct FreezeWindowNode {
    pub name: String,
    /// `null` for a global window.
    pub service: Option<String>,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub cancelled: bool,
}

impl From<&CalendarFreeze> for FreezeWindowNode {
    fn from(freeze: &CalendarFreeze) -> Self {
        Self {
            name: freeze.name.to_string(),
            service: freeze.service.as_ref().map(ToString::to_string),
            from: freeze.from.to_rfc3339(),
            to: freeze.to.to_rfc3339(),
            reason: freeze.reason.clone(),
            cancelled: freeze.cancelled,
        }
    }
}

/// Two live changes on one service whose slots overlap.
#[derive(SimpleObject)]
pub struct CollisionNode {
    pub service: String,
    pub first: async_graphql::ID,
    pub second: async_graphql::ID,
}

impl From<&Collision> for CollisionNode {
    fn from(collision: &Collision) -> Self {
        Self {
            service: collision.service.to_string(),
            first: async_graphql::ID(collision.first.to_string()),
            second: async_graphql::ID(collision.second.to_string()),
        }
    }
}

/// What the change calendar holds in a range.
#[derive(SimpleObject)]
pub struct ChangeCalendarNode {
    /// Changes whose slot overlaps the range, by start.
    pub changes: Vec<CalendarChangeNode>,
    /// Freeze windows overlapping the range, cancelled ones included.
    pub freeze_windows: Vec<FreezeWindowNode>,
    pub collisions: Vec<CollisionNode>,
    pub position: Position,
}

#[Object]
impl CatalogQueries {
    /// Every service, retired ones included, by id.
    async fn services(
        &self,
        ctx: &Context<'_>,
        at_least: Option<Position>,
    ) -> ApiResult<Vec<ServiceNode>> {
        require(ctx, "services")?;
        let state = state(ctx);
        wait_for(state, at_least).await?;
        let catalog = state.desk.catalog().await.map_err(ApiError::from)?;
        Ok(catalog.services().map(ServiceNode::from).collect())
    }

    /// Every business calendar (current revision), by name.
    async fn calendars(
        &self,
        ctx: &Context<'_>,
        at_least: Option<Position>,
    ) -> ApiResult<Vec<CalendarNode>> {
        require(ctx, "calendars")?;
        let state = state(ctx);
        wait_for(state, at_least).await?;
        let catalog = state.desk.catalog().await.map_err(ApiError::from)?;
        Ok(catalog.calendars().map(CalendarNode::from).collect())
    }

    /// Every SLA policy (current revision), by name.
    async fn sla_policies(
        &self,
        ctx: &Context<'_>,
        at_least: Option<Position>,
    ) -> ApiResult<Vec<SlaPolicyNode>> {
        require(ctx, "slaPolicies")?;
        let state = state(ctx);
        wait_for(state, at_least).await?;
        let catalog = state.desk.catalog().await.map_err(ApiError::from)?;
        Ok(catalog.policies().map(SlaPolicyNode::from).collect())
    }

    /// Scheduled changes, freeze windows and collisions overlapping `[from, to)` (RFC 3339).
    async fn change_calendar(
        &self,
        ctx: &Context<'_>,
        from: String,
        to: String,
        as_of: Option<Position>,
        as_of_time: Option<String>,
        at_least: Option<Position>,
    ) -> ApiResult<ChangeCalendarNode> {
        require(ctx, "changeCalendar")?;
        let state = state(ctx);
        let from = instant("from", &from)?;
        let to = instant("to", &to)?;
        if from >= to {
            return Err(ApiError::Validation("from must be before to".to_owned()).into());
        }
        wait_for(state, at_least).await?;
        let models = Models::get(state, as_of_arg(as_of, as_of_time.as_deref())?).await?;
        Ok(models.read(state, |models| {
            let range = models.changes.between(from, to);
            ChangeCalendarNode {
                changes: range.changes.iter().map(Into::into).collect(),
                freeze_windows: range.freezes.iter().map(Into::into).collect(),
                collisions: range.collisions.iter().map(CollisionNode::from).collect(),
                position: Position(models.position()),
            }
        }))
    }
}
