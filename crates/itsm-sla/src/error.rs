//! Why a calendar, an SLA target or a clock is not valid.

use chrono::{NaiveTime, TimeDelta, Weekday};

use crate::WorkingHours;

/// Every way SLA inputs can be invalid. The gateway maps all of them to `VALIDATION`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    #[error(
        "working hours must start before they end (end 00:00 means midnight at the end of the day): {start}-{end}"
    )]
    EmptyWorkingHours { start: NaiveTime, end: NaiveTime },
    #[error("{hour:02}:{minute:02} is not a time of day (24:00 only as an end)")]
    InvalidTimeOfDay { hour: u32, minute: u32 },
    #[error("working hours must be whole seconds: {time}")]
    FractionalSeconds { time: NaiveTime },
    #[error("working hours on {weekday} overlap: {first} and {second}")]
    OverlappingWorkingHours {
        weekday: Weekday,
        first: WorkingHours,
        second: WorkingHours,
    },
    #[error("at most {max} working intervals per day, got {count} on {weekday}")]
    TooManyIntervals {
        weekday: Weekday,
        count: usize,
        max: usize,
    },
    #[error("a calendar needs some working time in its week")]
    NoWorkingTime,
    #[error("a calendar holds at most {max} holidays, got {count}")]
    TooManyHolidays { count: usize, max: usize },
    #[error("the {clock} target must be positive, got {value}")]
    TargetNotPositive {
        clock: &'static str,
        value: TimeDelta,
    },
    #[error("the {clock} target must be at most {max}, got {value}")]
    TargetTooLong {
        clock: &'static str,
        value: TimeDelta,
        max: TimeDelta,
    },
    #[error(
        "the resolution target {resolution} is shorter than the first-response target {first_response}"
    )]
    ResolutionBeforeFirstResponse {
        first_response: TimeDelta,
        resolution: TimeDelta,
    },
    #[error("the warning threshold must be 1..=99 percent, got {percent}")]
    WarningPercentOutOfRange { percent: u8 },
}
