//! Shared fixtures: a Berlin office-hours catalog with an e-mail service, actors, times, and
//! ledger counting helpers.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use itsm_app::desk::{NewIncident, NewProblem, NewSlaPolicy};
use itsm_app::{Clock, CommandBus, Desk, ManualClock, UuidV7Ids};
use itsm_catalog::Criticality;
use itsm_eventstore::{Envelope, EventStore, SledConfig, SledStore};
use itsm_incident::Channel;
use itsm_kernel::{
    Actor, CustomerTier, GroupId, Impact, IncidentKey, Priority, ProblemKey, Role, Urgency,
};
use itsm_sla::{Calendar, HoldReason, SlaTargets};

pub fn id<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    text.parse().expect("valid literal id")
}

pub fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid instant")
}

/// Friday 2026-01-09, 16:00 in Berlin (UTC+1 in winter).
pub fn friday_afternoon() -> DateTime<Utc> {
    utc(2026, 1, 9, 15, 0, 0)
}

pub fn manager() -> Actor {
    Actor::user(id("sam.manager"), Role::ServiceManager)
}

pub fn agent() -> Actor {
    Actor::user(id("alex.agent"), Role::Agent)
}

pub fn requester() -> Actor {
    Actor::user(id("rita.requester"), Role::Requester)
}

pub fn change_manager() -> Actor {
    Actor::user(id("chris.cm"), Role::ChangeManager)
}

pub fn service_desk() -> GroupId {
    id("service-desk")
}

pub fn email_l2() -> GroupId {
    id("email-l2")
}

pub fn open_sled(dir: &std::path::Path) -> Arc<SledStore> {
    Arc::new(SledStore::open(dir, &SledConfig::default()).expect("store opens"))
}

pub fn desk_on<S: EventStore>(store: Arc<S>, clock: Arc<ManualClock>) -> Desk<S> {
    let clock: Arc<dyn Clock> = clock;
    Desk::with_stream_lookup(CommandBus::new(store, clock, Arc::new(UuidV7Ids)))
}

/// Mon-Fri 08:00-18:00 Europe/Berlin; e-mail with P1 (15 min / 4 h) and P2 (1 h / 8 h)
/// policies, 80 % warning; OLA targets: service-desk 2 h, email-l2 3 h.
pub async fn define_catalog<S: EventStore>(desk: &Desk<S>) {
    let office = Calendar::office_hours(
        chrono_tz::Europe::Berlin,
        NaiveTime::from_hms_opt(8, 0, 0).expect("valid"),
        NaiveTime::from_hms_opt(18, 0, 0).expect("valid"),
    )
    .expect("valid calendar");
    desk.define_calendar(id("berlin-office"), office, &manager())
        .await
        .expect("calendar defined");
    desk.define_service(
        id("email"),
        "Corporate e-mail".to_owned(),
        service_desk(),
        Criticality::High,
        &manager(),
    )
    .await
    .expect("service defined");
    for (priority, response, resolution) in [(Priority::P1, 15, 4 * 60), (Priority::P2, 60, 8 * 60)]
    {
        let targets = SlaTargets::new(
            TimeDelta::minutes(response),
            TimeDelta::minutes(resolution),
            80,
            BTreeSet::from([HoldReason::AwaitingCustomer]),
        )
        .expect("valid targets");
        let name = format!("email-{}", priority.to_string().to_lowercase());
        desk.define_sla_policy(
            NewSlaPolicy {
                policy: id(&name),
                service: id("email"),
                priority,
                tier: CustomerTier::Standard,
                targets,
                calendar: id("berlin-office"),
                ola: BTreeMap::from([
                    (service_desk(), TimeDelta::hours(2)),
                    (email_l2(), TimeDelta::hours(3)),
                ]),
            },
            &manager(),
        )
        .await
        .expect("policy defined");
    }
}

/// A P1 (high x high) e-mail incident.
pub fn p1_incident() -> NewIncident {
    NewIncident {
        title: "Mail is down".to_owned(),
        description: String::new(),
        channel: Channel::Phone,
        requester: id("rita.requester"),
        tier: CustomerTier::Standard,
        service: id("email"),
        category: id("email/outage"),
        impact: Impact::High,
        urgency: Urgency::High,
    }
}

pub async fn log_p1<S: EventStore>(desk: &Desk<S>) -> IncidentKey {
    desk.log_incident(p1_incident(), &requester())
        .await
        .expect("logged")
        .0
}

/// A problem on `email` ("Gateway drops connections"), just recorded.
pub async fn record_gateway_problem<S: EventStore>(desk: &Desk<S>) -> ProblemKey {
    let (problem, _) = desk
        .record_problem(
            NewProblem {
                title: "Gateway drops connections".to_owned(),
                description: String::new(),
                service: id("email"),
                impact: Impact::High,
                urgency: Urgency::Medium,
            },
            &agent(),
        )
        .await
        .expect("recorded");
    problem
}

/// The problem of [`record_gateway_problem`], under investigation by `email-l2`.
pub async fn investigating_gateway_problem<S: EventStore>(desk: &Desk<S>) -> ProblemKey {
    let problem = record_gateway_problem(desk).await;
    desk.start_investigation(problem, email_l2(), None, &agent())
        .await
        .expect("investigating");
    problem
}

pub async fn all_events<S: EventStore>(store: &S) -> Vec<Envelope> {
    store.read_all(1, usize::MAX).await.expect("readable")
}

/// Envelopes of `event_type` in `stream`.
pub async fn events_of<S: EventStore>(store: &S, stream: &str, event_type: &str) -> Vec<Envelope> {
    all_events(store)
        .await
        .into_iter()
        .filter(|e| e.stream_id.as_str() == stream && e.event_type == event_type)
        .collect()
}
