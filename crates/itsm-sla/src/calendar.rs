//! Business calendars: a timezone, working hours per weekday and holidays.
//!
//! A calendar's working time is a sequence of UTC intervals. Each local date contributes the
//! intervals of its weekday (none on a holiday), mapped to the real UTC instants of their local
//! start and end. On a DST day a local time that does not exist (spring forward) maps to the
//! instant right after the gap, an ambiguous one (fall back) to its earliest instant. So a
//! 09:00-17:00 day is 8 real hours on every day, a 01:00-04:00 day is 2 hours on spring forward
//! and 4 hours on fall back in Europe/Berlin.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::SlaError;

/// Most working intervals a single weekday may have.
pub const MAX_INTERVALS_PER_DAY: usize = 48;
/// Most holidays a calendar may hold.
pub const MAX_HOLIDAYS: usize = 10_000;

/// One working interval of a day in local time, `[start, end)`.
///
/// `end == 00:00` means midnight at the END of the day (24:00), so `00:00-00:00` is the whole day
/// and `18:00-00:00` runs to midnight. Otherwise `start < end`. Times are whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "WorkingHoursData", into = "WorkingHoursData")]
pub struct WorkingHours {
    start: NaiveTime,
    end: NaiveTime,
}

#[derive(Serialize, Deserialize)]
struct WorkingHoursData {
    start: NaiveTime,
    end: NaiveTime,
}

impl TryFrom<WorkingHoursData> for WorkingHours {
    type Error = SlaError;
    fn try_from(data: WorkingHoursData) -> Result<Self, SlaError> {
        WorkingHours::new(data.start, data.end)
    }
}

impl From<WorkingHours> for WorkingHoursData {
    fn from(hours: WorkingHours) -> Self {
        WorkingHoursData {
            start: hours.start,
            end: hours.end,
        }
    }
}

const SECONDS_PER_DAY: u32 = 86_400;

impl WorkingHours {
    /// Validates `[start, end)`; `end == 00:00` means 24:00.
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, SlaError> {
        for time in [start, end] {
            if time.nanosecond() != 0 {
                return Err(SlaError::FractionalSeconds { time });
            }
        }
        let hours = WorkingHours { start, end };
        if hours.start_seconds() >= hours.end_seconds() {
            return Err(SlaError::EmptyWorkingHours { start, end });
        }
        Ok(hours)
    }

    /// `[start, 24:00)`.
    pub fn until_midnight(start: NaiveTime) -> Result<Self, SlaError> {
        Self::new(start, NaiveTime::MIN)
    }

    /// `[00:00, 24:00)`.
    pub fn whole_day() -> Self {
        WorkingHours {
            start: NaiveTime::MIN,
            end: NaiveTime::MIN,
        }
    }

    /// Builds from hours and minutes, `end` given as `(24, 0)` for midnight; for tests and demos.
    pub fn hm(start: (u32, u32), end: (u32, u32)) -> Result<Self, SlaError> {
        let time = |(hour, minute): (u32, u32), is_end: bool| {
            if is_end && (hour, minute) == (24, 0) {
                return Ok(NaiveTime::MIN);
            }
            NaiveTime::from_hms_opt(hour, minute, 0)
                .ok_or(SlaError::InvalidTimeOfDay { hour, minute })
        };
        Self::new(time(start, false)?, time(end, true)?)
    }

    pub fn start(&self) -> NaiveTime {
        self.start
    }

    /// The end; `00:00` means midnight at the end of the day.
    pub fn end(&self) -> NaiveTime {
        self.end
    }

    pub fn ends_at_midnight(&self) -> bool {
        self.end == NaiveTime::MIN
    }

    fn start_seconds(self) -> u32 {
        self.start.num_seconds_from_midnight()
    }

    /// Seconds from midnight to the end, 86 400 for midnight at the end of the day.
    fn end_seconds(self) -> u32 {
        if self.ends_at_midnight() {
            SECONDS_PER_DAY
        } else {
            self.end.num_seconds_from_midnight()
        }
    }

    /// Nominal length, ignoring DST.
    pub fn nominal_length(&self) -> TimeDelta {
        TimeDelta::seconds(i64::from(self.end_seconds() - self.start_seconds()))
    }
}

