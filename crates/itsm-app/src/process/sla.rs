//! SLA timers: a deadline heap of every running clock's warning and due instants, fed by the
//! incident events of the ledger.
//!
//! The core ([`SlaTimers`]) is pure: feed it envelopes, ask what is due at an instant. It mirrors
//! the incident aggregate's clocks with the same `itsm_sla::Clock` math, so the instants it
//! computes are the ones the decider checks. Heap entries are not removed when a clock
//! changes; an entry is checked against the clock when it reaches the top and dropped if stale.
//! Stale entries behind a live one would stay until their instant (days for a resolved
//! incident's warning), so every resolved incident would leave its entries behind: once the heap
//! holds more than [`COMPACT_FACTOR`] entries per watched clock, it is rebuilt from the live
//! entries (amortized O(1) per entry).
//!
//! A checkpoint ([`SlaTimers::encode_checkpoint`]) holds the watched clocks only, each with its
//! calendar as an index into a table of the distinct calendars (thousands of clocks share a
//! handful of calendars); the heap is rebuilt from the clocks when it is read (see
//! `checkpoint.rs` for why).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use chrono::{DateTime, Utc};
use itsm_eventstore::{CodecError, Envelope, codec};
use itsm_incident::{IncidentCommand, IncidentEvent};
use itsm_kernel::IncidentKey;
use itsm_sla::{Calendar, Clock, ClockKind, Pause};
use serde::{Deserialize, Serialize};

use crate::CommandOptions;
use crate::process::cause::{Cause, clock_name, instant};
use crate::process::checkpoint::{At, CauseRecord, Reader, Span, Writer};
use crate::stream::StreamKind;

/// The heap is compacted when it holds more than this many entries per watched clock (a clock
/// has at most two live entries, plus retries), plus [`COMPACT_SLACK`].
const COMPACT_FACTOR: usize = 4;
const COMPACT_SLACK: usize = 64;

/// The automation name on every command the SLA timer sends.
pub const SLA_TIMER: &str = "sla-timer";

/// Which point of a clock was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerKind {
    Warning,
    Breach,
}

/// A command the timer must send now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerAction {
    pub incident: IncidentKey,
    pub clock: ClockKind,
    pub kind: TimerKind,
    /// The clock's deadline the warning or breach is about.
    pub due: DateTime<Utc>,
    /// The envelope that last set this clock's deadline.
    pub cause: Cause,
}

impl TimerAction {
    pub fn command(&self) -> IncidentCommand {
        match self.kind {
            TimerKind::Warning => IncidentCommand::RecordSlaWarning {
                clock: self.clock.clone(),
                due: self.due,
            },
            TimerKind::Breach => IncidentCommand::RecordSlaBreach {
                clock: self.clock.clone(),
                due: self.due,
            },
        }
    }

    /// The facts the command id is derived from: the same warning or breach always gets the
    /// same id, so a re-send after a restart writes nothing.
    pub fn facts(&self) -> String {
        let kind = match self.kind {
            TimerKind::Warning => "sla-warning",
            TimerKind::Breach => "sla-breach",
        };
        format!(
            "{kind}|incident-{}|{}|{}",
            self.incident.number(),
            clock_name(&self.clock),
            instant(self.due)
        )
    }

    pub fn options(&self) -> CommandOptions {
        self.cause.options(&self.facts())
    }
}

#[derive(Debug, Clone)]
struct Timer {
    clock: Clock,
    warned_for: Option<DateTime<Utc>>,
    breached: bool,
    cause: Cause,
}

impl Timer {
    fn running(&self) -> bool {
        !self.clock.is_stopped() && !self.clock.is_paused()
    }

    /// The instant `kind` comes due, if it is still to be sent.
    fn pending(&self, kind: TimerKind) -> Option<DateTime<Utc>> {
        if !self.running() || self.breached {
            return None;
        }
        let due = self.clock.due()?;
        match kind {
            TimerKind::Breach => Some(due),
            TimerKind::Warning if self.warned_for == Some(due) => None,
            TimerKind::Warning => self.clock.warning_at(),
        }
    }
}

type Entry = Reverse<(
    DateTime<Utc>,
    IncidentKey,
    ClockKind,
    TimerKind,
    DateTime<Utc>,
)>;

/// The deadline heap. See the module documentation.
#[derive(Debug, Default)]
pub struct SlaTimers {
    timers: HashMap<(IncidentKey, ClockKind), Timer>,
    /// (fire at, incident, clock, kind, the instant it was armed for).
    heap: BinaryHeap<Entry>,
}

