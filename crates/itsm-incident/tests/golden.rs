//! Golden fixtures: the stored bincode bytes of one example of every event variant, decoded by
//! the current code. A change that alters the payload of a persisted event fails here; it needs
//! a new schema version and an upcaster instead.
//!
//! The examples and the exhaustive match over the variants live here; the check itself is
//! `itsm_testkit::check_golden`. A missing fixture fails the test;
//! `UPDATE_GOLDEN=1 cargo test -p itsm-incident --test golden` writes missing ones (existing files
//! are never overwritten). A file that pins no current event type fails too.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use itsm_incident::{
    Attachment, Channel, ClockTerms, IncidentEvent, LinkTarget, ProblemUpdate, ResolutionCode,
    StopReason, Visibility,
};
use itsm_kernel::{
    Actor, ChangeKey, CustomerTier, GroupId, Impact, IncidentKey, Name, PersistedEvent, Priority,
    ProblemKey, Role, ServiceId, Urgency, UserId,
};
use itsm_sla::{AppliedSla, Calendar, ClockKind, HoldReason, SlaTargets};
use itsm_testkit::{check_golden, refuse_stale_fixtures};

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 27, 14, minute, 0)
        .single()
        .expect("valid date")
}

fn agent() -> Actor {
    Actor::user(UserId::new("agent.smith").expect("valid"), Role::Agent)
}

fn requester() -> Actor {
    Actor::user(UserId::new("alice").expect("valid"), Role::Requester)
}

fn timer() -> Actor {
    Actor::automation("sla-timer")
}

fn name(text: &str) -> Name {
    Name::new(text).expect("valid")
}

fn group(text: &str) -> GroupId {
    GroupId::new(text).expect("valid")
}

/// Berlin office hours with a holiday, so timezone, week and holidays are all in the bytes.
fn berlin() -> Calendar {
    let day = r#"[{"start":"08:00:00","end":"17:00:00"}]"#;
    let json = format!(
        r#"{{"timezone":"Europe/Berlin","week":[{day},{day},{day},{day},{day},[],[]],"holidays":["2026-04-03"]}}"#
    );
    serde_json::from_str(&json).expect("valid calendar")
}

fn sla() -> AppliedSla {
    AppliedSla {
        policy: name("vpn-p2-vip"),
        revision: 3,
        targets: SlaTargets::new(
            TimeDelta::minutes(30),
            TimeDelta::hours(4),
            75,
            BTreeSet::from([HoldReason::AwaitingCustomer, HoldReason::AwaitingVendor]),
        )
        .expect("valid targets"),
        calendar_name: name("berlin-office"),
        calendar: berlin(),
        ola: Some(TimeDelta::hours(2)),
    }
}

fn terms() -> ClockTerms {
    ClockTerms {
        target: TimeDelta::hours(2),
        warning_percent: 75,
        policy: name("vpn-p2-vip"),
        revision: 3,
        calendar_name: name("berlin-office"),
        calendar: berlin(),
    }
}

fn l2() -> ClockKind {
    ClockKind::Ola {
        group: group("network-l2"),
    }
}

