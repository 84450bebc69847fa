//! Given / when / then specs: for every command its success path and every way it is rejected.

mod common;

use common::*;
use itsm_incident::{
    Attachment, ClockTerms, Escalation, Incident, IncidentCommand, IncidentError, IncidentEvent,
    LinkTarget, ProblemUpdate, ResolutionCode, Status, StopReason, Visibility,
};
use itsm_kernel::{
    Actor, ChangeKey, CustomerTier, Impact, IncidentKey, Priority, ProblemKey, Role, ServiceId,
    Spec, TextError, Urgency, UserId,
};
use itsm_sla::{AppliedSla, ClockKind, HoldReason, SlaError, SlaTargets};

fn terms(target: i64) -> ClockTerms {
    terms_of(&sla(), target)
}

fn terms_of(sla: &AppliedSla, target: i64) -> ClockTerms {
    ClockTerms {
        target: minutes(target),
        warning_percent: sla.targets.warning_percent(),
        policy: sla.policy.clone(),
        revision: sla.revision,
        calendar_name: sla.calendar_name.clone(),
        calendar: sla.calendar.clone(),
    }
}

fn given(history: &History) -> Spec<Incident> {
    Spec::<Incident>::given(history.events())
}

fn invalid(from: Status, command: &'static str) -> IncidentError {
    IncidentError::InvalidTransition { from, command }
}

fn blank(field: &'static str) -> IncidentError {
    IncidentError::Validation(TextError::Empty { field })
}

fn reason(text: &str) -> String {
    text.to_owned()
}

fn on_hold_status() -> Status {
    Status::OnHold(HoldReason::AwaitingCustomer)
}

fn l2() -> ClockKind {
    ola("network-l2")
}

fn desk_ola() -> ClockKind {
    ola("service-desk")
}

fn met(clock: ClockKind, due: i64, elapsed: i64, at: i64) -> IncidentEvent {
    IncidentEvent::SlaMet {
        clock,
        due: t(due),
        elapsed: minutes(elapsed),
        at: t(at),
    }
}

fn started(clock: ClockKind, target: i64, at: i64) -> IncidentEvent {
    IncidentEvent::SlaClockStarted {
        clock,
        terms: terms(target),
        due: t(at + target),
        at: t(at),
    }
}

fn breached_late(clock: ClockKind, due: i64, at: i64) -> [IncidentEvent; 2] {
    [
        IncidentEvent::SlaBreached {
            clock: clock.clone(),
            due: t(due),
            at: t(at),
            by: agent(),
        },
        IncidentEvent::SlaClockStopped {
            clock,
            reason: StopReason::CompletedLate,
            at: t(at),
        },
    ]
}

mod log {
    use super::*;

    #[test]
    fn logging_an_incident_records_it_and_starts_the_response_and_resolution_clocks() {
        Spec::<Incident>::new().when(log_command()).then([
            IncidentEvent::Logged {
                key: key(),
                title: "VPN drops every few minutes".to_owned(),
                description: "Since this morning the VPN disconnects.".to_owned(),
                channel: itsm_incident::Channel::Portal,
                requester: requester_id(),
                tier: CustomerTier::Standard,
                service: ServiceId::new("vpn").expect("valid id"),
                category: name("network"),
                impact: Impact::Medium,
                urgency: Urgency::Medium,
                priority: Priority::P3,
                sla: sla(),
                at: t(0),
                by: agent(),
            },
            started(ClockKind::FirstResponse, 60, 0),
            started(ClockKind::Resolution, 480, 0),
        ]);
    }

    #[test]
    fn the_priority_of_a_logged_incident_comes_from_the_matrix() {
        let mut log = log_incident();
        log.impact = Impact::High;
        log.urgency = Urgency::High;
        let state = Spec::<Incident>::new()
            .when(IncidentCommand::Log(Box::new(log)))
            .result()
            .map(|events| <Incident as itsm_kernel::Decider>::fold(&events));
        let priority = state.ok().flatten().map(|incident| incident.priority);
        assert_eq!(priority, Some(Priority::P1));
    }

    #[test]
    fn logging_an_incident_with_a_blank_title_is_rejected() {
        let mut log = log_incident();
        log.title = "  ".to_owned();
        Spec::<Incident>::new()
            .when(IncidentCommand::Log(Box::new(log)))
            .then_error(blank("title"));
    }

    #[test]
    fn logging_an_incident_with_an_overlong_title_is_rejected() {
        let mut log = log_incident();
        log.title = "x".repeat(201);
        Spec::<Incident>::new()
            .when(IncidentCommand::Log(Box::new(log)))
            .then_error(IncidentError::Validation(TextError::TooLong {
                field: "title",
                len: 201,
                max: 200,
            }));
    }

    #[test]
    fn logging_an_incident_with_an_overlong_description_is_rejected() {
        let mut log = log_incident();
        log.description = "x".repeat(10_001);
        Spec::<Incident>::new()
            .when(IncidentCommand::Log(Box::new(log)))
            .then_error(IncidentError::Validation(TextError::TooLong {
                field: "description",
                len: 10_001,
                max: 10_000,
            }));
    }

    #[test]
    fn logging_an_incident_with_a_control_character_in_the_title_is_rejected() {
        let mut log = log_incident();
        log.title = "VPN\u{7}down".to_owned();
        Spec::<Incident>::new()
            .when(IncidentCommand::Log(Box::new(log)))
            .then_error(IncidentError::ControlCharacter { field: "title" });
    }

    #[test]
    fn logging_an_incident_twice_is_rejected() {
        given(&logged())
            .when(log_command())
            .then_error(IncidentError::AlreadyLogged(key()));
    }

    #[test]
    fn commands_to_an_incident_that_was_never_logged_are_rejected() {
        Spec::<Incident>::new()
            .when(IncidentCommand::Acknowledge)
            .then_error(IncidentError::NotFound);
    }
}

mod acknowledge {
    use super::*;

    #[test]
    fn acknowledging_in_time_meets_the_first_response_clock() {
        given(&logged())
            .at(t(30))
            .when(IncidentCommand::Acknowledge)
            .then([
                IncidentEvent::Acknowledged {
                    at: t(30),
                    by: agent(),
                },
                met(ClockKind::FirstResponse, 60, 30, 30),
            ]);
    }

