//! Clocks explain themselves, and their deadlines follow the business calendar.

mod common;

use chrono::{NaiveTime, TimeZone, Utc};
use common::*;
use itsm_incident::{IncidentCommand, IncidentEvent, explain_clock};
use itsm_kernel::{Impact, Urgency};
use itsm_sla::{
    AppliedSla, Calendar, ClockKind, ClockStatus, ClockStep, ClockStepKind, HoldReason,
};

fn worked_history() -> History {
    in_progress()
        .run(
            IncidentCommand::PutOnHold {
                reason: HoldReason::AwaitingCustomer,
            },
            t(20),
        )
        .run(IncidentCommand::Resume, t(50))
        .run(
            IncidentCommand::Reprioritize {
                impact: Impact::High,
                urgency: Urgency::Medium,
                reason: "Whole floor affected".to_owned(),
                sla: p2_sla(),
            },
            t(60),
        )
}

#[test]
fn the_resolution_clock_explains_its_pause_and_retarget() {
    let timeline = explain_clock(&worked_history().events, &ClockKind::Resolution)
        .expect("the resolution clock ran");
    assert_eq!(
        timeline.steps,
        vec![
            ClockStep {
                at: t(0),
                what: ClockStepKind::Started {
                    target: minutes(480),
                    due: Some(t(480)),
                },
            },
            ClockStep {
                at: t(20),
                what: ClockStepKind::Paused {
                    reason: HoldReason::AwaitingCustomer,
                    elapsed: minutes(20),
                },
            },
            ClockStep {
                at: t(50),
                what: ClockStepKind::Resumed {
                    due: Some(t(510)),
                    paused_for: minutes(30),
                },
            },
            ClockStep {
                at: t(60),
                what: ClockStepKind::Retargeted {
                    old_target: minutes(480),
                    new_target: minutes(240),
                    due: Some(t(270)),
                    reason: "Whole floor affected".to_owned(),
                },
            },
        ]
    );
    assert_eq!(timeline.state, ClockStatus::Running);
    assert_eq!(timeline.due, Some(t(270)));
}

#[test]
fn the_recorded_due_times_agree_with_the_explanation() {
    let events = worked_history().events;
    let recorded_resume_due = events.iter().find_map(|event| match event {
        IncidentEvent::SlaClockResumed {
            clock: ClockKind::Resolution,
            due,
            ..
        } => Some(*due),
        _ => None,
    });
    assert_eq!(recorded_resume_due, Some(t(510)));
    let state = worked_history().state.expect("logged");
    let computed = state
        .clock(&ClockKind::Resolution)
        .and_then(itsm_incident::ClockState::due);
    assert_eq!(computed, Some(t(270)));
}

#[test]
fn a_met_clock_says_so_and_keeps_its_elapsed_business_time() {
    let events = resolved().events;
    let timeline = explain_clock(&events, &ClockKind::FirstResponse).expect("ran");
    assert_eq!(timeline.state, ClockStatus::Met);
    assert_eq!(
        timeline.steps.last().map(|step| step.what.clone()),
        Some(ClockStepKind::Met {
            elapsed: minutes(15)
        })
    );
}

#[test]
fn a_reopened_incident_explains_both_runs_of_its_resolution_clock() {
    let history = resolved().run_by(
        IncidentCommand::Reopen {
            reason: "Still drops".to_owned(),
        },
        t(90),
        requester(),
    );
    let timeline = explain_clock(&history.events, &ClockKind::Resolution).expect("ran");
    let starts = timeline
        .steps
        .iter()
        .filter(|step| matches!(step.what, ClockStepKind::Started { .. }))
        .count();
    assert_eq!(starts, 2);
    assert_eq!(timeline.state, ClockStatus::Running);
    assert_eq!(timeline.due, Some(t(570)));
}

#[test]
fn a_clock_that_never_ran_has_no_explanation() {
    assert_eq!(explain_clock(&logged().events, &ola("network-l2")), None);
}

#[test]
fn deadlines_skip_the_weekend_on_an_office_hours_calendar() {
    let utc = Calendar::always_open().timezone();
    let nine = NaiveTime::from_hms_opt(9, 0, 0).expect("valid");
    let five = NaiveTime::from_hms_opt(17, 0, 0).expect("valid");
    let mut log = log_incident();
    log.sla = AppliedSla {
        calendar_name: name("office"),
        calendar: Calendar::office_hours(utc, nine, five).expect("valid"),
        ..sla()
    };
    // Friday 16:30: 30 minutes of Friday, then Monday from 09:00.
    let friday = Utc
        .with_ymd_and_hms(2026, 1, 9, 16, 30, 0)
        .single()
        .expect("valid");
    let monday_0930 = Utc
        .with_ymd_and_hms(2026, 1, 12, 9, 30, 0)
        .single()
        .expect("valid");
    let history = History::new().run(IncidentCommand::Log(Box::new(log)), friday);
    let first_response_due = history.events.iter().find_map(|event| match event {
        IncidentEvent::SlaClockStarted {
            clock: ClockKind::FirstResponse,
            due,
            ..
        } => Some(*due),
        _ => None,
    });
    assert_eq!(first_response_due, Some(monday_0930));
}
