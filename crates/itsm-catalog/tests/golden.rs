//! Golden fixtures: the ledger bytes of one example of every catalog event, checked in under
//! `tests/golden/<EventType>.bin`. The current code must decode them to the same value and encode
//! that value to the same bytes, so a change to an event's shape (or to the order of the enum's
//! variants, which bincode encodes as an index) cannot slip by unnoticed.
//!
//! The examples and the exhaustive match over the variants live here; the check itself is
//! `itsm_testkit::check_golden`. A missing file fails the test; run once with `UPDATE_GOLDEN=1`
//! to write it, then commit it. Existing files are never rewritten: a changed encoding needs a
//! new schema version. A file that pins no current event type fails too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use itsm_catalog::{CatalogEvent, Criticality, FreezeScope};
use itsm_kernel::{
    Actor, CustomerTier, GroupId, Name, PersistedEvent, Priority, Role, ServiceId, UserId,
};
use itsm_sla::{Calendar, HoldReason, SlaTargets};
use itsm_testkit::{check_golden, check_one_example_per_variant, refuse_stale_fixtures};

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, hour, 15, 30)
        .single()
        .expect("valid date")
}

fn manager() -> Actor {
    Actor::user(
        UserId::new("maria.manager").expect("valid id"),
        Role::ServiceManager,
    )
}

fn name(text: &str) -> Name {
    Name::new(text).expect("valid name")
}

fn email() -> ServiceId {
    ServiceId::new("email").expect("valid service id")
}

fn group(text: &str) -> GroupId {
    GroupId::new(text).expect("valid group id")
}

fn office_hours() -> Calendar {
    let utc = Calendar::always_open().timezone();
    Calendar::office_hours(
        utc,
        NaiveTime::from_hms_opt(8, 0, 0).expect("valid time"),
        NaiveTime::from_hms_opt(17, 30, 0).expect("valid time"),
    )
    .expect("valid calendar")
    .with_holidays([NaiveDate::from_ymd_opt(2026, 12, 25).expect("valid date")])
    .expect("valid calendar")
}

fn targets() -> SlaTargets {
    SlaTargets::new(
        TimeDelta::minutes(30),
        TimeDelta::hours(8),
        75,
        BTreeSet::from([HoldReason::AwaitingCustomer, HoldReason::AwaitingVendor]),
    )
    .expect("valid targets")
}

fn ola() -> BTreeMap<GroupId, TimeDelta> {
    BTreeMap::from([
        (group("messaging"), TimeDelta::hours(4)),
        (group("service-desk"), TimeDelta::minutes(45)),
    ])
}

/// One example of every event variant. Every field non-default, so a dropped field shows.
fn examples() -> Vec<CatalogEvent> {
    vec![
        CatalogEvent::ServiceDefined {
            service: email(),
            name: "Corporate e-mail".to_owned(),
            owner: group("messaging"),
            criticality: Criticality::High,
            by: manager(),
            at: at(8),
        },
        CatalogEvent::ServiceRevised {
            service: email(),
            name: "E-mail and calendars".to_owned(),
            owner: group("collaboration"),
            criticality: Criticality::Critical,
            by: manager(),
            at: at(9),
        },
        CatalogEvent::ServiceRetired {
            service: email(),
            reason: "Replaced by the new mail platform.".to_owned(),
            by: Actor::automation("catalog-import"),
            at: at(10),
        },
        CatalogEvent::CalendarDefined {
            name: name("office"),
            calendar: office_hours(),
            by: manager(),
            at: at(8),
        },
        CatalogEvent::CalendarRevised {
            name: name("office"),
            revision: 2,
            calendar: Calendar::always_open(),
            by: manager(),
            at: at(9),
        },
        CatalogEvent::SlaPolicyDefined {
            policy: name("email-p1"),
            service: email(),
            priority: Priority::P1,
            tier: CustomerTier::Standard,
            targets: targets(),
            calendar: name("office"),
            ola: ola(),
            by: manager(),
            at: at(8),
        },
        CatalogEvent::SlaPolicyRevised {
            policy: name("email-p1-vip"),
            revision: 3,
            service: email(),
            priority: Priority::P2,
            tier: CustomerTier::Vip,
            targets: targets(),
            calendar: name("24x7"),
            ola: ola(),
            by: manager(),
            at: at(11),
        },
        CatalogEvent::FreezeWindowDefined {
            window: name("year-end"),
            scope: FreezeScope::Service(email()),
            from: at(12),
            to: at(18),
            reason: "Year-end closing.".to_owned(),
            by: manager(),
            at: at(8),
        },
        CatalogEvent::FreezeWindowCancelled {
            window: name("year-end"),
            reason: "Closing moved to January.".to_owned(),
            by: manager(),
            at: at(9),
        },
    ]
}

/// How many event variants exist, next to the match that must list each of them.
const VARIANTS: usize = 9;

/// A number per variant. Adding a variant breaks this match at compile time; giving it the next
/// number and bumping [`VARIANTS`] then fails `every_event_variant_has_an_example` until
/// [`examples`] has one.
fn variant_index(event: &CatalogEvent) -> usize {
    match event {
        CatalogEvent::ServiceDefined { .. } => 0,
        CatalogEvent::ServiceRevised { .. } => 1,
        CatalogEvent::ServiceRetired { .. } => 2,
        CatalogEvent::CalendarDefined { .. } => 3,
        CatalogEvent::CalendarRevised { .. } => 4,
        CatalogEvent::SlaPolicyDefined { .. } => 5,
        CatalogEvent::SlaPolicyRevised { .. } => 6,
        CatalogEvent::FreezeWindowDefined { .. } => 7,
        CatalogEvent::FreezeWindowCancelled { .. } => 8,
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The examples under their persisted event types, the names of their golden files.
fn pinned() -> Vec<(&'static str, CatalogEvent)> {
    examples()
        .into_iter()
        .map(|e| (e.event_type(), e))
        .collect()
}

#[test]
fn every_event_variant_has_an_example() {
    check_one_example_per_variant(
        &pinned(),
        VARIANTS,
        variant_index,
        CatalogEvent::EVENT_TYPES,
    );
}

#[test]
fn every_event_is_at_schema_version_1() {
    for event in examples() {
        assert_eq!(event.schema_version(), 1, "{}", event.event_type());
    }
}

/// Bincode round trips are part of the golden check.
#[test]
fn every_event_round_trips_json() {
    for event in examples() {
        let json = serde_json::to_string(&event).expect("encodes as JSON");
        let back: CatalogEvent = serde_json::from_str(&json).expect("decodes JSON");
        assert_eq!(back, event, "json: {}", event.event_type());
    }
}

#[test]
fn golden_bytes_decode_to_the_examples_and_re_encode_identically() {
    check_golden(&golden_dir(), &pinned());
}

#[test]
fn every_golden_file_belongs_to_a_current_event_type() {
    refuse_stale_fixtures(&golden_dir(), CatalogEvent::EVENT_TYPES);
}
