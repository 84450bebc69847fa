//! Given / when / then specs of every catalog command: its success path and each way it can be
//! rejected.

mod calendars;
mod freeze_windows;
mod policies;
mod services;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use itsm_catalog::{CatalogEvent, Criticality};
use itsm_kernel::spec::{default_actor, default_now};
use itsm_kernel::{Actor, GroupId, Name, Role, ServiceId, UserId};
use itsm_kernel::{CustomerTier, Priority};
use itsm_sla::{Calendar, HoldReason, SlaTargets};

fn service_id(text: &str) -> ServiceId {
    ServiceId::new(text).expect("valid service id")
}

fn group(text: &str) -> GroupId {
    GroupId::new(text).expect("valid group id")
}

fn name(text: &str) -> Name {
    Name::new(text).expect("valid name")
}

fn now() -> DateTime<Utc> {
    default_now()
}

fn actor() -> Actor {
    default_actor()
}

fn manager() -> Actor {
    Actor::user(
        UserId::new("maria.manager").expect("valid id"),
        Role::ServiceManager,
    )
}

/// An earlier moment, when the history of a spec was recorded.
fn earlier() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 12, 1, 8, 0, 0)
        .single()
        .expect("valid date")
}

fn hours(n: i64) -> Duration {
    Duration::hours(n)
}

/// `email`, owned by `messaging`, defined earlier by the service manager.
fn email_defined() -> CatalogEvent {
    CatalogEvent::ServiceDefined {
        service: service_id("email"),
        name: "Corporate e-mail".to_owned(),
        owner: group("messaging"),
        criticality: Criticality::High,
        by: manager(),
        at: earlier(),
    }
}

fn email_retired() -> CatalogEvent {
    CatalogEvent::ServiceRetired {
        service: service_id("email"),
        reason: "replaced by the new mail platform".to_owned(),
        by: manager(),
        at: earlier(),
    }
}

/// Monday to Friday 08:00-17:00 UTC.
fn office_hours() -> Calendar {
    let utc = Calendar::always_open().timezone();
    Calendar::office_hours(
        utc,
        NaiveTime::from_hms_opt(8, 0, 0).expect("valid time"),
        NaiveTime::from_hms_opt(17, 0, 0).expect("valid time"),
    )
    .expect("valid calendar")
}

/// Office hours with New Year's Day off.
fn office_hours_with_holiday() -> Calendar {
    office_hours()
        .with_holidays([chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid date")])
        .expect("valid calendar")
}

fn targets(first_response_hours: i64, resolution_hours: i64) -> SlaTargets {
    SlaTargets::new(
        hours(first_response_hours),
        hours(resolution_hours),
        80,
        BTreeSet::from([HoldReason::AwaitingCustomer]),
    )
    .expect("valid targets")
}

/// The `office` calendar, defined earlier.
fn office_defined() -> CatalogEvent {
    CatalogEvent::CalendarDefined {
        name: name("office"),
        calendar: office_hours(),
        by: manager(),
        at: earlier(),
    }
}

/// The `24x7` calendar, defined earlier.
fn always_defined() -> CatalogEvent {
    CatalogEvent::CalendarDefined {
        name: name("24x7"),
        calendar: Calendar::always_open(),
        by: manager(),
        at: earlier(),
    }
}

/// `email-p1`: email x P1 x standard, 1h / 8h in office hours, `messaging` OLA 4h.
fn email_p1_defined() -> CatalogEvent {
    CatalogEvent::SlaPolicyDefined {
        policy: name("email-p1"),
        service: service_id("email"),
        priority: Priority::P1,
        tier: CustomerTier::Standard,
        targets: targets(1, 8),
        calendar: name("office"),
        ola: BTreeMap::from([(group("messaging"), hours(4))]),
        by: manager(),
        at: earlier(),
    }
}
