//! Memory of 100 000 open incidents in `Queues` + `SlaDashboard`, measured two deterministic ways:
//! the models' own heap estimate (`approximate_heap_bytes`, from sizes and capacities) and the
//! snapshot size (codec bytes). Generous bounds only; no timings.

mod support;

use chrono::TimeDelta;
use itsm_eventstore::{Envelope, Hash, Metadata, StreamId, codec};
use itsm_incident::{Channel, ClockTerms, IncidentEvent};
use itsm_kernel::{CustomerTier, Impact, IncidentKey, Priority, Urgency};
use itsm_projections::dashboard::SlaDashboard;
use itsm_projections::queues::Queues;
use itsm_projections::{LedgerEvent, Projection};
use itsm_sla::ClockKind;
use support::*;

const TICKETS: u64 = 100_000;

fn open_incidents() -> (Queues, SlaDashboard) {
    let mut queues = Queues::default();
    let mut dashboard = SlaDashboard::default();
    let applied = sla(60, 480);
    let terms = ClockTerms {
        target: TimeDelta::minutes(60),
        warning_percent: 80,
        policy: name("policy"),
        revision: 1,
        calendar_name: name("24x7"),
        calendar: applied.calendar.clone(),
    };
    // The envelope is only read for its position by these models; one dummy serves all.
    let envelope = Envelope {
        position: 1,
        stream_id: StreamId::new("incident-1").expect("valid"),
        version: 1,
        event_type: String::new(),
        schema_version: 1,
        payload: Vec::new(),
        metadata: Metadata::new("user:bob:agent", t(0)),
        prev_hash: Hash::GENESIS,
        hash: Hash::GENESIS,
    };
    let priorities = [
        Priority::P1,
        Priority::P2,
        Priority::P3,
        Priority::P4,
        Priority::P5,
    ];
    for n in 1..=TICKETS {
        let key = IncidentKey::new(n);
        // Spread over about 30 days, 20 services, 10 groups, 200 agents, 5 000 requesters.
        let at = t(0) + TimeDelta::seconds(i64::try_from(n * 26).expect("small"));
        let events = [
            IncidentEvent::Logged {
                key,
                title: format!("VPN drops every few minutes on floor {}", n % 40),
                description: "A long description that no read model keeps.".repeat(10),
                channel: Channel::Portal,
                requester: user(&format!("requester-{}", n % 5_000)),
                tier: CustomerTier::Standard,
                service: service(&format!("service-{}", n % 20)),
                category: name("network"),
                impact: Impact::Medium,
                urgency: Urgency::Medium,
                priority: priorities[usize::try_from(n % 5).expect("small")],
                sla: applied.clone(),
                at,
                by: agent("bob"),
            },
            IncidentEvent::SlaClockStarted {
                clock: ClockKind::FirstResponse,
                terms: terms.clone(),
                due: at + TimeDelta::minutes(60),
                at,
            },
            IncidentEvent::SlaClockStarted {
                clock: ClockKind::Resolution,
                terms: terms.clone(),
                due: at + TimeDelta::minutes(480),
                at,
            },
            IncidentEvent::Assigned {
                group: Some(group(&format!("group-{}", n % 10))),
                agent: Some(user(&format!("agent-{}", n % 200))),
                at,
                by: agent("bob"),
            },
        ];
        for event in events {
            let event = LedgerEvent::Incident(key, event);
            queues.apply(&envelope, &event);
            dashboard.apply(&envelope, &event);
        }
    }
    (queues, dashboard)
}

#[test]
fn a_hundred_thousand_open_incidents_stay_under_a_kibibyte_each() {
    let (queues, dashboard) = open_incidents();
    assert_eq!(queues.open_count(), 100_000);
    let tickets = usize::try_from(TICKETS).expect("small");
    let heap = queues.approximate_heap_bytes() + dashboard.approximate_heap_bytes();
    let snapshot = codec::encode(&(&queues, &dashboard))
        .expect("encodes")
        .len();
    eprintln!(
        "100k open incidents: heap estimate {} B/ticket (queues {}, dashboard {}, {} buckets), snapshot {} B/ticket",
        heap / tickets,
        queues.approximate_heap_bytes() / tickets,
        dashboard.approximate_heap_bytes() / tickets,
        dashboard.bucket_count(),
        snapshot / tickets
    );
    assert!(heap / tickets < 1_024, "heap estimate {heap} bytes");
    assert!(snapshot / tickets < 1_024, "snapshot {snapshot} bytes");
}

#[test]
fn closed_incidents_keep_a_small_record_for_reopens_and_late_ratings() {
    let (mut queues, mut dashboard) = open_incidents();
    let envelope = Envelope {
        position: 1,
        stream_id: StreamId::new("incident-1").expect("valid"),
        version: 1,
        event_type: String::new(),
        schema_version: 1,
        payload: Vec::new(),
        metadata: Metadata::new("user:bob:agent", t(0)),
        prev_hash: Hash::GENESIS,
        hash: Hash::GENESIS,
    };
    let at = t(60 * 24 * 40);
    for n in 1..=TICKETS {
        let key = IncidentKey::new(n);
        for event in [
            IncidentEvent::Resolved {
                code: itsm_incident::ResolutionCode::Fixed,
                notes: "fixed".to_owned(),
                at,
                by: agent("bob"),
            },
            IncidentEvent::Closed {
                at,
                by: agent("bob"),
            },
        ] {
            let event = LedgerEvent::Incident(key, event);
            queues.apply(&envelope, &event);
            dashboard.apply(&envelope, &event);
        }
    }
    assert_eq!(queues.open_count(), 0);
    let tickets = usize::try_from(TICKETS).expect("small");
    let heap = queues.approximate_heap_bytes() + dashboard.approximate_heap_bytes();
    eprintln!(
        "100k closed incidents: heap estimate {} B/ticket (queues {}, dashboard {})",
        heap / tickets,
        queues.approximate_heap_bytes() / tickets,
        dashboard.approximate_heap_bytes() / tickets
    );
    assert!(heap / tickets < 1_024, "heap estimate {heap} bytes");
}
