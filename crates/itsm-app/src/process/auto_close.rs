//! Auto-close: a resolved incident is closed after a quiet period without a reopen.
//!
//! Pure core: the resolution instant of every resolved incident, in a deadline heap. Only the
//! envelope's stream, event type and `recorded_at` are read (the decider's `now` is the
//! metadata's `recorded_at`), so nothing is decoded. A resolution stays in memory until the
//! incident is closed, reopened or cancelled; a reopen leaves its heap entry behind, so the heap
//! is rebuilt from the live entries once it holds more than twice as many as are live.
//!
//! A checkpoint holds the waiting resolutions only; the heap is rebuilt from them with the
//! quiet period of the running configuration, as a replay would.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use itsm_eventstore::{CodecError, Envelope};
use itsm_kernel::IncidentKey;

use crate::CommandOptions;
use crate::process::cause::{Cause, instant};
use crate::process::checkpoint::{At, CauseRecord, Reader, Writer};
use crate::stream::StreamKind;

/// The automation name on every command auto-close sends.
pub const AUTO_CLOSE: &str = "auto-close";

/// An incident to close now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseAction {
    pub incident: IncidentKey,
    /// When the resolution being closed was recorded.
    pub resolved_at: DateTime<Utc>,
    pub cause: Cause,
}

impl CloseAction {
    pub fn options(&self) -> CommandOptions {
        self.cause.options(&format!(
            "auto-close|incident-{}|{}",
            self.incident.number(),
            instant(self.resolved_at)
        ))
    }
}

/// (close at, incident, resolved at), earliest first.
type Entry = Reverse<(DateTime<Utc>, IncidentKey, DateTime<Utc>)>;

/// See the module documentation.
#[derive(Debug)]
pub struct AutoClose {
    quiet: TimeDelta,
    resolved: HashMap<IncidentKey, (DateTime<Utc>, Cause)>,
    heap: BinaryHeap<Entry>,
}

impl AutoClose {
    pub fn new(quiet: TimeDelta) -> Self {
        Self {
            quiet,
            resolved: HashMap::new(),
            heap: BinaryHeap::new(),
        }
    }

    pub fn apply(&mut self, envelope: &Envelope) {
        let Some(StreamKind::Incident(key)) = StreamKind::of(&envelope.stream_id) else {
            return;
        };
        match envelope.event_type.as_str() {
            "IncidentResolved" => {
                let at = envelope.metadata.recorded_at;
                self.resolved.insert(key, (at, Cause::of(envelope)));
                self.heap.push(self.entry(key, at));
            }
            "IncidentReopened" | "IncidentClosed" | "IncidentCancelled" => {
                self.resolved.remove(&key);
            }
            _ => {}
        }
        self.prune();
    }

    /// The heap entry of a resolution.
    fn entry(&self, key: IncidentKey, resolved_at: DateTime<Utc>) -> Entry {
        Reverse((
            resolved_at
                .checked_add_signed(self.quiet)
                .unwrap_or(resolved_at),
            key,
            resolved_at,
        ))
    }

    fn is_live(&self, key: IncidentKey, resolved_at: DateTime<Utc>) -> bool {
        self.resolved.get(&key).map(|(at, _)| *at) == Some(resolved_at)
    }

    fn prune(&mut self) {
        while let Some(Reverse((_, key, resolved_at))) = self.heap.peek() {
            if self.is_live(*key, *resolved_at) {
                break;
            }
            self.heap.pop();
        }
        // A live resolution has one entry, plus retries.
        if self.heap.len() > self.resolved.len().saturating_mul(2).saturating_add(64) {
            let resolved = &self.resolved;
            self.heap.retain(|Reverse((_, key, resolved_at))| {
                resolved.get(key).map(|(at, _)| at) == Some(resolved_at)
            });
        }
    }

