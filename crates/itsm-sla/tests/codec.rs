//! Golden bytes and codec round-trips for the SLA types that other crates' events embed
//! (`AppliedSla`, `Calendar`, `SlaTargets`, `ClockKind`, `HoldReason`) and the clock types.
//!
//! itsm-sla has no events of its own, but incident and catalog events carry these values, so
//! their encoding is part of the ledger format. `tests/golden/<Name>.bin` holds the bincode bytes
//! of each example, checked by `itsm_testkit::check_golden`; a missing file fails the test unless
//! `UPDATE_GOLDEN=1` is set, which writes it. A file that pins no current example fails too.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use itsm_kernel::{GroupId, Name};
use itsm_sla::{
    AppliedSla, Calendar, Clock, ClockFact, ClockKind, ClockStatus, ClockStep, ClockStepKind,
    ClockTimeline, HoldReason, Pause, SlaTargets, WeeklyHours, WorkingHours,
};
use itsm_testkit::{check_golden, decode, encode, refuse_stale_fixtures};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 27, h, 0, 0).unwrap()
}

fn berlin() -> Calendar {
    let day = vec![
        WorkingHours::hm((8, 0), (12, 0)).unwrap(),
        WorkingHours::hm((13, 0), (17, 30)).unwrap(),
    ];
    let week = WeeklyHours::new([
        day.clone(),
        day.clone(),
        day.clone(),
        day.clone(),
        day,
        vec![WorkingHours::until_midnight(NaiveTime::from_hms_opt(20, 0, 0).unwrap()).unwrap()],
        vec![],
    ])
    .unwrap();
    let holidays = BTreeSet::from([
        NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(),
        NaiveDate::from_ymd_opt(2026, 12, 26).unwrap(),
    ]);
    Calendar::new(Tz::Europe__Berlin, week, holidays).unwrap()
}

fn targets() -> SlaTargets {
    SlaTargets::new(
        TimeDelta::minutes(30),
        TimeDelta::hours(8),
        80,
        BTreeSet::from([HoldReason::AwaitingCustomer, HoldReason::AwaitingVendor]),
    )
    .unwrap()
}

fn applied() -> AppliedSla {
    AppliedSla::new(
        Name::new("email-p2-vip").unwrap(),
        3,
        targets(),
        Name::new("berlin-office").unwrap(),
        berlin(),
        Some(TimeDelta::hours(4)),
    )
    .unwrap()
}

fn group() -> GroupId {
    GroupId::new("network-l2").unwrap()
}

/// The golden name of a clock kind; the match fails to compile when a variant is added.
fn clock_kind_name(kind: &ClockKind) -> &'static str {
    match kind {
        ClockKind::FirstResponse => "ClockKind.FirstResponse",
        ClockKind::Resolution => "ClockKind.Resolution",
        ClockKind::Ola { .. } => "ClockKind.Ola",
    }
}

fn hold_reason_name(reason: HoldReason) -> &'static str {
    match reason {
        HoldReason::AwaitingCustomer => "HoldReason.AwaitingCustomer",
        HoldReason::AwaitingVendor => "HoldReason.AwaitingVendor",
        HoldReason::AwaitingChange => "HoldReason.AwaitingChange",
    }
}

fn clock_fact_name(fact: &ClockFact) -> &'static str {
    match fact {
        ClockFact::Started { .. } => "ClockFact.Started",
        ClockFact::Paused { .. } => "ClockFact.Paused",
        ClockFact::Resumed { .. } => "ClockFact.Resumed",
        ClockFact::Retargeted { .. } => "ClockFact.Retargeted",
        ClockFact::Warned { .. } => "ClockFact.Warned",
        ClockFact::Breached { .. } => "ClockFact.Breached",
        ClockFact::Met { .. } => "ClockFact.Met",
        ClockFact::Stopped { .. } => "ClockFact.Stopped",
    }
}

fn clock_kinds() -> Vec<ClockKind> {
    vec![
        ClockKind::FirstResponse,
        ClockKind::Resolution,
        ClockKind::Ola { group: group() },
    ]
}