impl SlaTimers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one ledger envelope; envelopes of other streams and other event types are skipped
    /// without decoding.
    pub fn apply(&mut self, envelope: &Envelope) -> Result<(), CodecError> {
        let Some(StreamKind::Incident(key)) = StreamKind::of(&envelope.stream_id) else {
            return Ok(());
        };
        if !envelope.event_type.starts_with("IncidentSla") {
            return Ok(());
        }
        let event: IncidentEvent = codec::decode(&envelope.payload)?;
        self.apply_event(key, &event, Cause::of(envelope));
        Ok(())
    }

    /// Feeds one incident event.
    pub fn apply_event(&mut self, key: IncidentKey, event: &IncidentEvent, cause: Cause) {
        use IncidentEvent as E;
        match event {
            E::SlaClockStarted {
                clock, terms, at, ..
            } => {
                let timer = Timer {
                    clock: Clock::start(
                        clock.clone(),
                        *at,
                        terms.target,
                        terms.warning_percent,
                        terms.calendar.clone(),
                    ),
                    warned_for: None,
                    breached: false,
                    cause,
                };
                self.timers.insert((key, clock.clone()), timer);
                self.arm(key, clock);
            }
            E::SlaClockPaused { clock, at, .. } => {
                if let Some(timer) = self.timers.get_mut(&(key, clock.clone())) {
                    timer.clock.pause(*at);
                }
            }
            E::SlaClockResumed { clock, at, .. } => {
                if let Some(timer) = self.timers.get_mut(&(key, clock.clone())) {
                    timer.clock.resume(*at);
                    timer.cause = cause;
                }
                self.arm(key, clock);
            }
            E::SlaClockRetargeted { clock, terms, .. } => {
                if let Some(timer) = self.timers.get_mut(&(key, clock.clone())) {
                    timer
                        .clock
                        .retarget(terms.target, Some(terms.calendar.clone()));
                    timer.clock.warning_percent = terms.warning_percent;
                    timer.cause = cause;
                }
                self.arm(key, clock);
            }
            E::SlaWarningRaised { clock, due, .. } => {
                if let Some(timer) = self.timers.get_mut(&(key, clock.clone())) {
                    timer.warned_for = Some(*due);
                }
            }
            E::SlaBreached { clock, .. } => {
                if let Some(timer) = self.timers.get_mut(&(key, clock.clone())) {
                    timer.breached = true;
                }
            }
            E::SlaMet { clock, .. } | E::SlaClockStopped { clock, .. } => {
                self.timers.remove(&(key, clock.clone()));
            }
            E::Logged { .. }
            | E::Acknowledged { .. }
            | E::Assigned { .. }
            | E::WorkStarted { .. }
            | E::PutOnHold { .. }
            | E::Resumed { .. }
            | E::EscalatedFunctionally { .. }
            | E::EscalatedHierarchically { .. }
            | E::Reprioritized { .. }
            | E::SlaChanged { .. }
            | E::Resolved { .. }
            | E::Closed { .. }
            | E::Reopened { .. }
            | E::Cancelled { .. }
            | E::Commented { .. }
            | E::FileAttached { .. }
            | E::Linked { .. }
            | E::DeclaredMajor { .. }
            | E::LinkedToMajor { .. }
            | E::Rated { .. }
            | E::ProblemUpdateNoted { .. } => {}
        }
        self.prune();
    }

    fn arm(&mut self, key: IncidentKey, clock: &ClockKind) {
        let Some(timer) = self.timers.get(&(key, clock.clone())) else {
            return;
        };
        for kind in [TimerKind::Warning, TimerKind::Breach] {
            if let Some(at) = timer.pending(kind) {
                self.heap.push(Reverse((at, key, clock.clone(), kind, at)));
            }
        }
    }

    /// Sends `action` again at `at` (after a failure that may be transient).
    pub fn retry(&mut self, action: &TimerAction, at: DateTime<Utc>) {
        let Some(timer) = self.timers.get(&(action.incident, action.clock.clone())) else {
            return;
        };
        if let Some(armed) = timer.pending(action.kind) {
            self.heap.push(Reverse((
                at,
                action.incident,
                action.clock.clone(),
                action.kind,
                armed,
            )));
        }
    }

    fn is_live(&self, entry: &Entry) -> bool {
        is_live(&self.timers, entry)
    }

    /// Drops stale entries from the top, so [`SlaTimers::next_deadline`] is exact, and all
    /// stale entries once they outnumber the live ones (see the module documentation).
    fn prune(&mut self) {
        while let Some(top) = self.heap.peek() {
            if self.is_live(top) {
                break;
            }
            self.heap.pop();
        }
        let bound = self
            .timers
            .len()
            .saturating_mul(COMPACT_FACTOR)
            .saturating_add(COMPACT_SLACK);
        if self.heap.len() > bound {
            let timers = &self.timers;
            self.heap.retain(|entry| is_live(timers, entry));
        }
    }

    /// Every warning and breach due at `now`, each once.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<TimerAction> {
        let mut actions: Vec<TimerAction> = Vec::new();
        while let Some(Reverse((at, ..))) = self.heap.peek() {
            if *at > now {
                break;
            }
            let Some(entry) = self.heap.pop() else {
                break;
            };
            if !self.is_live(&entry) {
                continue;
            }
            let Reverse((_, incident, clock, kind, _)) = entry;
            let Some(timer) = self.timers.get(&(incident, clock.clone())) else {
                continue;
            };
            let Some(due) = timer.clock.due() else {
                continue;
            };
            let action = TimerAction {
                incident,
                clock,
                kind,
                due,
                cause: timer.cause,
            };
            if !actions.contains(&action) {
                actions.push(action);
            }
        }
        self.prune();
        actions
    }

    /// The earliest instant something comes due.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.heap.peek().map(|Reverse((at, ..))| *at)
    }

    /// Clocks being watched (running or paused).
    pub fn clocks(&self) -> usize {
        self.timers.len()
    }

    /// Entries in the deadline heap, live or stale (a memory figure).
    pub fn queued(&self) -> usize {
        self.heap.len()
    }

    /// The state as a checkpoint at ledger `position` (the last envelope applied): the watched
    /// clocks and a table of their distinct calendars, no heap (see the module documentation).
    pub fn encode_checkpoint(&self, position: u64) -> Result<Vec<u8>, CodecError> {
        let mut calendars: Vec<&Calendar> = Vec::new();
        let mut last = 0_usize;
        let mut records = Vec::with_capacity(self.timers.len());
        for ((incident, kind), timer) in &self.timers {
            let calendar = &timer.clock.calendar;
            // Clocks in a row mostly share the calendar; else a scan of the (few) distinct ones.
            if calendars.get(last).is_none_or(|known| *known != calendar) {
                last = calendars
                    .iter()
                    .position(|known| *known == calendar)
                    .unwrap_or_else(|| {
                        calendars.push(calendar);
                        calendars.len() - 1
                    });
            }
            records.push(TimerRecord::of(*incident, kind, timer, last));
        }
        let mut writer = Writer::new(super::SLA_TIMER, position)?;
        writer.seq(calendars.len(), calendars.iter().copied())?;
        writer.seq(records.len(), records)?;
        Ok(writer.finish())
    }

    /// Reads a checkpoint made by [`SlaTimers::encode_checkpoint`]: its position and the timers
    /// as a replay of the ledger up to that position would have them (the heap holds each live
    /// deadline once, nothing stale).
    pub fn decode_checkpoint(bytes: &[u8]) -> Result<(u64, SlaTimers), CodecError> {
        let (mut reader, position) = Reader::new(bytes, super::SLA_TIMER)?;
        let calendars: Vec<Calendar> = reader.seq()?;
        let records: Vec<TimerRecord> = reader.seq()?;
        reader.finish()?;
        let mut timers = HashMap::with_capacity(records.len());
        for record in records {
            let (key, timer) = record.timer(&calendars)?;
            timers.insert(key, timer);
        }
        let mut decoded = SlaTimers {
            timers,
            heap: BinaryHeap::new(),
        };
        decoded.heap = decoded
            .timers
            .iter()
            .flat_map(|((incident, clock), timer)| {
                [TimerKind::Warning, TimerKind::Breach]
                    .into_iter()
                    .filter_map(move |kind| {
                        timer
                            .pending(kind)
                            .map(|at| Reverse((at, *incident, clock.clone(), kind, at)))
                    })
            })
            .collect();
        Ok((position, decoded))
    }
}