    #[test]
    fn acknowledging_late_breaches_the_first_response_clock() {
        let [breach, stop] = breached_late(ClockKind::FirstResponse, 60, 90);
        given(&logged())
            .at(t(90))
            .when(IncidentCommand::Acknowledge)
            .then([
                IncidentEvent::Acknowledged {
                    at: t(90),
                    by: agent(),
                },
                breach,
                stop,
            ]);
    }

    #[test]
    fn acknowledging_after_a_recorded_breach_only_stops_the_clock() {
        let history = logged().run_by(
            IncidentCommand::RecordSlaBreach {
                clock: ClockKind::FirstResponse,
                due: t(60),
            },
            t(61),
            timer(),
        );
        given(&history)
            .at(t(90))
            .when(IncidentCommand::Acknowledge)
            .then([
                IncidentEvent::Acknowledged {
                    at: t(90),
                    by: agent(),
                },
                IncidentEvent::SlaClockStopped {
                    clock: ClockKind::FirstResponse,
                    reason: StopReason::CompletedLate,
                    at: t(90),
                },
            ]);
    }

    #[test]
    fn acknowledging_by_the_requester_is_rejected() {
        given(&logged())
            .by(requester())
            .when(IncidentCommand::Acknowledge)
            .then_error(IncidentError::RequesterCannotAcknowledge);
    }

    #[test]
    fn acknowledging_twice_is_rejected() {
        given(&logged().run(IncidentCommand::Acknowledge, t(10)))
            .at(t(20))
            .when(IncidentCommand::Acknowledge)
            .then_error(IncidentError::AlreadyAcknowledged);
    }

    #[test]
    fn acknowledging_a_resolved_incident_is_rejected() {
        given(&in_progress().run(resolve(), t(30)))
            .when(IncidentCommand::Acknowledge)
            .then_error(invalid(Status::Resolved, "acknowledge"));
    }

    #[test]
    fn acknowledging_a_cancelled_incident_is_rejected() {
        given(&cancelled())
            .when(IncidentCommand::Acknowledge)
            .then_error(invalid(Status::Cancelled, "acknowledge"));
    }
}

mod assign {
    use super::*;

    fn assign(group: Option<&str>, agent: Option<&str>) -> IncidentCommand {
        IncidentCommand::Assign {
            group: group.map(common::group),
            agent: agent.map(|id| UserId::new(id).expect("valid id")),
            ola: Some(minutes(240)),
        }
    }

    #[test]
    fn assigning_a_new_incident_to_a_group_starts_the_group_ola_clock() {
        let state = given(&logged())
            .at(t(5))
            .when(assign(Some("service-desk"), None))
            .then([
                IncidentEvent::Assigned {
                    group: Some(desk()),
                    agent: None,
                    at: t(5),
                    by: agent(),
                },
                started(desk_ola(), 240, 5),
            ]);
        assert_eq!(
            state.map(|incident| incident.status),
            Some(Status::Assigned)
        );
    }

    #[test]
    fn assigning_an_agent_within_the_group_keeps_the_ola_clock() {
        given(&assigned())
            .at(t(7))
            .when(assign(None, Some("bob")))
            .then([IncidentEvent::Assigned {
                group: Some(desk()),
                agent: Some(UserId::new("bob").expect("valid id")),
                at: t(7),
                by: agent(),
            }]);
    }

    #[test]
    fn reassigning_to_another_group_meets_the_old_ola_and_starts_the_new_one() {
        given(&in_progress())
            .at(t(30))
            .when(assign(Some("network-l2"), None))
            .then([
                IncidentEvent::Assigned {
                    group: Some(group("network-l2")),
                    agent: None,
                    at: t(30),
                    by: agent(),
                },
                met(desk_ola(), 245, 25, 30),
                started(l2(), 240, 30),
            ]);
    }

    #[test]
    fn assigning_to_a_group_without_an_ola_starts_no_group_clock() {
        given(&logged())
            .at(t(5))
            .when(IncidentCommand::Assign {
                group: Some(desk()),
                agent: None,
                ola: None,
            })
            .then([IncidentEvent::Assigned {
                group: Some(desk()),
                agent: None,
                at: t(5),
                by: agent(),
            }]);
    }

    #[test]
    fn assigning_with_a_non_positive_ola_target_is_rejected() {
        given(&logged())
            .when(IncidentCommand::Assign {
                group: Some(desk()),
                agent: None,
                ola: Some(minutes(0)),
            })
            .then_error(IncidentError::Sla(SlaError::TargetNotPositive {
                clock: "OLA",
                value: minutes(0),
            }));
    }

    #[test]
    fn assigning_nobody_is_rejected() {
        given(&logged())
            .when(assign(None, None))
            .then_error(IncidentError::NothingToAssign);
    }

    #[test]
    fn assigning_an_agent_to_an_incident_without_a_group_is_rejected() {
        given(&logged())
            .when(assign(None, Some("bob")))
            .then_error(IncidentError::NoAssignmentGroup);
    }

    #[test]
    fn assigning_the_same_group_again_is_rejected() {
        given(&assigned())
            .when(assign(Some("service-desk"), None))
            .then_error(IncidentError::AlreadyAssigned);
    }

    #[test]
    fn assigning_an_incident_on_hold_is_rejected() {
        given(&on_hold())
            .when(assign(Some("network-l2"), None))
            .then_error(invalid(on_hold_status(), "assign"));
    }

    #[test]
    fn assigning_a_resolved_incident_is_rejected() {
        given(&resolved())
            .when(assign(Some("network-l2"), None))
            .then_error(invalid(Status::Resolved, "assign"));
    }
}

mod start_work {
    use super::*;

    #[test]
    fn starting_work_on_an_assigned_incident_puts_it_in_progress() {
        let state = given(&assigned())
            .at(t(10))
            .when(IncidentCommand::StartWork)
            .then([IncidentEvent::WorkStarted {
                at: t(10),
                by: agent(),
            }]);
        assert_eq!(
            state.map(|incident| incident.status),
            Some(Status::InProgress)
        );
    }

    #[test]
    fn starting_work_on_an_unassigned_incident_is_rejected() {
        given(&logged())
            .when(IncidentCommand::StartWork)
            .then_error(invalid(Status::New, "start work on"));
    }

    #[test]
    fn starting_work_twice_is_rejected() {
        given(&in_progress())
            .when(IncidentCommand::StartWork)
            .then_error(invalid(Status::InProgress, "start work on"));
    }
}

