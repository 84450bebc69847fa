//! The service catalog aggregate: services, business calendars, SLA policies and freeze windows.
//!
//! Architecture invariant: pure domain code. No I/O, no clock, no randomness; it depends only on
//! `itsm-kernel` and `itsm-sla`, never on another aggregate. Whatever the catalog must know
//! arrives in the command and its [`Context`](itsm_kernel::Context).
//!
//! Key decision: the whole catalog is ONE aggregate in ONE stream (`catalog`). Catalog edits are
//! rare, the state is small, and cross-entity rules (a policy needs an active service and an
//! existing calendar, a freeze window needs an active service) are checked against one
//! consistent state without sagas. The price, contention on one stream, is irrelevant at the
//! rate service managers edit a catalog.
//!
//! What the shell asks of a folded [`CatalogState`]:
//! - [`CatalogState::applied_sla`] / [`CatalogState::applied_sla_for_group`]: the
//!   [`AppliedSla`](itsm_sla::AppliedSla) to put into incident commands. Fallback: the policy of
//!   the customer's tier, else the `Standard` tier's policy for the same service and priority, else
//!   `None`. [`CatalogState::applied_sla_as_of`] answers the same for a past moment (policy and
//!   calendar revisions then in force), for audits, time travel and what-if evaluation.
//! - [`CatalogState::freeze_windows_overlapping`]: the windows in force for a service in
//!   `[from, to)`, to put into change scheduling commands.
//! - [`CatalogState::service`], [`CatalogState::calendars`], [`CatalogState::policies`]: the
//!   catalog itself, every revision included.

mod command;
mod decider;
mod error;
mod event;
mod state;

pub use command::{CatalogCommand, MAX_OLA_TARGETS, MAX_REASON_LEN, MAX_SERVICE_NAME_LEN};
pub use decider::Catalog;
pub use error::CatalogError;
pub use event::CatalogEvent;
pub use state::{
    BusinessCalendar, CalendarRevision, Cancellation, CatalogState, Criticality, FreezeScope,
    FreezeWindow, PolicyRevision, Service, ServiceStatus, SlaPolicy,
};
