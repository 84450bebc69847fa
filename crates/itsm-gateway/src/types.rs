//! GraphQL enums and input parsing shared by resolvers. Domain types never derive GraphQL
//! traits: each GraphQL enum here maps onto its domain enum.

use std::collections::{BTreeMap, BTreeSet};

use async_graphql::{Enum, InputObject};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use itsm_catalog::Criticality;
use itsm_change::{ChangeType, Likelihood, ReviewOutcome};
use itsm_incident::{Channel, ResolutionCode, Visibility};
use itsm_kernel::{CustomerTier, GroupId, Impact, Priority, Urgency};
use itsm_sla::{Calendar, HoldReason, SlaError, SlaTargets, WeeklyHours, WorkingHours};

use crate::error::ApiError;

/// Parses a validated text id (`UserId`, `GroupId`, `ServiceId`, `Name`), naming the field in
/// the `VALIDATION` error.
pub fn id<T>(field: &str, text: &str) -> Result<T, ApiError>
where
    T: std::str::FromStr<Err = itsm_kernel::IdError>,
{
    text.parse()
        .map_err(|e: itsm_kernel::IdError| ApiError::Validation(format!("{field}: {e}")))
}

/// Parses a ticket key (`INC-42`, `PRB-7`, `CHG-3`). Only the canonical spelling is a key:
/// `INC-01` would otherwise name `INC-1` (found by tests/fuzz.rs).
pub fn key<T>(id: &async_graphql::ID) -> Result<T, ApiError>
where
    T: std::str::FromStr<Err = itsm_kernel::KeyError> + std::fmt::Display,
{
    let key: T = id
        .parse()
        .map_err(|e: itsm_kernel::KeyError| ApiError::Validation(e.to_string()))?;
    if key.to_string() != id.as_str() {
        return Err(ApiError::Validation(format!(
            "{:?} is not a key: write it as {key}",
            id.as_str()
        )));
    }
    Ok(key)
}

macro_rules! graphql_enum {
    ($(#[$doc:meta])* $gql:ident => $domain:ty { $($variant:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $gql {
            $($variant),*
        }

        impl From<$gql> for $domain {
            fn from(value: $gql) -> Self {
                match value {
                    $($gql::$variant => <$domain>::$variant),*
                }
            }
        }

        impl From<$domain> for $gql {
            fn from(value: $domain) -> Self {
                match value {
                    $(<$domain>::$variant => $gql::$variant),*
                }
            }
        }
    };
}

graphql_enum!(
    /// How much of the business is affected.
    ImpactLevel => Impact { High, Medium, Low }
);
graphql_enum!(
    /// How fast the business needs it fixed.
    UrgencyLevel => Urgency { High, Medium, Low }
);
graphql_enum!(
    /// How the incident reached the desk.
    ContactChannel => Channel { Email, Portal, Phone, Chat, Api }
);
graphql_enum!(
    /// The customer's contract tier.
    Tier => CustomerTier { Standard, Vip }
);
graphql_enum!(
    /// How critical a service is to the business.
    ServiceCriticality => Criticality { Critical, High, Medium, Low }
);
graphql_enum!(
    /// Why an incident waits; SLA policies say which reasons pause which clock.
    #[allow(clippy::enum_variant_names, reason = "the domain's names, which read well in GraphQL")]
    OnHoldReason => HoldReason { AwaitingCustomer, AwaitingVendor, AwaitingChange }
);
graphql_enum!(
    /// How an incident was resolved.
    ResolutionCategory => ResolutionCode {
        Fixed,
        Workaround,
        ResolvedByChange,
        NoFaultFound,
        UserError,
        Duplicate,
    }
);
graphql_enum!(
    /// Who may read a comment: everybody including the requester, or IT staff only.
    CommentVisibility => Visibility { Public, Internal }
);
graphql_enum!(
    /// How likely a change is to cause a disruption.
    LikelihoodLevel => Likelihood { High, Medium, Low }
);
graphql_enum!(
    /// The verdict of a change's post-implementation review.
    ReviewVerdict => ReviewOutcome { Successful, SuccessfulWithIssues, Unsuccessful }
);
graphql_enum!(
    /// P1 (critical) to P5 (planning).
    PriorityLevel => Priority { P1, P2, P3, P4, P5 }
);

/// How a change is authorized. A standard change also names its pre-approved template.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Pre-approved from a template: authorized on submission, no CAB.
    Standard,
    /// Assessed, then authorized by a CAB quorum.
    Normal,
    /// Expedited through an emergency CAB; may be scheduled inside freeze windows.
    Emergency,
}

/// The domain change type: `template` is required for a standard change and refused otherwise.
pub fn change_type(kind: ChangeKind, template: Option<&str>) -> Result<ChangeType, ApiError> {
    match (kind, template) {
        (ChangeKind::Standard, Some(template)) => Ok(ChangeType::Standard {
            template: id("template", template)?,
        }),
        (ChangeKind::Standard, None) => Err(ApiError::Validation(
            "template: a standard change names its pre-approved template".to_owned(),
        )),
        (ChangeKind::Normal | ChangeKind::Emergency, Some(_)) => Err(ApiError::Validation(
            "template: only a standard change has a template".to_owned(),
        )),
        (ChangeKind::Normal, None) => Ok(ChangeType::Normal),
        (ChangeKind::Emergency, None) => Ok(ChangeType::Emergency),
    }
}

