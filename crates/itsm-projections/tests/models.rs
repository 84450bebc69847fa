//! Decoding, the audit index (against a brute-force oracle), the change calendar, the
//! known-error database and the problem and change views.

mod support;

use itsm_catalog::{CatalogCommand, FreezeScope};
use itsm_change::{ChangeCommand, ChangeType, Likelihood};
use itsm_eventstore::{Envelope, codec};
use itsm_incident::{IncidentCommand, IncidentEvent};
use itsm_kernel::{ChangeKey, Impact, IncidentKey, ProblemKey, Urgency};
use itsm_problem::{ProblemCommand, ProblemStatus};
use itsm_projections::audit::AuditFilter;
use itsm_projections::views::{AsOf, ChangeView, IncidentView, ProblemView};
use itsm_projections::{LedgerEvent, ProjectionError, ReadModels, StreamFamily, decode};
use support::*;

fn models(envelopes: &[Envelope]) -> ReadModels {
    let mut models = ReadModels::new();
    for envelope in envelopes {
        models.apply_envelope(envelope).expect("decodes");
    }
    models
}

#[test]
fn envelopes_decode_by_stream_and_foreign_streams_are_none() {
    let mut ledger = Ledger::new();
    ledger.ok_incident(
        7,
        IncidentCommand::Log(Box::new(log(7))),
        &agent("bob"),
        t(0),
    );
    ledger.foreign(t(1));
    let logged = &ledger.envelopes[0];
    match decode(logged).expect("decodes") {
        Some(LedgerEvent::Incident(key, IncidentEvent::Logged { title, .. })) => {
            assert_eq!(key, IncidentKey::new(7));
            assert_eq!(title, "Incident number 7");
        }
        other => panic!("unexpected {other:?}"),
    }
    let foreign = ledger.envelopes.last().expect("appended");
    assert_eq!(decode(foreign), Ok(None));
}

#[test]
fn a_bad_payload_is_a_typed_error_with_its_position_and_does_not_stop_the_models() {
    let mut ledger = Ledger::new();
    ledger.ok_incident(
        1,
        IncidentCommand::Log(Box::new(log(1))),
        &agent("bob"),
        t(0),
    );
    let mut garbage = ledger.envelopes[0].clone();
    garbage.position = 99;
    garbage.payload = vec![0xFF, 0xFF, 0xFF];
    assert!(matches!(
        decode(&garbage),
        Err(ProjectionError::Decode { position: 99, .. })
    ));
    let mut mislabelled = ledger.envelopes[1].clone();
    mislabelled.event_type = "IncidentClosed".to_owned();
    assert!(matches!(
        decode(&mislabelled),
        Err(ProjectionError::TypeMismatch {
            decoded: "IncidentSlaClockStarted",
            ..
        })
    ));
    let mut models = ReadModels::new();
    assert!(models.apply_envelope(&garbage).is_err());
    assert_eq!(models.position(), 99);
    assert_eq!(models.audit.len(), 1);
    assert_eq!(models.queues.open_count(), 0);
}

/// Many envelopes (more than one time block), several actors, and one envelope recorded
/// earlier than its predecessor.
fn audit_history() -> Ledger {
    let mut ledger = Ledger::new();
    ledger.define_catalog(t(0));
    for key in 1..=200u64 {
        let minute = i64::try_from(key).expect("small") * 10;
        // Incident 60 is recorded "in the past": times are not monotonic.
        let at = if key == 60 { t(5) } else { t(minute) };
        ledger.ok_incident(
            key,
            IncidentCommand::Log(Box::new(log(key))),
            &agent("bob"),
            at,
        );
        if key % 3 == 0 {
            ledger.ok_incident(key, IncidentCommand::Acknowledge, &agent("carol"), at);
        }
        if key % 17 == 0 {
            ledger.foreign(at);
        }
    }
    ledger
}

