//! The explainable clock: every fact becomes a step that says what moved the due time, and why.

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use itsm_kernel::GroupId;
use itsm_sla::{
    Calendar, Clock, ClockFact, ClockKind, ClockStatus, ClockStep, ClockStepKind, ClockTimeline,
    HoldReason, Pause,
};

fn utc(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, d, h, mi, 0).unwrap()
}

fn hours(h: i64) -> TimeDelta {
    TimeDelta::hours(h)
}

/// Monday to Friday 09:00-17:00 UTC; 2026-01-05 is a Monday.
fn office() -> Calendar {
    Calendar::office_hours(
        Tz::UTC,
        NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
    )
    .unwrap()
}

fn started(at: DateTime<Utc>, target: TimeDelta) -> ClockFact {
    ClockFact::Started {
        at,
        target,
        warning_percent: 75,
        calendar: office(),
    }
}

fn step(at: DateTime<Utc>, what: ClockStepKind) -> ClockStep {
    ClockStep { at, what }
}

#[test]
fn a_started_clock_is_due_after_its_target_in_business_time() {
    let timeline =
        ClockTimeline::from_facts(ClockKind::Resolution, &[started(utc(5, 16, 0), hours(4))]);
    assert_eq!(timeline.state, ClockStatus::Running);
    assert_eq!(timeline.due, Some(utc(6, 12, 0)));
    // 75% of 4h = 3h: 1h Monday, 2h Tuesday.
    assert_eq!(timeline.warning_at, Some(utc(6, 11, 0)));
    assert_eq!(
        timeline.steps,
        vec![step(
            utc(5, 16, 0),
            ClockStepKind::Started {
                target: hours(4),
                due: Some(utc(6, 12, 0)),
            }
        )]
    );
}

#[test]
fn the_whole_life_of_a_clock_is_explained_step_by_step() {
    let facts = [
        started(utc(5, 9, 0), hours(8)),
        ClockFact::Paused {
            at: utc(5, 10, 0),
            reason: HoldReason::AwaitingCustomer,
        },
        ClockFact::Resumed { at: utc(5, 14, 0) },
        ClockFact::Retargeted {
            at: utc(5, 15, 0),
            target: hours(4),
            calendar: None,
            reason: "priority P3 -> P2".to_owned(),
        },
        ClockFact::Warned { at: utc(5, 16, 0) },
        ClockFact::Breached { at: utc(5, 17, 0) },
        ClockFact::Met { at: utc(6, 10, 0) },
    ];
    let timeline = ClockTimeline::from_facts(ClockKind::Resolution, &facts);
    assert_eq!(
        timeline.steps,
        vec![
            step(
                utc(5, 9, 0),
                ClockStepKind::Started {
                    target: hours(8),
                    due: Some(utc(5, 17, 0)),
                }
            ),
            step(
                utc(5, 10, 0),
                ClockStepKind::Paused {
                    reason: HoldReason::AwaitingCustomer,
                    elapsed: hours(1),
                }
            ),
            // 4 working hours on hold: 7h left from 14:00 = 3h Monday + 4h Tuesday.
            step(
                utc(5, 14, 0),
                ClockStepKind::Resumed {
                    due: Some(utc(6, 13, 0)),
                    paused_for: hours(4),
                }
            ),
            // 4h from the start, minus the pause: 1h before it, 3h after it.
            step(
                utc(5, 15, 0),
                ClockStepKind::Retargeted {
                    old_target: hours(8),
                    new_target: hours(4),
                    due: Some(utc(5, 17, 0)),
                    reason: "priority P3 -> P2".to_owned(),
                }
            ),
            step(utc(5, 16, 0), ClockStepKind::Warned),
            step(utc(5, 17, 0), ClockStepKind::Breached),
            // 1h + 3h on Monday, 1h on Tuesday.
            step(utc(6, 10, 0), ClockStepKind::Met { elapsed: hours(5) }),
        ]
    );
    // A breach is sticky: meeting the goal late does not undo it.
    assert_eq!(timeline.state, ClockStatus::Breached);
    assert_eq!(timeline.due, Some(utc(5, 17, 0)));
    assert_eq!(timeline.warning_at, Some(utc(5, 16, 0)));
    let clock = timeline.clock.unwrap();
    assert!(clock.is_breached(utc(6, 10, 0)));
    assert_eq!(clock.elapsed(utc(9, 12, 0)), hours(5));
}

#[test]
fn a_clock_met_in_time_is_met() {
    let facts = [
        started(utc(5, 9, 0), hours(8)),
        ClockFact::Met { at: utc(5, 11, 30) },
    ];
    let timeline = ClockTimeline::from_facts(ClockKind::FirstResponse, &facts);
    assert_eq!(timeline.state, ClockStatus::Met);
    assert_eq!(
        timeline.steps.last().map(|step| &step.what),
        Some(&ClockStepKind::Met {
            elapsed: TimeDelta::minutes(150)
        })
    );
    assert!(!timeline.clock.unwrap().is_breached(utc(9, 0, 0)));
}

