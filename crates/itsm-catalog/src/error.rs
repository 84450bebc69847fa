//! Why the catalog refuses a command.

use chrono::{DateTime, Utc};
use itsm_kernel::{CustomerTier, GroupId, Name, Priority, ServiceId, TextError};
use itsm_sla::SlaError;

/// Every way a catalog command can be refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("invalid input: {0}")]
    Validation(#[from] TextError),
    #[error("service {service} is not in the catalog")]
    UnknownService { service: ServiceId },
    #[error("service {service} is already defined")]
    DuplicateService { service: ServiceId },
    #[error("service {service} is retired")]
    ServiceRetired { service: ServiceId },
    #[error("calendar {calendar} is not defined")]
    UnknownCalendar { calendar: Name },
    #[error("calendar {calendar} is already defined")]
    DuplicateCalendar { calendar: Name },
    #[error("SLA policy {policy} is not defined")]
    UnknownPolicy { policy: Name },
    #[error("SLA policy {policy} is already defined")]
    DuplicatePolicy { policy: Name },
    #[error("{service} x {priority} x {tier:?} is already covered by SLA policy {policy}")]
    PolicyScopeTaken {
        service: ServiceId,
        priority: Priority,
        tier: CustomerTier,
        policy: Name,
    },
    #[error("invalid SLA target: {0}")]
    InvalidTarget(SlaError),
    #[error("the OLA target of {group} exceeds the policy's resolution target")]
    OlaExceedsResolution { group: GroupId },
    #[error("a policy has at most {max} OLA targets, got {count}")]
    TooManyOlaTargets { count: usize, max: usize },
    #[error("freeze window {window} is not defined")]
    UnknownFreezeWindow { window: Name },
    #[error("freeze window {window} is already defined")]
    DuplicateFreezeWindow { window: Name },
    #[error("freeze window {window} is already cancelled")]
    FreezeWindowAlreadyCancelled { window: Name },
    #[error("freeze window {window} has already ended")]
    FreezeWindowEnded { window: Name },
    #[error("a freeze window must end after it starts: {from} .. {to}")]
    EmptyWindow {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    #[error("a freeze window must end in the future: it ends {to}, now is {now}")]
    WindowInPast {
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error("the revision of {what} changes nothing")]
    Unchanged { what: &'static str },
}