mod hold_and_resume {
    use super::*;

    fn paused(clock: ClockKind, at: i64) -> IncidentEvent {
        IncidentEvent::SlaClockPaused {
            clock,
            reason: HoldReason::AwaitingCustomer,
            at: t(at),
        }
    }

    #[test]
    fn waiting_for_the_customer_pauses_every_running_clock() {
        given(&in_progress())
            .at(t(20))
            .when(IncidentCommand::PutOnHold {
                reason: HoldReason::AwaitingCustomer,
            })
            .then([
                IncidentEvent::PutOnHold {
                    reason: HoldReason::AwaitingCustomer,
                    at: t(20),
                    by: agent(),
                },
                paused(ClockKind::FirstResponse, 20),
                paused(ClockKind::Resolution, 20),
                paused(desk_ola(), 20),
            ]);
    }

    #[test]
    fn waiting_for_a_vendor_does_not_pause_clocks_the_policy_keeps_running() {
        given(&in_progress())
            .at(t(20))
            .when(IncidentCommand::PutOnHold {
                reason: HoldReason::AwaitingVendor,
            })
            .then([IncidentEvent::PutOnHold {
                reason: HoldReason::AwaitingVendor,
                at: t(20),
                by: agent(),
            }]);
    }

    #[test]
    fn putting_an_assigned_incident_on_hold_is_rejected() {
        given(&assigned())
            .when(IncidentCommand::PutOnHold {
                reason: HoldReason::AwaitingCustomer,
            })
            .then_error(invalid(Status::Assigned, "put on hold"));
    }

    #[test]
    fn putting_an_incident_on_hold_twice_is_rejected() {
        given(&on_hold())
            .when(IncidentCommand::PutOnHold {
                reason: HoldReason::AwaitingVendor,
            })
            .then_error(invalid(on_hold_status(), "put on hold"));
    }

    #[test]
    fn resuming_moves_each_paused_deadline_by_the_time_on_hold() {
        // On hold t(20)..t(50): resolution due t(480) -> t(510), desk OLA t(245) -> t(275).
        let state = given(&on_hold())
            .at(t(50))
            .when(IncidentCommand::Resume)
            .then([
                IncidentEvent::Resumed {
                    at: t(50),
                    by: agent(),
                },
                IncidentEvent::SlaClockResumed {
                    clock: ClockKind::Resolution,
                    due: t(510),
                    at: t(50),
                },
                IncidentEvent::SlaClockResumed {
                    clock: desk_ola(),
                    due: t(275),
                    at: t(50),
                },
            ]);
        assert_eq!(
            state.map(|incident| incident.status),
            Some(Status::InProgress)
        );
    }

    #[test]
    fn resuming_after_a_hold_that_paused_nothing_only_resumes_work() {
        let history = in_progress().run(
            IncidentCommand::PutOnHold {
                reason: HoldReason::AwaitingVendor,
            },
            t(20),
        );
        given(&history)
            .at(t(50))
            .when(IncidentCommand::Resume)
            .then([IncidentEvent::Resumed {
                at: t(50),
                by: agent(),
            }]);
    }

    #[test]
    fn resuming_an_incident_that_is_not_on_hold_is_rejected() {
        given(&in_progress())
            .when(IncidentCommand::Resume)
            .then_error(invalid(Status::InProgress, "resume"));
    }
}

mod escalate {
    use super::*;

    fn functional(to: &str, why: &str) -> IncidentCommand {
        IncidentCommand::Escalate {
            to: Escalation::Functional {
                to_group: group(to),
                ola: Some(minutes(240)),
            },
            reason: reason(why),
        }
    }

    fn carol() -> UserId {
        UserId::new("carol").expect("valid id")
    }

    #[test]
    fn functional_escalation_hands_the_ticket_and_its_ola_to_the_next_tier() {
        let state = given(&in_progress())
            .at(t(30))
            .when(functional("network-l2", "Needs the network team"))
            .then([
                IncidentEvent::EscalatedFunctionally {
                    from_group: Some(desk()),
                    to_group: group("network-l2"),
                    level: 1,
                    reason: reason("Needs the network team"),
                    at: t(30),
                    by: agent(),
                },
                met(desk_ola(), 245, 25, 30),
                started(l2(), 240, 30),
            ]);
        let incident = state.expect("logged");
        assert_eq!(incident.status, Status::Assigned);
        assert_eq!(incident.agent, None);
        assert_eq!(incident.escalation_level, 1);
    }

    #[test]
    fn escalating_with_an_overlong_ola_target_is_rejected() {
        given(&in_progress())
            .when(IncidentCommand::Escalate {
                to: Escalation::Functional {
                    to_group: group("network-l2"),
                    ola: Some(itsm_sla::MAX_TARGET + minutes(1)),
                },
                reason: reason("Needs the network team"),
            })
            .then_error(IncidentError::Sla(SlaError::TargetTooLong {
                clock: "OLA",
                value: itsm_sla::MAX_TARGET + minutes(1),
                max: itsm_sla::MAX_TARGET,
            }));
    }

    #[test]
    fn escalating_to_the_group_that_holds_the_ticket_is_rejected() {
        given(&in_progress())
            .when(functional("service-desk", "Try again"))
            .then_error(IncidentError::EscalationToSameGroup);
    }

    #[test]
    fn escalating_a_new_incident_functionally_is_rejected() {
        given(&logged())
            .when(functional("network-l2", "Needs the network team"))
            .then_error(invalid(Status::New, "escalate"));
    }

    #[test]
    fn escalating_without_a_reason_is_rejected() {
        given(&in_progress())
            .when(functional("network-l2", ""))
            .then_error(blank("reason"));
    }

    #[test]
    fn hierarchical_escalation_notifies_the_manager_and_leaves_the_ticket_in_place() {
        let state = given(&in_progress())
            .at(t(30))
            .when(IncidentCommand::Escalate {
                to: Escalation::Hierarchical { manager: carol() },
                reason: reason("VIP waiting"),
            })
            .then([IncidentEvent::EscalatedHierarchically {
                manager: carol(),
                reason: reason("VIP waiting"),
                at: t(30),
                by: agent(),
            }]);
        let incident = state.expect("logged");
        assert_eq!(incident.status, Status::InProgress);
        assert_eq!(incident.managers_notified, vec![carol()]);
    }

