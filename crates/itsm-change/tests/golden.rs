//! Golden fixtures: the ledger bytes of one example of every change event, checked in under
//! `tests/golden/<EventType>.bin`. The current code must decode them to the same value and encode
//! the value to the same bytes, so a change to an event's shape cannot slip by unnoticed.
//!
//! The examples and the exhaustive match over the variants live here; the check itself is
//! `itsm_testkit::check_golden`. A missing file fails the test; run once with `UPDATE_GOLDEN=1`
//! to write it, then commit it. Existing files are never rewritten: a changed encoding needs a
//! new schema version. A file that pins no current event type fails too.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use itsm_change::{
    Authorization, ChangeEvent, ChangeType, Likelihood, Rejection, ReviewOutcome, Risk, Vote,
};
use itsm_kernel::{Actor, ChangeKey, Impact, Name, PersistedEvent, Role, ServiceId, UserId};
use itsm_testkit::{check_golden, check_one_example_per_variant, refuse_stale_fixtures};

const KEY: ChangeKey = ChangeKey::new(42);

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, hour, 15, 30)
        .single()
        .expect("valid date")
}

fn user(name: &str) -> UserId {
    UserId::new(name).expect("valid user id")
}

fn manager() -> Actor {
    Actor::user(user("cm.jones"), Role::ChangeManager)
}

fn agent() -> Actor {
    Actor::user(user("agent.smith"), Role::Agent)
}

fn name(text: &str) -> Name {
    Name::new(text).expect("valid name")
}

/// One example of every event variant. Keep every field non-default so a dropped field shows.
fn examples() -> Vec<ChangeEvent> {
    vec![
        ChangeEvent::Raised {
            key: KEY,
            change_type: ChangeType::Standard {
                template: name("restart-mail-relay"),
            },
            title: "Upgrade the mail relay".to_owned(),
            description: "Move the relay to the supported release.".to_owned(),
            service: ServiceId::new("email").expect("valid service id"),
            impact: Impact::High,
            likelihood: Likelihood::Medium,
            risk: Risk::High,
            implementation_plan: "Drain, upgrade, undrain.".to_owned(),
            backout_plan: "Restore the snapshot.".to_owned(),
            requested_by: user("rita"),
            by: agent(),
            at: at(8),
        },
        ChangeEvent::Submitted {
            key: KEY,
            by: Actor::user(user("rita"), Role::Requester),
            at: at(9),
        },
        ChangeEvent::Assessed {
            key: KEY,
            impact: Impact::Medium,
            likelihood: Likelihood::Low,
            risk: Risk::Low,
            notes: "Tested in staging.".to_owned(),
            cab: vec![user("alice"), user("bob")],
            required_approvals: 2,
            by: manager(),
            at: at(10),
        },
        ChangeEvent::ApprovalRecorded {
            key: KEY,
            approver: user("alice"),
            vote: Vote::Approve,
            comment: "Looks safe.".to_owned(),
            by: manager(),
            at: at(11),
        },
        ChangeEvent::Authorized {
            key: KEY,
            basis: Authorization::Cab {
                approvers: vec![user("alice"), user("bob")],
            },
            by: Actor::user(user("bob"), Role::Agent),
            at: at(12),
        },
        ChangeEvent::Rejected {
            key: KEY,
            reason: Rejection::Vetoed {
                approver: user("carol"),
            },
            by: Actor::user(user("carol"), Role::Agent),
            at: at(12),
        },
        ChangeEvent::Scheduled {
            key: KEY,
            service: ServiceId::new("email").expect("valid service id"),
            from: at(20),
            to: at(22),
            collisions: vec![ChangeKey::new(3), ChangeKey::new(12)],
            freeze_overrides: vec![name("year-end")],
            by: manager(),
            at: at(13),
        },
        ChangeEvent::Rescheduled {
            key: KEY,
            service: ServiceId::new("email").expect("valid service id"),
            from: at(21),
            to: at(23),
            previous_from: at(20),
            previous_to: at(22),
            collisions: vec![ChangeKey::new(5)],
            freeze_overrides: vec![],
            by: manager(),
            at: at(14),
        },
        ChangeEvent::ImplementationStarted {
            key: KEY,
            by: Actor::automation("change-runner"),
            at: at(21),
        },
        ChangeEvent::Implemented {
            key: KEY,
            notes: "Relay on the new release.".to_owned(),
            by: agent(),
            at: at(22),
        },
        ChangeEvent::Failed {
            key: KEY,
            backout_performed: true,
            notes: "Relay did not start; snapshot restored.".to_owned(),
            by: agent(),
            at: at(22),
        },
        ChangeEvent::Reviewed {
            key: KEY,
            outcome: ReviewOutcome::SuccessfulWithIssues,
            notes: "Drain took longer than planned.".to_owned(),
            by: manager(),
            at: at(23),
        },
        ChangeEvent::Closed {
            key: KEY,
            by: manager(),
            at: at(23),
        },
        ChangeEvent::Cancelled {
            key: KEY,
            reason: "Vendor withdrew the release.".to_owned(),
            by: Actor::user(user("rita"), Role::Requester),
            at: at(9),
        },
    ]
}

/// How many event variants exist, next to the match that must list each of them.
const VARIANTS: usize = 14;

/// A number per variant. Adding a variant breaks this match at compile time; giving it the next
/// number and bumping [`VARIANTS`] then fails `every_event_variant_has_an_example` until
/// [`examples`] has one.
fn variant_index(event: &ChangeEvent) -> usize {
    match event {
        ChangeEvent::Raised { .. } => 0,
        ChangeEvent::Submitted { .. } => 1,
        ChangeEvent::Assessed { .. } => 2,
        ChangeEvent::ApprovalRecorded { .. } => 3,
        ChangeEvent::Authorized { .. } => 4,
        ChangeEvent::Rejected { .. } => 5,
        ChangeEvent::Scheduled { .. } => 6,
        ChangeEvent::Rescheduled { .. } => 7,
        ChangeEvent::ImplementationStarted { .. } => 8,
        ChangeEvent::Implemented { .. } => 9,
        ChangeEvent::Failed { .. } => 10,
        ChangeEvent::Reviewed { .. } => 11,
        ChangeEvent::Closed { .. } => 12,
        ChangeEvent::Cancelled { .. } => 13,
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The examples under their persisted event types, the names of their golden files.
fn pinned() -> Vec<(&'static str, ChangeEvent)> {
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
        &ChangeEvent::EVENT_TYPES,
    );
}

#[test]
fn every_event_is_at_schema_version_1() {
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
        let back: ChangeEvent = serde_json::from_str(&json).expect("decodes JSON");
        assert_eq!(back, event, "json: {}", event.event_type());
    }
}

#[test]
fn golden_bytes_decode_to_the_examples_and_re_encode_identically() {
    check_golden(&golden_dir(), &pinned());
}

#[test]
fn every_golden_file_belongs_to_a_current_event_type() {
    refuse_stale_fixtures(&golden_dir(), &ChangeEvent::EVENT_TYPES);
}