    /// Every incident whose quiet period ended at or before `now`, each once.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<CloseAction> {
        let mut actions = Vec::new();
        while let Some(Reverse((at, ..))) = self.heap.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, incident, resolved_at))) = self.heap.pop() else {
                break;
            };
            if let Some((at, cause)) = self.resolved.get(&incident)
                && *at == resolved_at
            {
                actions.push(CloseAction {
                    incident,
                    resolved_at,
                    cause: *cause,
                });
            }
        }
        self.prune();
        actions
    }

    /// Tries `action` again at `at` (after a failure that may be transient).
    pub fn retry(&mut self, action: &CloseAction, at: DateTime<Utc>) {
        if self.is_live(action.incident, action.resolved_at) {
            self.heap
                .push(Reverse((at, action.incident, action.resolved_at)));
        }
    }

    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.heap.peek().map(|Reverse((at, ..))| *at)
    }

    /// Resolutions waiting for their quiet period to end.
    pub fn waiting(&self) -> usize {
        self.resolved.len()
    }

    /// Entries in the deadline heap, live or stale (a memory figure).
    pub fn queued(&self) -> usize {
        self.heap.len()
    }

    /// The waiting resolutions as a checkpoint at ledger `position` (no heap, no quiet period:
    /// both come from the running configuration when it is read).
    pub fn encode_checkpoint(&self, position: u64) -> Result<Vec<u8>, CodecError> {
        let mut writer = Writer::new(super::AUTO_CLOSE, position)?;
        writer.seq(
            self.resolved.len(),
            self.resolved
                .iter()
                .map(|(key, (at, cause))| (key.number(), At::from(*at), CauseRecord::from(*cause))),
        )?;
        Ok(writer.finish())
    }

    /// Reads a checkpoint made by [`AutoClose::encode_checkpoint`] into a closer with the quiet
    /// period `quiet`: its position and the closer a replay up to there would give.
    pub fn decode_checkpoint(
        bytes: &[u8],
        quiet: TimeDelta,
    ) -> Result<(u64, AutoClose), CodecError> {
        let (mut reader, position) = Reader::new(bytes, super::AUTO_CLOSE)?;
        let records: Vec<(u64, At, CauseRecord)> = reader.seq()?;
        reader.finish()?;
        let mut closer = AutoClose::new(quiet);
        closer.resolved.reserve(records.len());
        for (incident, at, cause) in records {
            closer
                .resolved
                .insert(IncidentKey::new(incident), (at.utc()?, cause.into()));
        }
        closer.heap = closer
            .resolved
            .iter()
            .map(|(key, (at, _))| closer.entry(*key, *at))
            .collect();
        Ok((position, closer))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use itsm_eventstore::{Hash, Metadata, StreamId};

    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, day, hour, 0, 0)
            .single()
            .expect("valid")
    }

    fn envelope(position: u64, stream: &str, event_type: &str, at: DateTime<Utc>) -> Envelope {
        Envelope {
            position,
            stream_id: StreamId::new(stream).expect("valid"),
            version: position,
            event_type: event_type.to_owned(),
            schema_version: 1,
            payload: Vec::new(),
            metadata: Metadata::new("user:alex:agent", at),
            prev_hash: Hash::GENESIS,
            hash: Hash::GENESIS,
        }
    }

    #[test]
    fn a_resolution_is_closed_after_the_quiet_period_unless_reopened() {
        let mut closer = AutoClose::new(TimeDelta::days(2));
        closer.apply(&envelope(1, "incident-1", "IncidentResolved", at(5, 9)));
        closer.apply(&envelope(2, "incident-2", "IncidentResolved", at(5, 10)));
        closer.apply(&envelope(3, "incident-2", "IncidentReopened", at(6, 10)));
        closer.apply(&envelope(4, "problem-1", "IncidentResolved", at(5, 9)));
        assert_eq!(closer.next_deadline(), Some(at(7, 9)));
        assert!(closer.due(at(7, 8)).is_empty());
        let due = closer.due(at(9, 0));
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].incident, due[0].resolved_at),
            (IncidentKey::new(1), at(5, 9))
        );
        assert!(closer.due(at(9, 0)).is_empty(), "sent once");
        assert_eq!(closer.next_deadline(), None);
    }

    #[test]
    fn reopened_resolutions_leave_no_entries_behind_a_waiting_one() {
        let mut closer = AutoClose::new(TimeDelta::days(2));
        closer.apply(&envelope(1, "incident-1", "IncidentResolved", at(5, 9)));
        for number in 2..1_002 {
            let stream = format!("incident-{number}");
            closer.apply(&envelope(number, &stream, "IncidentResolved", at(5, 10)));
            closer.apply(&envelope(number, &stream, "IncidentReopened", at(5, 11)));
        }
        assert_eq!(closer.waiting(), 1);
        assert!(
            closer.queued() <= 2 + 64,
            "{} heap entries for one waiting resolution",
            closer.queued()
        );
        let due = closer.due(at(9, 0));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].incident, IncidentKey::new(1));
    }

    #[test]
    fn a_new_resolution_after_a_reopen_starts_a_new_quiet_period() {
        let mut closer = AutoClose::new(TimeDelta::days(2));
        closer.apply(&envelope(1, "incident-1", "IncidentResolved", at(5, 9)));
        closer.apply(&envelope(2, "incident-1", "IncidentReopened", at(6, 9)));
        closer.apply(&envelope(3, "incident-1", "IncidentResolved", at(6, 12)));
        assert!(
            closer.due(at(7, 9)).is_empty(),
            "the first resolution was reopened"
        );
        let due = closer.due(at(8, 12));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].resolved_at, at(6, 12));
    }
}
