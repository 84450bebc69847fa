//! An explainable SLA clock: a pure model of one clock and the timeline that says why its due time
//! is what it is.
//!
//! The incident aggregate maps its events to [`ClockFact`]s; [`ClockTimeline::from_facts`] folds
//! them into the current [`Clock`] plus one [`ClockStep`] per fact, each with the due time it led
//! to. Nothing here is stored: the ledger holds the facts, the clock is computed from them.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::{Calendar, ClockKind, HoldReason, Pause, business_elapsed, due_at_with_pauses};

/// One clock: counts business time from `started_at` on `calendar`, except inside `pauses`, until
/// `stopped_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub kind: ClockKind,
    pub started_at: DateTime<Utc>,
    pub target: TimeDelta,
    pub warning_percent: u8,
    pub calendar: Calendar,
    pub pauses: Vec<Pause>,
    pub stopped_at: Option<DateTime<Utc>>,
}

impl Clock {
    pub fn start(
        kind: ClockKind,
        started_at: DateTime<Utc>,
        target: TimeDelta,
        warning_percent: u8,
        calendar: Calendar,
    ) -> Self {
        Clock {
            kind,
            started_at,
            target,
            warning_percent,
            calendar,
            pauses: Vec::new(),
            stopped_at: None,
        }
    }

    /// When the target is reached; `None` while the clock is paused before reaching it.
    pub fn due(&self) -> Option<DateTime<Utc>> {
        due_at_with_pauses(self.started_at, self.target, &self.calendar, &self.pauses)
    }

    /// The business time after which a warning is due: `warning_percent` of the target.
    pub fn warning_after(&self) -> TimeDelta {
        let percent = i32::from(self.warning_percent);
        self.target
            .checked_mul(percent)
            .and_then(|scaled| scaled.checked_div(100))
            .or_else(|| {
                self.target
                    .checked_div(100)
                    .and_then(|part| part.checked_mul(percent))
            })
            .unwrap_or(self.target)
    }

    /// When the warning threshold is reached; `None` while paused before it.
    pub fn warning_at(&self) -> Option<DateTime<Utc>> {
        due_at_with_pauses(
            self.started_at,
            self.warning_after(),
            &self.calendar,
            &self.pauses,
        )
    }

    /// Business time counted up to `now` (or up to the stop).
    pub fn elapsed(&self, now: DateTime<Utc>) -> TimeDelta {
        let end = self.stopped_at.map_or(now, |stopped| stopped.min(now));
        business_elapsed(self.started_at, end, &self.calendar, &self.pauses)
    }

    /// Target minus elapsed; negative once overdue.
    pub fn remaining(&self, now: DateTime<Utc>) -> TimeDelta {
        self.target - self.elapsed(now)
    }

    /// Whether the due instant lies before `now` (or before the stop). A clock that stops exactly
    /// at its due instant has met its target.
    pub fn is_breached(&self, now: DateTime<Utc>) -> bool {
        let end = self.stopped_at.map_or(now, |stopped| stopped.min(now));
        self.due().is_some_and(|due| end > due)
    }

    pub fn is_paused(&self) -> bool {
        self.pauses.last().is_some_and(Pause::is_open)
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped_at.is_some()
    }

    /// Opens a pause at `at`; nothing if already paused or stopped.
    pub fn pause(&mut self, at: DateTime<Utc>) {
        if !self.is_paused() && !self.is_stopped() {
            self.pauses.push(Pause::open(at));
        }
    }

    /// Closes the open pause at `at`; nothing if not paused.
    pub fn resume(&mut self, at: DateTime<Utc>) {
        if let Some(pause) = self.pauses.last_mut().filter(|pause| pause.is_open()) {
            pause.to = Some(at.max(pause.from));
        }
    }

    /// Replaces the target (and the calendar, if given). The new target counts from the original
    /// start with all pauses, as if it had applied from the beginning.
    pub fn retarget(&mut self, target: TimeDelta, calendar: Option<Calendar>) {
        self.target = target;
        if let Some(calendar) = calendar {
            self.calendar = calendar;
        }
    }

    /// Stops the clock at `at`, closing an open pause; nothing if already stopped.
    pub fn stop(&mut self, at: DateTime<Utc>) {
        if self.is_stopped() {
            return;
        }
        self.resume(at);
        self.stopped_at = Some(at);
    }
}

/// What happened to a clock, as the incident's events say it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClockFact {
    /// The clock (re)starts; a second start replaces the clock, dropping earlier pauses.
    Started {
        at: DateTime<Utc>,
        target: TimeDelta,
        warning_percent: u8,
        calendar: Calendar,
    },
    Paused {
        at: DateTime<Utc>,
        reason: HoldReason,
    },
    Resumed {
        at: DateTime<Utc>,
    },
    /// A new target (priority or policy change); `calendar` when the calendar changes too.
    Retargeted {
        at: DateTime<Utc>,
        target: TimeDelta,
        calendar: Option<Calendar>,
        reason: String,
    },
    Warned {
        at: DateTime<Utc>,
    },
    Breached {
        at: DateTime<Utc>,
    },
    /// The clock stopped because its goal was reached (responded, resolved).
    Met {
        at: DateTime<Utc>,
    },
    /// The clock stopped without its goal (cancelled, reassigned away for an OLA).
    Stopped {
        at: DateTime<Utc>,
    },
}

