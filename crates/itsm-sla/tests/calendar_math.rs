//! Hand-computed due and elapsed times: weekends, holidays, 24x7, starts outside working hours and
//! the 2026 DST changes of `Europe/Berlin` and `America/New_York`.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use itsm_sla::{
    Calendar, Pause, WeeklyHours, WorkingHours, business_elapsed, due_at, due_at_with_pauses,
};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn date(y: i32, mo: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, mo, d).unwrap()
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn hours(h: i64) -> TimeDelta {
    TimeDelta::hours(h)
}

fn office(tz: Tz) -> Calendar {
    Calendar::office_hours(tz, time(9, 0), time(17, 0)).unwrap()
}

/// The same hours on every day of the week.
fn every_day(tz: Tz, intervals: &[WorkingHours]) -> Calendar {
    let day = intervals.to_vec();
    let week = WeeklyHours::new(std::array::from_fn(|_| day.clone())).unwrap();
    Calendar::new(tz, week, BTreeSet::new()).unwrap()
}

fn always(tz: Tz) -> Calendar {
    Calendar::new(tz, WeeklyHours::always(), BTreeSet::new()).unwrap()
}

fn assert_round_trip(start: DateTime<Utc>, business: TimeDelta, calendar: &Calendar) {
    let due = due_at(start, business, calendar);
    assert_eq!(business_elapsed(start, due, calendar, &[]), business);
}

#[test]
fn a_24x7_utc_calendar_counts_wall_time() {
    let calendar = Calendar::always_open();
    let start = utc(2026, 1, 5, 9, 30);
    assert_eq!(due_at(start, hours(50), &calendar), utc(2026, 1, 7, 11, 30));
    assert_eq!(
        business_elapsed(start, utc(2026, 2, 5, 9, 30), &calendar, &[]),
        TimeDelta::days(31)
    );
}

#[test]
fn office_hours_skip_the_night() {
    // Monday 2026-01-05, Berlin is UTC+1: 16:00 local + 3h = 1h Monday + 2h Tuesday.
    let calendar = office(Tz::Europe__Berlin);
    let due = due_at(utc(2026, 1, 5, 15, 0), hours(3), &calendar);
    assert_eq!(due, utc(2026, 1, 6, 10, 0));
    assert_round_trip(utc(2026, 1, 5, 15, 0), hours(3), &calendar);
}

#[test]
fn office_hours_skip_the_weekend() {
    // Friday 2026-01-09 15:00 UTC + 4h: 2h on Friday, 2h on Monday the 12th.
    let calendar = office(Tz::UTC);
    assert_eq!(
        due_at(utc(2026, 1, 9, 15, 0), hours(4), &calendar),
        utc(2026, 1, 12, 11, 0)
    );
    assert_eq!(
        business_elapsed(
            utc(2026, 1, 9, 12, 0),
            utc(2026, 1, 12, 12, 0),
            &calendar,
            &[]
        ),
        hours(8)
    );
}

#[test]
fn an_exact_fit_is_due_at_closing_time_not_at_the_next_opening() {
    let calendar = office(Tz::UTC);
    assert_eq!(
        due_at(utc(2026, 1, 5, 9, 0), hours(8), &calendar),
        utc(2026, 1, 5, 17, 0)
    );
}

#[test]
fn holidays_have_no_working_time() {
    // Easter 2026 in Berlin: Good Friday 04-03 and Easter Monday 04-06 are holidays.
    let calendar = office(Tz::Europe__Berlin)
        .with_holidays([date(2026, 4, 3), date(2026, 4, 6)])
        .unwrap();
    // Thursday 16:00 CEST (14:00 UTC) + 2h: 1h Thursday, 1h on Tuesday 04-07 from 09:00 CEST.
    let start = utc(2026, 4, 2, 14, 0);
    assert_eq!(due_at(start, hours(2), &calendar), utc(2026, 4, 7, 8, 0));
    assert_round_trip(start, hours(2), &calendar);
    assert_eq!(
        business_elapsed(utc(2026, 4, 3, 0, 0), utc(2026, 4, 7, 0, 0), &calendar, &[]),
        TimeDelta::zero()
    );
}

#[test]
fn a_start_outside_working_hours_counts_from_the_next_opening() {
    let calendar = office(Tz::Europe__Berlin);
    // Saturday 2026-01-10 -> Monday 09:00 CET = 08:00 UTC.
    assert_eq!(
        due_at(utc(2026, 1, 10, 10, 0), hours(1), &calendar),
        utc(2026, 1, 12, 9, 0)
    );
    // Tuesday 05:00 UTC is before opening at 08:00 UTC.
    assert_eq!(
        due_at(utc(2026, 1, 6, 5, 0), hours(1), &calendar),
        utc(2026, 1, 6, 9, 0)
    );
}