fn oracle(envelopes: &[Envelope], filter: &AuditFilter, after: u64, first: usize) -> Vec<u64> {
    envelopes
        .iter()
        .filter(|e| e.position > after)
        .filter(|e| filter.actor.as_ref().is_none_or(|a| &e.metadata.actor == a))
        .filter(|e| {
            filter
                .event_type
                .as_ref()
                .is_none_or(|t| &e.event_type == t)
        })
        .filter(|e| {
            filter
                .stream
                .is_none_or(|s| StreamFamily::of(&e.stream_id) == s)
        })
        .filter(|e| {
            filter
                .from_time
                .is_none_or(|from| e.metadata.recorded_at >= from)
        })
        .filter(|e| filter.to_time.is_none_or(|to| e.metadata.recorded_at < to))
        .map(|e| e.position)
        .take(first)
        .collect()
}

#[test]
fn audit_queries_equal_a_full_scan() {
    let ledger = audit_history();
    let models = models(&ledger.envelopes);
    assert!(models.audit.len() > 2 * itsm_projections::audit::BLOCK);
    let filters = [
        AuditFilter::default(),
        AuditFilter {
            actor: Some("user:carol:agent".to_owned()),
            ..AuditFilter::default()
        },
        AuditFilter {
            event_type: Some("IncidentLogged".to_owned()),
            from_time: Some(t(300)),
            to_time: Some(t(700)),
            ..AuditFilter::default()
        },
        AuditFilter {
            stream: Some(StreamFamily::Other),
            ..AuditFilter::default()
        },
        AuditFilter {
            stream: Some(StreamFamily::Catalog),
            actor: Some("user:sam:service_manager".to_owned()),
            ..AuditFilter::default()
        },
        // Only a time range: the out-of-order envelope of incident 60 must be found.
        AuditFilter {
            from_time: Some(t(0)),
            to_time: Some(t(6)),
            ..AuditFilter::default()
        },
        AuditFilter {
            from_time: Some(t(900)),
            ..AuditFilter::default()
        },
        AuditFilter {
            actor: Some("user:nobody:agent".to_owned()),
            ..AuditFilter::default()
        },
    ];
    for filter in &filters {
        for (after, first) in [(0, 10_000), (0, 7), (150, 25), (400, 3)] {
            assert_eq!(
                models.audit.audit(filter, after, first),
                oracle(&ledger.envelopes, filter, after, first),
                "{filter:?} after {after} first {first}"
            );
        }
    }
    let early = models.audit.audit(&filters[5], 0, 100);
    assert!(
        early.len() > 2,
        "catalog prelude plus incident 60: {early:?}"
    );
}

fn raise(ledger: &mut Ledger, key: u64, at: i64) {
    ledger
        .change(
            key,
            ChangeCommand::Raise {
                key: ChangeKey::new(key),
                change_type: ChangeType::Standard {
                    template: name("restart-gateway"),
                },
                title: format!("Restart gateway {key}"),
                description: "Clears stuck tunnels.".to_owned(),
                service: service("vpn"),
                impact: Impact::Low,
                likelihood: Likelihood::Low,
                implementation_plan: "restart".to_owned(),
                backout_plan: "none".to_owned(),
                requested_by: user("bob"),
            },
            &manager(),
            t(at),
        )
        .expect("raised");
    ledger
        .change(key, ChangeCommand::Submit, &manager(), t(at))
        .expect("submitted");
}

fn schedule(ledger: &mut Ledger, key: u64, from: i64, to: i64, at: i64) {
    ledger
        .change(
            key,
            ChangeCommand::Schedule {
                from: t(from),
                to: t(to),
                freeze_windows: Vec::new(),
                other_changes: Vec::new(),
            },
            &manager(),
            t(at),
        )
        .expect("scheduled");
}

