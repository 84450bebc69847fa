//! Shared fixtures: a 24x7 policy (so due times are plain additions), actors, and histories
//! built by running real commands through the decider.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the fixtures"
)]

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use itsm_incident::{
    Channel, Incident, IncidentCommand, IncidentEvent, IncidentState, LogIncident, ResolutionCode,
};
use itsm_kernel::spec::{default_actor, default_now};
use itsm_kernel::{
    Actor, Context, CustomerTier, Decider, GroupId, Impact, IncidentKey, Name, Role, ServiceId,
    Urgency, UserId,
};
use itsm_sla::{AppliedSla, Calendar, ClockKind, HoldReason, SlaTargets};

/// `minutes` after the spec's default moment (Monday 2026-01-05 09:00 UTC).
pub fn t(minutes: i64) -> DateTime<Utc> {
    default_now() + TimeDelta::minutes(minutes)
}

pub fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

pub fn key() -> IncidentKey {
    IncidentKey::new(42)
}

pub fn agent() -> Actor {
    default_actor()
}

pub fn requester_id() -> UserId {
    UserId::new("alice").expect("valid id")
}

pub fn requester() -> Actor {
    Actor::user(requester_id(), Role::Requester)
}

pub fn timer() -> Actor {
    Actor::automation("sla-timer")
}

pub fn group(name: &str) -> GroupId {
    GroupId::new(name).expect("valid id")
}

pub fn desk() -> GroupId {
    group("service-desk")
}

pub fn ola(name: &str) -> ClockKind {
    ClockKind::Ola { group: group(name) }
}

pub fn name(text: &str) -> Name {
    Name::new(text).expect("valid name")
}

/// First response 60 min, resolution 480 min, warning at 80 %, OLA 240 min, pauses only while
/// awaiting the customer, on a 24x7 UTC calendar.
pub fn sla() -> AppliedSla {
    AppliedSla {
        policy: name("email-p3-standard"),
        revision: 1,
        targets: SlaTargets::new(
            minutes(60),
            minutes(480),
            80,
            BTreeSet::from([HoldReason::AwaitingCustomer]),
        )
        .expect("valid targets"),
        calendar_name: name("24x7"),
        calendar: Calendar::always_open(),
        ola: Some(minutes(240)),
    }
}

/// The P2 policy: first response 30 min, resolution 240 min, OLA 120 min.
pub fn p2_sla() -> AppliedSla {
    AppliedSla {
        policy: name("email-p2-standard"),
        revision: 1,
        targets: SlaTargets::new(
            minutes(30),
            minutes(240),
            80,
            BTreeSet::from([HoldReason::AwaitingCustomer]),
        )
        .expect("valid targets"),
        ola: Some(minutes(120)),
        ..sla()
    }
}

pub fn log_incident() -> LogIncident {
    LogIncident {
        key: key(),
        title: "VPN drops every few minutes".to_owned(),
        description: "Since this morning the VPN disconnects.".to_owned(),
        channel: Channel::Portal,
        requester: requester_id(),
        tier: CustomerTier::Standard,
        service: ServiceId::new("vpn").expect("valid id"),
        category: name("network"),
        impact: Impact::Medium,
        urgency: Urgency::Medium,
        sla: sla(),
    }
}

pub fn log_command() -> IncidentCommand {
    IncidentCommand::Log(Box::new(log_incident()))
}

/// A history built by sending commands through the decider, so given-events are always ones the
/// decider really produces.
#[derive(Clone)]
pub struct History {
    pub events: Vec<IncidentEvent>,
    pub state: IncidentState,
}

impl History {
    pub fn new() -> Self {
        History {
            events: Vec::new(),
            state: None,
        }
    }

    #[track_caller]
    pub fn run(self, command: IncidentCommand, at: DateTime<Utc>) -> Self {
        self.run_by(command, at, agent())
    }

    #[track_caller]
    #[allow(
        clippy::needless_pass_by_value,
        reason = "fixtures read like specs: `.run(Command::X {..}, t(5))`"
    )]
    pub fn run_by(mut self, command: IncidentCommand, at: DateTime<Utc>, by: Actor) -> Self {
        let context = Context::new(by, at);
        let events = Incident::decide(&self.state, &command, &context)
            .unwrap_or_else(|error| panic!("fixture command {command:?} rejected: {error:?}"));
        for event in &events {
            self.state = Incident::evolve(self.state.take(), event);
        }
        self.events.extend(events);
        self
    }

    pub fn events(&self) -> Vec<IncidentEvent> {
        self.events.clone()
    }
}

/// Logged at t(0).
pub fn logged() -> History {
    History::new().run(log_command(), t(0))
}

/// Assigned to the service desk (OLA 240 min) at t(5).
pub fn assigned() -> History {
    logged().run(
        IncidentCommand::Assign {
            group: Some(desk()),
            agent: None,
            ola: Some(minutes(240)),
        },
        t(5),
    )
}

/// Work started at t(10).
pub fn in_progress() -> History {
    assigned().run(IncidentCommand::StartWork, t(10))
}

/// Acknowledged at t(15), on hold awaiting the customer from t(20).
pub fn on_hold() -> History {
    in_progress().run(IncidentCommand::Acknowledge, t(15)).run(
        IncidentCommand::PutOnHold {
            reason: HoldReason::AwaitingCustomer,
        },
        t(20),
    )
}

pub fn resolve() -> IncidentCommand {
    IncidentCommand::Resolve {
        code: ResolutionCode::Fixed,
        notes: "Replaced the VPN profile.".to_owned(),
    }
}

/// Acknowledged at t(15), resolved at t(60).
pub fn resolved() -> History {
    in_progress()
        .run(IncidentCommand::Acknowledge, t(15))
        .run(resolve(), t(60))
}

/// Closed at t(120).
pub fn closed() -> History {
    resolved().run(IncidentCommand::Close, t(120))
}

/// Cancelled at t(30) while new.
pub fn cancelled() -> History {
    logged().run(
        IncidentCommand::Cancel {
            reason: "Duplicate of INC-41".to_owned(),
        },
        t(30),
    )
}