#[test]
fn a_zero_duration_is_due_at_the_first_working_instant() {
    let calendar = office(Tz::Europe__Berlin);
    let inside = utc(2026, 1, 6, 10, 17);
    assert_eq!(due_at(inside, TimeDelta::zero(), &calendar), inside);
    // Closing time itself is not working time: [09:00, 17:00).
    assert_eq!(
        due_at(utc(2026, 1, 6, 16, 0), TimeDelta::zero(), &calendar),
        utc(2026, 1, 7, 8, 0)
    );
    // Negative durations count as zero.
    assert_eq!(due_at(inside, hours(-3), &calendar), inside);
}

#[test]
fn elapsed_is_zero_for_an_empty_or_reversed_range() {
    let calendar = Calendar::always_open();
    let at = utc(2026, 1, 6, 10, 0);
    assert_eq!(business_elapsed(at, at, &calendar, &[]), TimeDelta::zero());
    assert_eq!(
        business_elapsed(at, at - hours(5), &calendar, &[]),
        TimeDelta::zero()
    );
}

#[test]
fn berlin_24x7_has_a_23_hour_day_at_spring_forward_and_a_25_hour_day_at_fall_back() {
    let calendar = always(Tz::Europe__Berlin);
    // Local midnights: 03-29 00:00 CET = 03-28 23:00 UTC, 03-30 00:00 CEST = 03-29 22:00 UTC.
    assert_eq!(
        business_elapsed(
            utc(2026, 3, 28, 23, 0),
            utc(2026, 3, 29, 22, 0),
            &calendar,
            &[]
        ),
        hours(23)
    );
    // 10-25 00:00 CEST = 10-24 22:00 UTC, 10-26 00:00 CET = 10-25 23:00 UTC.
    assert_eq!(
        business_elapsed(
            utc(2026, 10, 24, 22, 0),
            utc(2026, 10, 25, 23, 0),
            &calendar,
            &[]
        ),
        hours(25)
    );
    // Always open means wall time, whatever the zone.
    assert_eq!(
        due_at(utc(2026, 3, 28, 12, 0), hours(24), &calendar),
        utc(2026, 3, 29, 12, 0)
    );
}

#[test]
fn berlin_office_hours_across_spring_forward_follow_local_time() {
    // Friday 03-27 15:00 CET (14:00 UTC) + 4h: 2h Friday, then Monday 03-30 09:00 CEST (07:00 UTC).
    let calendar = office(Tz::Europe__Berlin);
    let start = utc(2026, 3, 27, 14, 0);
    assert_eq!(due_at(start, hours(4), &calendar), utc(2026, 3, 30, 9, 0));
    assert_round_trip(start, hours(4), &calendar);
}

#[test]
fn berlin_office_hours_across_fall_back_follow_local_time() {
    // Friday 10-23 15:00 CEST (13:00 UTC) + 4h: 2h Friday, then Monday 10-26 09:00 CET (08:00 UTC).
    let calendar = office(Tz::Europe__Berlin);
    let start = utc(2026, 10, 23, 13, 0);
    assert_eq!(due_at(start, hours(4), &calendar), utc(2026, 10, 26, 10, 0));
    assert_round_trip(start, hours(4), &calendar);
}

#[test]
fn working_hours_over_the_skipped_hour_in_berlin_are_shorter() {
    // 01:00-04:00 local every day. On 03-29 01:00 CET = 00:00 UTC, 04:00 CEST = 02:00 UTC: 2h.
    let calendar = every_day(
        Tz::Europe__Berlin,
        &[WorkingHours::hm((1, 0), (4, 0)).unwrap()],
    );
    assert_eq!(
        business_elapsed(
            utc(2026, 3, 28, 12, 0),
            utc(2026, 3, 29, 12, 0),
            &calendar,
            &[]
        ),
        hours(2)
    );
    assert_eq!(
        due_at(utc(2026, 3, 29, 0, 0), hours(2), &calendar),
        utc(2026, 3, 29, 2, 0)
    );
    // The next 30 minutes come on 03-30 from 01:00 CEST = 03-29 23:00 UTC.
    assert_eq!(
        due_at(utc(2026, 3, 29, 0, 0), TimeDelta::minutes(150), &calendar),
        utc(2026, 3, 29, 23, 30)
    );
}

