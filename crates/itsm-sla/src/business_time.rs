//! Due-time and elapsed-time math over a [`Calendar`], with pauses.
//!
//! All functions walk the calendar interval by interval (a few per day), never minute by minute.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::Calendar;

/// A span during which a clock does not count, `[from, to)`; `to: None` is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pause {
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
}

impl Pause {
    pub fn closed(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Pause { from, to: Some(to) }
    }

    pub fn open(from: DateTime<Utc>) -> Self {
        Pause { from, to: None }
    }

    pub fn is_open(&self) -> bool {
        self.to.is_none()
    }
}

/// The instant at which `business` working time has elapsed since `start`.
///
/// - Outside working hours the count starts at the next opening.
/// - `business <= 0` gives the first working instant at or after `start`.
/// - An exact fit gives the closing instant of the interval that uses the last of it (a 09:00-17:00
///   day started at 09:00 with 8 hours is due at 17:00 that day, not 09:00 the next).
/// - Total and bounded: when the answer could lie beyond chrono's range (business time of more
///   than about 100 000 years) or lies beyond a bound far past any real answer (which a validated
///   [`Calendar`] never reaches), it saturates at [`DateTime::<Utc>::MAX_UTC`] without walking there.
pub fn due_at(start: DateTime<Utc>, business: TimeDelta, calendar: &Calendar) -> DateTime<Utc> {
    let mut remaining = business.max(TimeDelta::zero());
    let Some(horizon) = horizon(start, remaining, calendar) else {
        return DateTime::<Utc>::MAX_UTC;
    };
    for (open, close) in calendar.intervals_from(start) {
        let open = open.max(start);
        if open > horizon {
            break;
        }
        let available = close - open;
        if remaining <= available {
            return open
                .checked_add_signed(remaining)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
        }
        remaining -= available;
    }
    DateTime::<Utc>::MAX_UTC
}

/// A bound no real answer reaches: business time never runs faster than wall time, a week holds at
/// least its nominal working time minus one DST hour, and each holiday removes at most a day.
/// Doubling the weeks covers the DST loss; `None` when it overflows chrono's range.
fn horizon(
    start: DateTime<Utc>,
    business: TimeDelta,
    calendar: &Calendar,
) -> Option<DateTime<Utc>> {
    let weekly = calendar.week().nominal_length().num_seconds().max(1);
    let weeks = business.num_seconds() / weekly + 2;
    let holidays = i64::try_from(calendar.holidays().len()).unwrap_or(i64::MAX);
    weeks
        .checked_mul(14)
        .and_then(|days| days.checked_add(holidays))
        .and_then(|days| days.checked_add(14))
        .and_then(TimeDelta::try_days)
        .and_then(|span| start.checked_add_signed(span))
}

/// Working time in `[from, to)`, without pauses; zero when `to <= from`.
fn working_time(from: DateTime<Utc>, to: DateTime<Utc>, calendar: &Calendar) -> TimeDelta {
    let mut total = TimeDelta::zero();
    if to <= from {
        return total;
    }
    for (open, close) in calendar.intervals_from(from) {
        if open >= to {
            break;
        }
        total += close.min(to) - open.max(from);
    }
    total
}

/// The pauses clipped to `[from, until)` (open ones run to `until`), merged and sorted.
fn merged_pauses(
    pauses: &[Pause],
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    let clip_end = |end: Option<DateTime<Utc>>| match (end, until) {
        (Some(end), Some(until)) => Some(end.min(until)),
        (Some(end), None) => Some(end),
        (None, until) => until,
    };
    let mut spans: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = pauses
        .iter()
        .map(|pause| (pause.from.max(from), clip_end(pause.to)))
        .filter(|&(start, end)| end.is_none_or(|end| end > start))
        .collect();
    spans.sort_by_key(|&(start, _)| start);
    let mut merged: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some((_, last_end)) if last_end.is_none_or(|last_end| start <= last_end) => {
                *last_end = match (*last_end, end) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (None, _) | (_, None) => None,
                };
            }
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// Working time in `[from, to)` minus the working time inside `pauses`. Pauses may overlap each
/// other and stick out of the range; an open pause runs to `to`. Zero when `to <= from`.
pub fn business_elapsed(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    calendar: &Calendar,
    pauses: &[Pause],
) -> TimeDelta {
    if to <= from {
        return TimeDelta::zero();
    }
    let in_pauses = merged_pauses(pauses, from, Some(to))
        .into_iter()
        .map(|(start, end)| working_time(start, end.unwrap_or(to), calendar))
        .fold(TimeDelta::zero(), |sum, part| sum + part);
    working_time(from, to, calendar) - in_pauses
}

/// Like [`due_at`], but the clock does not count inside `pauses` (which may overlap each other and
/// start before `start`). `None` while an open pause stops the clock before the target is reached.
pub fn due_at_with_pauses(
    start: DateTime<Utc>,
    business: TimeDelta,
    calendar: &Calendar,
    pauses: &[Pause],
) -> Option<DateTime<Utc>> {
    let mut remaining = business.max(TimeDelta::zero());
    let mut cursor = start;
    for (pause_start, pause_end) in merged_pauses(pauses, start, None) {
        if pause_end.is_some_and(|end| end <= cursor) {
            continue;
        }
        let before = working_time(cursor, pause_start, calendar);
        if before > TimeDelta::zero() && remaining <= before {
            return Some(due_at(cursor, remaining, calendar));
        }
        remaining -= before;
        cursor = cursor.max(pause_end?);
    }
    Some(due_at(cursor, remaining, calendar))
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveTime, TimeZone};
    use chrono_tz::Tz;

    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn office(tz: Tz) -> Calendar {
        Calendar::office_hours(
            tz,
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn a_24x7_calendar_counts_wall_time() {
        let start = utc(2026, 1, 5, 9, 30);
        let due = due_at(start, TimeDelta::hours(50), &Calendar::always_open());
        assert_eq!(due, utc(2026, 1, 7, 11, 30));
        assert_eq!(
            business_elapsed(start, due, &Calendar::always_open(), &[]),
            TimeDelta::hours(50)
        );
    }

    #[test]
    fn office_hours_skip_the_night_and_the_weekend() {
        // Friday 2026-01-09 15:00 UTC + 4h: 2h on Friday, 2h on Monday.
        let due = due_at(
            utc(2026, 1, 9, 15, 0),
            TimeDelta::hours(4),
            &office(Tz::UTC),
        );
        assert_eq!(due, utc(2026, 1, 12, 11, 0));
    }

    #[test]
    fn an_open_pause_leaves_no_due_time() {
        let calendar = Calendar::always_open();
        let start = utc(2026, 1, 5, 9, 0);
        let pauses = [Pause::open(utc(2026, 1, 5, 10, 0))];
        assert_eq!(
            due_at_with_pauses(start, TimeDelta::hours(2), &calendar, &pauses),
            None
        );
        let pauses = [Pause::closed(
            utc(2026, 1, 5, 10, 0),
            utc(2026, 1, 5, 13, 0),
        )];
        assert_eq!(
            due_at_with_pauses(start, TimeDelta::hours(2), &calendar, &pauses),
            Some(utc(2026, 1, 5, 14, 0))
        );
    }
}