impl ClockFact {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            ClockFact::Started { at, .. }
            | ClockFact::Paused { at, .. }
            | ClockFact::Resumed { at }
            | ClockFact::Retargeted { at, .. }
            | ClockFact::Warned { at }
            | ClockFact::Breached { at }
            | ClockFact::Met { at }
            | ClockFact::Stopped { at } => *at,
        }
    }
}

/// One explained step of a clock's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockStep {
    pub at: DateTime<Utc>,
    pub what: ClockStepKind,
}

/// What a step did, with the due time it led to where it moved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClockStepKind {
    Started {
        target: TimeDelta,
        due: Option<DateTime<Utc>>,
    },
    /// The clock stopped counting; the due time is unknown until it resumes.
    Paused {
        reason: HoldReason,
        elapsed: TimeDelta,
    },
    /// Counting again; the due time moved by the working time spent paused.
    Resumed {
        due: Option<DateTime<Utc>>,
        paused_for: TimeDelta,
    },
    Retargeted {
        old_target: TimeDelta,
        new_target: TimeDelta,
        due: Option<DateTime<Utc>>,
        reason: String,
    },
    Warned,
    Breached,
    Met {
        elapsed: TimeDelta,
    },
    Stopped,
}

/// Where a clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClockStatus {
    NotStarted,
    Running,
    Paused,
    Met,
    Breached,
    Stopped,
}

/// A clock explained: every step, the current due and warning instants, and its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockTimeline {
    pub kind: ClockKind,
    pub steps: Vec<ClockStep>,
    pub due: Option<DateTime<Utc>>,
    pub warning_at: Option<DateTime<Utc>>,
    pub state: ClockStatus,
    /// The clock as of the last fact; `None` before it started.
    pub clock: Option<Clock>,
}

impl ClockTimeline {
    /// Folds facts, in order, into an explained clock. Total: facts before the first start are
    /// ignored, a pause while paused or stopped opens nothing, a resume while running moves
    /// nothing. A breach is sticky: a breached clock that is later met stays breached.
    pub fn from_facts<'a>(kind: ClockKind, facts: impl IntoIterator<Item = &'a ClockFact>) -> Self {
        let mut clock: Option<Clock> = None;
        let mut steps = Vec::new();
        let mut breached = false;
        let mut met = false;
        for fact in facts {
            let at = fact.at();
            let what = match (fact, clock.as_mut()) {
                (
                    ClockFact::Started {
                        target,
                        warning_percent,
                        calendar,
                        ..
                    },
                    _,
                ) => {
                    let started = Clock::start(
                        kind.clone(),
                        at,
                        *target,
                        *warning_percent,
                        calendar.clone(),
                    );
                    let due = started.due();
                    clock = Some(started);
                    breached = false;
                    met = false;
                    ClockStepKind::Started {
                        target: *target,
                        due,
                    }
                }
                (_, None) => continue,
                (ClockFact::Paused { reason, .. }, Some(clock)) => {
                    clock.pause(at);
                    ClockStepKind::Paused {
                        reason: *reason,
                        elapsed: clock.elapsed(at),
                    }
                }
                (ClockFact::Resumed { .. }, Some(clock)) => {
                    let paused_for = clock
                        .pauses
                        .last()
                        .filter(|pause| pause.is_open())
                        .map_or(TimeDelta::zero(), |pause| {
                            business_elapsed(pause.from, at, &clock.calendar, &[])
                        });
                    clock.resume(at);
                    ClockStepKind::Resumed {
                        due: clock.due(),
                        paused_for,
                    }
                }
                (
                    ClockFact::Retargeted {
                        target,
                        calendar,
                        reason,
                        ..
                    },
                    Some(clock),
                ) => {
                    let old_target = clock.target;
                    clock.retarget(*target, calendar.clone());
                    ClockStepKind::Retargeted {
                        old_target,
                        new_target: *target,
                        due: clock.due(),
                        reason: reason.clone(),
                    }
                }
                (ClockFact::Warned { .. }, Some(_)) => ClockStepKind::Warned,
                (ClockFact::Breached { .. }, Some(_)) => {
                    breached = true;
                    ClockStepKind::Breached
                }
                (ClockFact::Met { .. }, Some(clock)) => {
                    clock.stop(at);
                    met = true;
                    ClockStepKind::Met {
                        elapsed: clock.elapsed(at),
                    }
                }
                (ClockFact::Stopped { .. }, Some(clock)) => {
                    clock.stop(at);
                    ClockStepKind::Stopped
                }
            };
            steps.push(ClockStep { at, what });
        }
        let state = match &clock {
            None => ClockStatus::NotStarted,
            Some(_) if breached => ClockStatus::Breached,
            Some(clock) if clock.is_stopped() => {
                if met {
                    ClockStatus::Met
                } else {
                    ClockStatus::Stopped
                }
            }
            Some(clock) if clock.is_paused() => ClockStatus::Paused,
            Some(_) => ClockStatus::Running,
        };
        ClockTimeline {
            kind,
            steps,
            due: clock.as_ref().and_then(Clock::due),
            warning_at: clock.as_ref().and_then(Clock::warning_at),
            state,
            clock,
        }
    }
}
