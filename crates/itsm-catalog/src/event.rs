//! What happened to the catalog. Every definition and revision is an event, so any past state of
//! the catalog (and any SLA policy in force at a past moment) can be reconstructed.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use itsm_kernel::{Actor, CustomerTier, GroupId, Name, PersistedEvent, Priority, ServiceId};
use itsm_sla::{Calendar, SlaTargets};
use serde::{Deserialize, Serialize};

use crate::{Criticality, FreezeScope};

/// An event of the catalog aggregate.
///
/// The ledger stores the bincode encoding of this enum, which includes the variant's index:
/// new variants go at the end, existing ones are never reordered (the golden fixtures in
/// `tests/golden/` fail otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CatalogEvent {
    ServiceDefined {
        service: ServiceId,
        name: String,
        owner: GroupId,
        criticality: Criticality,
        by: Actor,
        at: DateTime<Utc>,
    },
    ServiceRevised {
        service: ServiceId,
        name: String,
        owner: GroupId,
        criticality: Criticality,
        by: Actor,
        at: DateTime<Utc>,
    },
    ServiceRetired {
        service: ServiceId,
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// Revision 1 of a calendar.
    CalendarDefined {
        name: Name,
        calendar: Calendar,
        by: Actor,
        at: DateTime<Utc>,
    },
    CalendarRevised {
        name: Name,
        /// 2, 3, ...: one more than the revision it replaces.
        revision: u32,
        calendar: Calendar,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// Revision 1 of an SLA policy.
    SlaPolicyDefined {
        policy: Name,
        service: ServiceId,
        priority: Priority,
        tier: CustomerTier,
        targets: SlaTargets,
        calendar: Name,
        ola: BTreeMap<GroupId, TimeDelta>,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// A new revision of an SLA policy; repeats the (unchanged) scope so that every revision
    /// reads on its own.
    SlaPolicyRevised {
        policy: Name,
        /// 2, 3, ...: one more than the revision it replaces.
        revision: u32,
        service: ServiceId,
        priority: Priority,
        tier: CustomerTier,
        targets: SlaTargets,
        calendar: Name,
        ola: BTreeMap<GroupId, TimeDelta>,
        by: Actor,
        at: DateTime<Utc>,
    },
    FreezeWindowDefined {
        window: Name,
        scope: FreezeScope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    FreezeWindowCancelled {
        window: Name,
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
}

impl CatalogEvent {
    /// Every persisted name of this enum, one per variant.
    pub const EVENT_TYPES: &'static [&'static str] = &[
        "ServiceDefined",
        "ServiceRevised",
        "ServiceRetired",
        "CalendarDefined",
        "CalendarRevised",
        "SlaPolicyDefined",
        "SlaPolicyRevised",
        "FreezeWindowDefined",
        "FreezeWindowCancelled",
    ];
}

impl PersistedEvent for CatalogEvent {
    fn event_type(&self) -> &'static str {
        match self {
            CatalogEvent::ServiceDefined { .. } => "ServiceDefined",
            CatalogEvent::ServiceRevised { .. } => "ServiceRevised",
            CatalogEvent::ServiceRetired { .. } => "ServiceRetired",
            CatalogEvent::CalendarDefined { .. } => "CalendarDefined",
            CatalogEvent::CalendarRevised { .. } => "CalendarRevised",
            CatalogEvent::SlaPolicyDefined { .. } => "SlaPolicyDefined",
            CatalogEvent::SlaPolicyRevised { .. } => "SlaPolicyRevised",
            CatalogEvent::FreezeWindowDefined { .. } => "FreezeWindowDefined",
            CatalogEvent::FreezeWindowCancelled { .. } => "FreezeWindowCancelled",
        }
    }

    fn schema_version(&self) -> u16 {
        match self {
            CatalogEvent::ServiceDefined { .. }
            | CatalogEvent::ServiceRevised { .. }
            | CatalogEvent::ServiceRetired { .. }
            | CatalogEvent::CalendarDefined { .. }
            | CatalogEvent::CalendarRevised { .. }
            | CatalogEvent::SlaPolicyDefined { .. }
            | CatalogEvent::SlaPolicyRevised { .. }
            | CatalogEvent::FreezeWindowDefined { .. }
            | CatalogEvent::FreezeWindowCancelled { .. } => 1,
        }
    }
}
