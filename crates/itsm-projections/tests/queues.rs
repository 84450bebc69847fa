//! Queue ordering by the documented score, filters, cursors and counts.

mod support;

use std::collections::BTreeSet;

use itsm_incident::{IncidentCommand, ResolutionCode, Visibility};
use itsm_kernel::{Impact, IncidentKey, Priority, Urgency};
use itsm_projections::ReadModels;
use itsm_projections::queues::{QueueCursor, QueueFilter, QueueSelector, QueueStatus};
use itsm_sla::HoldReason;
use support::*;

fn read_models(ledger: &Ledger) -> ReadModels {
    let mut models = ReadModels::new();
    for envelope in &ledger.envelopes {
        models.apply_envelope(envelope).expect("decodes");
    }
    models
}

fn log_with(
    ledger: &mut Ledger,
    key: u64,
    impact: Impact,
    urgency: Urgency,
    sla: itsm_sla::AppliedSla,
    at: i64,
) {
    let mut command = log(key);
    command.impact = impact;
    command.urgency = urgency;
    command.sla = sla;
    ledger.ok_incident(
        key,
        IncidentCommand::Log(Box::new(command)),
        &agent("bob"),
        t(at),
    );
}

fn assign(ledger: &mut Ledger, key: u64, to: &str, who: Option<&str>, at: i64) {
    ledger.ok_incident(
        key,
        IncidentCommand::Assign {
            group: Some(group(to)),
            agent: who.map(user),
            ola: None,
        },
        &agent("bob"),
        t(at),
    );
}

fn keys(page: &itsm_projections::Page<itsm_projections::QueueItem>) -> Vec<u64> {
    page.items.iter().map(|item| item.key.number()).collect()
}

fn desk() -> QueueSelector {
    QueueSelector::Group(group("service-desk"))
}

#[test]
fn a_p3_about_to_breach_comes_before_a_fresh_p2() {
    let mut ledger = Ledger::new();
    // P3: resolution due at minute 480; acknowledged, so only that clock runs.
    log_with(
        &mut ledger,
        1,
        Impact::Medium,
        Urgency::Medium,
        sla(60, 480),
        0,
    );
    assign(&mut ledger, 1, "service-desk", None, 1);
    ledger.ok_incident(1, IncidentCommand::Acknowledge, &agent("bob"), t(2));
    // P2 logged at 445: first response due at 475 (30 min).
    log_with(
        &mut ledger,
        2,
        Impact::High,
        Urgency::Medium,
        sla(30, 240),
        445,
    );
    assign(&mut ledger, 2, "service-desk", None, 445);
    let models = read_models(&ledger);
    let now = t(475 - 30);
    // At 445: P3 due in 35 min -> 2 100 + 1 800 = 3 900; P2 due in 30 min -> 1 800 + 900 = 2 700.
    let page = models
        .queues
        .queue(&desk(), &QueueFilter::default(), now, None, 10);
    assert_eq!(keys(&page), vec![2, 1]);
    assert_eq!(page.items[0].score, 2_700);
    assert_eq!(page.items[1].score, 3_900);
    // At 445 the P2's nearer deadline wins. At 475 the P3 is due in 5 minutes and a P2 logged
    // at that moment (first response due in 30) comes after it; the older P2, due now, leads.
    log_with(
        &mut ledger,
        3,
        Impact::High,
        Urgency::Medium,
        sla(30, 240),
        475,
    );
    assign(&mut ledger, 3, "service-desk", None, 475);
    let models = read_models(&ledger);
    let page = models
        .queues
        .queue(&desk(), &QueueFilter::default(), t(475), None, 10);
    // P2 #2: due 475 -> 0 + 900; P3 #1: due 480 -> 300 + 1 800 = 2 100; fresh P2 #3: due 505
    // -> 1 800 + 900 = 2 700.
    assert_eq!(keys(&page), vec![2, 1, 3]);
    assert_eq!(
        page.items.iter().map(|i| i.score).collect::<Vec<_>>(),
        vec![900, 2_100, 2_700]
    );
}