/// One watched clock in a checkpoint.
#[derive(Debug, Serialize, Deserialize)]
struct TimerRecord {
    incident: u64,
    kind: ClockKind,
    started_at: At,
    target: Span,
    warning_percent: u8,
    /// Index into the checkpoint's calendar table.
    calendar: usize,
    pauses: Vec<(At, Option<At>)>,
    stopped_at: Option<At>,
    warned_for: Option<At>,
    breached: bool,
    cause: CauseRecord,
}

impl TimerRecord {
    fn of(incident: IncidentKey, kind: &ClockKind, timer: &Timer, calendar: usize) -> Self {
        let clock = &timer.clock;
        TimerRecord {
            incident: incident.number(),
            kind: kind.clone(),
            started_at: clock.started_at.into(),
            target: clock.target.into(),
            warning_percent: clock.warning_percent,
            calendar,
            pauses: clock
                .pauses
                .iter()
                .map(|pause| (pause.from.into(), pause.to.map(At::from)))
                .collect(),
            stopped_at: clock.stopped_at.map(At::from),
            warned_for: timer.warned_for.map(At::from),
            breached: timer.breached,
            cause: timer.cause.into(),
        }
    }

    fn timer(
        self,
        calendars: &[Calendar],
    ) -> Result<((IncidentKey, ClockKind), Timer), CodecError> {
        let calendar = calendars
            .get(self.calendar)
            .ok_or_else(|| {
                CodecError::Decode("process checkpoint: a clock's calendar is missing".to_owned())
            })?
            .clone();
        let pauses = self
            .pauses
            .iter()
            .map(|(from, to)| {
                Ok(Pause {
                    from: from.utc()?,
                    to: to.map(At::utc).transpose()?,
                })
            })
            .collect::<Result<Vec<Pause>, CodecError>>()?;
        let clock = Clock {
            kind: self.kind.clone(),
            started_at: self.started_at.utc()?,
            target: self.target.delta()?,
            warning_percent: self.warning_percent,
            calendar,
            pauses,
            stopped_at: self.stopped_at.map(At::utc).transpose()?,
        };
        let timer = Timer {
            clock,
            warned_for: self.warned_for.map(At::utc).transpose()?,
            breached: self.breached,
            cause: self.cause.into(),
        };
        Ok(((IncidentKey::new(self.incident), self.kind), timer))
    }
}

