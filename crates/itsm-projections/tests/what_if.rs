//! SLA what-if over a small history with a known answer.

mod support;

use std::collections::BTreeSet;

use itsm_incident::{IncidentCommand, ResolutionCode};
use itsm_kernel::IncidentKey;
use itsm_projections::what_if::{Outcome, ProposedPolicy, WhatIfScope, evaluate};
use itsm_sla::{Calendar, ClockKind, HoldReason, SlaTargets};
use support::*;

fn resolve(ledger: &mut Ledger, key: u64, at: i64) {
    ledger.ok_incident(
        key,
        IncidentCommand::Resolve {
            code: ResolutionCode::Fixed,
            notes: "fixed".to_owned(),
        },
        &agent("bob"),
        t(at),
    );
}

fn ack(ledger: &mut Ledger, key: u64, at: i64) {
    ledger.ok_incident(key, IncidentCommand::Acknowledge, &agent("bob"), t(at));
}

fn breach(ledger: &mut Ledger, key: u64, clock: ClockKind, at: i64) {
    ledger.ok_incident(
        key,
        IncidentCommand::RecordSlaBreach { clock, due: t(at) },
        &timer(),
        t(at),
    );
}

fn log_at(ledger: &mut Ledger, key: u64, at: i64, on: &str) {
    let mut command = log(key);
    command.service = service(on);
    ledger.ok_incident(
        key,
        IncidentCommand::Log(Box::new(command)),
        &agent("bob"),
        t(at),
    );
}

/// Actual policy: first response 60 min, resolution 480 min, 24x7, pauses awaiting the customer.
fn history() -> Ledger {
    let mut ledger = Ledger::new();
    ledger.define_catalog(t(0));
    // #1: answered after 30 min, resolved after 300.
    log_at(&mut ledger, 1, 0, "vpn");
    ack(&mut ledger, 1, 30);
    resolve(&mut ledger, 1, 300);
    // #2: answered after 5 min, 180 min awaiting the customer, resolved 390 min after logging.
    log_at(&mut ledger, 2, 10, "vpn");
    ack(&mut ledger, 2, 15);
    ledger.ok_incident(
        2,
        IncidentCommand::Assign {
            group: Some(group("service-desk")),
            agent: None,
            ola: None,
        },
        &agent("bob"),
        t(15),
    );
    ledger.ok_incident(2, IncidentCommand::StartWork, &agent("bob"), t(16));
    ledger.ok_incident(
        2,
        IncidentCommand::PutOnHold {
            reason: HoldReason::AwaitingCustomer,
        },
        &agent("bob"),
        t(20),
    );
    ledger.ok_incident(2, IncidentCommand::Resume, &agent("bob"), t(200));
    resolve(&mut ledger, 2, 400);
    // #3: first response breached at 80, answered at 100; resolution breached at 500, done at 600.
    log_at(&mut ledger, 3, 20, "vpn");
    breach(&mut ledger, 3, ClockKind::FirstResponse, 80);
    ack(&mut ledger, 3, 100);
    breach(&mut ledger, 3, ClockKind::Resolution, 500);
    resolve(&mut ledger, 3, 600);
    // #4: another service (out of scope).
    log_at(&mut ledger, 4, 30, "email");
    // #6: cancelled.
    log_at(&mut ledger, 6, 40, "vpn");
    ledger.ok_incident(
        6,
        IncidentCommand::Cancel {
            reason: "duplicate".to_owned(),
        },
        &agent("bob"),
        t(50),
    );
    // #7: answered after 10 min, still open.
    log_at(&mut ledger, 7, 50, "vpn");
    ack(&mut ledger, 7, 60);
    // #5: logged after the period.
    log_at(&mut ledger, 5, 2_000, "vpn");
    ledger
}

fn policy(pause_on: BTreeSet<HoldReason>) -> ProposedPolicy {
    ProposedPolicy {
        targets: SlaTargets::new(minutes(20), minutes(240), 80, pause_on).expect("valid"),
        calendar: Calendar::always_open(),
    }
}

#[test]
fn a_stricter_policy_would_have_breached_more_and_the_report_says_exactly_which() {
    let ledger = history();
    let scope = WhatIfScope {
        service: Some(service("vpn")),
        ..WhatIfScope::default()
    };
    let report = evaluate(
        &policy(BTreeSet::from([HoldReason::AwaitingCustomer])),
        t(0),
        t(1_440),
        &scope,
        t(1_440),
        &ledger.envelopes,
    )
    .expect("history decodes");
    let keys: Vec<u64> = report.details.iter().map(|d| d.key.number()).collect();
    assert_eq!(keys, vec![1, 2, 3, 6, 7]);
    assert_eq!(report.incidents, 5);

    assert_eq!(report.first_response.actual_met, 3);
    assert_eq!(report.first_response.actual_breached, 1);
    assert_eq!(report.first_response.proposed_met, 2);
    assert_eq!(report.first_response.proposed_breached, 2);
    assert_eq!(report.resolution.actual_met, 2);
    assert_eq!(report.resolution.actual_breached, 1);
    assert_eq!(report.resolution.proposed_met, 1);
    assert_eq!(report.resolution.proposed_breached, 3);
    assert_eq!(
        (
            report.actual_met,
            report.actual_breached,
            report.proposed_met,
            report.proposed_breached
        ),
        (5, 2, 3, 5)
    );

    let detail = |key: u64| {
        report
            .details
            .iter()
            .find(|d| d.key == IncidentKey::new(key))
            .expect("evaluated")
    };
    // #2's 180 minutes on hold move the proposed resolution due from 250 to 430.
    assert_eq!(detail(2).resolution.proposed_due, Some(t(430)));
    assert_eq!(detail(2).resolution.proposed, Outcome::Met);
    // Cancelled: counted neither way, actually or proposed.
    assert_eq!(detail(6).first_response.actual, Outcome::NotCounted);
    assert_eq!(detail(6).resolution.proposed, Outcome::NotCounted);
    // Still open: actually pending, but past the proposed due at `now`.
    assert_eq!(detail(7).resolution.actual, Outcome::Pending);
    assert_eq!(detail(7).resolution.proposed, Outcome::Breached);
}

#[test]
fn a_policy_that_does_not_pause_on_hold_counts_the_hold() {
    let ledger = history();
    let report = evaluate(
        &policy(BTreeSet::new()),
        t(0),
        t(1_440),
        &WhatIfScope::default(),
        t(1_440),
        &ledger.envelopes,
    )
    .expect("history decodes");
    // Without the scope the email incident #4 counts too: never answered, so breached.
    assert_eq!(report.incidents, 6);
    let two = report
        .details
        .iter()
        .find(|d| d.key == IncidentKey::new(2))
        .expect("evaluated");
    assert_eq!(two.resolution.proposed_due, Some(t(250)));
    assert_eq!(two.resolution.proposed, Outcome::Breached);
}
