//! Why a change command is rejected.

use chrono::{DateTime, Utc};
use itsm_kernel::{ChangeKey, Name, Role, TextError, UserId};

use crate::{ReviewOutcome, Status};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("no such change")]
    NotFound,
    #[error("change {key} was already raised")]
    AlreadyRaised { key: ChangeKey },
    #[error("a change that is {from} does not accept {command}")]
    InvalidTransition { from: Status, command: &'static str },
    #[error("{command} needs the {required} role")]
    NotPermitted {
        command: &'static str,
        required: Role,
    },
    #[error("invalid input: {0}")]
    Validation(#[from] TextError),
    #[error(
        "a quorum of {required} is impossible with a CAB of {cab_size} (it must be 1..=CAB size)"
    )]
    InvalidQuorum { required: u8, cab_size: usize },
    #[error("{member} is named twice on the CAB")]
    DuplicateCabMember { member: UserId },
    #[error("{member} requested the change and may not sit on its CAB")]
    RequesterOnCab { member: UserId },
    #[error("{approver} is not on this change's CAB")]
    NotCabMember { approver: UserId },
    #[error("{approver} already voted on this change")]
    AlreadyVoted { approver: UserId },
    #[error("the slot must start before it ends: {from} .. {to}")]
    EmptySlot {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    #[error("the slot starts at {from}, which is in the past (now {now})")]
    StartsInThePast {
        from: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error("freeze window {window} does not start before it ends")]
    MalformedFreezeWindow { window: Name },
    #[error(
        "the slot falls in freeze window {window} ({from} .. {to}); only emergency changes may"
    )]
    InFreezeWindow {
        window: Name,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    #[error("implementation may not start before the scheduled start {scheduled_from} (now {now})")]
    TooEarly {
        scheduled_from: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error("a failed change cannot be reviewed as {outcome:?}")]
    ReviewContradictsResult { outcome: ReviewOutcome },
}
