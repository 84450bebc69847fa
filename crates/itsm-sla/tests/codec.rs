//! Golden bytes and codec round-trips for the SLA types that other crates' events embed
//! (`AppliedSla`, `Calendar`, `SlaTargets`, `ClockKind`, `HoldReason`) and the clock types.
//!
//! itsm-sla has no events of its own, but incident and catalog events carry these values, so
//! their encoding is part of the ledger format. `tests/golden/<Name>.bin` holds the bincode bytes
//! of each example; a missing file fails the test unless `UPDATE_GOLDEN=1` is set, which writes it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use itsm_kernel::{GroupId, Name};
use itsm_sla::{
    AppliedSla, Calendar, Clock, ClockFact, ClockKind, ClockStatus, ClockStep, ClockStepKind,
    ClockTimeline, HoldReason, Pause, SlaTargets, WeeklyHours, WorkingHours,
};
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

/// Checks one example against its golden file, given the example's golden name.
type Check = Box<dyn Fn(&str)>;

/// Every pinned example, by golden name, as a checker closure.
fn golden_examples() -> BTreeMap<&'static str, Check> {
    let mut examples: BTreeMap<&'static str, Check> = BTreeMap::new();
    examples.insert(
        "AppliedSla",
        Box::new(|name| check_golden(name, &applied())),
    );
    examples.insert(
        "Calendar.AlwaysOpen",
        Box::new(|name| check_golden(name, &Calendar::always_open())),
    );
    for kind in clock_kinds() {
        examples.insert(
            clock_kind_name(&kind),
            Box::new(move |name| check_golden(name, &kind)),
        );
    }
    for reason in HoldReason::ALL {
        examples.insert(
            hold_reason_name(reason),
            Box::new(move |name| check_golden(name, &reason)),
        );
    }
    for fact in clock_facts() {
        examples.insert(
            clock_fact_name(&fact),
            Box::new(move |name| check_golden(name, &fact)),
        );
    }
    examples
}

fn bincode_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, bincode::config::standard()).unwrap()
}

fn check_golden<T: Serialize + DeserializeOwned + PartialEq + Debug>(name: &str, example: &T) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.bin"));
    let bytes = bincode_bytes(example);
    if !path.exists() {
        assert!(
            std::env::var("UPDATE_GOLDEN").is_ok_and(|value| value == "1"),
            "missing golden file {}; run with UPDATE_GOLDEN=1 to write it",
            path.display()
        );
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
    }
    let stored = std::fs::read(&path).unwrap();
    let (decoded, read): (T, usize) =
        bincode::serde::decode_from_slice(&stored, bincode::config::standard()).unwrap();
    assert_eq!(
        read,
        stored.len(),
        "{name}: trailing bytes in the golden file"
    );
    assert_eq!(
        &decoded, example,
        "{name}: the stored bytes decode to another value"
    );
    assert_eq!(bytes, stored, "{name}: the encoding changed");
}

#[test]
fn every_pinned_example_decodes_from_its_golden_bytes() {
    let examples = golden_examples();
    let mut expected: BTreeSet<&str> = BTreeSet::from(["AppliedSla", "Calendar.AlwaysOpen"]);
    expected.extend(clock_kinds().iter().map(clock_kind_name));
    expected.extend(HoldReason::ALL.into_iter().map(hold_reason_name));
    expected.extend(clock_facts().iter().map(clock_fact_name));
    // Every variant of every pinned enum has an example.
    assert_eq!(expected.len(), 2 + 3 + 3 + 8);
    assert_eq!(examples.keys().copied().collect::<BTreeSet<_>>(), expected);
    for (name, check) in &examples {
        check(name);
    }
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let bytes = bincode_bytes(value);
    let (decoded, read): (T, usize) =
        bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
    assert_eq!(read, bytes.len());
    assert_eq!(&decoded, value);
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
