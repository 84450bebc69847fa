//! The desk's cross-aggregate lookups: SLA policy and OLA targets from the catalog, freeze
//! windows and collisions for scheduling, typed errors.

mod common;

use std::sync::Arc;

use chrono::TimeDelta;
use common::*;
use itsm_app::desk::{Assessment, EscalateTo, NewChange};
use itsm_app::{DeskError, ManualClock, stream};
use itsm_catalog::FreezeScope;
use itsm_change::{ChangeEvent, ChangeType, Likelihood, Vote};
use itsm_eventstore::{EventStore, MemoryStore, codec};
use itsm_incident::IncidentEvent;
use itsm_kernel::{ChangeKey, Impact, ServiceId, Urgency};
use itsm_sla::ClockKind;

fn setup() -> (itsm_app::Desk<MemoryStore>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(friday_afternoon()));
    (desk_on(Arc::new(MemoryStore::new()), clock.clone()), clock)
}

#[tokio::test]
async fn an_incident_for_an_unknown_service_is_a_typed_not_found() {
    let (desk, _) = setup();
    define_catalog(&desk).await;
    let head = desk.bus().store().head();
    let mut new = p1_incident();
    new.service = id::<ServiceId>("printing");
    let error = desk
        .log_incident(new, &requester())
        .await
        .expect_err("unknown service");
    assert!(
        matches!(error, DeskError::NotFound(ref m) if m.contains("printing")),
        "{error:?}"
    );
    assert_eq!(error.code(), "NOT_FOUND");
    assert_eq!(desk.bus().store().head(), head, "nothing was written");
}