    #[test]
    fn escalating_a_resolved_incident_is_rejected() {
        given(&resolved())
            .when(IncidentCommand::Escalate {
                to: Escalation::Hierarchical { manager: carol() },
                reason: reason("Too late"),
            })
            .then_error(invalid(Status::Resolved, "escalate"));
    }
}

mod reprioritize {
    use super::*;

    fn to_p2(why: &str) -> IncidentCommand {
        IncidentCommand::Reprioritize {
            impact: Impact::High,
            urgency: Urgency::Medium,
            reason: reason(why),
            sla: p2_sla(),
        }
    }

    #[test]
    fn reprioritizing_retargets_every_running_clock_from_its_start() {
        let why = reason("Whole floor affected");
        let state = given(&in_progress()).at(t(20)).when(to_p2(&why)).then([
            IncidentEvent::Reprioritized {
                old_impact: Impact::Medium,
                old_urgency: Urgency::Medium,
                old_priority: Priority::P3,
                impact: Impact::High,
                urgency: Urgency::Medium,
                priority: Priority::P2,
                reason: why.clone(),
                sla: p2_sla(),
                at: t(20),
                by: agent(),
            },
            IncidentEvent::SlaClockRetargeted {
                clock: ClockKind::FirstResponse,
                old_target: minutes(60),
                terms: terms_of(&p2_sla(), 30),
                due: Some(t(30)),
                reason: why.clone(),
                at: t(20),
            },
            IncidentEvent::SlaClockRetargeted {
                clock: ClockKind::Resolution,
                old_target: minutes(480),
                terms: terms_of(&p2_sla(), 240),
                due: Some(t(240)),
                reason: why.clone(),
                at: t(20),
            },
            IncidentEvent::SlaClockRetargeted {
                clock: desk_ola(),
                old_target: minutes(240),
                terms: terms_of(&p2_sla(), 120),
                due: Some(t(125)),
                reason: why,
                at: t(20),
            },
        ]);
        let incident = state.expect("logged");
        assert_eq!(incident.priority, Priority::P2);
        let due = incident
            .clock(&ClockKind::Resolution)
            .and_then(itsm_incident::ClockState::due);
        assert_eq!(due, Some(t(240)));
    }

    #[test]
    fn reprioritizing_to_the_same_impact_and_urgency_is_rejected() {
        given(&in_progress())
            .when(IncidentCommand::Reprioritize {
                impact: Impact::Medium,
                urgency: Urgency::Medium,
                reason: reason("No change"),
                sla: sla(),
            })
            .then_error(IncidentError::PriorityUnchanged);
    }

    #[test]
    fn reprioritizing_without_a_reason_is_rejected() {
        given(&in_progress())
            .when(to_p2(" "))
            .then_error(blank("reason"));
    }

    #[test]
    fn reprioritizing_a_resolved_incident_is_rejected() {
        given(&resolved())
            .when(to_p2("Too late"))
            .then_error(invalid(Status::Resolved, "reprioritize"));
    }
}

mod change_sla {
    use super::*;

    fn revision_2() -> AppliedSla {
        AppliedSla {
            revision: 2,
            targets: SlaTargets::new(
                minutes(60),
                minutes(600),
                80,
                std::collections::BTreeSet::from([HoldReason::AwaitingCustomer]),
            )
            .expect("valid targets"),
            ..sla()
        }
    }

    fn change(why: &str) -> IncidentCommand {
        IncidentCommand::ChangeSla {
            sla: revision_2(),
            reason: reason(why),
        }
    }

    #[test]
    fn a_policy_revision_retargets_the_clocks_and_says_why() {
        let why = reason("Policy revision 2");
        given(&assigned()).at(t(30)).when(change(&why)).then([
            IncidentEvent::SlaChanged {
                sla: revision_2(),
                reason: why.clone(),
                at: t(30),
                by: agent(),
            },
            IncidentEvent::SlaClockRetargeted {
                clock: ClockKind::FirstResponse,
                old_target: minutes(60),
                terms: terms_of(&revision_2(), 60),
                due: Some(t(60)),
                reason: why.clone(),
                at: t(30),
            },
            IncidentEvent::SlaClockRetargeted {
                clock: ClockKind::Resolution,
                old_target: minutes(480),
                terms: terms_of(&revision_2(), 600),
                due: Some(t(600)),
                reason: why.clone(),
                at: t(30),
            },
            IncidentEvent::SlaClockRetargeted {
                clock: desk_ola(),
                old_target: minutes(240),
                terms: terms_of(&revision_2(), 240),
                due: Some(t(245)),
                reason: why,
                at: t(30),
            },
        ]);
    }

    #[test]
    fn retargeting_a_paused_clock_leaves_its_deadline_open_until_it_resumes() {
        let events = given(&on_hold())
            .at(t(30))
            .when(change("Policy revision 2"))
            .result()
            .expect("accepted");
        let resolution_due = events.iter().find_map(|event| match event {
            IncidentEvent::SlaClockRetargeted {
                clock: ClockKind::Resolution,
                due,
                ..
            } => Some(*due),
            _ => None,
        });
        assert_eq!(resolution_due, Some(None));
    }

    #[test]
    fn applying_the_sla_already_in_force_is_rejected() {
        given(&assigned())
            .when(IncidentCommand::ChangeSla {
                sla: sla(),
                reason: reason("Same again"),
            })
            .then_error(IncidentError::SlaUnchanged);
    }

    #[test]
    fn changing_the_sla_without_a_reason_is_rejected() {
        given(&assigned())
            .when(change(""))
            .then_error(blank("reason"));
    }

    #[test]
    fn changing_the_sla_of_a_closed_incident_is_rejected() {
        given(&closed())
            .when(change("Too late"))
            .then_error(invalid(Status::Closed, "change the SLA of"));
    }
}

mod resolve {
    use super::*;

    #[test]
    fn resolving_in_time_meets_every_running_clock() {
        let state = given(&in_progress()).at(t(45)).when(resolve()).then([
            IncidentEvent::Resolved {
                code: ResolutionCode::Fixed,
                notes: "Replaced the VPN profile.".to_owned(),
                at: t(45),
                by: agent(),
            },
            met(ClockKind::FirstResponse, 60, 45, 45),
            met(ClockKind::Resolution, 480, 45, 45),
            met(desk_ola(), 245, 40, 45),
        ]);
        assert_eq!(
            state.map(|incident| incident.status),
            Some(Status::Resolved)
        );
    }