#[test]
fn a_local_start_inside_the_gap_maps_to_the_instant_after_it() {
    // 02:30-05:00 on 03-29 in Berlin: 02:30 does not exist, so work starts at 03:00 CEST (01:00
    // UTC) and ends at 05:00 CEST (03:00 UTC).
    let calendar = every_day(
        Tz::Europe__Berlin,
        &[WorkingHours::hm((2, 30), (5, 0)).unwrap()],
    );
    let day: Vec<_> = calendar.intervals_on(date(2026, 3, 29)).collect();
    assert_eq!(day, vec![(utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 3, 0))]);
    assert_eq!(
        due_at(utc(2026, 3, 28, 22, 0), TimeDelta::zero(), &calendar),
        utc(2026, 3, 29, 1, 0)
    );
}

#[test]
fn working_hours_wholly_inside_the_gap_are_no_working_time_that_day() {
    let calendar = every_day(
        Tz::Europe__Berlin,
        &[WorkingHours::hm((2, 0), (2, 30)).unwrap()],
    );
    assert_eq!(calendar.intervals_on(date(2026, 3, 29)).count(), 0);
    assert_eq!(
        business_elapsed(
            utc(2026, 3, 28, 12, 0),
            utc(2026, 3, 29, 12, 0),
            &calendar,
            &[]
        ),
        TimeDelta::zero()
    );
    // The day before and after have their half hour.
    assert_eq!(calendar.intervals_on(date(2026, 3, 28)).count(), 1);
    assert_eq!(calendar.intervals_on(date(2026, 3, 30)).count(), 1);
}

#[test]
fn working_hours_over_the_repeated_hour_in_berlin_are_longer() {
    // 10-25: 01:00 CEST = 10-24 23:00 UTC, 04:00 CET = 03:00 UTC: 4h.
    let calendar = every_day(
        Tz::Europe__Berlin,
        &[WorkingHours::hm((1, 0), (4, 0)).unwrap()],
    );
    let day: Vec<_> = calendar.intervals_on(date(2026, 10, 25)).collect();
    assert_eq!(
        day,
        vec![(utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 3, 0))]
    );
    assert_eq!(
        due_at(utc(2026, 10, 24, 23, 0), hours(4), &calendar),
        utc(2026, 10, 25, 3, 0)
    );
}

#[test]
fn an_ambiguous_local_start_maps_to_its_earliest_instant() {
    // 02:30 on 10-25 exists twice in Berlin; the first is 02:30 CEST = 00:30 UTC. 05:00 CET = 04:00.
    let calendar = every_day(
        Tz::Europe__Berlin,
        &[WorkingHours::hm((2, 30), (5, 0)).unwrap()],
    );
    let day: Vec<_> = calendar.intervals_on(date(2026, 10, 25)).collect();
    assert_eq!(
        day,
        vec![(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 4, 0))]
    );
}

#[test]
fn new_york_working_hours_over_spring_forward_and_fall_back() {
    let calendar = every_day(
        Tz::America__New_York,
        &[WorkingHours::hm((1, 0), (4, 0)).unwrap()],
    );
    // 03-08: 01:00 EST = 06:00 UTC, 04:00 EDT = 08:00 UTC.
    let spring: Vec<_> = calendar.intervals_on(date(2026, 3, 8)).collect();
    assert_eq!(spring, vec![(utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 8, 0))]);
    // 11-01: 01:00 is ambiguous, earliest is 01:00 EDT = 05:00 UTC; 04:00 EST = 09:00 UTC.
    let fall: Vec<_> = calendar.intervals_on(date(2026, 11, 1)).collect();
    assert_eq!(fall, vec![(utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 9, 0))]);
    assert_eq!(
        business_elapsed(
            utc(2026, 11, 1, 0, 0),
            utc(2026, 11, 2, 0, 0),
            &calendar,
            &[]
        ),
        hours(4)
    );
}

#[test]
fn new_york_office_hours_across_both_dst_weekends() {
    let calendar = office(Tz::America__New_York);
    // Friday 03-06 16:00 EST (21:00 UTC) + 3h: 1h Friday, Monday 03-09 from 09:00 EDT (13:00 UTC).
    assert_eq!(
        due_at(utc(2026, 3, 6, 21, 0), hours(3), &calendar),
        utc(2026, 3, 9, 15, 0)
    );
    // Friday 10-30 16:00 EDT (20:00 UTC) + 3h: 1h Friday, Monday 11-02 from 09:00 EST (14:00 UTC).
    assert_eq!(
        due_at(utc(2026, 10, 30, 20, 0), hours(3), &calendar),
        utc(2026, 11, 2, 16, 0)
    );
    assert_round_trip(utc(2026, 10, 30, 20, 0), hours(3), &calendar);
}