#[test]
fn a_customer_waiting_for_days_rises_above_a_fresh_p2_until_the_desk_answers() {
    let mut ledger = Ledger::new();
    // P4 with a three-day resolution target, acknowledged.
    log_with(
        &mut ledger,
        1,
        Impact::Medium,
        Urgency::Low,
        sla(60, 3 * 1440),
        0,
    );
    assign(&mut ledger, 1, "service-desk", None, 1);
    ledger.ok_incident(1, IncidentCommand::Acknowledge, &agent("bob"), t(2));
    ledger.ok_incident(
        1,
        IncidentCommand::Comment {
            text: "Any news? This blocks my work.".to_owned(),
            visibility: Visibility::Public,
        },
        &requester("alice"),
        t(60),
    );
    let now_minute = 60 + 2 * 1440;
    log_with(
        &mut ledger,
        2,
        Impact::High,
        Urgency::Medium,
        sla(30, 240),
        now_minute,
    );
    assign(&mut ledger, 2, "service-desk", None, now_minute);
    let models = read_models(&ledger);
    let now = t(now_minute);
    let page = models
        .queues
        .queue(&desk(), &QueueFilter::default(), now, None, 10);
    assert_eq!(keys(&page), vec![1, 2]);
    // Due at 4 320, now 2 940: 1 380 min slack = 82 800 s, + 3 600 (P4) - 2 x 2 days waiting.
    assert_eq!(page.items[0].score, 82_800 + 3_600 - 2 * 172_800);
    assert_eq!(page.items[0].waiting_since, Some(t(60)));
    // The desk answers publicly: the credit is gone and the fresh P2 leads.
    ledger.ok_incident(
        1,
        IncidentCommand::Comment {
            text: "We are on it.".to_owned(),
            visibility: Visibility::Public,
        },
        &agent("bob"),
        t(now_minute),
    );
    let models = read_models(&ledger);
    let page = models
        .queues
        .queue(&desk(), &QueueFilter::default(), now, None, 10);
    assert_eq!(keys(&page), vec![2, 1]);
    assert_eq!(page.items[1].score, 82_800 + 3_600);
}

#[test]
fn on_hold_sinks_until_the_customer_replies() {
    let mut ledger = Ledger::new();
    log_with(&mut ledger, 1, Impact::High, Urgency::High, sla(30, 240), 0);
    assign(&mut ledger, 1, "service-desk", Some("bob"), 1);
    ledger.ok_incident(1, IncidentCommand::StartWork, &agent("bob"), t(2));
    ledger.ok_incident(
        1,
        IncidentCommand::PutOnHold {
            reason: HoldReason::AwaitingCustomer,
        },
        &agent("bob"),
        t(3),
    );
    log_with(
        &mut ledger,
        2,
        Impact::Low,
        Urgency::Low,
        sla(600, 10 * 1440),
        4,
    );
    assign(&mut ledger, 2, "service-desk", None, 4);
    let page = read_models(&ledger)
        .queues
        .queue(&desk(), &QueueFilter::default(), t(5), None, 10);
    // The P1 on hold has no running clock: fallback 4h after logging, + 30 days.
    assert_eq!(keys(&page), vec![2, 1]);
    assert!(page.items[1].score > 29 * 86_400);
    ledger.ok_incident(
        1,
        IncidentCommand::Comment {
            text: "Here are the logs.".to_owned(),
            visibility: Visibility::Public,
        },
        &requester("alice"),
        t(5),
    );
    let page = read_models(&ledger)
        .queues
        .queue(&desk(), &QueueFilter::default(), t(5), None, 10);
    // Fallback due 4h after logging, 5 min gone: 14 100 s; the P5's first response is due in
    // 599 min: 35 940 + 7 200.
    assert_eq!(keys(&page), vec![1, 2]);
    assert_eq!(page.items[0].score, 14_100);
    assert_eq!(page.items[1].score, 35_940 + 7_200);
}

#[test]
fn filters_select_by_status_priority_service_risk_and_breach() {
    let mut ledger = Ledger::new();
    // 1: P1, breached (first response due at 30, now 40).
    log_with(&mut ledger, 1, Impact::High, Urgency::High, sla(30, 240), 0);
    assign(&mut ledger, 1, "service-desk", None, 1);
    // 2: P3 on another service, in progress, resolution due within the hour at 40.
    let mut other = log(2);
    other.service = service("email");
    other.sla = sla(60, 80);
    ledger.ok_incident(
        2,
        IncidentCommand::Log(Box::new(other)),
        &agent("bob"),
        t(0),
    );
    assign(&mut ledger, 2, "service-desk", Some("carol"), 1);
    ledger.ok_incident(2, IncidentCommand::Acknowledge, &agent("carol"), t(2));
    ledger.ok_incident(2, IncidentCommand::StartWork, &agent("carol"), t(3));
    // 3: P3 with plenty of time.
    log_with(
        &mut ledger,
        3,
        Impact::Medium,
        Urgency::Medium,
        sla(600, 6000),
        0,
    );
    assign(&mut ledger, 3, "service-desk", None, 1);
    let models = read_models(&ledger);
    let now = t(40);
    let list = |filter: QueueFilter| {
        keys(&models.queues.queue(&desk(), &filter, now, None, 10))
            .into_iter()
            .collect::<BTreeSet<_>>()
    };
    let set = |keys: &[u64]| keys.iter().copied().collect::<BTreeSet<_>>();
    assert_eq!(list(QueueFilter::default()), set(&[1, 2, 3]));
    assert_eq!(
        list(QueueFilter {
            breached: true,
            ..QueueFilter::default()
        }),
        set(&[1])
    );
    assert_eq!(
        list(QueueFilter {
            at_risk: true,
            ..QueueFilter::default()
        }),
        set(&[2])
    );
    assert_eq!(
        list(QueueFilter {
            priority: Some(Priority::P3),
            ..QueueFilter::default()
        }),
        set(&[2, 3])
    );
    assert_eq!(
        list(QueueFilter {
            service: Some(service("email")),
            ..QueueFilter::default()
        }),
        set(&[2])
    );
    assert_eq!(
        list(QueueFilter {
            status: Some(QueueStatus::InProgress),
            ..QueueFilter::default()
        }),
        set(&[2])
    );
    assert_eq!(
        list(QueueFilter {
            status: Some(QueueStatus::Assigned),
            priority: Some(Priority::P1),
            ..QueueFilter::default()
        }),
        set(&[1])
    );
    let carol = models.queues.queue(
        &QueueSelector::Agent(user("carol")),
        &QueueFilter::default(),
        now,
        None,
        10,
    );
    assert_eq!(keys(&carol), vec![2]);
    assert!(carol.items[0].at_risk && !carol.items[0].breached);
}