    #[test]
    fn resolving_late_records_each_breach_once_and_stops_the_clocks() {
        let mut expected = vec![IncidentEvent::Resolved {
            code: ResolutionCode::Fixed,
            notes: "Replaced the VPN profile.".to_owned(),
            at: t(500),
            by: agent(),
        }];
        expected.extend(breached_late(ClockKind::FirstResponse, 60, 500));
        expected.extend(breached_late(ClockKind::Resolution, 480, 500));
        expected.extend(breached_late(desk_ola(), 245, 500));
        given(&in_progress())
            .at(t(500))
            .when(resolve())
            .then(expected);
    }

    #[test]
    fn resolving_an_incident_on_hold_is_rejected() {
        given(&on_hold())
            .when(resolve())
            .then_error(invalid(on_hold_status(), "resolve"));
    }

    #[test]
    fn resolving_without_notes_is_rejected() {
        given(&in_progress())
            .when(IncidentCommand::Resolve {
                code: ResolutionCode::Workaround,
                notes: String::new(),
            })
            .then_error(blank("resolution notes"));
    }

    #[test]
    fn resolving_a_resolved_incident_is_rejected() {
        given(&resolved())
            .when(resolve())
            .then_error(invalid(Status::Resolved, "resolve"));
    }

    #[test]
    fn resolving_a_closed_incident_is_rejected() {
        given(&closed())
            .when(resolve())
            .then_error(invalid(Status::Closed, "resolve"));
    }
}

mod close {
    use super::*;

    #[test]
    fn closing_a_resolved_incident_closes_it() {
        let state = given(&resolved())
            .at(t(120))
            .when(IncidentCommand::Close)
            .then([IncidentEvent::Closed {
                at: t(120),
                by: agent(),
            }]);
        assert_eq!(state.map(|incident| incident.status), Some(Status::Closed));
    }

    #[test]
    fn closing_an_unresolved_incident_is_rejected() {
        given(&in_progress())
            .when(IncidentCommand::Close)
            .then_error(invalid(Status::InProgress, "close"));
    }

    #[test]
    fn closing_a_closed_incident_is_rejected() {
        given(&closed())
            .when(IncidentCommand::Close)
            .then_error(invalid(Status::Closed, "close"));
    }
}

mod reopen {
    use super::*;

    fn reopen(why: &str) -> IncidentCommand {
        IncidentCommand::Reopen {
            reason: reason(why),
        }
    }

    #[test]
    fn reopening_a_resolved_incident_starts_a_new_resolution_run_for_its_group() {
        let state = given(&resolved())
            .at(t(90))
            .by(requester())
            .when(reopen("Still drops"))
            .then([
                IncidentEvent::Reopened {
                    reason: reason("Still drops"),
                    at: t(90),
                    by: requester(),
                },
                started(ClockKind::Resolution, 480, 90),
                started(desk_ola(), 240, 90),
            ]);
        let incident = state.expect("logged");
        assert_eq!(incident.status, Status::Assigned);
        assert_eq!(incident.resolution, None);
        assert_eq!(incident.reopen_count, 1);
    }

    #[test]
    fn reopening_a_closed_incident_is_the_one_thing_it_accepts() {
        given(&closed())
            .at(t(200))
            .by(requester())
            .when(reopen("Broken again"))
            .then([
                IncidentEvent::Reopened {
                    reason: reason("Broken again"),
                    at: t(200),
                    by: requester(),
                },
                started(ClockKind::Resolution, 480, 200),
                started(desk_ola(), 240, 200),
            ]);
    }

    #[test]
    fn reopening_an_open_incident_is_rejected() {
        given(&in_progress())
            .when(reopen("Why not"))
            .then_error(invalid(Status::InProgress, "reopen"));
    }

    #[test]
    fn reopening_without_a_reason_is_rejected() {
        given(&resolved())
            .when(reopen(""))
            .then_error(blank("reason"));
    }

    #[test]
    fn reopening_a_cancelled_incident_is_rejected() {
        given(&cancelled())
            .when(reopen("Oops"))
            .then_error(invalid(Status::Cancelled, "reopen"));
    }
}

mod cancel {
    use super::*;

    fn cancel(why: &str) -> IncidentCommand {
        IncidentCommand::Cancel {
            reason: reason(why),
        }
    }

    fn stopped(clock: ClockKind) -> IncidentEvent {
        IncidentEvent::SlaClockStopped {
            clock,
            reason: StopReason::Cancelled,
            at: t(30),
        }
    }

    #[test]
    fn cancelling_stops_every_clock_without_meeting_or_breaching_it() {
        given(&in_progress())
            .at(t(30))
            .when(cancel("Logged twice"))
            .then([
                IncidentEvent::Cancelled {
                    reason: reason("Logged twice"),
                    at: t(30),
                    by: agent(),
                },
                stopped(ClockKind::FirstResponse),
                stopped(ClockKind::Resolution),
                stopped(desk_ola()),
            ]);
    }

    #[test]
    fn cancelling_without_a_reason_is_rejected() {
        given(&in_progress())
            .when(cancel(""))
            .then_error(blank("reason"));
    }

    #[test]
    fn cancelling_a_resolved_incident_is_rejected() {
        given(&resolved())
            .when(cancel("Too late"))
            .then_error(invalid(Status::Resolved, "cancel"));
    }

    #[test]
    fn a_cancelled_incident_accepts_nothing() {
        given(&cancelled())
            .when(IncidentCommand::Comment {
                text: "Hello?".to_owned(),
                visibility: Visibility::Public,
            })
            .then_error(invalid(Status::Cancelled, "comment on"));
    }
}

mod comment {
    use super::*;

    fn comment(text: &str, visibility: Visibility) -> IncidentCommand {
        IncidentCommand::Comment {
            text: text.to_owned(),
            visibility,
        }
    }

    #[test]
    fn the_requester_comments_publicly() {
        given(&in_progress())
            .at(t(12))
            .by(requester())
            .when(comment("It happened again.", Visibility::Public))
            .then([IncidentEvent::Commented {
                text: "It happened again.".to_owned(),
                visibility: Visibility::Public,
                at: t(12),
                by: requester(),
            }]);
    }

    #[test]
    fn an_agent_writes_an_internal_note() {
        given(&in_progress())
            .at(t(12))
            .when(comment(
                "Check the concentrator logs.",
                Visibility::Internal,
            ))
            .then([IncidentEvent::Commented {
                text: "Check the concentrator logs.".to_owned(),
                visibility: Visibility::Internal,
                at: t(12),
                by: agent(),
            }]);
    }

