//! SLA math identities over random calendars (weekly hours, holidays, DST zones), starts and
//! durations.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use itsm_sla::{
    Calendar, Pause, WeeklyHours, WorkingHours, business_elapsed, due_at, due_at_with_pauses,
};
use proptest::prelude::*;

const ZONES: [Tz; 6] = [
    Tz::UTC,
    Tz::Europe__Berlin,
    Tz::America__New_York,
    Tz::Asia__Kolkata,
    // Half-hour DST shift.
    Tz::Australia__Lord_Howe,
    Tz::America__Sao_Paulo,
];

/// 2025-01-01 .. 2028-01-01, whole seconds.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (1_735_689_600_i64..1_830_297_600)
        .prop_map(|seconds| DateTime::from_timestamp(seconds, 0).unwrap())
}

fn minute_of_day(minute: u32) -> NaiveTime {
    if minute == 1440 {
        NaiveTime::MIN
    } else {
        NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap()
    }
}

/// Up to three intervals on a day, from sorted distinct quarter-hour boundaries.
fn day() -> impl Strategy<Value = Vec<WorkingHours>> {
    prop::collection::btree_set(0_u32..=96, 0..=6).prop_map(|points| {
        let points: Vec<u32> = points.into_iter().map(|q| q * 15).collect();
        points
            .chunks_exact(2)
            .map(|pair| WorkingHours::new(minute_of_day(pair[0]), minute_of_day(pair[1])).unwrap())
            .collect()
    })
}

fn calendar() -> impl Strategy<Value = Calendar> {
    (
        prop::sample::select(ZONES.to_vec()),
        prop::array::uniform7(day()),
        prop::collection::btree_set(0_u32..1095, 0..20),
    )
        .prop_map(|(zone, mut days, holidays)| {
            if days.iter().all(Vec::is_empty) {
                days[0].push(WorkingHours::hm((9, 0), (17, 0)).unwrap());
            }
            let base = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
            let holidays: BTreeSet<NaiveDate> = holidays
                .into_iter()
                .map(|offset| base + TimeDelta::days(i64::from(offset)))
                .collect();
            Calendar::new(zone, WeeklyHours::new(days).unwrap(), holidays).unwrap()
        })
}

/// 0 .. 200 working hours, in seconds.
fn duration() -> impl Strategy<Value = TimeDelta> {
    (0_i64..=200 * 3600).prop_map(TimeDelta::seconds)
}

fn pause() -> impl Strategy<Value = Pause> {
    (instant(), prop::option::of(0_i64..30 * 86_400)).prop_map(|(from, length)| Pause {
        from,
        to: length.map(|seconds| from + TimeDelta::seconds(seconds)),
    })
}

fn ordered<const N: usize>(mut instants: [DateTime<Utc>; N]) -> [DateTime<Utc>; N] {
    instants.sort();
    instants
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn elapsed_until_the_due_time_is_the_duration(
        calendar in calendar(), start in instant(), business in duration(),
    ) {
        let due = due_at(start, business, &calendar);
        prop_assert!(due >= start);
        prop_assert_eq!(business_elapsed(start, due, &calendar, &[]), business);
    }

    #[test]
    fn the_due_time_is_in_berlin_and_new_york_too(
        calendar in calendar(),
        zone in prop::sample::select(vec![Tz::Europe__Berlin, Tz::America__New_York]),
        start in instant(),
        business in duration(),
    ) {
        let calendar = Calendar::new(zone, calendar.week().clone(), calendar.holidays().clone()).unwrap();
        let due = due_at(start, business, &calendar);
        prop_assert_eq!(business_elapsed(start, due, &calendar, &[]), business);
    }

    #[test]
    fn the_due_time_grows_with_the_duration(
        calendar in calendar(), start in instant(), a in duration(), b in duration(),
    ) {
        let (short, long) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(due_at(start, short, &calendar) <= due_at(start, long, &calendar));
    }

    #[test]
    fn the_due_time_is_the_first_instant_with_enough_elapsed_time(
        calendar in calendar(), start in instant(), business in duration(),
    ) {
        prop_assume!(business > TimeDelta::zero());
        let due = due_at(start, business, &calendar);
        let just_before = due - TimeDelta::seconds(1);
        prop_assert!(business_elapsed(start, just_before, &calendar, &[]) < business);
    }

    #[test]
    fn elapsed_time_is_additive(calendar in calendar(), instants in prop::array::uniform3(instant())) {
        let [a, b, c] = ordered(instants);
        prop_assert_eq!(
            business_elapsed(a, b, &calendar, &[]) + business_elapsed(b, c, &calendar, &[]),
            business_elapsed(a, c, &calendar, &[])
        );
    }

    #[test]
    fn elapsed_time_never_exceeds_wall_time(calendar in calendar(), instants in prop::array::uniform2(instant())) {
        let [a, b] = ordered(instants);
        let elapsed = business_elapsed(a, b, &calendar, &[]);
        prop_assert!(elapsed >= TimeDelta::zero());
        prop_assert!(elapsed <= b - a);
    }

    #[test]
    fn a_pause_removes_exactly_its_working_time(
        calendar in calendar(), instants in prop::array::uniform2(instant()), pause in pause(),
    ) {
        let [from, to] = ordered(instants);
        let pause_end = pause.to.unwrap_or(to).min(to);
        let pause_start = pause.from.max(from);
        let inside = business_elapsed(pause_start, pause_end, &calendar, &[]);
        prop_assert_eq!(
            business_elapsed(from, to, &calendar, &[pause]),
            business_elapsed(from, to, &calendar, &[]) - inside
        );
    }

    #[test]
    fn overlapping_pauses_count_once(
        calendar in calendar(), instants in prop::array::uniform2(instant()), pauses in prop::collection::vec(pause(), 0..5),
    ) {
        let [from, to] = ordered(instants);
        let mut doubled = pauses.clone();
        doubled.extend(pauses.iter().rev().copied());
        let once = business_elapsed(from, to, &calendar, &pauses);
        prop_assert_eq!(business_elapsed(from, to, &calendar, &doubled), once);
        prop_assert!(once >= TimeDelta::zero());
        prop_assert!(once <= business_elapsed(from, to, &calendar, &[]));
    }

    #[test]
    fn the_due_time_with_pauses_has_exactly_the_target_elapsed(
        calendar in calendar(), start in instant(), business in duration(), pauses in prop::collection::vec(pause(), 0..4),
    ) {
        let due = due_at_with_pauses(start, business, &calendar, &pauses);
        if let Some(due) = due {
            prop_assert!(due >= start);
            prop_assert_eq!(business_elapsed(start, due, &calendar, &pauses), business);
        } else {
            // Only an open pause stops the clock for good, and only before the target.
            let open = pauses.iter().filter(|p| p.is_open()).map(|p| p.from.max(start)).min();
            prop_assert!(open.is_some());
            let counted = open.map(|open| business_elapsed(start, open, &calendar, &pauses));
            prop_assert!(business == TimeDelta::zero() || counted < Some(business));
        }
    }

    #[test]
    fn without_pauses_both_due_times_agree(
        calendar in calendar(), start in instant(), business in duration(),
    ) {
        prop_assert_eq!(
            due_at_with_pauses(start, business, &calendar, &[]),
            Some(due_at(start, business, &calendar))
        );
    }
}

