//! SLA policy types: targets, the hold reasons that pause clocks, and the policy an incident runs
//! under.

use std::collections::BTreeSet;
use std::fmt;

use chrono::TimeDelta;
use itsm_kernel::{GroupId, Name};
use serde::{Deserialize, Serialize};

use crate::{Calendar, SlaError};

/// Longest accepted target: ten years of business time is far past any real SLA and keeps due
/// times well inside chrono's range.
pub const MAX_TARGET: TimeDelta = TimeDelta::days(3_660);

/// Why an incident is on hold. SLA policies say which of them pause which clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HoldReason {
    AwaitingCustomer,
    AwaitingVendor,
    AwaitingChange,
}

impl HoldReason {
    pub const ALL: [HoldReason; 3] = [
        HoldReason::AwaitingCustomer,
        HoldReason::AwaitingVendor,
        HoldReason::AwaitingChange,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            HoldReason::AwaitingCustomer => "awaiting_customer",
            HoldReason::AwaitingVendor => "awaiting_vendor",
            HoldReason::AwaitingChange => "awaiting_change",
        }
    }
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which clock of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClockKind {
    FirstResponse,
    Resolution,
    /// An operational-level agreement clock of one assignment group; it starts when the group
    /// receives the ticket.
    Ola {
        group: GroupId,
    },
}

impl fmt::Display for ClockKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClockKind::FirstResponse => f.write_str("first response"),
            ClockKind::Resolution => f.write_str("resolution"),
            ClockKind::Ola { group } => write!(f, "OLA of {group}"),
        }
    }
}

/// The targets of one SLA policy row (service x priority x tier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SlaTargetsData", into = "SlaTargetsData")]
pub struct SlaTargets {
    first_response: TimeDelta,
    resolution: TimeDelta,
    warning_percent: u8,
    pause_on: BTreeSet<HoldReason>,
}

#[derive(Serialize, Deserialize)]
struct SlaTargetsData {
    first_response: TimeDelta,
    resolution: TimeDelta,
    warning_percent: u8,
    pause_on: BTreeSet<HoldReason>,
}

impl TryFrom<SlaTargetsData> for SlaTargets {
    type Error = SlaError;
    fn try_from(data: SlaTargetsData) -> Result<Self, SlaError> {
        SlaTargets::new(
            data.first_response,
            data.resolution,
            data.warning_percent,
            data.pause_on,
        )
    }
}

impl From<SlaTargets> for SlaTargetsData {
    fn from(targets: SlaTargets) -> Self {
        SlaTargetsData {
            first_response: targets.first_response,
            resolution: targets.resolution,
            warning_percent: targets.warning_percent,
            pause_on: targets.pause_on,
        }
    }
}

/// Checks that a business-time target is positive and at most [`MAX_TARGET`].
pub fn validate_target(clock: &'static str, value: TimeDelta) -> Result<TimeDelta, SlaError> {
    if value <= TimeDelta::zero() {
        return Err(SlaError::TargetNotPositive { clock, value });
    }
    if value > MAX_TARGET {
        return Err(SlaError::TargetTooLong {
            clock,
            value,
            max: MAX_TARGET,
        });
    }
    Ok(value)
}

impl SlaTargets {
    /// Validates: both targets positive and at most [`MAX_TARGET`], resolution at least first
    /// response, warning at 1..=99 percent of a target.
    pub fn new(
        first_response: TimeDelta,
        resolution: TimeDelta,
        warning_percent: u8,
        pause_on: BTreeSet<HoldReason>,
    ) -> Result<Self, SlaError> {
        validate_target("first response", first_response)?;
        validate_target("resolution", resolution)?;
        if resolution < first_response {
            return Err(SlaError::ResolutionBeforeFirstResponse {
                first_response,
                resolution,
            });
        }
        validate_warning_percent(warning_percent)?;
        Ok(SlaTargets {
            first_response,
            resolution,
            warning_percent,
            pause_on,
        })
    }

    pub fn first_response(&self) -> TimeDelta {
        self.first_response
    }

    pub fn resolution(&self) -> TimeDelta {
        self.resolution
    }

    pub fn warning_percent(&self) -> u8 {
        self.warning_percent
    }

    pub fn pause_on(&self) -> &BTreeSet<HoldReason> {
        &self.pause_on
    }

    /// Whether being on hold for `reason` pauses the clocks.
    pub fn pauses_on(&self, reason: HoldReason) -> bool {
        self.pause_on.contains(&reason)
    }
}

/// Checks a warning threshold: 1..=99 percent.
pub fn validate_warning_percent(percent: u8) -> Result<u8, SlaError> {
    if (1..=99).contains(&percent) {
        Ok(percent)
    } else {
        Err(SlaError::WarningPercentOutOfRange { percent })
    }
}

/// The SLA an incident runs under: looked up by the shell in the catalog (policy row for the
/// service x priority x tier, and its calendar) and put into the incident's commands. Incident
/// events record it whole, so a clock's history stays reconstructible after the policy or the
/// calendar changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedSla {
    pub policy: Name,
    pub revision: u32,
    pub targets: SlaTargets,
    pub calendar_name: Name,
    pub calendar: Calendar,
    /// The OLA target of the assignment group, when the policy has one.
    pub ola: Option<TimeDelta>,
}

impl AppliedSla {
    /// Builds an applied SLA, validating the OLA target like the others (positive, at most
    /// [`MAX_TARGET`]). The targets and the calendar are valid by construction.
    pub fn new(
        policy: Name,
        revision: u32,
        targets: SlaTargets,
        calendar_name: Name,
        calendar: Calendar,
        ola: Option<TimeDelta>,
    ) -> Result<Self, SlaError> {
        if let Some(ola) = ola {
            validate_target("OLA", ola)?;
        }
        Ok(AppliedSla {
            policy,
            revision,
            targets,
            calendar_name,
            calendar,
            ola,
        })
    }

    /// The business-time target of `kind` under this SLA; `None` for an OLA clock when the policy
    /// has no OLA target.
    pub fn target_of(&self, kind: &ClockKind) -> Option<TimeDelta> {
        match kind {
            ClockKind::FirstResponse => Some(self.targets.first_response),
            ClockKind::Resolution => Some(self.targets.resolution),
            ClockKind::Ola { .. } => self.ola,
        }
    }
}
