//! SLA what-if: how a proposed policy would have done over the incidents logged in a past
//! period, next to what actually happened. Writes nothing.
//!
//! Decision: it takes the incident envelopes as input instead of keeping an `SlaHistory` read
//! model. A what-if is a rare, interactive question over one period; keeping every resolved
//! incident's hold intervals in memory forever would cost tens of bytes per incident ever logged
//! for a query that can read the same facts from the ledger when asked. The shell finds the
//! incidents with the audit index (`event_type = IncidentLogged`, time range), reads their
//! streams and passes the envelopes here.
//!
//! Per incident (first run only; a reopen's new run is not re-evaluated): the proposed due
//! times are computed with `itsm-sla` from the logging instant, the proposed targets and calendar,
//! and the hold intervals whose reason the proposed policy pauses on. First response is the
//! acknowledgement, or the first resolution when there was none; resolution is the first
//! resolution. Done at or before the due time is met; done later, or not done and due before
//! `now`, is breached; otherwise pending. Cancelled incidents count as neither.
//! The actual outcome is what the incident's events recorded for the first run
//! (`IncidentSlaMet` / `IncidentSlaBreached`; pending when neither yet).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use itsm_eventstore::Envelope;
use itsm_incident::{IncidentEvent, StopReason};
use itsm_kernel::{CustomerTier, IncidentKey, Priority, ServiceId};
use itsm_sla::{Calendar, ClockKind, HoldReason, Pause, SlaTargets, due_at_with_pauses};

use crate::{LedgerEvent, ProjectionError, decode};

/// The policy to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedPolicy {
    pub targets: SlaTargets,
    pub calendar: Calendar,
}

/// Which incidents to evaluate (values at logging); `None` is any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhatIfScope {
    pub service: Option<ServiceId>,
    pub priority: Option<Priority>,
    pub tier: Option<CustomerTier>,
}

/// How one clock ended (or would have).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Met,
    Breached,
    /// Not done and not yet due.
    Pending,
    /// The incident was cancelled first.
    NotCounted,
}

/// Actual vs proposed for one clock of one incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockWhatIf {
    pub actual: Outcome,
    pub proposed: Outcome,
    /// `None` while an open hold stops the proposed clock.
    pub proposed_due: Option<DateTime<Utc>>,
}

/// One incident's comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentWhatIf {
    pub key: IncidentKey,
    pub logged_at: DateTime<Utc>,
    pub first_response: ClockWhatIf,
    pub resolution: ClockWhatIf,
}

/// Totals of one clock kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClockTotals {
    pub actual_met: usize,
    pub actual_breached: usize,
    pub proposed_met: usize,
    pub proposed_breached: usize,
}

impl ClockTotals {
    fn count(&mut self, clock: &ClockWhatIf) {
        self.actual_met += usize::from(clock.actual == Outcome::Met);
        self.actual_breached += usize::from(clock.actual == Outcome::Breached);
        self.proposed_met += usize::from(clock.proposed == Outcome::Met);
        self.proposed_breached += usize::from(clock.proposed == Outcome::Breached);
    }
}

/// The answer. `actual_*` and `proposed_*` add both clocks (first response and resolution).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatIfReport {
    pub incidents: usize,
    pub actual_met: usize,
    pub actual_breached: usize,
    pub proposed_met: usize,
    pub proposed_breached: usize,
    pub first_response: ClockTotals,
    pub resolution: ClockTotals,
    pub details: Vec<IncidentWhatIf>,
}

/// What one incident's first run did, from its events.
#[derive(Debug, Clone)]
struct History {
    logged_at: DateTime<Utc>,
    service: ServiceId,
    priority: Priority,
    tier: CustomerTier,
    holds: Vec<(DateTime<Utc>, Option<DateTime<Utc>>, HoldReason)>,
    first_response_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    cancelled: bool,
    reopened: bool,
    actual_first_response: Outcome,
    actual_resolution: Outcome,
}

impl History {
    fn apply(&mut self, event: &IncidentEvent) {
        use IncidentEvent as E;
        match event {
            E::PutOnHold { reason, at, .. } if !self.reopened => {
                self.holds.push((*at, None, *reason));
            }
            E::Resumed { at, .. } | E::Cancelled { at, .. } | E::Resolved { at, .. }
                if !self.reopened =>
            {
                if let Some(hold) = self.holds.last_mut().filter(|hold| hold.1.is_none()) {
                    hold.1 = Some(*at);
                }
                match event {
                    E::Cancelled { .. } => self.cancelled = true,
                    E::Resolved { .. } => {
                        self.first_response_at.get_or_insert(*at);
                        self.resolved_at.get_or_insert(*at);
                    }
                    _ => {}
                }
            }
            E::Acknowledged { at, .. } if !self.reopened => {
                self.first_response_at.get_or_insert(*at);
            }
            E::Reopened { .. } => self.reopened = true,
            E::SlaMet { clock, .. } if !self.reopened => {
                self.set_actual(clock, Outcome::Met);
            }
            E::SlaBreached { clock, .. } if !self.reopened => {
                self.set_actual(clock, Outcome::Breached);
            }
            E::SlaClockStopped {
                clock,
                reason: StopReason::Cancelled,
                ..
            } if !self.reopened => self.set_actual(clock, Outcome::NotCounted),
            _ => {}
        }
    }