/// One example of every event variant.
fn examples() -> Vec<IncidentEvent> {
    use IncidentEvent as E;
    vec![
        E::Logged {
            key: IncidentKey::new(42),
            title: "VPN drops every few minutes".to_owned(),
            description: "Since this morning.\nAll sites.".to_owned(),
            channel: Channel::Email,
            requester: UserId::new("alice").expect("valid"),
            tier: CustomerTier::Vip,
            service: ServiceId::new("vpn").expect("valid"),
            category: name("network"),
            impact: Impact::High,
            urgency: Urgency::Medium,
            priority: Priority::P2,
            sla: sla(),
            at: at(0),
            by: requester(),
        },
        E::Acknowledged {
            at: at(1),
            by: agent(),
        },
        E::Assigned {
            group: Some(group("service-desk")),
            agent: Some(UserId::new("bob").expect("valid")),
            at: at(2),
            by: agent(),
        },
        E::WorkStarted {
            at: at(3),
            by: agent(),
        },
        E::PutOnHold {
            reason: HoldReason::AwaitingVendor,
            at: at(4),
            by: agent(),
        },
        E::Resumed {
            at: at(5),
            by: agent(),
        },
        E::EscalatedFunctionally {
            from_group: Some(group("service-desk")),
            to_group: group("network-l2"),
            level: 1,
            reason: "Needs the network team".to_owned(),
            at: at(6),
            by: agent(),
        },
        E::EscalatedHierarchically {
            manager: UserId::new("carol").expect("valid"),
            reason: "VIP waiting".to_owned(),
            at: at(7),
            by: agent(),
        },
        E::Reprioritized {
            old_impact: Impact::Medium,
            old_urgency: Urgency::Medium,
            old_priority: Priority::P3,
            impact: Impact::High,
            urgency: Urgency::Medium,
            priority: Priority::P2,
            reason: "Whole floor affected".to_owned(),
            sla: sla(),
            at: at(8),
            by: agent(),
        },
        E::SlaChanged {
            sla: sla(),
            reason: "Policy revision 3".to_owned(),
            at: at(9),
            by: Actor::automation("policy-sync"),
        },
        E::Resolved {
            code: ResolutionCode::Workaround,
            notes: "Backup gateway configured.".to_owned(),
            at: at(10),
            by: agent(),
        },
        E::Closed {
            at: at(11),
            by: Actor::automation("auto-close"),
        },
        E::Reopened {
            reason: "Drops again".to_owned(),
            at: at(12),
            by: requester(),
        },
        E::Cancelled {
            reason: "Logged twice".to_owned(),
            at: at(13),
            by: agent(),
        },
        E::Commented {
            text: "Check the concentrator logs.".to_owned(),
            visibility: Visibility::Internal,
            at: at(14),
            by: agent(),
        },
        E::FileAttached {
            attachment: Attachment {
                name: "screen shot.png".to_owned(),
                content_hash: "blake3:9f2c".to_owned(),
                uri: "blob://attachments/9f2c".to_owned(),
                size_bytes: 48_213,
            },
            at: at(15),
            by: requester(),
        },
        E::Linked {
            target: LinkTarget::Change(ChangeKey::new(3)),
            at: at(16),
            by: agent(),
        },
        E::DeclaredMajor {
            reason: "All VPN users affected".to_owned(),
            at: at(17),
            by: agent(),
        },
        E::LinkedToMajor {
            parent: IncidentKey::new(40),
            at: at(18),
            by: agent(),
        },
        E::Rated {
            score: 4,
            comment: "Quick, thanks".to_owned(),
            at: at(19),
            by: requester(),
        },
        E::ProblemUpdateNoted {
            problem: ProblemKey::new(7),
            update: ProblemUpdate::Resolved {
                fix: Some(ChangeKey::new(3)),
            },
            at: at(20),
            by: Actor::automation("problem-follow-up"),
        },
        E::SlaClockStarted {
            clock: l2(),
            terms: terms(),
            due: at(50),
            at: at(21),
        },
        E::SlaClockPaused {
            clock: ClockKind::Resolution,
            reason: HoldReason::AwaitingCustomer,
            at: at(22),
        },
        E::SlaClockResumed {
            clock: ClockKind::Resolution,
            due: at(55),
            at: at(23),
        },
        E::SlaClockRetargeted {
            clock: ClockKind::FirstResponse,
            old_target: TimeDelta::hours(1),
            terms: terms(),
            due: None,
            reason: "Whole floor affected".to_owned(),
            at: at(24),
        },
        E::SlaWarningRaised {
            clock: ClockKind::Resolution,
            due: at(55),
            at: at(25),
            by: timer(),
        },
        E::SlaBreached {
            clock: ClockKind::FirstResponse,
            due: at(26),
            at: at(26),
            by: timer(),
        },
        E::SlaMet {
            clock: l2(),
            due: at(50),
            elapsed: TimeDelta::minutes(6),
            at: at(27),
        },
        E::SlaClockStopped {
            clock: ClockKind::Resolution,
            reason: StopReason::Cancelled,
            at: at(28),
        },
    ]
}

