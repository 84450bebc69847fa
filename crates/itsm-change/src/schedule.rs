//! What the shell looks up before scheduling: freeze windows and the other scheduled changes.
//!
//! The change aggregate does not read the catalog or other change streams; the shell maps them
//! into these two plain types and puts them into the `Schedule` / `Reschedule` command.

use chrono::{DateTime, Utc};
use itsm_kernel::{ChangeKey, Name, ServiceId};
use serde::{Deserialize, Serialize};

/// A freeze (blackout) window: no non-emergency change may be implemented during `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreezeWindow {
    pub name: Name,
    /// The service the window protects; `None` is a global freeze over every service.
    pub service: Option<ServiceId>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl FreezeWindow {
    /// Whether the window freezes `service`.
    pub fn applies_to(&self, service: &ServiceId) -> bool {
        self.service.as_ref().is_none_or(|frozen| frozen == service)
    }

    /// Whether the window is a real interval (`from < to`); the shell should never send another.
    pub fn is_well_formed(&self) -> bool {
        self.from < self.to
    }
}

/// Another change already scheduled, on the same service or not (the decider filters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledChange {
    pub key: ChangeKey,
    pub service: ServiceId,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Whether the half-open intervals `[a_from, a_to)` and `[b_from, b_to)` share an instant.
/// Touching intervals (one ends when the other starts) do not overlap.
pub fn overlaps(
    a_from: DateTime<Utc>,
    a_to: DateTime<Utc>,
    b_from: DateTime<Utc>,
    b_to: DateTime<Utc>,
) -> bool {
    a_from < b_to && b_from < a_to
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, hour, 0, 0)
            .single()
            .expect("valid date")
    }

    #[test]
    fn touching_intervals_do_not_overlap_but_nested_ones_do() {
        assert!(!overlaps(at(1), at(2), at(2), at(3)));
        assert!(!overlaps(at(2), at(3), at(1), at(2)));
        assert!(overlaps(at(1), at(4), at(2), at(3)));
        assert!(overlaps(at(2), at(3), at(1), at(4)));
        assert!(overlaps(at(1), at(3), at(2), at(4)));
    }

    #[test]
    fn a_global_freeze_applies_to_every_service_and_a_scoped_one_only_to_its_own() {
        let email = ServiceId::new("email").expect("valid id");
        let vpn = ServiceId::new("vpn").expect("valid id");
        let mut window = FreezeWindow {
            name: Name::new("year-end").expect("valid id"),
            service: None,
            from: at(1),
            to: at(2),
        };
        assert!(window.applies_to(&email) && window.applies_to(&vpn));
        window.service = Some(email.clone());
        assert!(window.applies_to(&email));
        assert!(!window.applies_to(&vpn));
        assert!(window.is_well_formed());
        window.to = window.from;
        assert!(!window.is_well_formed());
    }
}