#[test]
fn the_change_calendar_shows_slots_freezes_and_collisions() {
    let mut ledger = Ledger::new();
    ledger.define_catalog(t(0));
    raise(&mut ledger, 1, 1);
    raise(&mut ledger, 2, 1);
    raise(&mut ledger, 3, 1);
    schedule(&mut ledger, 1, 600, 700, 2);
    schedule(&mut ledger, 2, 650, 750, 2);
    // Touches #2's end only: no overlap.
    schedule(&mut ledger, 3, 750, 800, 2);
    for (window, scope) in [
        ("year-end", FreezeScope::Global),
        ("release", FreezeScope::Service(service("vpn"))),
    ] {
        ledger
            .catalog(
                CatalogCommand::DefineFreezeWindow {
                    window: name(window),
                    scope,
                    from: t(2_000),
                    to: t(3_000),
                    reason: "quiet".to_owned(),
                },
                &service_manager(),
                t(3),
            )
            .expect("defined");
    }
    ledger
        .catalog(
            CatalogCommand::CancelFreezeWindow {
                window: name("release"),
                reason: "moved".to_owned(),
            },
            &service_manager(),
            t(4),
        )
        .expect("cancelled");
    let models = models(&ledger.envelopes);
    let calendar = &models.changes;
    let keys = |changes: &[itsm_change::ScheduledChange]| {
        changes.iter().map(|c| c.key.number()).collect::<Vec<_>>()
    };
    assert_eq!(keys(&calendar.scheduled_on(&service("vpn"))), vec![1, 2, 3]);
    assert!(calendar.scheduled_on(&service("email")).is_empty());
    let collisions = calendar.collisions();
    assert_eq!(collisions.len(), 1);
    assert_eq!(
        (collisions[0].first, collisions[0].second),
        (ChangeKey::new(1), ChangeKey::new(2))
    );
    let range = calendar.between(t(690), t(760));
    assert_eq!(
        range
            .changes
            .iter()
            .map(|c| c.key.number())
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(range.collisions.len(), 1);
    assert!(range.freezes.is_empty());
    let freezes = calendar.between(t(2_500), t(2_600)).freezes;
    assert_eq!(freezes.len(), 2);
    assert!(
        freezes
            .iter()
            .any(|f| f.name == name("release") && f.cancelled)
    );
    assert!(
        freezes
            .iter()
            .any(|f| f.name == name("year-end") && !f.cancelled)
    );
    assert_eq!(calendar.active_freeze_windows().len(), 1);
}

#[test]
fn known_errors_are_problems_with_a_workaround_found_by_their_words() {
    let mut ledger = Ledger::new();
    let bob = agent("bob");
    for (key, title) in [(1, "VPN drops under load"), (2, "Printer queue stalls")] {
        ledger
            .problem(
                key,
                ProblemCommand::Record {
                    key: ProblemKey::new(key),
                    title: title.to_owned(),
                    description: "Seen on several incidents.".to_owned(),
                    service: service("vpn"),
                    impact: Impact::Medium,
                    urgency: Urgency::Medium,
                },
                &bob,
                t(0),
            )
            .expect("recorded");
    }
    ledger
        .problem(
            1,
            ProblemCommand::StartInvestigation {
                group: group("network-l2"),
                assignee: None,
            },
            &bob,
            t(1),
        )
        .expect("investigating");
    ledger
        .problem(
            1,
            ProblemCommand::RecordRootCause {
                root_cause: "MTU mismatch on the concentrator".to_owned(),
            },
            &bob,
            t(1),
        )
        .expect("root cause");
    ledger
        .problem(
            1,
            ProblemCommand::DocumentWorkaround {
                workaround: "Lower the client MTU to 1400".to_owned(),
            },
            &bob,
            t(2),
        )
        .expect("workaround");
    for incident in [4, 5] {
        ledger
            .problem(
                1,
                ProblemCommand::LinkIncident {
                    incident: IncidentKey::new(incident),
                },
                &bob,
                t(3),
            )
            .expect("linked");
    }
    let models = models(&ledger.envelopes);
    let kedb = &models.known_errors;
    assert_eq!(kedb.list().count(), 1);
    let found = kedb.search("mtu CONCENTRATOR", None);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key, ProblemKey::new(1));
    assert_eq!(found[0].status, ProblemStatus::KnownError);
    assert_eq!(found[0].linked_incident_count(), 2);
    assert_eq!(kedb.search("client 1400", Some(&service("vpn"))).len(), 1);
    assert!(kedb.search("mtu printer", None).is_empty());
    assert!(kedb.search("stalls", None).is_empty(), "no workaround yet");
    assert!(kedb.search("mtu", Some(&service("email"))).is_empty());

    let view = ProblemView::from_envelopes(&ledger.stream("problem-1"))
        .expect("decodes")
        .expect("recorded");
    assert_eq!(view.timeline.len(), ledger.stream("problem-1").len());
    assert!(view.timeline[0].summary.contains("PRB-1"));
    assert_eq!(view.timeline[0].actor, "user:bob:agent");
    let before_workaround = ProblemView::as_of(&ledger.stream("problem-1"), AsOf::Time(t(1)))
        .expect("decodes")
        .expect("recorded");
    assert_eq!(
        before_workaround.problem.status,
        ProblemStatus::UnderInvestigation
    );
}