impl fmt::Display for WorkingHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ends_at_midnight() {
            write!(f, "{}-24:00:00", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// Working intervals per weekday, Monday first; each day's intervals sorted and non-overlapping
/// (touching is fine), and at least one interval in the week.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "[Vec<WorkingHours>; 7]", into = "[Vec<WorkingHours>; 7]")]
pub struct WeeklyHours {
    days: [Vec<WorkingHours>; 7],
}

impl TryFrom<[Vec<WorkingHours>; 7]> for WeeklyHours {
    type Error = SlaError;
    fn try_from(days: [Vec<WorkingHours>; 7]) -> Result<Self, SlaError> {
        WeeklyHours::new(days)
    }
}

impl From<WeeklyHours> for [Vec<WorkingHours>; 7] {
    fn from(week: WeeklyHours) -> Self {
        week.days
    }
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

impl WeeklyHours {
    /// Validates the intervals of each day (Monday first). Each day's intervals are sorted here;
    /// overlapping ones, more than [`MAX_INTERVALS_PER_DAY`], or a week with no working time at
    /// all are rejected.
    pub fn new(mut days: [Vec<WorkingHours>; 7]) -> Result<Self, SlaError> {
        for (weekday, day) in WEEKDAYS.into_iter().zip(days.iter_mut()) {
            if day.len() > MAX_INTERVALS_PER_DAY {
                return Err(SlaError::TooManyIntervals {
                    weekday,
                    count: day.len(),
                    max: MAX_INTERVALS_PER_DAY,
                });
            }
            day.sort_by_key(|hours| (hours.start_seconds(), hours.end_seconds()));
            for pair in day.windows(2) {
                if pair[1].start_seconds() < pair[0].end_seconds() {
                    return Err(SlaError::OverlappingWorkingHours {
                        weekday,
                        first: pair[0],
                        second: pair[1],
                    });
                }
            }
        }
        if days.iter().all(Vec::is_empty) {
            return Err(SlaError::NoWorkingTime);
        }
        Ok(WeeklyHours { days })
    }

    /// The same hours on Monday to Friday, nothing at the weekend.
    pub fn weekdays(hours: &[WorkingHours]) -> Result<Self, SlaError> {
        let day = hours.to_vec();
        Self::new([
            day.clone(),
            day.clone(),
            day.clone(),
            day.clone(),
            day,
            Vec::new(),
            Vec::new(),
        ])
    }

    /// Every day, all day.
    pub fn always() -> Self {
        WeeklyHours {
            days: std::array::from_fn(|_| vec![WorkingHours::whole_day()]),
        }
    }

    pub fn day(&self, weekday: Weekday) -> &[WorkingHours] {
        &self.days[weekday.num_days_from_monday() as usize]
    }

    /// Nominal working time of one week, ignoring DST and holidays; always positive.
    pub fn nominal_length(&self) -> TimeDelta {
        self.days
            .iter()
            .flatten()
            .map(WorkingHours::nominal_length)
            .fold(TimeDelta::zero(), |sum, length| sum + length)
    }
}

/// A business calendar: which instants are working time.
///
/// Holidays are local dates in the calendar's timezone; a holiday has no working time at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarData", into = "CalendarData")]
pub struct Calendar {
    timezone: Tz,
    week: WeeklyHours,
    holidays: BTreeSet<NaiveDate>,
}

#[derive(Serialize, Deserialize)]
struct CalendarData {
    timezone: Tz,
    week: WeeklyHours,
    holidays: BTreeSet<NaiveDate>,
}

impl TryFrom<CalendarData> for Calendar {
    type Error = SlaError;
    fn try_from(data: CalendarData) -> Result<Self, SlaError> {
        Calendar::new(data.timezone, data.week, data.holidays)
    }
}

impl From<Calendar> for CalendarData {
    fn from(calendar: Calendar) -> Self {
        CalendarData {
            timezone: calendar.timezone,
            week: calendar.week,
            holidays: calendar.holidays,
        }
    }
}

impl Calendar {
    /// Validates the calendar. A [`WeeklyHours`] always has working time, so every calendar has
    /// working time in every week that is not all holidays, which keeps `due_at` total.
    pub fn new(
        timezone: Tz,
        week: WeeklyHours,
        holidays: BTreeSet<NaiveDate>,
    ) -> Result<Self, SlaError> {
        if holidays.len() > MAX_HOLIDAYS {
            return Err(SlaError::TooManyHolidays {
                count: holidays.len(),
                max: MAX_HOLIDAYS,
            });
        }
        if week.days.iter().all(Vec::is_empty) {
            return Err(SlaError::NoWorkingTime);
        }
        Ok(Calendar {
            timezone,
            week,
            holidays,
        })
    }

    /// 24x7 in UTC without holidays.
    pub fn always_open() -> Self {
        Calendar {
            timezone: Tz::UTC,
            week: WeeklyHours::always(),
            holidays: BTreeSet::new(),
        }
    }

    /// Monday to Friday `[start, end)` in `timezone`, no holidays.
    pub fn office_hours(timezone: Tz, start: NaiveTime, end: NaiveTime) -> Result<Self, SlaError> {
        let week = WeeklyHours::weekdays(&[WorkingHours::new(start, end)?])?;
        Self::new(timezone, week, BTreeSet::new())
    }

    /// The same calendar with `holidays` added.
    pub fn with_holidays(
        mut self,
        holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, SlaError> {
        self.holidays.extend(holidays);
        Self::new(self.timezone, self.week, self.holidays)
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    pub fn week(&self) -> &WeeklyHours {
        &self.week
    }

    pub fn holidays(&self) -> &BTreeSet<NaiveDate> {
        &self.holidays
    }

    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.contains(&date)
    }

    /// The working intervals of one local date in UTC, sorted, non-empty, non-overlapping.
    pub fn intervals_on(
        &self,
        date: NaiveDate,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let hours: &[WorkingHours] = if self.is_holiday(date) {
            &[]
        } else {
            self.week.day(date.weekday())
        };
        hours.iter().filter_map(move |hours| {
            let start = self.resolve(date.and_time(hours.start))?;
            let end = if hours.ends_at_midnight() {
                self.resolve(date.succ_opt()?.and_time(NaiveTime::MIN))?
            } else {
                self.resolve(date.and_time(hours.end))?
            };
            // An interval that lies wholly inside a DST gap has no working time.
            (start < end).then_some((start, end))
        })
    }

    /// Every working interval that ends after `instant`, in order (it may start before it). The
    /// sequence is endless in practice: it stops only at the end of chrono's date range.
    pub fn intervals_from(
        &self,
        instant: DateTime<Utc>,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let local = instant.with_timezone(&self.timezone).date_naive();
        // Start a day early: resolving the local start of an interval never moves it by a day,
        // but this costs one day and spares proving it.
        let first = local.pred_opt().unwrap_or(local);
        std::iter::successors(Some(first), NaiveDate::succ_opt)
            .flat_map(move |date| self.intervals_on(date))
            .filter(move |&(_, end)| end > instant)
    }

    /// The UTC instant of a local wall-clock time: the real instant if it exists once, the earliest
    /// if it is ambiguous (fall back), the instant right after the gap if it does not exist
    /// (spring forward). `None` only at the ends of chrono's range.
    pub fn resolve(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.timezone.from_local_datetime(&local) {
            LocalResult::Single(instant) => Some(instant.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, second) => Some(first.min(second).with_timezone(&Utc)),
            LocalResult::None => self.gap_end(local),
        }
    }

    /// The first instant whose local time is at or after `local`: for a time inside a gap, the
    /// transition instant that ends the gap. Binary search over whole seconds; offsets lie within
    /// +-26 hours of UTC, so the answer lies within `local` +- 27 hours read as UTC.
    fn gap_end(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        let window = TimeDelta::hours(27);
        let as_utc = local.and_utc();
        let mut low = as_utc.checked_sub_signed(window)?.timestamp();
        let mut high = as_utc.checked_add_signed(window)?.timestamp();
        let at_or_after = |seconds: i64| {
            DateTime::from_timestamp(seconds, 0)
                .is_some_and(|instant| instant.with_timezone(&self.timezone).naive_local() >= local)
        };
        // Invariant: `low` is before, `high` at or after.
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            if at_or_after(middle) {
                high = middle;
            } else {
                low = middle;
            }
        }
        DateTime::from_timestamp(high, 0)
    }
}
