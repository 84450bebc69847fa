//! What agents and process managers ask of a problem.

use itsm_kernel::{
    ChangeKey, GroupId, Impact, IncidentKey, ProblemKey, ServiceId, Urgency, UserId,
};
use serde::{Deserialize, Serialize};

/// Longest title, in characters.
pub const MAX_TITLE_LEN: usize = 200;
/// Longest description, root cause, workaround or resolution, in characters.
pub const MAX_TEXT_LEN: usize = 10_000;
/// Longest reason (reopen, cancel), in characters.
pub const MAX_REASON_LEN: usize = 2_000;
/// Most incidents one problem links. Events that list the linked incidents stay bounded.
pub const MAX_LINKED_INCIDENTS: usize = 1_000;

/// A command to one problem (stream `problem-<n>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProblemCommand {
    /// Records a new problem. The shell allocates the key.
    Record {
        key: ProblemKey,
        title: String,
        description: String,
        service: ServiceId,
        impact: Impact,
        urgency: Urgency,
    },
    /// Hands a logged problem to a group (and optionally an agent) to find its root cause.
    StartInvestigation {
        group: GroupId,
        assignee: Option<UserId>,
    },
    /// Moves the investigation to another group or agent.
    Reassign {
        group: GroupId,
        assignee: Option<UserId>,
    },
    /// Records (or refines) the root cause.
    RecordRootCause {
        root_cause: String,
    },
    /// Documents (or revises) a workaround, which makes the problem a known error and publishes
    /// it to the known-error database.
    DocumentWorkaround {
        workaround: String,
    },
    LinkIncident {
        incident: IncidentKey,
    },
    UnlinkIncident {
        incident: IncidentKey,
    },
    /// Names the change that removes the root cause (replacing an earlier one, if any).
    LinkFixChange {
        change: ChangeKey,
    },
    /// Declares the root cause removed.
    Resolve {
        resolution: String,
    },
    Close,
    /// Takes a resolved problem back into work because the fix did not hold.
    Reopen {
        reason: String,
    },
    /// Drops an open problem (duplicate, not reproducible, not a problem).
    Cancel {
        reason: String,
    },
}

impl ProblemCommand {
    /// The command's name, as used in errors and logs.
    pub const fn name(&self) -> &'static str {
        match self {
            ProblemCommand::Record { .. } => "Record",
            ProblemCommand::StartInvestigation { .. } => "StartInvestigation",
            ProblemCommand::Reassign { .. } => "Reassign",
            ProblemCommand::RecordRootCause { .. } => "RecordRootCause",
            ProblemCommand::DocumentWorkaround { .. } => "DocumentWorkaround",
            ProblemCommand::LinkIncident { .. } => "LinkIncident",
            ProblemCommand::UnlinkIncident { .. } => "UnlinkIncident",
            ProblemCommand::LinkFixChange { .. } => "LinkFixChange",
            ProblemCommand::Resolve { .. } => "Resolve",
            ProblemCommand::Close => "Close",
            ProblemCommand::Reopen { .. } => "Reopen",
            ProblemCommand::Cancel { .. } => "Cancel",
        }
    }
}