#[tokio::test]
async fn a_retired_service_or_a_priority_without_policy_is_refused() {
    let (desk, _) = setup();
    define_catalog(&desk).await;
    let mut low = p1_incident();
    (low.impact, low.urgency) = (Impact::Low, Urgency::Low);
    let error = desk
        .log_incident(low, &requester())
        .await
        .expect_err("no P5 policy");
    assert!(
        matches!(error, DeskError::Validation(ref m) if m.contains("no SLA policy")),
        "{error:?}"
    );
    desk.retire_service(id("email"), "moved to a vendor".to_owned(), &manager())
        .await
        .expect("retired");
    let error = desk
        .log_incident(p1_incident(), &requester())
        .await
        .expect_err("retired service");
    assert!(
        matches!(error, DeskError::Validation(ref m) if m.contains("retired")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_logged_incident_runs_under_the_catalog_policy() {
    let (desk, _) = setup();
    define_catalog(&desk).await;
    let key = log_p1(&desk).await;
    let incident = desk.load_incident(key).await.expect("exists");
    assert_eq!(incident.sla.policy.as_str(), "email-p1");
    let resolution = incident.clock(&ClockKind::Resolution).expect("running");
    assert_eq!(resolution.clock.target, TimeDelta::hours(4));
}

#[tokio::test]
async fn the_receiving_group_s_ola_clock_starts_on_assign_and_on_escalation() {
    let (desk, _) = setup();
    define_catalog(&desk).await;
    let key = log_p1(&desk).await;
    desk.assign(key, Some(service_desk()), Some(id("alex.agent")), &agent())
        .await
        .expect("assigned");
    let incident = desk.load_incident(key).await.expect("exists");
    let ola = incident
        .clock(&ClockKind::Ola {
            group: service_desk(),
        })
        .expect("service desk OLA started");
    assert_eq!(ola.clock.target, TimeDelta::hours(2));

    desk.escalate(
        key,
        EscalateTo::Group(email_l2()),
        "needs L2".to_owned(),
        &agent(),
    )
    .await
    .expect("escalated");
    let incident = desk.load_incident(key).await.expect("exists");
    let ola = incident
        .clock(&ClockKind::Ola { group: email_l2() })
        .expect("L2 OLA started");
    assert_eq!(ola.clock.target, TimeDelta::hours(3));
    assert_eq!(incident.group, Some(email_l2()));
}

#[tokio::test]
async fn reprioritizing_applies_the_new_priority_s_policy() {
    let (desk, _) = setup();
    define_catalog(&desk).await;
    let key = log_p1(&desk).await;
    desk.reprioritize(
        key,
        Impact::Medium,
        Urgency::High,
        "only one team".to_owned(),
        &agent(),
    )
    .await
    .expect("reprioritized");
    let incident = desk.load_incident(key).await.expect("exists");
    assert_eq!(incident.sla.policy.as_str(), "email-p2");
    let resolution = incident.clock(&ClockKind::Resolution).expect("running");
    assert_eq!(resolution.clock.target, TimeDelta::hours(8));
    let retargets = events_of(
        &**desk.bus().store(),
        &stream::incident(key).to_string(),
        "IncidentSlaClockRetargeted",
    )
    .await;
    assert!(!retargets.is_empty());
}

#[tokio::test]
async fn domain_rules_about_who_may_act_are_forbidden_and_bad_states_invalid() {
    let (desk, _) = setup();
    define_catalog(&desk).await;
    let key = log_p1(&desk).await;
    let error = desk
        .acknowledge(key, &requester())
        .await
        .expect_err("requester");
    assert!(matches!(error, DeskError::Forbidden(_)), "{error:?}");
    let error = desk.close(key, &agent()).await.expect_err("not resolved");
    assert!(
        matches!(error, DeskError::InvalidTransition(_)),
        "{error:?}"
    );
    let error = desk
        .acknowledge(itsm_kernel::IncidentKey::new(99), &agent())
        .await
        .expect_err("no such incident");
    assert!(matches!(error, DeskError::NotFound(_)), "{error:?}");
}

async fn authorized_change<S: itsm_eventstore::EventStore>(desk: &itsm_app::Desk<S>) -> ChangeKey {
    let (key, _) = desk
        .raise_change(
            NewChange {
                change_type: ChangeType::Normal,
                title: "Patch the mail gateway".to_owned(),
                description: "Security patch.".to_owned(),
                service: id("email"),
                impact: Impact::Medium,
                likelihood: Likelihood::Low,
                implementation_plan: "Install, restart, test.".to_owned(),
                backout_plan: "Uninstall the patch.".to_owned(),
                requested_by: id("alex.agent"),
            },
            &change_manager(),
        )
        .await
        .expect("raised");
    desk.submit_change(key, &change_manager())
        .await
        .expect("submitted");
    desk.assess_change(
        key,
        Assessment {
            impact: Impact::Medium,
            likelihood: Likelihood::Low,
            notes: "Routine.".to_owned(),
            cab: vec![id("cab.alice")],
            required_approvals: 1,
        },
        &change_manager(),
    )
    .await
    .expect("assessed");
    desk.record_approval(
        key,
        id("cab.alice"),
        Vote::Approve,
        String::new(),
        &change_manager(),
    )
    .await
    .expect("approved");
    key
}

#[tokio::test]
async fn scheduling_inside_a_catalog_freeze_window_is_refused() {
    let (desk, _) = setup();
    define_catalog(&desk).await;
    let monday = utc(2026, 1, 12, 0, 0, 0);
    desk.define_freeze_window(
        id("quarter-close"),
        FreezeScope::Service(id("email")),
        (monday, monday + TimeDelta::days(2)),
        "quarter close".to_owned(),
        &manager(),
    )
    .await
    .expect("window defined");
    let key = authorized_change(&desk).await;
    let from = monday + TimeDelta::hours(20);
    let error = desk
        .schedule_change(key, from, from + TimeDelta::hours(1), &change_manager())
        .await
        .expect_err("frozen");
    assert!(
        matches!(error, DeskError::InvalidTransition(ref m) if m.contains("quarter-close")),
        "{error:?}"
    );
    let after = monday + TimeDelta::days(2);
    desk.schedule_change(key, after, after + TimeDelta::hours(1), &change_manager())
        .await
        .expect("scheduled after the window");
}

#[tokio::test]
async fn an_overlapping_change_on_the_same_service_is_reported_as_a_collision() {
    let (desk, _) = setup();
    define_catalog(&desk).await;
    let from = utc(2026, 1, 12, 20, 0, 0);
    let first = authorized_change(&desk).await;
    desk.schedule_change(first, from, from + TimeDelta::hours(2), &change_manager())
        .await
        .expect("scheduled");
    let second = authorized_change(&desk).await;
    desk.schedule_change(
        second,
        from + TimeDelta::hours(1),
        from + TimeDelta::hours(3),
        &change_manager(),
    )
    .await
    .expect("scheduled with a warning");
    let scheduled = events_of(
        &**desk.bus().store(),
        &stream::change(second).to_string(),
        "ChangeScheduled",
    )
    .await;
    let event: ChangeEvent = codec::decode(&scheduled[0].payload).expect("decodes");
    let ChangeEvent::Scheduled { collisions, .. } = event else {
        panic!("not a ChangeScheduled: {event:?}");
    };
    assert_eq!(collisions, vec![first]);
    // Rescheduling the first one away clears it from later collision checks.
    desk.reschedule_change(
        first,
        from + TimeDelta::days(1),
        from + TimeDelta::days(1) + TimeDelta::hours(1),
        &change_manager(),
    )
    .await
    .expect("rescheduled");
    let rescheduled = events_of(
        &**desk.bus().store(),
        &stream::change(first).to_string(),
        "ChangeRescheduled",
    )
    .await;
    let event: ChangeEvent = codec::decode(&rescheduled[0].payload).expect("decodes");
    let ChangeEvent::Rescheduled { collisions, .. } = event else {
        panic!("not a ChangeRescheduled: {event:?}");
    };
    assert!(collisions.is_empty());
}

#[tokio::test]
async fn linking_a_problem_links_both_sides() {
    let (desk, _) = setup();
    define_catalog(&desk).await;
    let incident = log_p1(&desk).await;
    let (problem, _) = desk
        .record_problem(
            itsm_app::desk::NewProblem {
                title: "Gateway drops connections".to_owned(),
                description: String::new(),
                service: id("email"),
                impact: Impact::Medium,
                urgency: Urgency::Medium,
            },
            &agent(),
        )
        .await
        .expect("recorded");
    desk.link_problem_incident(problem, incident, &agent())
        .await
        .expect("linked");
    let record = desk.load_problem(problem).await.expect("exists");
    assert!(record.linked_incidents.contains(&incident));
    let state = desk.load_incident(incident).await.expect("exists");
    assert_eq!(state.problems, vec![problem]);
    let events = events_of(
        &**desk.bus().store(),
        &stream::incident(incident).to_string(),
        "IncidentLinked",
    )
    .await;
    let linked: IncidentEvent = codec::decode(&events[0].payload).expect("decodes");
    assert!(matches!(linked, IncidentEvent::Linked { .. }));
}

#[tokio::test]
async fn the_catalog_view_follows_writes_made_elsewhere() {
    let (desk, clock) = setup();
    define_catalog(&desk).await;
    assert!(
        desk.catalog()
            .await
            .expect("reads")
            .service(&id("email"))
            .is_some()
    );
    // Another desk (another process) on the same store defines a service.
    let other = desk_on(Arc::clone(desk.bus().store()), clock);
    other
        .define_service(
            id("vpn"),
            "VPN".to_owned(),
            service_desk(),
            itsm_catalog::Criticality::Medium,
            &manager(),
        )
        .await
        .expect("defined");
    assert!(
        desk.catalog()
            .await
            .expect("reads")
            .service(&id("vpn"))
            .is_some()
    );
}

#[tokio::test]
async fn a_link_made_on_the_problem_side_only_is_completed_and_a_full_link_is_a_conflict() {
    let (desk, _) = setup();
    define_catalog(&desk).await;
    let incident = log_p1(&desk).await;
    let (problem, _) = desk
        .record_problem(
            itsm_app::desk::NewProblem {
                title: "Gateway drops connections".to_owned(),
                description: String::new(),
                service: id("email"),
                impact: Impact::Medium,
                urgency: Urgency::Medium,
            },
            &agent(),
        )
        .await
        .expect("recorded");
    desk.bus()
        .execute::<itsm_problem::Problem>(
            &stream::problem(problem),
            &itsm_problem::ProblemCommand::LinkIncident { incident },
            &agent(),
        )
        .await
        .expect("linked on the problem side");
    desk.link_problem_incident(problem, incident, &agent())
        .await
        .expect("incident side completed");
    assert_eq!(
        desk.load_incident(incident).await.expect("exists").problems,
        vec![problem]
    );
    let error = desk
        .link_problem_incident(problem, incident, &agent())
        .await
        .expect_err("already linked");
    assert!(matches!(error, DeskError::Conflict(_)), "{error:?}");
}

#[tokio::test]
async fn change_sla_applies_the_revised_policy() {
    let (desk, _) = setup();
    define_catalog(&desk).await;
    let key = log_p1(&desk).await;
    let targets = itsm_sla::SlaTargets::new(
        TimeDelta::minutes(30),
        TimeDelta::hours(6),
        80,
        std::collections::BTreeSet::new(),
    )
    .expect("valid");
    desk.revise_sla_policy(
        id("email-p1"),
        targets,
        id("berlin-office"),
        std::collections::BTreeMap::new(),
        &manager(),
    )
    .await
    .expect("revised");
    desk.change_sla(key, "policy revised".to_owned(), &manager())
        .await
        .expect("applied");
    let incident = desk.load_incident(key).await.expect("exists");
    assert_eq!(incident.sla.revision, 2);
    let resolution = incident.clock(&ClockKind::Resolution).expect("running");
    assert_eq!(resolution.clock.target, TimeDelta::hours(6));
    let error = desk
        .change_sla(key, "again".to_owned(), &manager())
        .await
        .expect_err("already in force");
    assert!(matches!(error, DeskError::Conflict(_)), "{error:?}");
}
