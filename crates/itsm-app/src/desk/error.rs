//! One error type for every desk call, in the classes the gateway maps to error codes.
//!
//! Every domain error variant is classified explicitly (no catch-all arm), so a new variant in a
//! domain crate fails to compile here until someone decides its class.

use itsm_catalog::CatalogError;
use itsm_change::ChangeError;
use itsm_eventstore::StoreError;
use itsm_incident::IncidentError;
use itsm_problem::ProblemError;

use crate::AppError;

/// Why a desk call failed. Each variant carries a message fit to show the caller; internal
/// details (storage, codec) are in `Internal`, which a gateway logs rather than sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeskError {
    /// The ticket, service, calendar, policy or window does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The input breaks a rule that does not depend on the record's state.
    #[error("invalid input: {0}")]
    Validation(String),
    /// The record's state does not allow this now.
    #[error("not allowed now: {0}")]
    InvalidTransition(String),
    /// The request collides with what is already recorded (a duplicate, or a race that kept
    /// being lost).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A domain rule about who may do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Storage, codec or other failure; nothing the caller can fix.
    #[error("internal error: {0}")]
    Internal(String),
    /// The ledger cannot be written (or read) right now: the disk is full or failing, or the
    /// store stopped. Nothing of this call was acknowledged; a later retry may succeed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl DeskError {
    /// A stable code for the gateway's error extensions.
    pub const fn code(&self) -> &'static str {
        match self {
            DeskError::NotFound(_) => "NOT_FOUND",
            DeskError::Validation(_) => "VALIDATION",
            DeskError::InvalidTransition(_) => "INVALID_TRANSITION",
            DeskError::Conflict(_) => "CONFLICT",
            DeskError::Forbidden(_) => "FORBIDDEN",
            DeskError::Internal(_) => "INTERNAL",
            DeskError::Unavailable(_) => "STORAGE_UNAVAILABLE",
        }
    }
}

/// How a domain error is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    NotFound,
    Validation,
    InvalidTransition,
    Conflict,
    Forbidden,
}

fn classified(class: Class, error: &impl std::error::Error) -> DeskError {
    let message = error.to_string();
    match class {
        Class::NotFound => DeskError::NotFound(message),
        Class::Validation => DeskError::Validation(message),
        Class::InvalidTransition => DeskError::InvalidTransition(message),
        Class::Conflict => DeskError::Conflict(message),
        Class::Forbidden => DeskError::Forbidden(message),
    }
}

/// A domain error the desk knows how to classify.
pub trait DomainError: std::error::Error + Sized + 'static {
    fn desk_error(&self) -> DeskError;
}

impl DomainError for IncidentError {
    fn desk_error(&self) -> DeskError {
        use IncidentError as E;
        let class = match self {
            E::NotFound | E::NoSuchClock(_) => Class::NotFound,
            E::Validation(_)
            | E::ControlCharacter { .. }
            | E::Whitespace { .. }
            | E::ScoreOutOfRange(_)
            | E::NothingToAssign
            | E::NoAssignmentGroup
            | E::EscalationToSameGroup
            | E::OwnParent
            | E::ProblemNotLinked(_)
            | E::Sla(_) => Class::Validation,
            E::InvalidTransition { .. }
            | E::ClockNotRunning(_)
            | E::NotYetDue { .. }
            | E::MajorCannotBeChild
            | E::ChildCannotBeMajor(_) => Class::InvalidTransition,
            E::AlreadyLogged(_)
            | E::AlreadyRated
            | E::AlreadyAssigned
            | E::AlreadyAcknowledged
            | E::SlaUnchanged
            | E::PriorityUnchanged
            | E::ProblemAlreadyLinked(_)
            | E::ChangeAlreadyLinked(_)
            | E::AlreadyMajor
            | E::AlreadyChildOf(_)
            | E::DuplicateAttachment
            | E::StaleDue { .. } => Class::Conflict,
            E::NotTheRequester | E::InternalCommentByRequester | E::RequesterCannotAcknowledge => {
                Class::Forbidden
            }
        };
        classified(class, self)
    }
}

