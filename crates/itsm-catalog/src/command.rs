//! What a service manager asks of the catalog.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use itsm_kernel::{CustomerTier, GroupId, Name, Priority, ServiceId};
use itsm_sla::{Calendar, SlaTargets};
use serde::{Deserialize, Serialize};

use crate::{Criticality, FreezeScope};

/// Longest display name of a service, in characters.
pub const MAX_SERVICE_NAME_LEN: usize = 200;
/// Longest reason (retirement, freeze window, cancellation), in characters.
pub const MAX_REASON_LEN: usize = 2_000;

/// Most OLA targets (assignment groups) one SLA policy revision names.
pub const MAX_OLA_TARGETS: usize = 64;

/// A command to the catalog aggregate (stream `catalog`).
///
/// Everything the decision needs is inside the command; time and actor come with the
/// [`Context`](itsm_kernel::Context).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CatalogCommand {
    /// Adds a new service.
    DefineService {
        service: ServiceId,
        name: String,
        owner: GroupId,
        criticality: Criticality,
    },
    /// Changes an active service's display name, owner or criticality.
    ReviseService {
        service: ServiceId,
        name: String,
        owner: GroupId,
        criticality: Criticality,
    },
    /// Takes a service out of use. It stays in the catalog (history refers to it) and can no
    /// longer be revised, given policies or freeze windows.
    RetireService { service: ServiceId, reason: String },
    /// Adds a business calendar. [`Calendar`] is validated when built (and when decoded).
    DefineCalendar { name: Name, calendar: Calendar },
    /// Replaces a calendar's definition with a new revision; earlier revisions stay on record.
    ReviseCalendar { name: Name, calendar: Calendar },
    /// Adds the SLA policy of one service x priority x customer tier (revision 1). Targets are
    /// business time in the named calendar, which must exist. `ola` holds the operational-level
    /// target of each assignment group that has one.
    DefineSlaPolicy {
        policy: Name,
        service: ServiceId,
        priority: Priority,
        tier: CustomerTier,
        targets: SlaTargets,
        calendar: Name,
        ola: BTreeMap<GroupId, TimeDelta>,
    },
    /// Replaces a policy's targets, calendar and OLA targets with a new revision; the scope
    /// (service x priority x tier) never changes. Earlier revisions stay on record.
    ReviseSlaPolicy {
        policy: Name,
        targets: SlaTargets,
        calendar: Name,
        ola: BTreeMap<GroupId, TimeDelta>,
    },
    /// Declares a blackout period for one service or for all.
    DefineFreezeWindow {
        window: Name,
        scope: FreezeScope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        reason: String,
    },
    /// Lifts a freeze window before or while it is in force.
    CancelFreezeWindow { window: Name, reason: String },
}

impl CatalogCommand {
    /// The command's name, as used in errors and logs.
    pub const fn name(&self) -> &'static str {
        match self {
            CatalogCommand::DefineService { .. } => "DefineService",
            CatalogCommand::ReviseService { .. } => "ReviseService",
            CatalogCommand::RetireService { .. } => "RetireService",
            CatalogCommand::DefineCalendar { .. } => "DefineCalendar",
            CatalogCommand::ReviseCalendar { .. } => "ReviseCalendar",
            CatalogCommand::DefineSlaPolicy { .. } => "DefineSlaPolicy",
            CatalogCommand::ReviseSlaPolicy { .. } => "ReviseSlaPolicy",
            CatalogCommand::DefineFreezeWindow { .. } => "DefineFreezeWindow",
            CatalogCommand::CancelFreezeWindow { .. } => "CancelFreezeWindow",
        }
    }
}
