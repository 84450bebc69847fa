//! Golden fixtures: the ledger bytes of one example of every access event, checked in under
//! `tests/golden/<EventType>.bin`. The current code must decode them to the same value and encode
//! that value to the same bytes, so a change to an event's shape (or to the order of the enum's
//! variants) cannot slip by unnoticed. Run once with `UPDATE_GOLDEN=1` to write a missing file.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use itsm_access::{AccessEvent, TokenHash};
use itsm_kernel::{Actor, Name, PersistedEvent, Role, UserId};
use itsm_testkit::{check_golden, check_one_example_per_variant, refuse_stale_fixtures};

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, hour, 15, 30)
        .single()
        .expect("valid date")
}

fn name() -> Name {
    Name::new("ci-pipeline").expect("valid name")
}

fn admin() -> Actor {
    Actor::user(UserId::new("paula.admin").expect("valid id"), Role::Admin)
}

/// A hash with distinct bytes, so a byte-order change shows.
fn hash() -> TokenHash {
    let mut bytes = [0; 32];
    for (byte, value) in bytes.iter_mut().zip(200u8..) {
        *byte = value;
    }
    TokenHash(bytes)
}

/// One example of every event variant, every field non-default.
fn examples() -> Vec<AccessEvent> {
    vec![
        AccessEvent::Issued {
            name: name(),
            user: UserId::new("ci.bot").expect("valid id"),
            role: Role::Agent,
            token_hash: hash(),
            expires_at: Some(at(20)),
            by: admin(),
            at: at(8),
        },
        AccessEvent::Revoked {
            name: name(),
            reason: "The pipeline moved to another desk.".to_owned(),
            by: admin(),
            at: at(9),
        },
    ]
}

const VARIANTS: usize = 2;

fn variant_index(event: &AccessEvent) -> usize {
    match event {
        AccessEvent::Issued { .. } => 0,
        AccessEvent::Revoked { .. } => 1,
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn pinned() -> Vec<(&'static str, AccessEvent)> {
    examples()
        .into_iter()
        .map(|e| (e.event_type(), e))
        .collect()
}

#[test]
fn every_event_variant_has_an_example() {
    check_one_example_per_variant(&pinned(), VARIANTS, variant_index, AccessEvent::EVENT_TYPES);
}

#[test]
fn every_event_is_at_schema_version_1_and_names_its_token() {
    for event in examples() {
        assert_eq!(event.schema_version(), 1, "{}", event.event_type());
        assert_eq!(event.name(), &name());
    }
}

#[test]
fn every_event_round_trips_json() {
    for event in examples() {
        let json = serde_json::to_string(&event).expect("encodes as JSON");
        let back: AccessEvent = serde_json::from_str(&json).expect("decodes JSON");
        assert_eq!(back, event, "json: {}", event.event_type());
    }
}

#[test]
fn golden_bytes_decode_to_the_examples_and_re_encode_identically() {
    check_golden(&golden_dir(), &pinned());
}

#[test]
fn every_golden_file_belongs_to_a_current_event_type() {
    refuse_stale_fixtures(&golden_dir(), AccessEvent::EVENT_TYPES);
}
