//! What the catalog knows after folding its events, and the queries the shell asks of it.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use itsm_kernel::{Actor, CustomerTier, GroupId, Name, Priority, ServiceId};
use itsm_sla::{AppliedSla, Calendar, SlaTargets};
use serde::{Deserialize, Serialize};

/// How much the business depends on a service. Read models sort and filter by it; it does not
/// change SLA targets by itself (policies do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Criticality {
    Critical,
    High,
    Medium,
    Low,
}

/// Whether new work may be raised against a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ServiceStatus {
    Active,
    Retired,
}

/// A service in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: ServiceId,
    /// The display name, such as `Corporate e-mail`.
    pub name: String,
    /// The group that owns the service and receives its tickets by default.
    pub owner: GroupId,
    pub criticality: Criticality,
    pub status: ServiceStatus,
    pub defined_at: DateTime<Utc>,
    pub revised_at: DateTime<Utc>,
}

impl Service {
    pub fn is_active(&self) -> bool {
        self.status == ServiceStatus::Active
    }
}

/// One revision of a business calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarRevision {
    /// 1 for the definition, then 2, 3, ...
    pub revision: u32,
    pub calendar: Calendar,
    pub by: Actor,
    /// From when this revision is in force.
    pub at: DateTime<Utc>,
}

/// A named business calendar with all its revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    pub name: Name,
    /// The revision in force now.
    pub current: CalendarRevision,
    /// The revisions it replaced, oldest first.
    pub earlier: Vec<CalendarRevision>,
}

impl BusinessCalendar {
    /// Every revision, oldest first.
    pub fn revisions(&self) -> impl DoubleEndedIterator<Item = &CalendarRevision> {
        self.earlier.iter().chain(std::iter::once(&self.current))
    }

    /// The revision that was in force at `at`, if the calendar existed then.
    pub fn as_of(&self, at: DateTime<Utc>) -> Option<&CalendarRevision> {
        self.revisions().rev().find(|revision| revision.at <= at)
    }
}

/// One revision of an SLA policy: what it promised from `at` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRevision {
    /// 1 for the definition, then 2, 3, ...
    pub revision: u32,
    pub targets: SlaTargets,
    /// The business calendar the targets are measured in.
    pub calendar: Name,
    /// Operational-level targets per assignment group.
    pub ola: BTreeMap<GroupId, TimeDelta>,
    pub by: Actor,
    /// From when this revision is in force.
    pub at: DateTime<Utc>,
}

/// The SLA policy of one service x priority x customer tier, with all its revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaPolicy {
    pub name: Name,
    pub service: ServiceId,
    pub priority: Priority,
    pub tier: CustomerTier,
    /// The revision in force now.
    pub current: PolicyRevision,
    /// The revisions it replaced, oldest first.
    pub earlier: Vec<PolicyRevision>,
}

impl SlaPolicy {
    /// Every revision, oldest first.
    pub fn revisions(&self) -> impl DoubleEndedIterator<Item = &PolicyRevision> {
        self.earlier.iter().chain(std::iter::once(&self.current))
    }

    /// The revision that was in force at `at`, if the policy existed then.
    pub fn as_of(&self, at: DateTime<Utc>) -> Option<&PolicyRevision> {
        self.revisions().rev().find(|revision| revision.at <= at)
    }
}

/// The scope an SLA policy covers.
pub(crate) type PolicyScope = (ServiceId, Priority, CustomerTier);

/// Which changes a freeze window blocks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FreezeScope {
    /// Every service.
    Global,
    /// One service.
    Service(ServiceId),
}

impl FreezeScope {
    /// Whether changes to `service` fall under this scope.
    pub fn covers(&self, service: &ServiceId) -> bool {
        match self {
            FreezeScope::Global => true,
            FreezeScope::Service(scoped) => scoped == service,
        }
    }

    /// The one service a scope names; `None` for a global window.
    pub fn service(&self) -> Option<&ServiceId> {
        match self {
            FreezeScope::Global => None,
            FreezeScope::Service(service) => Some(service),
        }
    }
}

/// A blackout period in which (non-emergency) changes may not be scheduled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeWindow {
    pub name: Name,
    pub scope: FreezeScope,
    /// Start, inclusive.
    pub from: DateTime<Utc>,
    /// End, exclusive.
    pub to: DateTime<Utc>,
    pub reason: String,
    pub defined_by: Actor,
    /// When and why it was cancelled; a cancelled window blocks nothing but stays on record.
    pub cancelled: Option<Cancellation>,
}

impl FreezeWindow {
    /// Whether the window is in force and overlaps the half-open interval `[from, to)`.
    pub fn blocks(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.cancelled.is_none() && self.from < to && from < self.to
    }
}

/// Who cancelled a freeze window, when and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancellation {
    pub by: Actor,
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// The whole catalog. Maps are ordered so that queries and debug output are deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogState {
    pub(crate) services: BTreeMap<ServiceId, Service>,
    pub(crate) calendars: BTreeMap<Name, BusinessCalendar>,
    pub(crate) policies: BTreeMap<Name, SlaPolicy>,
    /// Which policy covers each scope; at most one per scope.
    pub(crate) policy_by_scope: BTreeMap<PolicyScope, Name>,
    pub(crate) freeze_windows: BTreeMap<Name, FreezeWindow>,
}

