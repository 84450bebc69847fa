//! Every way a calendar or an SLA target is rejected, with the typed error, also when it arrives
//! through deserialization.

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveTime, TimeDelta, Weekday};
use chrono_tz::Tz;
use itsm_kernel::Name;
use itsm_sla::{
    AppliedSla, Calendar, ClockKind, HoldReason, MAX_HOLIDAYS, MAX_INTERVALS_PER_DAY, MAX_TARGET,
    SlaError, SlaTargets, WeeklyHours, WorkingHours,
};

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn hm(start: (u32, u32), end: (u32, u32)) -> WorkingHours {
    WorkingHours::hm(start, end).unwrap()
}

fn monday_only(day: Vec<WorkingHours>) -> [Vec<WorkingHours>; 7] {
    [day, vec![], vec![], vec![], vec![], vec![], vec![]]
}

fn targets(first_response: i64, resolution: i64, warning: u8) -> Result<SlaTargets, SlaError> {
    SlaTargets::new(
        TimeDelta::hours(first_response),
        TimeDelta::hours(resolution),
        warning,
        BTreeSet::from([HoldReason::AwaitingCustomer]),
    )
}

#[test]
fn working_hours_that_end_before_they_start_are_rejected() {
    assert_eq!(
        WorkingHours::new(time(17, 0), time(9, 0)),
        Err(SlaError::EmptyWorkingHours {
            start: time(17, 0),
            end: time(9, 0)
        })
    );
    assert_eq!(
        WorkingHours::new(time(9, 0), time(9, 0)),
        Err(SlaError::EmptyWorkingHours {
            start: time(9, 0),
            end: time(9, 0)
        })
    );
}

#[test]
fn a_time_of_day_that_does_not_exist_is_rejected() {
    assert_eq!(
        WorkingHours::hm((24, 0), (24, 0)),
        Err(SlaError::InvalidTimeOfDay {
            hour: 24,
            minute: 0
        })
    );
    assert_eq!(
        WorkingHours::hm((9, 0), (25, 0)),
        Err(SlaError::InvalidTimeOfDay {
            hour: 25,
            minute: 0
        })
    );
    assert_eq!(
        WorkingHours::hm((9, 60), (17, 0)),
        Err(SlaError::InvalidTimeOfDay {
            hour: 9,
            minute: 60
        })
    );
    assert_eq!(
        WorkingHours::hm((9, 0), (24, 0)),
        WorkingHours::until_midnight(time(9, 0))
    );
}

#[test]
fn working_hours_ending_at_midnight_are_the_rest_of_the_day() {
    let evening = WorkingHours::until_midnight(time(18, 0)).unwrap();
    assert!(evening.ends_at_midnight());
    assert_eq!(evening.nominal_length(), TimeDelta::hours(6));
    assert_eq!(evening.to_string(), "18:00:00-24:00:00");
    assert_eq!(
        WorkingHours::whole_day().nominal_length(),
        TimeDelta::hours(24)
    );
    assert_eq!(hm((9, 0), (17, 30)).to_string(), "09:00:00-17:30:00");
}

#[test]
fn working_hours_with_fractional_seconds_are_rejected() {
    let odd = NaiveTime::from_hms_milli_opt(9, 0, 0, 500).unwrap();
    assert_eq!(
        WorkingHours::new(odd, time(17, 0)),
        Err(SlaError::FractionalSeconds { time: odd })
    );
}

#[test]
fn overlapping_working_hours_are_rejected_and_touching_ones_accepted() {
    assert_eq!(
        WeeklyHours::new(monday_only(vec![hm((11, 0), (13, 0)), hm((9, 0), (12, 0))])),
        Err(SlaError::OverlappingWorkingHours {
            weekday: Weekday::Mon,
            first: hm((9, 0), (12, 0)),
            second: hm((11, 0), (13, 0)),
        })
    );
    let week =
        WeeklyHours::new(monday_only(vec![hm((13, 0), (17, 0)), hm((9, 0), (13, 0))])).unwrap();
    // Sorted on construction.
    assert_eq!(
        week.day(Weekday::Mon),
        &[hm((9, 0), (13, 0)), hm((13, 0), (17, 0))]
    );
    assert_eq!(week.nominal_length(), TimeDelta::hours(8));
}

#[test]
fn too_many_intervals_on_a_day_are_rejected() {
    let day: Vec<WorkingHours> = (0..=u32::try_from(MAX_INTERVALS_PER_DAY).unwrap())
        .map(|i| {
            let minute = i * 20;
            hm(
                (minute / 60, minute % 60),
                ((minute + 10) / 60, (minute + 10) % 60),
            )
        })
        .collect();
    assert_eq!(
        WeeklyHours::new(monday_only(day)),
        Err(SlaError::TooManyIntervals {
            weekday: Weekday::Mon,
            count: MAX_INTERVALS_PER_DAY + 1,
            max: MAX_INTERVALS_PER_DAY,
        })
    );
}

#[test]
fn a_week_without_working_time_is_rejected() {
    assert_eq!(
        WeeklyHours::new(std::array::from_fn(|_| Vec::new())),
        Err(SlaError::NoWorkingTime)
    );
}

#[test]
fn too_many_holidays_are_rejected() {
    let base = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    let holidays: BTreeSet<NaiveDate> = (0..=i64::try_from(MAX_HOLIDAYS).unwrap())
        .map(|day| base + TimeDelta::days(day))
        .collect();
    assert_eq!(
        Calendar::new(Tz::UTC, WeeklyHours::always(), holidays),
        Err(SlaError::TooManyHolidays {
            count: MAX_HOLIDAYS + 1,
            max: MAX_HOLIDAYS,
        })
    );
}

