//! Clock explanations: an incident's SLA events as the `itsm-sla` timeline of one clock.

use itsm_sla::{ClockFact, ClockKind, ClockTimeline};

use crate::event::IncidentEvent;

/// The timeline of `clock` in an incident's history: when it started, paused, resumed, was
/// re-targeted and why, warned, breached, met or stopped. `None` if the clock never started.
/// A reopen starts a new run of a clock; the timeline shows every run, its state is the last one's.
pub fn explain_clock(events: &[IncidentEvent], clock: &ClockKind) -> Option<ClockTimeline> {
    let facts: Vec<ClockFact> = events
        .iter()
        .filter(|event| event.clock() == Some(clock))
        .filter_map(clock_fact)
        .collect();
    if !facts
        .iter()
        .any(|fact| matches!(fact, ClockFact::Started { .. }))
    {
        return None;
    }
    Some(ClockTimeline::from_facts(clock.clone(), &facts))
}

/// The clock fact an SLA event records; `None` for events that are not about a clock.
fn clock_fact(event: &IncidentEvent) -> Option<ClockFact> {
    use IncidentEvent as E;
    let fact = match event {
        E::SlaClockStarted { terms, at, .. } => ClockFact::Started {
            at: *at,
            target: terms.target,
            warning_percent: terms.warning_percent,
            calendar: terms.calendar.clone(),
        },
        E::SlaClockPaused { reason, at, .. } => ClockFact::Paused {
            at: *at,
            reason: *reason,
        },
        E::SlaClockResumed { at, .. } => ClockFact::Resumed { at: *at },
        E::SlaClockRetargeted {
            terms, reason, at, ..
        } => ClockFact::Retargeted {
            at: *at,
            target: terms.target,
            calendar: Some(terms.calendar.clone()),
            reason: reason.clone(),
        },
        E::SlaWarningRaised { at, .. } => ClockFact::Warned { at: *at },
        E::SlaBreached { at, .. } => ClockFact::Breached { at: *at },
        E::SlaMet { at, .. } => ClockFact::Met { at: *at },
        E::SlaClockStopped { at, .. } => ClockFact::Stopped { at: *at },
        E::Logged { .. }
        | E::Acknowledged { .. }
        | E::Assigned { .. }
        | E::WorkStarted { .. }
        | E::PutOnHold { .. }
        | E::Resumed { .. }
        | E::EscalatedFunctionally { .. }
        | E::EscalatedHierarchically { .. }
        | E::Reprioritized { .. }
        | E::SlaChanged { .. }
        | E::Resolved { .. }
        | E::Closed { .. }
        | E::Reopened { .. }
        | E::Cancelled { .. }
        | E::Commented { .. }
        | E::FileAttached { .. }
        | E::Linked { .. }
        | E::DeclaredMajor { .. }
        | E::LinkedToMajor { .. }
        | E::Rated { .. }
        | E::ProblemUpdateNoted { .. } => return None,
    };
    Some(fact)
}
