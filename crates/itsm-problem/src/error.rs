//! Why a problem refuses a command.

use itsm_kernel::{ChangeKey, IncidentKey, ProblemKey, TextError};

use crate::ProblemStatus;

/// Every way a problem command can be refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemError {
    #[error("invalid input: {0}")]
    Validation(#[from] TextError),
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
