//! Problem follow-up: a problem's workaround or resolution is noted on each linked incident.
//!
//! Pure core: turns `ProblemWorkaroundDocumented` / `ProblemResolved` into one action per
//! linked incident. The driver loads each incident and skips those no longer open.
//!
//! It keeps no state between envelopes (it asks the incident's stream), so its checkpoint is
//! a position: the last envelope whose follow-ups were all done, or before the first one whose
//! command failed in the store, so a restart tries that one again as a full replay would.

use itsm_eventstore::{CodecError, Envelope, codec};
use itsm_incident::ProblemUpdate;
use itsm_kernel::{IncidentKey, ProblemKey};
use itsm_problem::ProblemEvent;

use crate::CommandOptions;
use crate::process::cause::Cause;
use crate::process::checkpoint;
use crate::stream::StreamKind;

/// The automation name on every command the follow-up sends.
pub const PROBLEM_FOLLOW_UP: &str = "problem-follow-up";

/// One update to note on one incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpAction {
    pub incident: IncidentKey,
    pub problem: ProblemKey,
    pub update: ProblemUpdate,
    /// Ledger position of the problem event, part of the derived command id: each workaround
    /// revision is its own update.
    pub trigger: u64,
    pub cause: Cause,
}

impl FollowUpAction {
    pub fn options(&self) -> CommandOptions {
        self.cause.options(&format!(
            "problem-update|problem-{}|{}|incident-{}",
            self.problem.number(),
            self.trigger,
            self.incident.number()
        ))
    }

    /// For an incident that does not list the problem yet: link it first.
    pub fn link_options(&self) -> CommandOptions {
        self.cause.options(&format!(
            "problem-link|problem-{}|incident-{}",
            self.problem.number(),
            self.incident.number()
        ))
    }
}

/// The follow-up actions an envelope asks for (none for most envelopes, which are not decoded).
pub fn follow_ups(envelope: &Envelope) -> Result<Vec<FollowUpAction>, CodecError> {
    let Some(StreamKind::Problem(problem)) = StreamKind::of(&envelope.stream_id) else {
        return Ok(Vec::new());
    };
    if !matches!(
        envelope.event_type.as_str(),
        "ProblemWorkaroundDocumented" | "ProblemResolved"
    ) {
        return Ok(Vec::new());
    }
    let event: ProblemEvent = codec::decode(&envelope.payload)?;
    let (update, incidents) = match event {
        ProblemEvent::WorkaroundDocumented {
            workaround,
            linked_incidents,
            ..
        } => (
            ProblemUpdate::WorkaroundAvailable { workaround },
            linked_incidents,
        ),
        ProblemEvent::Resolved {
            fix_change,
            linked_incidents,
            ..
        } => (
            ProblemUpdate::Resolved { fix: fix_change },
            linked_incidents,
        ),
        ProblemEvent::Recorded { .. }
        | ProblemEvent::InvestigationStarted { .. }
        | ProblemEvent::Reassigned { .. }
        | ProblemEvent::RootCauseRecorded { .. }
        | ProblemEvent::IncidentLinked { .. }
        | ProblemEvent::IncidentUnlinked { .. }
        | ProblemEvent::FixChangeLinked { .. }
        | ProblemEvent::Closed { .. }
        | ProblemEvent::Reopened { .. }
        | ProblemEvent::Cancelled { .. } => return Ok(Vec::new()),
    };
    let cause = Cause::of(envelope);
    Ok(incidents
        .into_iter()
        .map(|incident| FollowUpAction {
            incident,
            problem,
            update: update.clone(),
            trigger: envelope.position,
            cause,
        })
        .collect())
}

/// The follow-up's checkpoint at `position`: nothing but the position.
pub fn encode_follow_up_checkpoint(position: u64) -> Result<Vec<u8>, CodecError> {
    checkpoint::encode_position(PROBLEM_FOLLOW_UP, position)
}

/// Reads a checkpoint made by [`encode_follow_up_checkpoint`]; returns its position.
pub fn decode_follow_up_checkpoint(bytes: &[u8]) -> Result<u64, CodecError> {
    checkpoint::decode_position(bytes, PROBLEM_FOLLOW_UP)
}