/// Parses an RFC 3339 instant (`2026-01-05T09:00:00Z`, any offset) into UTC.
pub fn instant(field: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|e| {
            ApiError::Validation(format!("{field}: {text:?} is not an RFC 3339 time: {e}"))
        })
}

/// A duration given in whole minutes. Its range is the domain's to check (targets must be
/// positive and bounded); this only refuses what cannot be a duration at all.
pub fn minutes(field: &str, minutes: i32) -> Result<TimeDelta, ApiError> {
    TimeDelta::try_minutes(i64::from(minutes))
        .ok_or_else(|| ApiError::Validation(format!("{field}: {minutes} minutes is out of range")))
}

/// A day of the week, for working hours.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayOfWeek {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl DayOfWeek {
    /// Monday is 0, as in [`WeeklyHours`].
    const fn index(self) -> usize {
        match self {
            DayOfWeek::Monday => 0,
            DayOfWeek::Tuesday => 1,
            DayOfWeek::Wednesday => 2,
            DayOfWeek::Thursday => 3,
            DayOfWeek::Friday => 4,
            DayOfWeek::Saturday => 5,
            DayOfWeek::Sunday => 6,
        }
    }
}

/// One working interval of one weekday in the calendar's local time, `[start, end)`.
#[derive(InputObject, Debug, Clone)]
pub struct WorkingHoursInput {
    pub day: DayOfWeek,
    /// Local start, `HH:MM` (or `HH:MM:SS`).
    pub start: String,
    /// Local end, `HH:MM`; `00:00` or `24:00` means midnight at the end of the day.
    pub end: String,
}

/// A business calendar: IANA timezone, weekly working hours, holidays.
#[derive(InputObject, Debug, Clone)]
pub struct CalendarInput {
    /// An IANA timezone such as `Europe/Berlin`.
    pub timezone: String,
    /// The working intervals of the week; a day without any is not worked.
    pub working_hours: Vec<WorkingHoursInput>,
    /// Local dates without working time, `YYYY-MM-DD`.
    #[graphql(default)]
    pub holidays: Vec<String>,
}

fn time_of_day(field: &str, text: &str, is_end: bool) -> Result<NaiveTime, ApiError> {
    if is_end && (text == "24:00" || text == "24:00:00") {
        return Ok(NaiveTime::MIN);
    }
    NaiveTime::parse_from_str(text, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"))
        .map_err(|_| {
            ApiError::Validation(format!("{field}: {text:?} is not a time of day (HH:MM)"))
        })
}

fn sla_error(error: &SlaError) -> ApiError {
    ApiError::Validation(error.to_string())
}

impl CalendarInput {
    /// The validated domain calendar.
    pub fn to_calendar(&self) -> Result<Calendar, ApiError> {
        let timezone: Tz = self.timezone.parse().map_err(|_| {
            ApiError::Validation(format!(
                "timezone: {:?} is not an IANA timezone",
                self.timezone
            ))
        })?;
        let mut days: [Vec<WorkingHours>; 7] = Default::default();
        for hours in &self.working_hours {
            let start = time_of_day("workingHours.start", &hours.start, false)?;
            let end = time_of_day("workingHours.end", &hours.end, true)?;
            let interval = WorkingHours::new(start, end).map_err(|e| sla_error(&e))?;
            days[hours.day.index()].push(interval);
        }
        let week = WeeklyHours::new(days).map_err(|e| sla_error(&e))?;
        let holidays = self
            .holidays
            .iter()
            .map(|date| {
                NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| {
                    ApiError::Validation(format!("holidays: {date:?} is not a date (YYYY-MM-DD)"))
                })
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        Calendar::new(timezone, week, holidays).map_err(|e| sla_error(&e))
    }
}

/// The operational-level target of one assignment group, in business minutes.
#[derive(InputObject, Debug, Clone)]
pub struct OlaTargetInput {
    pub group: String,
    pub minutes: i32,
}

/// The targets of an SLA policy row, in business minutes of its calendar.
#[derive(InputObject, Debug, Clone)]
pub struct SlaTargetsInput {
    pub first_response_minutes: i32,
    pub resolution_minutes: i32,
    /// Raise a warning at this percentage of a target (1..=99).
    pub warning_percent: i32,
    /// The hold reasons that pause the clocks.
    #[graphql(default)]
    pub pause_on: Vec<OnHoldReason>,
}

impl SlaTargetsInput {
    /// The validated domain targets.
    pub fn to_targets(&self) -> Result<SlaTargets, ApiError> {
        let warning_percent = u8::try_from(self.warning_percent).map_err(|_| {
            ApiError::Validation(format!(
                "warningPercent: {} is not within 1..=99",
                self.warning_percent
            ))
        })?;
        SlaTargets::new(
            minutes("firstResponseMinutes", self.first_response_minutes)?,
            minutes("resolutionMinutes", self.resolution_minutes)?,
            warning_percent,
            self.pause_on
                .iter()
                .copied()
                .map(HoldReason::from)
                .collect(),
        )
        .map_err(|e| sla_error(&e))
    }
}

/// OLA targets by group; a group named twice is refused.
pub fn ola_targets(targets: &[OlaTargetInput]) -> Result<BTreeMap<GroupId, TimeDelta>, ApiError> {
    let mut ola = BTreeMap::new();
    for target in targets {
        let group: GroupId = id("ola.group", &target.group)?;
        let minutes = minutes("ola.minutes", target.minutes)?;
        if ola.insert(group.clone(), minutes).is_some() {
            return Err(ApiError::Validation(format!(
                "ola: group {group} is named twice"
            )));
        }
    }
    Ok(ola)
}