mod clock {
    use itsm_sla::{ClockFact, ClockKind, ClockStatus, ClockTimeline, HoldReason};

    use super::*;

    /// A fact of any kind at `at`, with a target of 1..100 working hours.
    fn fact(calendar: Calendar) -> impl Strategy<Value = ClockFact> {
        (
            0_u8..8,
            instant(),
            1_i64..100,
            prop::sample::select(HoldReason::ALL.to_vec()),
            1_u8..=99,
        )
            .prop_map(move |(kind, at, hours, reason, warning_percent)| {
                let target = TimeDelta::hours(hours);
                match kind {
                    0 => ClockFact::Started {
                        at,
                        target,
                        warning_percent,
                        calendar: calendar.clone(),
                    },
                    1 => ClockFact::Paused { at, reason },
                    2 => ClockFact::Resumed { at },
                    3 => ClockFact::Retargeted {
                        at,
                        target,
                        calendar: None,
                        reason: "test".to_owned(),
                    },
                    4 => ClockFact::Warned { at },
                    5 => ClockFact::Breached { at },
                    6 => ClockFact::Met { at },
                    _ => ClockFact::Stopped { at },
                }
            })
    }

    fn facts() -> impl Strategy<Value = Vec<ClockFact>> {
        calendar().prop_flat_map(|calendar| {
            prop::collection::vec(fact(calendar), 0..12).prop_map(|mut facts| {
                facts.sort_by_key(ClockFact::at);
                facts
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn any_fact_sequence_gives_a_consistent_timeline(facts in facts(), now in instant()) {
            let timeline = ClockTimeline::from_facts(ClockKind::Resolution, &facts);
            let first_start = facts.iter().position(|fact| matches!(fact, ClockFact::Started { .. }));
            prop_assert_eq!(timeline.steps.len(), first_start.map_or(0, |first| facts.len() - first));
            let Some(clock) = timeline.clock.clone() else {
                prop_assert_eq!(timeline.state, ClockStatus::NotStarted);
                return Ok(());
            };
            prop_assert_eq!(timeline.due, clock.due());
            prop_assert_eq!(timeline.state == ClockStatus::Paused, clock.is_paused() && timeline.state != ClockStatus::Breached);
            if matches!(timeline.state, ClockStatus::Running) {
                prop_assert!(timeline.due.is_some());
            }
            // Elapsed time never runs backwards and a reached due time means the target elapsed.
            let later = now + TimeDelta::days(3);
            prop_assert!(clock.elapsed(now) <= clock.elapsed(later));
            prop_assert!(clock.elapsed(now) >= TimeDelta::zero());
            if let Some(due) = clock.due() {
                if clock.stopped_at.is_none_or(|stopped| stopped >= due) {
                    prop_assert_eq!(clock.elapsed(due), clock.target);
                }
                prop_assert_eq!(clock.is_breached(now), clock.stopped_at.map_or(now, |s| s.min(now)) > due);
            }
            if let (Some(warning), Some(due)) = (clock.warning_at(), clock.due()) {
                prop_assert!(warning <= due);
            }
        }
    }
}