    #[test]
    fn an_internal_comment_by_the_requester_is_rejected() {
        given(&in_progress())
            .by(requester())
            .when(comment("Secret", Visibility::Internal))
            .then_error(IncidentError::InternalCommentByRequester);
    }

    #[test]
    fn an_empty_comment_is_rejected() {
        given(&in_progress())
            .when(comment("", Visibility::Public))
            .then_error(blank("comment"));
    }

    #[test]
    fn an_overlong_comment_is_rejected() {
        given(&in_progress())
            .when(comment(&"x".repeat(10_001), Visibility::Public))
            .then_error(IncidentError::Validation(TextError::TooLong {
                field: "comment",
                len: 10_001,
                max: 10_000,
            }));
    }

    #[test]
    fn commenting_on_a_closed_incident_is_rejected() {
        given(&closed())
            .when(comment("Thanks!", Visibility::Public))
            .then_error(invalid(Status::Closed, "comment on"));
    }
}

mod attach {
    use super::*;

    fn screenshot() -> Attachment {
        Attachment {
            name: "screen shot.png".to_owned(),
            content_hash: "blake3:9f2c".to_owned(),
            uri: "blob://attachments/9f2c".to_owned(),
            size_bytes: 48_213,
        }
    }

    fn attach(attachment: Attachment) -> IncidentCommand {
        IncidentCommand::AttachFile { attachment }
    }

    #[test]
    fn attaching_a_file_records_its_reference() {
        given(&in_progress())
            .at(t(12))
            .when(attach(screenshot()))
            .then([IncidentEvent::FileAttached {
                attachment: screenshot(),
                at: t(12),
                by: agent(),
            }]);
    }

    #[test]
    fn attaching_the_same_file_twice_is_rejected() {
        given(&in_progress().run(attach(screenshot()), t(12)))
            .when(attach(screenshot()))
            .then_error(IncidentError::DuplicateAttachment);
    }

    #[test]
    fn attaching_with_a_uri_containing_spaces_is_rejected() {
        let mut attachment = screenshot();
        attachment.uri = "blob://attachments/9f 2c".to_owned();
        given(&in_progress())
            .when(attach(attachment))
            .then_error(IncidentError::Whitespace {
                field: "content uri",
            });
    }

    #[test]
    fn attaching_a_file_without_a_name_is_rejected() {
        let mut attachment = screenshot();
        attachment.name = String::new();
        given(&in_progress())
            .when(attach(attachment))
            .then_error(blank("attachment name"));
    }

    #[test]
    fn attaching_a_file_without_a_content_hash_is_rejected() {
        let mut attachment = screenshot();
        attachment.content_hash = String::new();
        given(&in_progress())
            .when(attach(attachment))
            .then_error(blank("content hash"));
    }
}

mod link {
    use super::*;

    fn link(target: LinkTarget) -> IncidentCommand {
        IncidentCommand::Link { target }
    }

    #[test]
    fn linking_a_problem_records_it() {
        let target = LinkTarget::Problem(ProblemKey::new(7));
        let state =
            given(&in_progress())
                .at(t(12))
                .when(link(target))
                .then([IncidentEvent::Linked {
                    target,
                    at: t(12),
                    by: agent(),
                }]);
        assert_eq!(
            state.map(|incident| incident.problems),
            Some(vec![ProblemKey::new(7)])
        );
    }

    #[test]
    fn linking_a_change_records_it() {
        let target = LinkTarget::Change(ChangeKey::new(3));
        given(&resolved())
            .at(t(70))
            .when(link(target))
            .then([IncidentEvent::Linked {
                target,
                at: t(70),
                by: agent(),
            }]);
    }

    #[test]
    fn linking_a_problem_twice_is_rejected() {
        let target = LinkTarget::Problem(ProblemKey::new(7));
        given(&in_progress().run(link(target), t(12)))
            .when(link(target))
            .then_error(IncidentError::ProblemAlreadyLinked(ProblemKey::new(7)));
    }

    #[test]
    fn linking_a_change_twice_is_rejected() {
        let target = LinkTarget::Change(ChangeKey::new(3));
        given(&in_progress().run(link(target), t(12)))
            .when(link(target))
            .then_error(IncidentError::ChangeAlreadyLinked(ChangeKey::new(3)));
    }

    #[test]
    fn linking_to_a_closed_incident_is_rejected() {
        given(&closed())
            .when(link(LinkTarget::Problem(ProblemKey::new(7))))
            .then_error(invalid(Status::Closed, "link"));
    }
}

mod major {
    use super::*;

    fn declare() -> IncidentCommand {
        IncidentCommand::DeclareMajor {
            reason: reason("All VPN users affected"),
        }
    }

    fn link_to(parent: u64) -> IncidentCommand {
        IncidentCommand::LinkToMajor {
            parent: IncidentKey::new(parent),
        }
    }

    #[test]
    fn declaring_a_major_incident_marks_it_major() {
        let state =
            given(&in_progress())
                .at(t(12))
                .when(declare())
                .then([IncidentEvent::DeclaredMajor {
                    reason: reason("All VPN users affected"),
                    at: t(12),
                    by: agent(),
                }]);
        assert_eq!(state.map(|incident| incident.major), Some(true));
    }

    #[test]
    fn declaring_a_major_incident_twice_is_rejected() {
        given(&in_progress().run(declare(), t(12)))
            .when(declare())
            .then_error(IncidentError::AlreadyMajor);
    }

    #[test]
    fn declaring_a_child_incident_major_is_rejected() {
        given(&in_progress().run(link_to(7), t(12)))
            .when(declare())
            .then_error(IncidentError::ChildCannotBeMajor(IncidentKey::new(7)));
    }

    #[test]
    fn declaring_major_without_a_reason_is_rejected() {
        given(&in_progress())
            .when(IncidentCommand::DeclareMajor {
                reason: String::new(),
            })
            .then_error(blank("reason"));
    }

    #[test]
    fn declaring_a_resolved_incident_major_is_rejected() {
        given(&resolved())
            .when(declare())
            .then_error(invalid(Status::Resolved, "declare major"));
    }

