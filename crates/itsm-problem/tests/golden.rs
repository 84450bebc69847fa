//! Golden fixtures: the ledger bytes of one example of every problem event, checked in under
//! `tests/golden/<EventType>.bin`. The current code must decode them to the same value and encode
//! that value to the same bytes, so a change to an event's shape (or to the order of the enum's
//! variants, which bincode encodes as an index) cannot slip by unnoticed.
//!
//! The examples and the exhaustive match over the variants live here; the check itself is
//! `itsm_testkit::check_golden`. A missing file fails the test; run once with `UPDATE_GOLDEN=1`
//! to write it, then commit it. Existing files are never rewritten: a changed encoding needs a
//! new schema version. A file that pins no current event type fails too.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use itsm_kernel::{
    Actor, ChangeKey, GroupId, Impact, IncidentKey, PersistedEvent, Priority, ProblemKey, Role,
    ServiceId, Urgency, UserId,
};
use itsm_problem::{ProblemEvent, ProblemStatus};
use itsm_testkit::{check_golden, check_one_example_per_variant, refuse_stale_fixtures};

const KEY: ProblemKey = ProblemKey::new(7);

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, hour, 15, 30)
        .single()
        .expect("valid date")
}

fn user(name: &str) -> UserId {
    UserId::new(name).expect("valid user id")
}

fn agent() -> Actor {
    Actor::user(user("agent.smith"), Role::Agent)
}

fn email() -> ServiceId {
    ServiceId::new("email").expect("valid service id")
}

fn incidents() -> Vec<IncidentKey> {
    vec![IncidentKey::new(11), IncidentKey::new(42)]
}

/// One example of every event variant. Every field non-default, so a dropped field shows.
fn examples() -> Vec<ProblemEvent> {
    vec![
        ProblemEvent::Recorded {
            key: KEY,
            title: "Mail delivery delays".to_owned(),
            description: "Outbound mail waits in the relay queue.".to_owned(),
            service: email(),
            impact: Impact::High,
            urgency: Urgency::Medium,
            priority: Priority::P2,
            by: agent(),
            at: at(8),
        },
        ProblemEvent::InvestigationStarted {
            key: KEY,
            group: GroupId::new("messaging").expect("valid group id"),
            assignee: Some(user("alice")),
            by: agent(),
            at: at(9),
        },
        ProblemEvent::Reassigned {
            key: KEY,
            group: GroupId::new("network").expect("valid group id"),
            assignee: Some(user("bob")),
            by: Actor::user(user("paula.lead"), Role::Admin),
            at: at(10),
        },
        ProblemEvent::RootCauseRecorded {
            key: KEY,
            root_cause: "The relay's DNS cache expires too late.".to_owned(),
            by: agent(),
            at: at(11),
        },
        ProblemEvent::WorkaroundDocumented {
            key: KEY,
            title: "Mail delivery delays".to_owned(),
            service: email(),
            workaround: "Flush the relay's DNS cache.".to_owned(),
            root_cause: Some("The relay's DNS cache expires too late.".to_owned()),
            linked_incidents: incidents(),
            by: agent(),
            at: at(12),
        },
        ProblemEvent::IncidentLinked {
            key: KEY,
            incident: IncidentKey::new(42),
            workaround: Some("Flush the relay's DNS cache.".to_owned()),
            by: Actor::automation("problem-follow-up"),
            at: at(13),
        },
        ProblemEvent::IncidentUnlinked {
            key: KEY,
            incident: IncidentKey::new(11),
            by: agent(),
            at: at(14),
        },
        ProblemEvent::FixChangeLinked {
            key: KEY,
            change: ChangeKey::new(4),
            replaced: Some(ChangeKey::new(3)),
            by: agent(),
            at: at(15),
        },
        ProblemEvent::Resolved {
            key: KEY,
            resolution: "DNS cache TTL lowered by CHG-4.".to_owned(),
            fix_change: Some(ChangeKey::new(4)),
            linked_incidents: incidents(),
            by: agent(),
            at: at(16),
        },
        ProblemEvent::Closed {
            key: KEY,
            by: agent(),
            at: at(17),
        },
        ProblemEvent::Reopened {
            key: KEY,
            reason: "Delays are back.".to_owned(),
            status: ProblemStatus::KnownError,
            by: agent(),
            at: at(18),
        },
        ProblemEvent::Cancelled {
            key: KEY,
            reason: "Duplicate of PRB-3.".to_owned(),
            linked_incidents: incidents(),
            by: agent(),
            at: at(19),
        },
    ]
}

/// How many event variants exist, next to the match that must list each of them.
const VARIANTS: usize = 12;

/// A number per variant. Adding a variant breaks this match at compile time; giving it the next
/// number and bumping [`VARIANTS`] then fails `every_event_variant_has_an_example` until
/// [`examples`] has one.
fn variant_index(event: &ProblemEvent) -> usize {
    match event {
        ProblemEvent::Recorded { .. } => 0,
        ProblemEvent::InvestigationStarted { .. } => 1,
        ProblemEvent::Reassigned { .. } => 2,
        ProblemEvent::RootCauseRecorded { .. } => 3,
        ProblemEvent::WorkaroundDocumented { .. } => 4,
        ProblemEvent::IncidentLinked { .. } => 5,
        ProblemEvent::IncidentUnlinked { .. } => 6,
        ProblemEvent::FixChangeLinked { .. } => 7,
        ProblemEvent::Resolved { .. } => 8,
        ProblemEvent::Closed { .. } => 9,
        ProblemEvent::Reopened { .. } => 10,
        ProblemEvent::Cancelled { .. } => 11,
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The examples under their persisted event types, the names of their golden files.
fn pinned() -> Vec<(&'static str, ProblemEvent)> {
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
        ProblemEvent::EVENT_TYPES,
    );
}

#[test]
fn every_event_is_at_schema_version_1_and_names_its_problem() {
    for event in examples() {
        assert_eq!(event.schema_version(), 1, "{}", event.event_type());
        assert_eq!(event.key(), KEY);
    }
}

/// Bincode round trips are part of the golden check.
#[test]
fn every_event_round_trips_json() {
    for event in examples() {
        let json = serde_json::to_string(&event).expect("encodes as JSON");
        let back: ProblemEvent = serde_json::from_str(&json).expect("decodes JSON");
        assert_eq!(back, event, "json: {}", event.event_type());
    }
}

#[test]
fn golden_bytes_decode_to_the_examples_and_re_encode_identically() {
    check_golden(&golden_dir(), &pinned());
}

#[test]
fn every_golden_file_belongs_to_a_current_event_type() {
    refuse_stale_fixtures(&golden_dir(), ProblemEvent::EVENT_TYPES);
}