/// The pinned persisted name of each variant. Exhaustive on purpose: a new variant does not
/// compile until it is named here, and the test then fails until [`examples`] has one of it.
fn pinned_name(event: &IncidentEvent) -> &'static str {
    use IncidentEvent as E;
    match event {
        E::Logged { .. } => "IncidentLogged",
        E::Acknowledged { .. } => "IncidentAcknowledged",
        E::Assigned { .. } => "IncidentAssigned",
        E::WorkStarted { .. } => "IncidentWorkStarted",
        E::PutOnHold { .. } => "IncidentPutOnHold",
        E::Resumed { .. } => "IncidentResumed",
        E::EscalatedFunctionally { .. } => "IncidentEscalatedFunctionally",
        E::EscalatedHierarchically { .. } => "IncidentEscalatedHierarchically",
        E::Reprioritized { .. } => "IncidentReprioritized",
        E::SlaChanged { .. } => "IncidentSlaChanged",
        E::Resolved { .. } => "IncidentResolved",
        E::Closed { .. } => "IncidentClosed",
        E::Reopened { .. } => "IncidentReopened",
        E::Cancelled { .. } => "IncidentCancelled",
        E::Commented { .. } => "IncidentCommented",
        E::FileAttached { .. } => "IncidentFileAttached",
        E::Linked { .. } => "IncidentLinked",
        E::DeclaredMajor { .. } => "IncidentDeclaredMajor",
        E::LinkedToMajor { .. } => "IncidentLinkedToMajor",
        E::Rated { .. } => "IncidentRated",
        E::ProblemUpdateNoted { .. } => "IncidentProblemUpdateNoted",
        E::SlaClockStarted { .. } => "IncidentSlaClockStarted",
        E::SlaClockPaused { .. } => "IncidentSlaClockPaused",
        E::SlaClockResumed { .. } => "IncidentSlaClockResumed",
        E::SlaClockRetargeted { .. } => "IncidentSlaClockRetargeted",
        E::SlaWarningRaised { .. } => "IncidentSlaWarningRaised",
        E::SlaBreached { .. } => "IncidentSlaBreached",
        E::SlaMet { .. } => "IncidentSlaMet",
        E::SlaClockStopped { .. } => "IncidentSlaClockStopped",
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

#[test]
fn there_is_one_example_of_every_event_type_under_its_pinned_name() {
    let examples = examples();
    let names: BTreeSet<&str> = examples.iter().map(PersistedEvent::event_type).collect();
    let all: BTreeSet<&str> = IncidentEvent::EVENT_TYPES.into_iter().collect();
    assert_eq!(names, all, "examples and EVENT_TYPES differ");
    assert_eq!(examples.len(), all.len(), "one example per event type");
    assert_eq!(
        all.len(),
        IncidentEvent::EVENT_TYPES.len(),
        "EVENT_TYPES has duplicates"
    );
    for event in &examples {
        assert_eq!(event.event_type(), pinned_name(event));
        assert_eq!(event.schema_version(), 1, "{}", event.event_type());
    }
}

#[test]
fn every_event_decodes_from_its_golden_bytes() {
    let examples: Vec<_> = examples()
        .into_iter()
        .map(|e| (e.event_type(), e))
        .collect();
    check_golden(&golden_dir(), &examples);
}

#[test]
fn every_golden_file_belongs_to_a_current_event_type() {
    refuse_stale_fixtures(&golden_dir(), &IncidentEvent::EVENT_TYPES);
}

/// Bincode round trips are part of the golden check.
#[test]
fn every_event_round_trips_json() {
    for event in examples() {
        let json = serde_json::to_string(&event).expect("serializes");
        let back: IncidentEvent = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, event, "{json}");
    }
}