impl DomainError for ProblemError {
    fn desk_error(&self) -> DeskError {
        use ProblemError as E;
        let class = match self {
            E::NotFound => Class::NotFound,
            E::Validation(_) | E::TooManyLinkedIncidents { .. } | E::IncidentNotLinked { .. } => {
                Class::Validation
            }
            E::InvalidTransition { .. } | E::RootCauseMissing => Class::InvalidTransition,
            E::AlreadyRecorded { .. }
            | E::IncidentAlreadyLinked { .. }
            | E::FixChangeAlreadyLinked { .. }
            | E::AlreadyAssigned => Class::Conflict,
        };
        classified(class, self)
    }
}

impl DomainError for ChangeError {
    fn desk_error(&self) -> DeskError {
        use ChangeError as E;
        let class = match self {
            E::NotFound => Class::NotFound,
            E::Validation(_)
            | E::InvalidQuorum { .. }
            | E::DuplicateCabMember { .. }
            | E::EmptySlot { .. }
            | E::StartsInThePast { .. }
            | E::MalformedFreezeWindow { .. }
            | E::ReviewContradictsResult { .. } => Class::Validation,
            E::InvalidTransition { .. } | E::InFreezeWindow { .. } | E::TooEarly { .. } => {
                Class::InvalidTransition
            }
            E::AlreadyRaised { .. } | E::AlreadyVoted { .. } => Class::Conflict,
            E::NotPermitted { .. } | E::RequesterOnCab { .. } | E::NotCabMember { .. } => {
                Class::Forbidden
            }
        };
        classified(class, self)
    }
}

impl DomainError for CatalogError {
    fn desk_error(&self) -> DeskError {
        use CatalogError as E;
        let class = match self {
            E::UnknownService { .. }
            | E::UnknownCalendar { .. }
            | E::UnknownPolicy { .. }
            | E::UnknownFreezeWindow { .. } => Class::NotFound,
            E::Validation(_)
            | E::InvalidTarget(_)
            | E::OlaExceedsResolution { .. }
            | E::TooManyOlaTargets { .. }
            | E::EmptyWindow { .. }
            | E::WindowInPast { .. } => Class::Validation,
            E::ServiceRetired { .. }
            | E::FreezeWindowAlreadyCancelled { .. }
            | E::FreezeWindowEnded { .. } => Class::InvalidTransition,
            E::DuplicateService { .. }
            | E::DuplicateCalendar { .. }
            | E::DuplicatePolicy { .. }
            | E::DuplicateFreezeWindow { .. }
            | E::PolicyScopeTaken { .. }
            | E::Unchanged { .. } => Class::Conflict,
        };
        classified(class, self)
    }
}

impl From<StoreError> for DeskError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict { .. } => DeskError::Conflict(error.to_string()),
            StoreError::InvalidStreamId { .. }
            | StoreError::NoEvents { .. }
            | StoreError::InvalidEvent { .. }
            | StoreError::InvalidMetadata { .. }
            | StoreError::Locked { .. }
            | StoreError::UnsupportedFormat { .. }
            | StoreError::Corrupt { .. }
            | StoreError::Codec(_) => DeskError::Internal(error.to_string()),
            StoreError::Storage { .. } | StoreError::Closed => {
                DeskError::Unavailable(error.to_string())
            }
        }
    }
}

impl<E: DomainError> From<AppError<E>> for DeskError {
    fn from(error: AppError<E>) -> Self {
        match error {
            AppError::Domain(domain) => domain.desk_error(),
            AppError::Store(store) => store.into(),
            AppError::TooMuchContention { .. } => DeskError::Conflict(error.to_string()),
            AppError::Decode { .. } | AppError::Encode(_) => DeskError::Internal(error.to_string()),
        }
    }
}