fn clock_facts() -> Vec<ClockFact> {
    vec![
        ClockFact::Started {
            at: at(9),
            target: TimeDelta::hours(8),
            warning_percent: 80,
            calendar: berlin(),
        },
        ClockFact::Paused {
            at: at(10),
            reason: HoldReason::AwaitingChange,
        },
        ClockFact::Resumed { at: at(11) },
        ClockFact::Retargeted {
            at: at(12),
            target: TimeDelta::hours(4),
            calendar: Some(Calendar::always_open()),
            reason: "priority P3 -> P2".to_owned(),
        },
        ClockFact::Warned { at: at(13) },
        ClockFact::Breached { at: at(14) },
        ClockFact::Met { at: at(15) },
        ClockFact::Stopped { at: at(16) },
    ]
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The golden name of every pinned example.
fn golden_names() -> BTreeSet<&'static str> {
    let mut names = BTreeSet::from(["AppliedSla", "Calendar.AlwaysOpen"]);
    names.extend(clock_kinds().iter().map(clock_kind_name));
    names.extend(HoldReason::ALL.into_iter().map(hold_reason_name));
    names.extend(clock_facts().iter().map(clock_fact_name));
    names
}

#[test]
fn every_pinned_example_decodes_from_its_golden_bytes() {
    // Every variant of every pinned enum has an example, each under its own name.
    assert_eq!(golden_names().len(), 2 + 3 + 3 + 8);
    let dir = golden_dir();
    check_golden(&dir, &[("AppliedSla", applied())]);
    check_golden(&dir, &[("Calendar.AlwaysOpen", Calendar::always_open())]);
    let kinds: Vec<_> = clock_kinds()
        .into_iter()
        .map(|kind| (clock_kind_name(&kind), kind))
        .collect();
    check_golden(&dir, &kinds);
    let reasons: Vec<_> = HoldReason::ALL
        .into_iter()
        .map(|reason| (hold_reason_name(reason), reason))
        .collect();
    check_golden(&dir, &reasons);
    let facts: Vec<_> = clock_facts()
        .into_iter()
        .map(|fact| (clock_fact_name(&fact), fact))
        .collect();
    check_golden(&dir, &facts);
}

#[test]
fn every_golden_file_pins_a_current_example() {
    let names: Vec<&str> = golden_names().into_iter().collect();
    refuse_stale_fixtures(&golden_dir(), &names);
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    assert_eq!(&decode::<T>(&encode(value)), value);
    let json = serde_json::to_string(value).unwrap();
    let decoded: T = serde_json::from_str(&json).unwrap();
    assert_eq!(&decoded, value, "JSON: {json}");
}

#[test]
fn sla_values_round_trip_through_bincode_and_json() {
    round_trip(&berlin());
    round_trip(&Calendar::always_open());
    round_trip(berlin().week());
    round_trip(&WorkingHours::whole_day());
    round_trip(&targets());
    round_trip(&applied());
    round_trip(&Pause::open(at(9)));
    round_trip(&Pause::closed(at(9), at(10)));
    for kind in clock_kinds() {
        round_trip(&kind);
    }
    for reason in HoldReason::ALL {
        round_trip(&reason);
    }
    for fact in clock_facts() {
        round_trip(&fact);
    }
}

#[test]
fn clocks_and_timelines_round_trip_through_bincode_and_json() {
    let timeline = ClockTimeline::from_facts(ClockKind::Ola { group: group() }, &clock_facts());
    round_trip(&timeline);
    round_trip(&Clock::start(
        ClockKind::Resolution,
        at(9),
        TimeDelta::hours(8),
        75,
        berlin(),
    ));
    let steps = [
        ClockStepKind::Started {
            target: TimeDelta::hours(8),
            due: Some(at(17)),
        },
        ClockStepKind::Paused {
            reason: HoldReason::AwaitingCustomer,
            elapsed: TimeDelta::hours(1),
        },
        ClockStepKind::Resumed {
            due: None,
            paused_for: TimeDelta::minutes(5),
        },
        ClockStepKind::Retargeted {
            old_target: TimeDelta::hours(8),
            new_target: TimeDelta::hours(2),
            due: Some(at(11)),
            reason: "policy revision 4".to_owned(),
        },
        ClockStepKind::Warned,
        ClockStepKind::Breached,
        ClockStepKind::Met {
            elapsed: TimeDelta::seconds(1),
        },
        ClockStepKind::Stopped,
    ];
    for what in steps {
        round_trip(&ClockStep { at: at(9), what });
    }
    for status in [
        ClockStatus::NotStarted,
        ClockStatus::Running,
        ClockStatus::Paused,
        ClockStatus::Met,
        ClockStatus::Breached,
        ClockStatus::Stopped,
    ] {
        round_trip(&status);
    }
}