    fn set_actual(&mut self, clock: &ClockKind, outcome: Outcome) {
        let slot = match clock {
            ClockKind::FirstResponse => &mut self.actual_first_response,
            ClockKind::Resolution => &mut self.actual_resolution,
            ClockKind::Ola { .. } => return,
        };
        // The first outcome of the run stands (a breach is not undone by a late completion).
        if *slot == Outcome::Pending {
            *slot = outcome;
        }
    }

    fn proposed(
        &self,
        policy: &ProposedPolicy,
        target: chrono::TimeDelta,
        done: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> (Outcome, Option<DateTime<Utc>>) {
        let pauses: Vec<Pause> = self
            .holds
            .iter()
            .filter(|(_, _, reason)| policy.targets.pauses_on(*reason))
            .map(|(from, to, _)| Pause {
                from: *from,
                to: *to,
            })
            .collect();
        let due = due_at_with_pauses(self.logged_at, target, &policy.calendar, &pauses);
        let outcome = match (done, due) {
            (Some(done), Some(due)) if done > due => Outcome::Breached,
            (Some(_), _) => Outcome::Met,
            (None, _) if self.cancelled => Outcome::NotCounted,
            (None, Some(due)) if due < now => Outcome::Breached,
            (None, _) => Outcome::Pending,
        };
        (outcome, due)
    }
}

/// Evaluates `policy` over the incidents logged in `[from, to)` within `scope`. `history` holds
/// the envelopes of those incidents' streams (others are ignored; envelopes in position order).
/// `now` decides whether an unfinished clock is already breached.
pub fn evaluate(
    policy: &ProposedPolicy,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    scope: &WhatIfScope,
    now: DateTime<Utc>,
    history: &[Envelope],
) -> Result<WhatIfReport, ProjectionError> {
    let mut incidents: BTreeMap<IncidentKey, History> = BTreeMap::new();
    for envelope in history {
        let Some(LedgerEvent::Incident(key, event)) = decode(envelope)? else {
            continue;
        };
        if let IncidentEvent::Logged {
            service,
            priority,
            tier,
            at,
            ..
        } = &event
        {
            incidents.insert(
                key,
                History {
                    logged_at: *at,
                    service: service.clone(),
                    priority: *priority,
                    tier: *tier,
                    holds: Vec::new(),
                    first_response_at: None,
                    resolved_at: None,
                    cancelled: false,
                    reopened: false,
                    actual_first_response: Outcome::Pending,
                    actual_resolution: Outcome::Pending,
                },
            );
        } else if let Some(incident) = incidents.get_mut(&key) {
            incident.apply(&event);
        }
    }
    let mut report = WhatIfReport {
        incidents: 0,
        actual_met: 0,
        actual_breached: 0,
        proposed_met: 0,
        proposed_breached: 0,
        first_response: ClockTotals::default(),
        resolution: ClockTotals::default(),
        details: Vec::new(),
    };
    for (key, incident) in incidents {
        let in_scope = incident.logged_at >= from
            && incident.logged_at < to
            && scope
                .service
                .as_ref()
                .is_none_or(|s| s == &incident.service)
            && scope.priority.is_none_or(|p| p == incident.priority)
            && scope.tier.is_none_or(|t| t == incident.tier);
        if !in_scope {
            continue;
        }
        let (fr, fr_due) = incident.proposed(
            policy,
            policy.targets.first_response(),
            incident.first_response_at,
            now,
        );
        let (res, res_due) = incident.proposed(
            policy,
            policy.targets.resolution(),
            incident.resolved_at,
            now,
        );
        let detail = IncidentWhatIf {
            key,
            logged_at: incident.logged_at,
            first_response: ClockWhatIf {
                actual: incident.actual_first_response,
                proposed: fr,
                proposed_due: fr_due,
            },
            resolution: ClockWhatIf {
                actual: incident.actual_resolution,
                proposed: res,
                proposed_due: res_due,
            },
        };
        report.first_response.count(&detail.first_response);
        report.resolution.count(&detail.resolution);
        report.incidents += 1;
        report.details.push(detail);
    }
    report.actual_met = report.first_response.actual_met + report.resolution.actual_met;
    report.actual_breached =
        report.first_response.actual_breached + report.resolution.actual_breached;
    report.proposed_met = report.first_response.proposed_met + report.resolution.proposed_met;
    report.proposed_breached =
        report.first_response.proposed_breached + report.resolution.proposed_breached;
    Ok(report)
}
