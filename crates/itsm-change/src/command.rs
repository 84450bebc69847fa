//! Change commands: what someone asks the change aggregate to do.
//!
//! Who sends a command and when arrives in the kernel's `Context`; everything else the decision
//! needs, including facts owned by other aggregates (freeze windows, other scheduled changes), is
//! put into the command by the shell.

use chrono::{DateTime, Utc};
use itsm_kernel::{ChangeKey, Impact, ServiceId, UserId};

use crate::{ChangeType, FreezeWindow, Likelihood, ReviewOutcome, ScheduledChange, Vote};

/// Longest accepted title, in characters.
pub const MAX_TITLE_LEN: usize = 200;
/// Longest accepted description or plan, in characters.
pub const MAX_TEXT_LEN: usize = 10_000;
/// Longest accepted note, comment or reason, in characters.
pub const MAX_NOTE_LEN: usize = 4_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeCommand {
    /// Raise a new change as a draft. The shell allocates `key`. Anyone may raise a change, also
    /// on behalf of `requested_by`.
    Raise {
        key: ChangeKey,
        change_type: ChangeType,
        title: String,
        description: String,
        service: ServiceId,
        impact: Impact,
        likelihood: Likelihood,
        implementation_plan: String,
        backout_plan: String,
        requested_by: UserId,
    },
    /// Submit the draft for authorization. A standard change is authorized at once.
    Submit,
    /// Assess a submitted normal or emergency change (change managers only): the risk inputs,
    /// notes, the CAB (for an emergency change: the emergency CAB) whose members may vote, and
    /// how many approvals authorize it.
    Assess {
        impact: Impact,
        likelihood: Likelihood,
        notes: String,
        cab: Vec<UserId>,
        required_approvals: u8,
    },
    /// Record a CAB member's vote on an assessed change. Sent by the member, or by a change
    /// manager recording the vote (for example from meeting minutes). The comment may be empty.
    RecordApproval {
        approver: UserId,
        vote: Vote,
        comment: String,
    },
    /// Decline a submitted or assessed change (change managers only).
    Reject { reason: String },
    /// Put an authorized change on the calendar (change managers only). The shell supplies the
    /// freeze windows and the other scheduled changes that might concern the change's service.
    Schedule {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        freeze_windows: Vec<FreezeWindow>,
        other_changes: Vec<ScheduledChange>,
    },
    /// Move a scheduled change to another slot (change managers only); checked like `Schedule`.
    Reschedule {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        freeze_windows: Vec<FreezeWindow>,
        other_changes: Vec<ScheduledChange>,
    },
    /// Begin implementing a scheduled change, not before its scheduled start.
    StartImplementation,
    /// Record that the implementation succeeded. The notes may be empty.
    CompleteImplementation { notes: String },
    /// Record that the implementation failed and whether the backout plan was carried out.
    Fail {
        backout_performed: bool,
        notes: String,
    },
    /// Record the post-implementation review (change managers only).
    Review {
        outcome: ReviewOutcome,
        notes: String,
    },
    /// Close a reviewed change (change managers only).
    Close,
    /// Withdraw the change before implementation starts (its requester or a change manager).
    Cancel { reason: String },
}

impl ChangeCommand {
    /// The command's name as used in errors.
    pub const fn name(&self) -> &'static str {
        match self {
            ChangeCommand::Raise { .. } => "Raise",
            ChangeCommand::Submit => "Submit",
            ChangeCommand::Assess { .. } => "Assess",
            ChangeCommand::RecordApproval { .. } => "RecordApproval",
            ChangeCommand::Reject { .. } => "Reject",
            ChangeCommand::Schedule { .. } => "Schedule",
            ChangeCommand::Reschedule { .. } => "Reschedule",
            ChangeCommand::StartImplementation => "StartImplementation",
            ChangeCommand::CompleteImplementation { .. } => "CompleteImplementation",
            ChangeCommand::Fail { .. } => "Fail",
            ChangeCommand::Review { .. } => "Review",
            ChangeCommand::Close => "Close",
            ChangeCommand::Cancel { .. } => "Cancel",
        }
    }
}
