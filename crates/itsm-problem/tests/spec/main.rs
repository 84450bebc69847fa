//! Given / when / then specs of every problem command: its success path and each way it can be
//! rejected.

mod investigation;
mod lifecycle;
mod links;

use chrono::{DateTime, Duration, Utc};
use itsm_kernel::spec::{default_actor, default_now};
use itsm_kernel::{
    Actor, ChangeKey, GroupId, Impact, IncidentKey, Priority, ProblemKey, Role, ServiceId, Urgency,
    UserId,
};
use itsm_problem::{ProblemEvent, ProblemStatus};

const KEY: ProblemKey = ProblemKey::new(7);

fn now() -> DateTime<Utc> {
    default_now()
}

fn actor() -> Actor {
    default_actor()
}

/// When the history of a spec happened: `n` hours before now.
fn hours_ago(n: i64) -> DateTime<Utc> {
    now() - Duration::hours(n)
}

fn user(name: &str) -> UserId {
    UserId::new(name).expect("valid user id")
}

fn group(name: &str) -> GroupId {
    GroupId::new(name).expect("valid group id")
}

fn email() -> ServiceId {
    ServiceId::new("email").expect("valid service id")
}

fn lead() -> Actor {
    Actor::user(user("paula.lead"), Role::Agent)
}

fn incident(n: u64) -> IncidentKey {
    IncidentKey::new(n)
}

fn change(n: u64) -> ChangeKey {
    ChangeKey::new(n)
}

fn recorded() -> ProblemEvent {
    ProblemEvent::Recorded {
        key: KEY,
        title: "Mail delivery delays".to_owned(),
        description: "Outbound mail waits up to an hour in the relay queue.".to_owned(),
        service: email(),
        impact: Impact::High,
        urgency: Urgency::Medium,
        priority: Priority::P2,
        by: lead(),
        at: hours_ago(10),
    }
}

fn investigation_started() -> ProblemEvent {
    ProblemEvent::InvestigationStarted {
        key: KEY,
        group: group("messaging"),
        assignee: Some(user("alice")),
        by: lead(),
        at: hours_ago(9),
    }
}

fn root_cause_recorded() -> ProblemEvent {
    ProblemEvent::RootCauseRecorded {
        key: KEY,
        root_cause: "The relay's DNS cache expires too late.".to_owned(),
        by: lead(),
        at: hours_ago(8),
    }
}

fn incident_linked(n: u64) -> ProblemEvent {
    ProblemEvent::IncidentLinked {
        key: KEY,
        incident: incident(n),
        workaround: None,
        by: lead(),
        at: hours_ago(7),
    }
}

fn workaround_documented() -> ProblemEvent {
    ProblemEvent::WorkaroundDocumented {
        key: KEY,
        title: "Mail delivery delays".to_owned(),
        service: email(),
        workaround: "Flush the relay's DNS cache.".to_owned(),
        root_cause: Some("The relay's DNS cache expires too late.".to_owned()),
        linked_incidents: vec![incident(1)],
        by: lead(),
        at: hours_ago(6),
    }
}

fn fix_change_linked() -> ProblemEvent {
    ProblemEvent::FixChangeLinked {
        key: KEY,
        change: change(3),
        replaced: None,
        by: lead(),
        at: hours_ago(5),
    }
}

fn resolved() -> ProblemEvent {
    ProblemEvent::Resolved {
        key: KEY,
        resolution: "DNS cache TTL lowered by CHG-3.".to_owned(),
        fix_change: Some(change(3)),
        linked_incidents: vec![incident(1)],
        by: lead(),
        at: hours_ago(4),
    }
}

fn closed() -> ProblemEvent {
    ProblemEvent::Closed {
        key: KEY,
        by: lead(),
        at: hours_ago(3),
    }
}

/// Recorded and under investigation.
fn investigating() -> Vec<ProblemEvent> {
    vec![recorded(), investigation_started()]
}

/// A known error with a root cause and one linked incident (INC-1).
fn known_error() -> Vec<ProblemEvent> {
    vec![
        recorded(),
        investigation_started(),
        root_cause_recorded(),
        incident_linked(1),
        workaround_documented(),
    ]
}

/// Resolved by CHG-3, with INC-1 linked and a workaround.
fn resolved_history() -> Vec<ProblemEvent> {
    let mut history = known_error();
    history.extend([fix_change_linked(), resolved()]);
    history
}

fn closed_history() -> Vec<ProblemEvent> {
    let mut history = resolved_history();
    history.push(closed());
    history
}

fn status_after(events: &[ProblemEvent]) -> Option<ProblemStatus> {
    use itsm_kernel::Decider;
    itsm_problem::Problem::fold(events).status()
}
