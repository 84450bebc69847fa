//! What a service manager asks of the catalog.

use chrono::{DateTime, Utc};
use itsm_kernel::{GroupId, Name, ServiceId};
use serde::{Deserialize, Serialize};

use crate::{Criticality, FreezeScope};

/// Longest display name of a service, in characters.
pub const MAX_SERVICE_NAME_LEN: usize = 200;
/// Longest reason (retirement, freeze window, cancellation), in characters.
pub const MAX_REASON_LEN: usize = 2_000;

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
            CatalogCommand::DefineFreezeWindow { .. } => "DefineFreezeWindow",
            CatalogCommand::CancelFreezeWindow { .. } => "CancelFreezeWindow",
        }
    }
}