#[test]
fn change_and_incident_views_carry_the_full_timeline() {
    let mut ledger = Ledger::new();
    raise(&mut ledger, 1, 0);
    schedule(&mut ledger, 1, 600, 700, 1);
    let stream = ledger.stream("change-1");
    let view = ChangeView::from_envelopes(&stream)
        .expect("decodes")
        .expect("raised");
    assert_eq!(view.change.status, itsm_change::Status::Scheduled);
    assert_eq!(view.timeline.len(), stream.len());
    assert_eq!(view.version, u64::try_from(stream.len()).expect("small"));
    assert!(
        view.timeline
            .iter()
            .any(|e| e.summary.starts_with("scheduled"))
    );

    ledger.ok_incident(
        1,
        IncidentCommand::Log(Box::new(log(1))),
        &agent("bob"),
        t(0),
    );
    ledger.ok_incident(1, IncidentCommand::Acknowledge, &agent("bob"), t(30));
    let stream = ledger.stream("incident-1");
    let view = IncidentView::from_envelopes(&stream)
        .expect("decodes")
        .expect("logged");
    assert_eq!(view.timeline.len(), stream.len());
    assert_eq!(view.clocks.len(), 2);
    let first_response = view
        .clocks
        .iter()
        .find(|c| c.kind == itsm_sla::ClockKind::FirstResponse)
        .expect("clock");
    assert_eq!(first_response.timeline.due, Some(t(60)));
    assert_eq!(first_response.timeline.state, itsm_sla::ClockStatus::Met);
    assert!(first_response.state.met);
    let before = IncidentView::as_of_time(&stream, t(10))
        .expect("decodes")
        .expect("logged");
    assert_eq!(before.incident.acknowledged_at, None);
    assert!(
        IncidentView::as_of_position(&stream, 0)
            .expect("decodes")
            .is_none()
    );
    // Snapshots of the whole models round-trip through the store's codec.
    let models = models(&ledger.envelopes);
    let bytes = codec::encode(&models).expect("encodes");
    assert_eq!(
        codec::decode::<ReadModels>(&bytes).expect("decodes"),
        models
    );
}

/// Past about 1.7 million indexed events the models claim more than the codec's 64 MiB decode
/// limit in one value, so the whole-value encoding no longer decodes; the runner's framed
/// snapshot still does, and gives the same models.
#[test]
fn snapshots_of_models_beyond_the_codec_limit_still_decode() {
    let mut ledger = Ledger::new();
    ledger.ok_incident(
        1,
        IncidentCommand::Log(Box::new(log(1))),
        &agent("bob"),
        t(1),
    );
    let mut models = models(&ledger.envelopes);
    let mut envelope = ledger.envelopes.last().expect("one incident event").clone();
    let events = 1_800_000_u64;
    let base = models.position();
    for n in 0..events {
        envelope.position = base + 1 + n;
        envelope.metadata.recorded_at =
            t(2) + chrono::TimeDelta::seconds(i64::try_from(n / 7).expect("small"));
        models.audit.record(&envelope);
    }
    let whole = codec::encode(&models).expect("encodes");
    assert!(
        codec::decode::<ReadModels>(&whole).is_err(),
        "the whole-value encoding is past the codec's limit"
    );
    let framed = models.encode_snapshot().expect("encodes");
    assert!(
        framed.len() < whole.len() / 2,
        "delta-coded lists are smaller"
    );
    let decoded = ReadModels::decode_snapshot(&framed).expect("the framed snapshot decodes");
    assert_eq!(decoded.audit.len(), models.audit.len());
    assert_eq!(decoded, models);
}