    #[test]
    fn linking_to_a_major_incident_records_the_parent() {
        let state =
            given(&in_progress())
                .at(t(12))
                .when(link_to(7))
                .then([IncidentEvent::LinkedToMajor {
                    parent: IncidentKey::new(7),
                    at: t(12),
                    by: agent(),
                }]);
        assert_eq!(
            state.and_then(|incident| incident.parent),
            Some(IncidentKey::new(7))
        );
    }

    #[test]
    fn linking_an_incident_to_itself_is_rejected() {
        given(&in_progress())
            .when(link_to(key().number()))
            .then_error(IncidentError::OwnParent);
    }

    #[test]
    fn linking_a_major_incident_under_another_is_rejected() {
        given(&in_progress().run(declare(), t(12)))
            .when(link_to(7))
            .then_error(IncidentError::MajorCannotBeChild);
    }

    #[test]
    fn linking_a_child_to_a_second_parent_is_rejected() {
        given(&in_progress().run(link_to(7), t(12)))
            .when(link_to(8))
            .then_error(IncidentError::AlreadyChildOf(IncidentKey::new(7)));
    }

    #[test]
    fn linking_a_resolved_incident_to_a_major_is_rejected() {
        given(&resolved())
            .when(link_to(7))
            .then_error(invalid(Status::Resolved, "link to a major incident"));
    }
}

mod rate {
    use super::*;

    fn rate(score: u8) -> IncidentCommand {
        IncidentCommand::Rate {
            score,
            comment: "Quick fix".to_owned(),
        }
    }

    #[test]
    fn the_requester_rates_a_resolved_incident() {
        let state = given(&resolved())
            .at(t(70))
            .by(requester())
            .when(rate(5))
            .then([IncidentEvent::Rated {
                score: 5,
                comment: "Quick fix".to_owned(),
                at: t(70),
                by: requester(),
            }]);
        assert_eq!(state.map(|incident| incident.ratings.len()), Some(1));
    }

    #[test]
    fn rating_by_someone_else_than_the_requester_is_rejected() {
        given(&resolved())
            .when(rate(5))
            .then_error(IncidentError::NotTheRequester);
    }

    #[test]
    fn rating_with_a_score_of_zero_is_rejected() {
        given(&resolved())
            .by(requester())
            .when(rate(0))
            .then_error(IncidentError::ScoreOutOfRange(0));
    }

    #[test]
    fn rating_with_a_score_above_five_is_rejected() {
        given(&resolved())
            .by(requester())
            .when(rate(6))
            .then_error(IncidentError::ScoreOutOfRange(6));
    }

    #[test]
    fn rating_the_same_resolution_twice_is_rejected() {
        given(&resolved().run_by(rate(4), t(70), requester()))
            .by(requester())
            .when(rate(5))
            .then_error(IncidentError::AlreadyRated);
    }

    #[test]
    fn a_new_resolution_after_a_reopen_may_be_rated_again() {
        let history = resolved()
            .run_by(rate(2), t(70), requester())
            .run_by(
                IncidentCommand::Reopen {
                    reason: reason("Still drops"),
                },
                t(80),
                requester(),
            )
            .run(resolve(), t(100));
        given(&history)
            .at(t(110))
            .by(requester())
            .when(rate(5))
            .then([IncidentEvent::Rated {
                score: 5,
                comment: "Quick fix".to_owned(),
                at: t(110),
                by: requester(),
            }]);
    }

    #[test]
    fn rating_an_unresolved_incident_is_rejected() {
        given(&in_progress())
            .by(requester())
            .when(rate(5))
            .then_error(invalid(Status::InProgress, "rate"));
    }

    #[test]
    fn rating_a_closed_incident_is_rejected() {
        given(&closed())
            .by(requester())
            .when(rate(5))
            .then_error(invalid(Status::Closed, "rate"));
    }

    #[test]
    fn rating_with_an_overlong_comment_is_rejected() {
        given(&resolved())
            .by(requester())
            .when(IncidentCommand::Rate {
                score: 3,
                comment: "x".repeat(2_001),
            })
            .then_error(IncidentError::Validation(TextError::TooLong {
                field: "rating comment",
                len: 2_001,
                max: 2_000,
            }));
    }
}

mod sla_timer {
    use super::*;

    fn warn(clock: ClockKind, due: i64) -> IncidentCommand {
        IncidentCommand::RecordSlaWarning { clock, due: t(due) }
    }

    fn breach(clock: ClockKind, due: i64) -> IncidentCommand {
        IncidentCommand::RecordSlaBreach { clock, due: t(due) }
    }

    #[test]
    fn the_timer_records_a_warning_at_the_warning_threshold() {
        // 80 % of the 60 minute first-response target.
        given(&logged())
            .at(t(48))
            .by(timer())
            .when(warn(ClockKind::FirstResponse, 60))
            .then([IncidentEvent::SlaWarningRaised {
                clock: ClockKind::FirstResponse,
                due: t(60),
                at: t(48),
                by: timer(),
            }]);
    }

    #[test]
    fn recording_the_same_warning_again_changes_nothing() {
        let history = logged().run_by(warn(ClockKind::FirstResponse, 60), t(48), timer());
        given(&history)
            .at(t(49))
            .by(timer())
            .when(warn(ClockKind::FirstResponse, 60))
            .then([]);
    }

    #[test]
    fn a_warning_before_the_threshold_is_rejected() {
        given(&logged())
            .at(t(40))
            .by(timer())
            .when(warn(ClockKind::FirstResponse, 60))
            .then_error(IncidentError::NotYetDue {
                clock: ClockKind::FirstResponse,
                at: t(48),
            });
    }

    #[test]
    fn a_warning_for_a_stale_deadline_is_rejected() {
        given(&logged())
            .at(t(50))
            .by(timer())
            .when(warn(ClockKind::FirstResponse, 61))
            .then_error(IncidentError::StaleDue {
                clock: ClockKind::FirstResponse,
                claimed: t(61),
                actual: Some(t(60)),
            });
    }

    #[test]
    fn a_warning_for_a_paused_clock_is_rejected() {
        given(&on_hold())
            .at(t(400))
            .by(timer())
            .when(warn(ClockKind::Resolution, 480))
            .then_error(IncidentError::ClockNotRunning(ClockKind::Resolution));
    }

    #[test]
    fn a_warning_for_a_clock_that_never_ran_is_rejected() {
        given(&logged())
            .by(timer())
            .when(warn(ola("nobody"), 60))
            .then_error(IncidentError::NoSuchClock(ola("nobody")));
    }