#[test]
fn pages_follow_cursors_without_duplicates_or_gaps() {
    let mut ledger = Ledger::new();
    for key in 1..=25u64 {
        let (impact, urgency) = match key % 3 {
            0 => (Impact::High, Urgency::Medium),
            1 => (Impact::Medium, Urgency::Medium),
            _ => (Impact::Low, Urgency::Low),
        };
        // Same log minute for some, so ties on score are broken by key.
        let at = i64::try_from(key / 2).expect("small");
        log_with(&mut ledger, key, impact, urgency, sla(60, 480), at);
        assign(&mut ledger, key, "service-desk", None, at);
    }
    let models = read_models(&ledger);
    let now = t(30);
    let everything = models
        .queues
        .queue(&desk(), &QueueFilter::default(), now, None, 100);
    assert_eq!(everything.items.len(), 25);
    assert!(!everything.has_next);
    let mut seen = Vec::new();
    let mut after: Option<QueueCursor> = None;
    let mut pages = 0;
    loop {
        let page = models
            .queues
            .queue(&desk(), &QueueFilter::default(), now, after, 7);
        assert_eq!(page.total, 25);
        seen.extend(keys(&page));
        pages += 1;
        // The cursor survives its text form.
        after = page
            .end_cursor
            .map(|c| c.to_string().parse().expect("cursor parses"));
        if !page.has_next {
            break;
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, keys(&everything));
    let scores: Vec<(i64, u64)> = everything
        .items
        .iter()
        .map(|i| (i.score, i.key.number()))
        .collect();
    let mut sorted = scores.clone();
    sorted.sort_unstable();
    assert_eq!(scores, sorted);
    assert!("12".parse::<QueueCursor>().is_err());
}

#[test]
fn counts_follow_assignment_and_closed_or_cancelled_incidents_leave() {
    let mut ledger = Ledger::new();
    for key in 1..=4u64 {
        log_with(
            &mut ledger,
            key,
            Impact::Medium,
            Urgency::Medium,
            sla(60, 480),
            0,
        );
    }
    assign(&mut ledger, 1, "service-desk", Some("bob"), 1);
    assign(&mut ledger, 2, "service-desk", None, 1);
    assign(&mut ledger, 3, "network-l2", Some("bob"), 1);
    let models_before = read_models(&ledger);
    let q = &models_before.queues;
    assert_eq!(q.count(&desk()), 2);
    assert_eq!(q.count(&QueueSelector::Group(group("network-l2"))), 1);
    assert_eq!(q.count(&QueueSelector::Agent(user("bob"))), 2);
    assert_eq!(q.count(&QueueSelector::Unassigned), 1);
    let counts = q.counts(t(2));
    let open_of = |selector: &QueueSelector| {
        counts
            .iter()
            .find(|c| &c.selector == selector)
            .map_or(0, |c| c.open)
    };
    assert_eq!(open_of(&desk()), 2);
    assert_eq!(open_of(&QueueSelector::Unassigned), 1);

    ledger.ok_incident(
        1,
        IncidentCommand::Resolve {
            code: ResolutionCode::Fixed,
            notes: "done".to_owned(),
        },
        &agent("bob"),
        t(5),
    );
    ledger.ok_incident(1, IncidentCommand::Close, &agent("bob"), t(6));
    ledger.ok_incident(
        4,
        IncidentCommand::Cancel {
            reason: "duplicate".to_owned(),
        },
        &agent("bob"),
        t(6),
    );
    let after = read_models(&ledger);
    assert_eq!(after.queues.count(&desk()), 1);
    assert_eq!(after.queues.count(&QueueSelector::Agent(user("bob"))), 1);
    assert_eq!(after.queues.count(&QueueSelector::Unassigned), 0);
    assert_eq!(after.queues.open_count(), 2);
    // A reopen brings the closed incident back to its group and agent.
    ledger.ok_incident(
        1,
        IncidentCommand::Reopen {
            reason: "again".to_owned(),
        },
        &requester("alice"),
        t(7),
    );
    let reopened = read_models(&ledger);
    assert_eq!(reopened.queues.count(&desk()), 2);
    assert!(
        reopened
            .queues
            .queue(&desk(), &QueueFilter::default(), t(8), None, 5)
            .items
            .iter()
            .any(|i| i.key == IncidentKey::new(1) && i.title == "Incident number 1")
    );
}