impl CatalogState {
    /// A service, active or retired.
    pub fn service(&self, id: &ServiceId) -> Option<&Service> {
        self.services.get(id)
    }

    /// All services, retired ones included, ordered by id.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.values()
    }

    /// A business calendar with all its revisions.
    pub fn calendar(&self, name: &Name) -> Option<&BusinessCalendar> {
        self.calendars.get(name)
    }

    /// All business calendars, ordered by name.
    pub fn calendars(&self) -> impl Iterator<Item = &BusinessCalendar> {
        self.calendars.values()
    }

    /// An SLA policy with all its revisions.
    pub fn policy(&self, name: &Name) -> Option<&SlaPolicy> {
        self.policies.get(name)
    }

    /// All SLA policies, ordered by name.
    pub fn policies(&self) -> impl Iterator<Item = &SlaPolicy> {
        self.policies.values()
    }

    /// The policy defined for exactly this scope (no tier fallback).
    pub fn policy_for(
        &self,
        service: &ServiceId,
        priority: Priority,
        tier: CustomerTier,
    ) -> Option<&SlaPolicy> {
        self.policy_by_scope
            .get(&(service.clone(), priority, tier))
            .and_then(|name| self.policies.get(name))
    }

    /// The SLA a new ticket of `service` x `priority` x `tier` runs under now, without an OLA
    /// target (see [`CatalogState::applied_sla_for_group`]).
    ///
    /// Fallback: the policy of the customer's tier if there is one, else the `Standard` tier's
    /// policy for the same service and priority, else `None` (the service has no SLA for that
    /// priority). The service's status is not consulted: whether a retired service may still
    /// receive tickets is the caller's question ([`CatalogState::service`]).
    pub fn applied_sla(
        &self,
        service: &ServiceId,
        priority: Priority,
        tier: CustomerTier,
    ) -> Option<AppliedSla> {
        self.resolve_sla(service, priority, tier, None, None)
    }

    /// Like [`CatalogState::applied_sla`], with the OLA target of `group` (if the policy has one).
    pub fn applied_sla_for_group(
        &self,
        service: &ServiceId,
        priority: Priority,
        tier: CustomerTier,
        group: &GroupId,
    ) -> Option<AppliedSla> {
        self.resolve_sla(service, priority, tier, Some(group), None)
    }

    /// The SLA as it was in force at `at`: the policy revision and the calendar revision of that
    /// moment, with the same tier fallback as [`CatalogState::applied_sla`] (a tier policy
    /// defined after `at` does not count). Used by audits, time travel and the what-if
    /// evaluator.
    pub fn applied_sla_as_of(
        &self,
        service: &ServiceId,
        priority: Priority,
        tier: CustomerTier,
        group: Option<&GroupId>,
        at: DateTime<Utc>,
    ) -> Option<AppliedSla> {
        self.resolve_sla(service, priority, tier, group, Some(at))
    }

    fn resolve_sla(
        &self,
        service: &ServiceId,
        priority: Priority,
        tier: CustomerTier,
        group: Option<&GroupId>,
        at: Option<DateTime<Utc>>,
    ) -> Option<AppliedSla> {
        let exact = self.sla_of_tier(service, priority, tier, group, at);
        match tier {
            CustomerTier::Standard => exact,
            CustomerTier::Vip => exact
                .or_else(|| self.sla_of_tier(service, priority, CustomerTier::Standard, group, at)),
        }
    }

    fn sla_of_tier(
        &self,
        service: &ServiceId,
        priority: Priority,
        tier: CustomerTier,
        group: Option<&GroupId>,
        at: Option<DateTime<Utc>>,
    ) -> Option<AppliedSla> {
        let policy = self.policy_for(service, priority, tier)?;
        let revision = match at {
            None => &policy.current,
            Some(at) => policy.as_of(at)?,
        };
        let calendar = self.calendars.get(&revision.calendar)?;
        let calendar_revision = match at {
            None => &calendar.current,
            Some(at) => calendar.as_of(at)?,
        };
        Some(AppliedSla {
            policy: policy.name.clone(),
            revision: revision.revision,
            targets: revision.targets.clone(),
            calendar_name: calendar.name.clone(),
            calendar: calendar_revision.calendar.clone(),
            ola: group.and_then(|group| revision.ola.get(group).copied()),
        })
    }

    /// A freeze window, cancelled or not.
    pub fn freeze_window(&self, name: &Name) -> Option<&FreezeWindow> {
        self.freeze_windows.get(name)
    }

    /// All freeze windows, cancelled ones included, ordered by name.
    pub fn freeze_windows(&self) -> impl Iterator<Item = &FreezeWindow> {
        self.freeze_windows.values()
    }

    /// The freeze windows in force (not cancelled) that cover `service` (its own and the global
    /// ones) and overlap the half-open interval `[from, to)`, ordered by start.
    pub fn freeze_windows_overlapping(
        &self,
        service: &ServiceId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<&FreezeWindow> {
        let mut hits: Vec<&FreezeWindow> = self
            .freeze_windows
            .values()
            .filter(|window| window.scope.covers(service) && window.blocks(from, to))
            .collect();
        hits.sort_by(|a, b| a.from.cmp(&b.from).then_with(|| a.name.cmp(&b.name)));
        hits
    }
}