/// Whether `entry` is still what its clock would fire for.
fn is_live(timers: &HashMap<(IncidentKey, ClockKind), Timer>, entry: &Entry) -> bool {
    let Reverse((_, key, clock, kind, armed)) = entry;
    timers
        .get(&(*key, clock.clone()))
        .and_then(|timer| timer.pending(*kind))
        == Some(*armed)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};
    use itsm_eventstore::CausationId;
    use itsm_incident::ClockTerms;
    use itsm_kernel::{Actor, Name};
    use itsm_sla::{Calendar, HoldReason};
    use uuid::Uuid;

    use super::*;

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, hour, minute, 0)
            .single()
            .expect("valid")
    }

    fn cause() -> Cause {
        Cause {
            causation_id: CausationId::from_uuid(Uuid::from_u128(1)),
            correlation_id: None,
        }
    }

    fn terms(hours: i64) -> ClockTerms {
        ClockTerms {
            target: TimeDelta::hours(hours),
            warning_percent: 75,
            policy: Name::new("p").expect("valid"),
            revision: 1,
            calendar_name: Name::new("always").expect("valid"),
            calendar: Calendar::always_open(),
        }
    }

    const KEY: IncidentKey = IncidentKey::new(42);

    /// A 4 h resolution clock started at 08:00 (always open): warns at 11:00, due at 12:00.
    fn started() -> SlaTimers {
        let mut timers = SlaTimers::new();
        timers.apply_event(
            KEY,
            &IncidentEvent::SlaClockStarted {
                clock: ClockKind::Resolution,
                terms: terms(4),
                due: at(12, 0),
                at: at(8, 0),
            },
            cause(),
        );
        timers
    }

    fn kinds(actions: &[TimerAction]) -> Vec<(TimerKind, DateTime<Utc>)> {
        actions.iter().map(|a| (a.kind, a.due)).collect()
    }

    #[test]
    fn a_running_clock_warns_then_breaches_once_each() {
        let mut timers = started();
        assert_eq!(timers.next_deadline(), Some(at(11, 0)));
        assert!(timers.due(at(10, 59)).is_empty());
        let warned = timers.due(at(11, 0));
        assert_eq!(kinds(&warned), vec![(TimerKind::Warning, at(12, 0))]);
        assert!(timers.due(at(11, 30)).is_empty(), "sent once");
        assert_eq!(timers.next_deadline(), Some(at(12, 0)));
        let breached = timers.due(at(12, 0));
        assert_eq!(kinds(&breached), vec![(TimerKind::Breach, at(12, 0))]);
        assert_eq!(timers.next_deadline(), None);
    }

    #[test]
    fn a_timer_that_missed_both_points_sends_both_in_order() {
        let mut timers = started();
        let actions = timers.due(at(13, 0));
        assert_eq!(
            kinds(&actions),
            vec![
                (TimerKind::Warning, at(12, 0)),
                (TimerKind::Breach, at(12, 0))
            ]
        );
    }

    #[test]
    fn a_recorded_warning_is_not_sent_again_after_a_replay() {
        let mut timers = started();
        let by = Actor::automation(SLA_TIMER);
        timers.apply_event(
            KEY,
            &IncidentEvent::SlaWarningRaised {
                clock: ClockKind::Resolution,
                due: at(12, 0),
                at: at(11, 0),
                by,
            },
            cause(),
        );
        assert_eq!(timers.next_deadline(), Some(at(12, 0)));
        assert_eq!(
            kinds(&timers.due(at(12, 0))),
            vec![(TimerKind::Breach, at(12, 0))]
        );
    }

    #[test]
    fn a_pause_holds_the_deadlines_and_a_resume_moves_them() {
        let mut timers = started();
        timers.apply_event(
            KEY,
            &IncidentEvent::SlaClockPaused {
                clock: ClockKind::Resolution,
                reason: HoldReason::AwaitingCustomer,
                at: at(9, 0),
            },
            cause(),
        );
        assert_eq!(timers.next_deadline(), None);
        assert!(timers.due(at(14, 0)).is_empty());
        timers.apply_event(
            KEY,
            &IncidentEvent::SlaClockResumed {
                clock: ClockKind::Resolution,
                due: at(15, 0),
                at: at(11, 0),
            },
            cause(),
        );
        // Two hours on hold: warning 13:00, due 14:00.
        assert_eq!(timers.next_deadline(), Some(at(13, 0)));
        assert_eq!(
            kinds(&timers.due(at(14, 0))),
            vec![
                (TimerKind::Warning, at(14, 0)),
                (TimerKind::Breach, at(14, 0))
            ]
        );
    }

    #[test]
    fn a_retarget_replaces_the_deadlines_and_a_met_clock_is_forgotten() {
        let mut timers = started();
        timers.apply_event(
            KEY,
            &IncidentEvent::SlaClockRetargeted {
                clock: ClockKind::Resolution,
                old_target: TimeDelta::hours(4),
                terms: terms(8),
                due: Some(at(16, 0)),
                reason: "P2 now".to_owned(),
                at: at(9, 0),
            },
            cause(),
        );
        assert!(
            timers.due(at(12, 0)).is_empty(),
            "the old deadlines are stale"
        );
        assert_eq!(timers.next_deadline(), Some(at(14, 0)));
        timers.apply_event(
            KEY,
            &IncidentEvent::SlaMet {
                clock: ClockKind::Resolution,
                due: at(16, 0),
                elapsed: TimeDelta::hours(5),
                at: at(13, 0),
            },
            cause(),
        );
        assert_eq!(timers.next_deadline(), None);
        assert_eq!(timers.clocks(), 0);
    }

    #[test]
    fn resolved_incidents_leave_no_entries_behind_an_open_one() {
        // KEY's clock (warning 11:00) stays open at the top of the heap; a thousand later
        // incidents start and meet their clocks behind it.
        let mut timers = started();
        for number in 1_000..2_000 {
            let key = IncidentKey::new(number);
            timers.apply_event(
                key,
                &IncidentEvent::SlaClockStarted {
                    clock: ClockKind::Resolution,
                    terms: terms(4),
                    due: at(13, 0),
                    at: at(9, 0),
                },
                cause(),
            );
            timers.apply_event(
                key,
                &IncidentEvent::SlaMet {
                    clock: ClockKind::Resolution,
                    due: at(13, 0),
                    elapsed: TimeDelta::minutes(5),
                    at: at(9, 5),
                },
                cause(),
            );
        }
        assert_eq!(timers.clocks(), 1);
        assert!(
            timers.queued() <= COMPACT_FACTOR + COMPACT_SLACK,
            "{} heap entries for one watched clock",
            timers.queued()
        );
        assert_eq!(timers.next_deadline(), Some(at(11, 0)));
        assert_eq!(
            kinds(&timers.due(at(12, 0))),
            vec![
                (TimerKind::Warning, at(12, 0)),
                (TimerKind::Breach, at(12, 0))
            ]
        );
    }

    #[test]
    fn command_ids_are_derived_from_ticket_clock_kind_and_due() {
        let mut timers = started();
        let action = timers.due(at(12, 0)).remove(0);
        assert_eq!(
            action.facts(),
            "sla-warning|incident-42|resolution|2026-01-05T12:00:00Z"
        );
        let again = started().due(at(12, 0)).remove(0);
        assert_eq!(action.options(), again.options());
        assert_eq!(
            action.options().causation_id,
            Some(CausationId::from_uuid(Uuid::from_u128(1)))
        );
    }
}