    #[test]
    fn a_warning_on_a_closed_incident_is_rejected() {
        given(&closed())
            .by(timer())
            .when(warn(ClockKind::Resolution, 480))
            .then_error(invalid(Status::Closed, "record an SLA warning on"));
    }

    #[test]
    fn the_timer_records_a_breach_at_the_deadline() {
        let state = given(&logged())
            .at(t(60))
            .by(timer())
            .when(breach(ClockKind::FirstResponse, 60))
            .then([IncidentEvent::SlaBreached {
                clock: ClockKind::FirstResponse,
                due: t(60),
                at: t(60),
                by: timer(),
            }]);
        let clock = state.and_then(|incident| incident.clock(&ClockKind::FirstResponse).cloned());
        assert_eq!(
            clock.map(|clock| (clock.breached, clock.is_running())),
            Some((true, true))
        );
    }

    #[test]
    fn recording_the_same_breach_again_changes_nothing() {
        let history = logged().run_by(breach(ClockKind::FirstResponse, 60), t(60), timer());
        given(&history)
            .at(t(61))
            .by(timer())
            .when(breach(ClockKind::FirstResponse, 60))
            .then([]);
    }

    #[test]
    fn a_breach_before_the_deadline_is_rejected() {
        given(&logged())
            .at(t(59))
            .by(timer())
            .when(breach(ClockKind::FirstResponse, 60))
            .then_error(IncidentError::NotYetDue {
                clock: ClockKind::FirstResponse,
                at: t(60),
            });
    }

    #[test]
    fn a_breach_of_a_deadline_moved_by_a_reprioritization_is_rejected() {
        let history = in_progress().run(
            IncidentCommand::Reprioritize {
                impact: Impact::Low,
                urgency: Urgency::Medium,
                reason: reason("Only one user"),
                sla: AppliedSla {
                    ola: Some(minutes(600)),
                    targets: SlaTargets::new(
                        minutes(120),
                        minutes(960),
                        80,
                        std::collections::BTreeSet::new(),
                    )
                    .expect("valid targets"),
                    ..sla()
                },
            },
            t(20),
        );
        given(&history)
            .at(t(60))
            .by(timer())
            .when(breach(ClockKind::FirstResponse, 60))
            .then_error(IncidentError::StaleDue {
                clock: ClockKind::FirstResponse,
                claimed: t(60),
                actual: Some(t(120)),
            });
    }

    #[test]
    fn a_breach_of_a_clock_already_met_is_rejected() {
        given(&resolved())
            .at(t(70))
            .by(timer())
            .when(breach(ClockKind::FirstResponse, 60))
            .then_error(IncidentError::ClockNotRunning(ClockKind::FirstResponse));
    }

    #[test]
    fn a_breach_of_a_clock_that_never_ran_is_rejected() {
        given(&logged())
            .by(timer())
            .when(breach(l2(), 60))
            .then_error(IncidentError::NoSuchClock(l2()));
    }

    #[test]
    fn a_breach_on_a_cancelled_incident_is_rejected() {
        given(&cancelled())
            .by(timer())
            .when(breach(ClockKind::FirstResponse, 60))
            .then_error(invalid(Status::Cancelled, "record an SLA breach on"));
    }
}

mod problem_follow_up {
    use super::*;

    fn prb() -> ProblemKey {
        ProblemKey::new(7)
    }

    fn linked() -> History {
        in_progress().run(
            IncidentCommand::Link {
                target: LinkTarget::Problem(prb()),
            },
            t(12),
        )
    }

    fn workaround(text: &str) -> IncidentCommand {
        IncidentCommand::NoteProblemUpdate {
            problem: prb(),
            update: ProblemUpdate::WorkaroundAvailable {
                workaround: text.to_owned(),
            },
        }
    }

    fn automation() -> Actor {
        Actor::automation("problem-follow-up")
    }

    #[test]
    fn a_workaround_on_a_linked_problem_is_noted_on_the_incident() {
        given(&linked())
            .at(t(30))
            .by(automation())
            .when(workaround("Use the backup gateway"))
            .then([IncidentEvent::ProblemUpdateNoted {
                problem: prb(),
                update: ProblemUpdate::WorkaroundAvailable {
                    workaround: "Use the backup gateway".to_owned(),
                },
                at: t(30),
                by: automation(),
            }]);
    }

    #[test]
    fn a_fix_of_a_linked_problem_is_noted_on_a_resolved_incident() {
        let history = linked().run(resolve(), t(40));
        let update = ProblemUpdate::Resolved {
            fix: Some(ChangeKey::new(3)),
        };
        given(&history)
            .at(t(50))
            .by(automation())
            .when(IncidentCommand::NoteProblemUpdate {
                problem: prb(),
                update: update.clone(),
            })
            .then([IncidentEvent::ProblemUpdateNoted {
                problem: prb(),
                update,
                at: t(50),
                by: automation(),
            }]);
    }

    #[test]
    fn an_update_of_a_problem_that_is_not_linked_is_rejected() {
        given(&in_progress())
            .when(workaround("Use the backup gateway"))
            .then_error(IncidentError::ProblemNotLinked(prb()));
    }

    #[test]
    fn an_empty_workaround_is_rejected() {
        given(&linked())
            .when(workaround(""))
            .then_error(blank("problem update"));
    }

    #[test]
    fn an_update_on_a_closed_incident_is_rejected() {
        let history = linked()
            .run(resolve(), t(40))
            .run(IncidentCommand::Close, t(50));
        given(&history)
            .when(IncidentCommand::NoteProblemUpdate {
                problem: prb(),
                update: ProblemUpdate::KnownError,
            })
            .then_error(invalid(Status::Closed, "note a problem update on"));
    }
}

#[test]
fn a_vip_role_does_not_matter_to_the_decider_only_the_requester_identity_does() {
    // The requester may rate even when acting with another role (e.g. an agent who reported
    // their own incident).
    let requester_as_agent = Actor::user(requester_id(), Role::Agent);
    given(&resolved())
        .at(t(70))
        .by(requester_as_agent.clone())
        .when(IncidentCommand::Rate {
            score: 4,
            comment: String::new(),
        })
        .then([IncidentEvent::Rated {
            score: 4,
            comment: String::new(),
            at: t(70),
            by: requester_as_agent,
        }]);
}
