//! Histories built by running real commands through the real deciders, wrapped into envelopes
//! with consecutive positions (hashes left at zero: the store is not under test here).

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the fixtures"
)]
#![allow(
    clippy::needless_pass_by_value,
    reason = "commands read better passed by value at the call sites"
)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use itsm_catalog::{Catalog, CatalogCommand, CatalogState, Criticality};
use itsm_change::{Change, ChangeCommand, ChangeState};
use itsm_eventstore::{Envelope, Hash, Metadata, StreamId, codec};
use itsm_incident::{Channel, Incident, IncidentCommand, IncidentState, LogIncident};
use itsm_kernel::{
    Actor, Context, CustomerTier, Decider, GroupId, Impact, IncidentKey, Name, PersistedEvent,
    Role, ServiceId, Urgency, UserId,
};
use itsm_problem::{Problem, ProblemCommand, ProblemState};
use itsm_sla::{AppliedSla, Calendar, HoldReason, SlaTargets};
use serde::Serialize;

/// Monday 2026-01-05 09:00 UTC plus `minutes`.
pub fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .expect("valid date")
        + TimeDelta::minutes(minutes)
}

pub fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

pub fn user(id: &str) -> UserId {
    UserId::new(id).expect("valid id")
}

pub fn group(id: &str) -> GroupId {
    GroupId::new(id).expect("valid id")
}

pub fn service(id: &str) -> ServiceId {
    ServiceId::new(id).expect("valid id")
}

pub fn name(id: &str) -> Name {
    Name::new(id).expect("valid name")
}

pub fn agent(id: &str) -> Actor {
    Actor::user(user(id), Role::Agent)
}

pub fn requester(id: &str) -> Actor {
    Actor::user(user(id), Role::Requester)
}

pub fn manager() -> Actor {
    Actor::user(user("maria"), Role::ChangeManager)
}

pub fn service_manager() -> Actor {
    Actor::user(user("sam"), Role::ServiceManager)
}

pub fn timer() -> Actor {
    Actor::automation("sla-timer")
}

/// How the shell writes an actor into envelope metadata.
pub fn actor_text(actor: &Actor) -> String {
    match actor {
        Actor::User { id, role } => format!("user:{id}:{role}"),
        Actor::Automation { name } => format!("automation:{name}"),
    }
}

/// Europe/Berlin, without naming chrono-tz (not a dependency of this crate): the type is
/// inferred from `Calendar::timezone`.
pub fn berlin_always_open() -> Calendar {
    fn parse_like<T: std::str::FromStr>(_: T, text: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        text.parse().expect("known timezone")
    }
    let tz = parse_like(Calendar::always_open().timezone(), "Europe/Berlin");
    Calendar::new(tz, itsm_sla::WeeklyHours::always(), BTreeSet::new()).expect("valid calendar")
}

/// Targets in minutes, pausing while awaiting the customer.
pub fn targets(first_response: i64, resolution: i64) -> SlaTargets {
    SlaTargets::new(
        minutes(first_response),
        minutes(resolution),
        80,
        BTreeSet::from([HoldReason::AwaitingCustomer]),
    )
    .expect("valid targets")
}

/// An applied SLA on a 24x7 calendar.
pub fn sla(first_response: i64, resolution: i64) -> AppliedSla {
    sla_on(first_response, resolution, Calendar::always_open())
}

pub fn sla_on(first_response: i64, resolution: i64, calendar: Calendar) -> AppliedSla {
    AppliedSla {
        policy: name("policy"),
        revision: 1,
        targets: targets(first_response, resolution),
        calendar_name: name("24x7"),
        calendar,
        ola: Some(minutes(240)),
    }
}

/// A Log command: medium/medium (P3) on `vpn` for requester `alice` with a 60/480 SLA.
pub fn log(key: u64) -> LogIncident {
    LogIncident {
        key: IncidentKey::new(key),
        title: format!("Incident number {key}"),
        description: "Something is broken.".to_owned(),
        channel: Channel::Portal,
        requester: user("alice"),
        tier: CustomerTier::Standard,
        service: service("vpn"),
        category: name("network"),
        impact: Impact::Medium,
        urgency: Urgency::Medium,
        sla: sla(60, 480),
    }
}

/// A ledger of envelopes plus the decider state of every stream.
#[derive(Default)]
pub struct Ledger {
    pub envelopes: Vec<Envelope>,
    versions: BTreeMap<String, u64>,
    pub catalog: CatalogState,
    pub incidents: BTreeMap<u64, IncidentState>,
    pub problems: BTreeMap<u64, ProblemState>,
    pub changes: BTreeMap<u64, ChangeState>,
}

