//! Why a problem refuses a command.

use itsm_kernel::{ChangeKey, IncidentKey, ProblemKey};

use crate::ProblemStatus;

/// A text field that is empty or too long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} must be at most {max} characters, got {len}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
}

impl FieldError {
    /// A text that must say something: not blank, at most `max` characters.
    pub(crate) fn check_required(
        field: &'static str,
        text: &str,
        max: usize,
    ) -> Result<(), FieldError> {
        if text.trim().is_empty() {
            return Err(FieldError::Empty { field });
        }
        Self::check_length(field, text, max)
    }

    /// A text that may be empty but not longer than `max` characters.
    pub(crate) fn check_length(
        field: &'static str,
        text: &str,
        max: usize,
    ) -> Result<(), FieldError> {
        let len = text.chars().count();
        if len > max {
            return Err(FieldError::TooLong { field, len, max });
        }
        Ok(())
    }
}

/// Every way a problem command can be refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemError {
    #[error("invalid input: {0}")]
    Validation(#[from] FieldError),
    #[error("the problem has not been recorded")]
    NotFound,
    #[error("problem {key} is already recorded")]
    AlreadyRecorded { key: ProblemKey },
    #[error("{command} is not allowed while the problem is {from:?}")]
    InvalidTransition {
        from: ProblemStatus,
        command: &'static str,
    },
    #[error("incident {incident} is already linked")]
    IncidentAlreadyLinked { incident: IncidentKey },
    #[error("incident {incident} is not linked")]
    IncidentNotLinked { incident: IncidentKey },
    #[error("a problem links at most {max} incidents")]
    TooManyLinkedIncidents { max: usize },
    #[error("change {change} is already the fix of this problem")]
    FixChangeAlreadyLinked { change: ChangeKey },
    #[error("a problem is resolved only once its root cause is recorded")]
    RootCauseMissing,
    #[error("the assignment changes nothing")]
    AlreadyAssigned,
}