#[test]
fn new_york_24x7_has_23_and_25_hour_days() {
    let calendar = always(Tz::America__New_York);
    // 03-08 00:00 EST = 05:00 UTC; 03-09 00:00 EDT = 04:00 UTC.
    assert_eq!(
        business_elapsed(utc(2026, 3, 8, 5, 0), utc(2026, 3, 9, 4, 0), &calendar, &[]),
        hours(23)
    );
    // 11-01 00:00 EDT = 04:00 UTC; 11-02 00:00 EST = 05:00 UTC.
    assert_eq!(
        business_elapsed(
            utc(2026, 11, 1, 4, 0),
            utc(2026, 11, 2, 5, 0),
            &calendar,
            &[]
        ),
        hours(25)
    );
}

#[test]
fn intervals_that_touch_across_midnight_count_as_one_stretch() {
    // A night shift: 18:00-24:00 and 00:00-06:00 every day, UTC.
    let calendar = every_day(
        Tz::UTC,
        &[
            WorkingHours::hm((0, 0), (6, 0)).unwrap(),
            WorkingHours::until_midnight(time(18, 0)).unwrap(),
        ],
    );
    assert_eq!(
        due_at(utc(2026, 1, 5, 20, 0), hours(10), &calendar),
        utc(2026, 1, 6, 6, 0)
    );
    assert_eq!(
        due_at(utc(2026, 1, 5, 20, 0), hours(11), &calendar),
        utc(2026, 1, 6, 19, 0)
    );
}

#[test]
fn pauses_are_excluded_from_elapsed_time() {
    let calendar = office(Tz::UTC);
    let from = utc(2026, 1, 5, 9, 0);
    let to = utc(2026, 1, 6, 17, 0);
    // Two overlapping pauses cover Monday 12:00 - Tuesday 10:00: 5h Monday + 1h Tuesday.
    let pauses = [
        Pause::closed(utc(2026, 1, 5, 12, 0), utc(2026, 1, 6, 8, 0)),
        Pause::closed(utc(2026, 1, 5, 20, 0), utc(2026, 1, 6, 10, 0)),
    ];
    assert_eq!(business_elapsed(from, to, &calendar, &pauses), hours(10));
    // An open pause runs to the end of the range.
    let open = [Pause::open(utc(2026, 1, 6, 16, 0))];
    assert_eq!(business_elapsed(from, to, &calendar, &open), hours(15));
    // A pause before the range changes nothing.
    let before = [Pause::closed(utc(2026, 1, 1, 0, 0), utc(2026, 1, 5, 9, 0))];
    assert_eq!(business_elapsed(from, to, &calendar, &before), hours(16));
}

#[test]
fn a_closed_pause_moves_the_due_time_by_its_working_time() {
    let calendar = office(Tz::UTC);
    let start = utc(2026, 1, 5, 9, 0);
    // 4h target, paused 10:00-14:00: 1h before, 3h after -> 17:00.
    let pauses = [Pause::closed(
        utc(2026, 1, 5, 10, 0),
        utc(2026, 1, 5, 14, 0),
    )];
    let due = due_at_with_pauses(start, hours(4), &calendar, &pauses);
    assert_eq!(due, Some(utc(2026, 1, 5, 17, 0)));
    assert_eq!(
        business_elapsed(start, utc(2026, 1, 5, 17, 0), &calendar, &pauses),
        hours(4)
    );
    // A pause wholly outside working hours moves nothing.
    let night = [Pause::closed(utc(2026, 1, 5, 18, 0), utc(2026, 1, 6, 8, 0))];
    assert_eq!(
        due_at_with_pauses(start, hours(10), &calendar, &night),
        Some(due_at(start, hours(10), &calendar))
    );
}

#[test]
fn an_open_pause_before_the_target_leaves_no_due_time_but_one_after_it_does() {
    let calendar = office(Tz::UTC);
    let start = utc(2026, 1, 5, 9, 0);
    let early = [Pause::open(utc(2026, 1, 5, 10, 0))];
    assert_eq!(due_at_with_pauses(start, hours(2), &calendar, &early), None);
    let late = [Pause::open(utc(2026, 1, 5, 12, 0))];
    assert_eq!(
        due_at_with_pauses(start, hours(2), &calendar, &late),
        Some(utc(2026, 1, 5, 11, 0))
    );
}

#[test]
fn due_at_is_total_for_absurd_durations() {
    let calendar = office(Tz::Europe__Berlin);
    assert_eq!(
        due_at(utc(2026, 1, 5, 9, 0), TimeDelta::MAX, &calendar),
        DateTime::<Utc>::MAX_UTC
    );
}
