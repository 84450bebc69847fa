//! What the catalog knows after folding its events, and the queries the shell asks of it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use itsm_kernel::{Actor, GroupId, Name, ServiceId};
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