#[test]
fn valid_targets_are_accepted() {
    let targets = targets(1, 8, 80).unwrap();
    assert_eq!(targets.first_response(), TimeDelta::hours(1));
    assert_eq!(targets.resolution(), TimeDelta::hours(8));
    assert_eq!(targets.warning_percent(), 80);
    assert!(targets.pauses_on(HoldReason::AwaitingCustomer));
    assert!(!targets.pauses_on(HoldReason::AwaitingVendor));
}

#[test]
fn targets_that_are_not_positive_are_rejected() {
    assert_eq!(
        targets(0, 8, 80),
        Err(SlaError::TargetNotPositive {
            clock: "first response",
            value: TimeDelta::zero()
        })
    );
    assert_eq!(
        targets(1, -8, 80),
        Err(SlaError::TargetNotPositive {
            clock: "resolution",
            value: TimeDelta::hours(-8)
        })
    );
}

#[test]
fn targets_longer_than_the_maximum_are_rejected() {
    let too_long = MAX_TARGET + TimeDelta::seconds(1);
    assert_eq!(
        SlaTargets::new(TimeDelta::hours(1), too_long, 80, BTreeSet::new()),
        Err(SlaError::TargetTooLong {
            clock: "resolution",
            value: too_long,
            max: MAX_TARGET
        })
    );
}

#[test]
fn a_resolution_target_shorter_than_first_response_is_rejected() {
    assert_eq!(
        targets(8, 4, 80),
        Err(SlaError::ResolutionBeforeFirstResponse {
            first_response: TimeDelta::hours(8),
            resolution: TimeDelta::hours(4)
        })
    );
}

#[test]
fn a_warning_threshold_outside_1_to_99_percent_is_rejected() {
    assert_eq!(
        targets(1, 8, 0),
        Err(SlaError::WarningPercentOutOfRange { percent: 0 })
    );
    assert_eq!(
        targets(1, 8, 100),
        Err(SlaError::WarningPercentOutOfRange { percent: 100 })
    );
    assert!(targets(1, 8, 1).is_ok());
    assert!(targets(1, 8, 99).is_ok());
}

#[test]
fn an_applied_sla_validates_its_ola_and_names_each_clocks_target() {
    let name = |text: &str| Name::new(text).unwrap();
    let build = |ola| {
        AppliedSla::new(
            name("gold"),
            3,
            targets(1, 8, 80).unwrap(),
            name("office"),
            Calendar::always_open(),
            ola,
        )
    };
    assert_eq!(
        build(Some(TimeDelta::zero())),
        Err(SlaError::TargetNotPositive {
            clock: "OLA",
            value: TimeDelta::zero()
        })
    );
    let applied = build(Some(TimeDelta::hours(2))).unwrap();
    let group = itsm_kernel::GroupId::new("network").unwrap();
    assert_eq!(
        applied.target_of(&ClockKind::FirstResponse),
        Some(TimeDelta::hours(1))
    );
    assert_eq!(
        applied.target_of(&ClockKind::Resolution),
        Some(TimeDelta::hours(8))
    );
    assert_eq!(
        applied.target_of(&ClockKind::Ola {
            group: group.clone()
        }),
        Some(TimeDelta::hours(2))
    );
    assert_eq!(
        build(None).unwrap().target_of(&ClockKind::Ola { group }),
        None
    );
}

#[test]
fn invalid_calendars_and_targets_are_rejected_when_deserialized() {
    let overlapping = r#"{"timezone":"UTC","week":[[{"start":"09:00:00","end":"12:00:00"},{"start":"11:00:00","end":"13:00:00"}],[],[],[],[],[],[]],"holidays":[]}"#;
    assert!(serde_json::from_str::<Calendar>(overlapping).is_err());
    let empty_week = r#"{"timezone":"UTC","week":[[],[],[],[],[],[],[]],"holidays":[]}"#;
    assert!(serde_json::from_str::<Calendar>(empty_week).is_err());
    let backwards = r#"{"start":"17:00:00","end":"09:00:00"}"#;
    assert!(serde_json::from_str::<WorkingHours>(backwards).is_err());
    let unknown_zone = r#"{"timezone":"Mars/Olympus","week":[[{"start":"09:00:00","end":"12:00:00"}],[],[],[],[],[],[]],"holidays":[]}"#;
    assert!(serde_json::from_str::<Calendar>(unknown_zone).is_err());
    let good = r#"{"timezone":"Europe/Berlin","week":[[{"start":"09:00:00","end":"12:00:00"}],[],[],[],[],[],[]],"holidays":["2026-12-25"]}"#;
    let calendar: Calendar = serde_json::from_str(good).unwrap();
    assert_eq!(calendar.timezone(), Tz::Europe__Berlin);
    assert!(calendar.is_holiday(NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()));
    let bad_targets =
        r#"{"first_response":[3600,0],"resolution":[60,0],"warning_percent":80,"pause_on":[]}"#;
    assert!(serde_json::from_str::<SlaTargets>(bad_targets).is_err());
    let good_targets = r#"{"first_response":[60,0],"resolution":[3600,0],"warning_percent":80,"pause_on":["AwaitingVendor"]}"#;
    let targets: SlaTargets = serde_json::from_str(good_targets).unwrap();
    assert_eq!(targets.resolution(), TimeDelta::hours(1));
}
