//! What a process manager's command records as its cause, and how its ids are derived.

use chrono::{DateTime, SecondsFormat, Utc};
use itsm_eventstore::{CausationId, CommandId, CorrelationId, Envelope};
use itsm_sla::ClockKind;

use crate::CommandOptions;
use crate::port::derived_id;

/// The envelope that triggered a process manager's command: its command id becomes the
/// causation id (or, for an envelope without one, an id derived from its position) and its
/// correlation id is carried on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cause {
    pub causation_id: CausationId,
    pub correlation_id: Option<CorrelationId>,
}

impl Cause {
    pub fn of(envelope: &Envelope) -> Self {
        let causation_id = envelope.metadata.command_id.map_or_else(
            || CausationId::from_uuid(derived_id(&format!("position|{}", envelope.position))),
            |command_id| CausationId::from_uuid(*command_id.as_uuid()),
        );
        Cause {
            causation_id,
            correlation_id: envelope.metadata.correlation_id,
        }
    }

    /// Bus options for a command with the deterministic id derived from `facts`.
    pub fn options(&self, facts: &str) -> CommandOptions {
        CommandOptions {
            command_id: Some(CommandId::from_uuid(derived_id(facts))),
            correlation_id: self.correlation_id,
            causation_id: Some(self.causation_id),
        }
    }
}

/// A stable text form of an instant for derived ids.
pub(crate) fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A stable text form of a clock kind for derived ids.
pub(crate) fn clock_name(clock: &ClockKind) -> String {
    match clock {
        ClockKind::FirstResponse => "first-response".to_owned(),
        ClockKind::Resolution => "resolution".to_owned(),
        ClockKind::Ola { group } => format!("ola:{group}"),
    }
}