#[test]
fn a_paused_clock_has_no_due_time() {
    let facts = [
        started(utc(5, 9, 0), hours(8)),
        ClockFact::Paused {
            at: utc(5, 12, 0),
            reason: HoldReason::AwaitingVendor,
        },
    ];
    let timeline = ClockTimeline::from_facts(ClockKind::Resolution, &facts);
    assert_eq!(timeline.state, ClockStatus::Paused);
    assert_eq!(timeline.due, None);
    assert_eq!(timeline.warning_at, None);
    let clock = timeline.clock.unwrap();
    // Time stands still while paused, and it never breaches.
    assert_eq!(clock.elapsed(utc(20, 12, 0)), hours(3));
    assert_eq!(clock.remaining(utc(20, 12, 0)), hours(5));
    assert!(!clock.is_breached(utc(30, 12, 0)));
}

#[test]
fn a_stopped_clock_is_stopped_and_counts_no_more() {
    let group = GroupId::new("network-l2").unwrap();
    let facts = [
        started(utc(5, 9, 0), hours(8)),
        ClockFact::Paused {
            at: utc(5, 12, 0),
            reason: HoldReason::AwaitingChange,
        },
        ClockFact::Stopped { at: utc(6, 12, 0) },
    ];
    let timeline = ClockTimeline::from_facts(ClockKind::Ola { group }, &facts);
    assert_eq!(timeline.state, ClockStatus::Stopped);
    assert_eq!(
        timeline.steps.last().map(|step| &step.what),
        Some(&ClockStepKind::Stopped)
    );
    let clock = timeline.clock.unwrap();
    assert_eq!(
        clock.pauses,
        vec![Pause::closed(utc(5, 12, 0), utc(6, 12, 0))]
    );
    assert_eq!(clock.elapsed(utc(9, 12, 0)), hours(3));
    assert!(!clock.is_breached(utc(9, 12, 0)));
}

#[test]
fn facts_before_the_start_are_ignored_and_no_start_means_not_started() {
    let timeline = ClockTimeline::from_facts(
        ClockKind::Resolution,
        &[ClockFact::Warned { at: utc(5, 9, 0) }],
    );
    assert_eq!(timeline.state, ClockStatus::NotStarted);
    assert!(timeline.steps.is_empty());
    assert_eq!(timeline.due, None);
    assert_eq!(timeline.clock, None);
}

#[test]
fn a_restart_replaces_the_clock() {
    let facts = [
        started(utc(5, 9, 0), hours(8)),
        ClockFact::Breached { at: utc(5, 17, 0) },
        started(utc(7, 9, 0), hours(2)),
    ];
    let timeline = ClockTimeline::from_facts(ClockKind::Resolution, &facts);
    assert_eq!(timeline.state, ClockStatus::Running);
    assert_eq!(timeline.due, Some(utc(7, 11, 0)));
    assert_eq!(timeline.steps.len(), 3);
}

#[test]
fn a_retarget_may_change_the_calendar() {
    let facts = [
        started(utc(5, 16, 0), hours(4)),
        ClockFact::Retargeted {
            at: utc(5, 16, 30),
            target: hours(2),
            calendar: Some(Calendar::always_open()),
            reason: "priority P1 runs 24x7".to_owned(),
        },
    ];
    let timeline = ClockTimeline::from_facts(ClockKind::Resolution, &facts);
    assert_eq!(timeline.due, Some(utc(5, 18, 0)));
}

#[test]
fn a_double_pause_or_resume_changes_nothing() {
    let mut clock = Clock::start(ClockKind::Resolution, utc(5, 9, 0), hours(8), 80, office());
    clock.resume(utc(5, 10, 0));
    assert!(clock.pauses.is_empty());
    clock.pause(utc(5, 11, 0));
    clock.pause(utc(5, 12, 0));
    assert_eq!(clock.pauses, vec![Pause::open(utc(5, 11, 0))]);
    clock.resume(utc(5, 13, 0));
    clock.resume(utc(5, 14, 0));
    assert_eq!(
        clock.pauses,
        vec![Pause::closed(utc(5, 11, 0), utc(5, 13, 0))]
    );
    assert_eq!(clock.due(), Some(utc(6, 11, 0)));
}

#[test]
fn a_clock_breaches_only_after_its_due_instant() {
    let clock = Clock::start(ClockKind::Resolution, utc(5, 9, 0), hours(8), 80, office());
    assert_eq!(clock.due(), Some(utc(5, 17, 0)));
    assert!(!clock.is_breached(utc(5, 17, 0)));
    assert!(clock.is_breached(utc(5, 17, 1)));
    // At night nothing more elapses, but the due instant has passed.
    assert_eq!(clock.remaining(utc(5, 23, 0)), TimeDelta::zero());
    assert_eq!(clock.remaining(utc(6, 10, 0)), hours(-1));
    // 80% of 8h.
    assert_eq!(clock.warning_after(), TimeDelta::minutes(384));
    assert_eq!(clock.warning_at(), Some(utc(5, 15, 24)));
}