pub fn envelope_of<E: Serialize + PersistedEvent>(
    position: u64,
    stream: &str,
    version: u64,
    event: &E,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Envelope {
    Envelope {
        position,
        stream_id: StreamId::new(stream).expect("valid stream"),
        version,
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        payload: codec::encode(event).expect("encodes"),
        metadata: Metadata::new(actor_text(actor), at),
        prev_hash: Hash::GENESIS,
        hash: Hash::GENESIS,
    }
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    fn push<E: Serialize + PersistedEvent>(
        &mut self,
        stream: &str,
        events: &[E],
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Vec<Envelope> {
        let mut out = Vec::new();
        for event in events {
            let version = self.versions.entry(stream.to_owned()).or_default();
            *version += 1;
            let position = self.envelopes.len() as u64 + 1;
            let envelope = envelope_of(position, stream, *version, event, actor, at);
            self.envelopes.push(envelope.clone());
            out.push(envelope);
        }
        out
    }

    pub fn catalog(
        &mut self,
        command: CatalogCommand,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Vec<Envelope>, String> {
        let context = Context::new(actor.clone(), at);
        let events =
            Catalog::decide(&self.catalog, &command, &context).map_err(|e| e.to_string())?;
        for event in &events {
            self.catalog = Catalog::evolve(std::mem::take(&mut self.catalog), event);
        }
        Ok(self.push("catalog", &events, actor, at))
    }

    pub fn incident(
        &mut self,
        key: u64,
        command: IncidentCommand,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Vec<Envelope>, String> {
        let context = Context::new(actor.clone(), at);
        let state = self.incidents.remove(&key).unwrap_or_default();
        let decided = Incident::decide(&state, &command, &context);
        let mut state = state;
        let events = match decided {
            Ok(events) => events,
            Err(error) => {
                self.incidents.insert(key, state);
                return Err(error.to_string());
            }
        };
        for event in &events {
            state = Incident::evolve(state, event);
        }
        self.incidents.insert(key, state);
        Ok(self.push(&format!("incident-{key}"), &events, actor, at))
    }

    pub fn problem(
        &mut self,
        key: u64,
        command: ProblemCommand,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Vec<Envelope>, String> {
        let context = Context::new(actor.clone(), at);
        let state = self.problems.remove(&key).unwrap_or_default();
        let decided = Problem::decide(&state, &command, &context);
        let mut state = state;
        let events = match decided {
            Ok(events) => events,
            Err(error) => {
                self.problems.insert(key, state);
                return Err(error.to_string());
            }
        };
        for event in &events {
            state = Problem::evolve(state, event);
        }
        self.problems.insert(key, state);
        Ok(self.push(&format!("problem-{key}"), &events, actor, at))
    }

    pub fn change(
        &mut self,
        key: u64,
        command: ChangeCommand,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Vec<Envelope>, String> {
        let context = Context::new(actor.clone(), at);
        let state = self.changes.remove(&key).unwrap_or_default();
        let decided = Change::decide(&state, &command, &context);
        let mut state = state;
        let events = match decided {
            Ok(events) => events,
            Err(error) => {
                self.changes.insert(key, state);
                return Err(error.to_string());
            }
        };
        for event in &events {
            state = Change::evolve(state, event);
        }
        self.changes.insert(key, state);
        Ok(self.push(&format!("change-{key}"), &events, actor, at))
    }

    /// Runs an incident command that must be accepted.
    pub fn ok_incident(
        &mut self,
        key: u64,
        command: IncidentCommand,
        actor: &Actor,
        at: DateTime<Utc>,
    ) {
        if let Err(error) = self.incident(key, command.clone(), actor, at) {
            panic!("{command:?} on incident {key} rejected: {error}");
        }
    }

    /// Appends an envelope of a stream no aggregate owns (an access log, say).
    pub fn foreign(&mut self, at: DateTime<Utc>) {
        let version = self.versions.entry("access".to_owned()).or_default();
        *version += 1;
        self.envelopes.push(Envelope {
            position: self.envelopes.len() as u64 + 1,
            stream_id: StreamId::new("access").expect("valid stream"),
            version: *version,
            event_type: "AccessGranted".to_owned(),
            schema_version: 1,
            payload: vec![1, 2, 3],
            metadata: Metadata::new("user:root:admin", at),
            prev_hash: Hash::GENESIS,
            hash: Hash::GENESIS,
        });
    }

    /// The envelopes of one stream.
    pub fn stream(&self, name: &str) -> Vec<Envelope> {
        self.envelopes
            .iter()
            .filter(|e| e.stream_id.as_str() == name)
            .cloned()
            .collect()
    }

    /// Defines the `vpn` service, a 24x7 calendar and the P3 policy (the proptest prelude).
    pub fn define_catalog(&mut self, at: DateTime<Utc>) {
        let sm = service_manager();
        self.catalog(
            CatalogCommand::DefineService {
                service: service("vpn"),
                name: "VPN".to_owned(),
                owner: group("network-l2"),
                criticality: Criticality::High,
            },
            &sm,
            at,
        )
        .expect("service defined");
        self.catalog(
            CatalogCommand::DefineCalendar {
                name: name("24x7"),
                calendar: Calendar::always_open(),
            },
            &sm,
            at,
        )
        .expect("calendar defined");
        self.catalog(
            CatalogCommand::DefineSlaPolicy {
                policy: name("policy"),
                service: service("vpn"),
                priority: itsm_kernel::Priority::P3,
                tier: CustomerTier::Standard,
                targets: targets(60, 480),
                calendar: name("24x7"),
                ola: BTreeMap::from([(group("network-l2"), minutes(240))]),
            },
            &sm,
            at,
        )
        .expect("policy defined");
    }
}
