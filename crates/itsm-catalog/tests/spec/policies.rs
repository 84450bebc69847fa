use std::collections::BTreeMap;

use chrono::TimeDelta;
use itsm_catalog::{Catalog, CatalogCommand, CatalogError, CatalogEvent, MAX_OLA_TARGETS};
use itsm_kernel::{CustomerTier, GroupId, Priority, Spec};
use itsm_sla::{AppliedSla, Calendar, SlaError};

use super::{
    actor, always_defined, earlier, email_defined, email_p1_defined, email_retired, group, hours,
    name, now, office_defined, office_hours, office_hours_with_holiday, service_id, targets,
};

fn define_email_p1() -> CatalogCommand {
    CatalogCommand::DefineSlaPolicy {
        policy: name("email-p1"),
        service: service_id("email"),
        priority: Priority::P1,
        tier: CustomerTier::Standard,
        targets: targets(1, 8),
        calendar: name("office"),
        ola: BTreeMap::from([(group("messaging"), hours(4))]),
    }
}

fn define_email_p1_with_ola(ola: BTreeMap<GroupId, TimeDelta>) -> CatalogCommand {
    CatalogCommand::DefineSlaPolicy {
        policy: name("email-p1"),
        service: service_id("email"),
        priority: Priority::P1,
        tier: CustomerTier::Standard,
        targets: targets(1, 8),
        calendar: name("office"),
        ola,
    }
}

/// Tighter targets, 24x7.
fn revise_email_p1() -> CatalogCommand {
    CatalogCommand::ReviseSlaPolicy {
        policy: name("email-p1"),
        targets: targets(1, 4),
        calendar: name("24x7"),
        ola: BTreeMap::new(),
    }
}

fn email_p1_revised() -> CatalogEvent {
    CatalogEvent::SlaPolicyRevised {
        policy: name("email-p1"),
        revision: 2,
        service: service_id("email"),
        priority: Priority::P1,
        tier: CustomerTier::Standard,
        targets: targets(1, 4),
        calendar: name("24x7"),
        ola: BTreeMap::new(),
        by: actor(),
        at: now(),
    }
}

fn email_p1_applied(ola: Option<TimeDelta>) -> AppliedSla {
    AppliedSla {
        policy: name("email-p1"),
        revision: 1,
        targets: targets(1, 8),
        calendar_name: name("office"),
        calendar: office_hours(),
        ola,
    }
}

// --- DefineSlaPolicy ---

#[test]
fn defining_an_sla_policy_makes_it_apply_to_its_scope() {
    let state = Spec::<Catalog>::given([email_defined(), office_defined()])
        .when(define_email_p1())
        .then([CatalogEvent::SlaPolicyDefined {
            policy: name("email-p1"),
            service: service_id("email"),
            priority: Priority::P1,
            tier: CustomerTier::Standard,
            targets: targets(1, 8),
            calendar: name("office"),
            ola: BTreeMap::from([(group("messaging"), hours(4))]),
            by: actor(),
            at: now(),
        }]);
    assert_eq!(
        state.applied_sla(&service_id("email"), Priority::P1, CustomerTier::Standard),
        Some(email_p1_applied(None))
    );
    assert_eq!(
        state.applied_sla(&service_id("email"), Priority::P2, CustomerTier::Standard),
        None
    );
    let policy = state.policy(&name("email-p1")).expect("defined");
    assert_eq!(policy.current.revision, 1);
}

#[test]
fn defining_an_sla_policy_for_an_unknown_service_is_rejected() {
    Spec::<Catalog>::given([office_defined()])
        .when(define_email_p1())
        .then_error(CatalogError::UnknownService {
            service: service_id("email"),
        });
}

#[test]
fn defining_an_sla_policy_for_a_retired_service_is_rejected() {
    Spec::<Catalog>::given([email_defined(), email_retired(), office_defined()])
        .when(define_email_p1())
        .then_error(CatalogError::ServiceRetired {
            service: service_id("email"),
        });
}

#[test]
fn defining_an_sla_policy_with_an_unknown_calendar_is_rejected() {
    Spec::<Catalog>::given([email_defined()])
        .when(define_email_p1())
        .then_error(CatalogError::UnknownCalendar {
            calendar: name("office"),
        });
}

#[test]
fn defining_an_sla_policy_under_a_taken_name_is_rejected() {
    Spec::<Catalog>::given([email_defined(), office_defined(), email_p1_defined()])
        .when(CatalogCommand::DefineSlaPolicy {
            policy: name("email-p1"),
            service: service_id("email"),
            priority: Priority::P2,
            tier: CustomerTier::Standard,
            targets: targets(2, 16),
            calendar: name("office"),
            ola: BTreeMap::new(),
        })
        .then_error(CatalogError::DuplicatePolicy {
            policy: name("email-p1"),
        });
}

#[test]
fn defining_a_second_sla_policy_for_the_same_scope_is_rejected() {
    Spec::<Catalog>::given([email_defined(), office_defined(), email_p1_defined()])
        .when(CatalogCommand::DefineSlaPolicy {
            policy: name("email-p1-again"),
            service: service_id("email"),
            priority: Priority::P1,
            tier: CustomerTier::Standard,
            targets: targets(2, 16),
            calendar: name("office"),
            ola: BTreeMap::new(),
        })
        .then_error(CatalogError::PolicyScopeTaken {
            service: service_id("email"),
            priority: Priority::P1,
            tier: CustomerTier::Standard,
            policy: name("email-p1"),
        });
}

#[test]
fn defining_an_sla_policy_with_a_zero_ola_target_is_rejected() {
    Spec::<Catalog>::given([email_defined(), office_defined()])
        .when(define_email_p1_with_ola(BTreeMap::from([(
            group("messaging"),
            TimeDelta::zero(),
        )])))
        .then_error(CatalogError::InvalidTarget(SlaError::TargetNotPositive {
            clock: "OLA",
            value: TimeDelta::zero(),
        }));
}

#[test]
fn defining_an_sla_policy_with_an_ola_longer_than_the_resolution_is_rejected() {
    Spec::<Catalog>::given([email_defined(), office_defined()])
        .when(define_email_p1_with_ola(BTreeMap::from([(
            group("messaging"),
            hours(9),
        )])))
        .then_error(CatalogError::OlaExceedsResolution {
            group: group("messaging"),
        });
}

#[test]
fn defining_an_sla_policy_with_too_many_ola_targets_is_rejected() {
    let ola: BTreeMap<GroupId, TimeDelta> = (0..=MAX_OLA_TARGETS)
        .map(|n| (group(&format!("group-{n}")), hours(1)))
        .collect();
    Spec::<Catalog>::given([email_defined(), office_defined()])
        .when(define_email_p1_with_ola(ola))
        .then_error(CatalogError::TooManyOlaTargets {
            count: MAX_OLA_TARGETS + 1,
            max: MAX_OLA_TARGETS,
        });
}

// --- ReviseSlaPolicy ---

#[test]
fn revising_an_sla_policy_adds_a_revision_and_keeps_the_past_reconstructible() {
    let state = Spec::<Catalog>::given([
        email_defined(),
        office_defined(),
        always_defined(),
        email_p1_defined(),
    ])
    .when(revise_email_p1())
    .then([email_p1_revised()]);
    let email = service_id("email");
    assert_eq!(
        state.applied_sla(&email, Priority::P1, CustomerTier::Standard),
        Some(AppliedSla {
            policy: name("email-p1"),
            revision: 2,
            targets: targets(1, 4),
            calendar_name: name("24x7"),
            calendar: Calendar::always_open(),
            ola: None,
        })
    );
    // Just before the revision, revision 1 (and its OLA) was in force.
    assert_eq!(
        state.applied_sla_as_of(
            &email,
            Priority::P1,
            CustomerTier::Standard,
            Some(&group("messaging")),
            now() - hours(1),
        ),
        Some(email_p1_applied(Some(hours(4))))
    );
    // Before the policy existed, nothing applied.
    assert_eq!(
        state.applied_sla_as_of(
            &email,
            Priority::P1,
            CustomerTier::Standard,
            None,
            earlier() - hours(1),
        ),
        None
    );
    let revisions: Vec<u32> = state
        .policy(&name("email-p1"))
        .expect("defined")
        .revisions()
        .map(|r| r.revision)
        .collect();
    assert_eq!(revisions, vec![1, 2]);
}

#[test]
fn revising_an_unknown_sla_policy_is_rejected() {
    Spec::<Catalog>::given([email_defined(), always_defined()])
        .when(revise_email_p1())
        .then_error(CatalogError::UnknownPolicy {
            policy: name("email-p1"),
        });
}

#[test]
fn revising_the_sla_policy_of_a_retired_service_is_rejected() {
    Spec::<Catalog>::given([
        email_defined(),
        office_defined(),
        always_defined(),
        email_p1_defined(),
        email_retired(),
    ])
    .when(revise_email_p1())
    .then_error(CatalogError::ServiceRetired {
        service: service_id("email"),
    });
}

#[test]
fn revising_an_sla_policy_to_an_unknown_calendar_is_rejected() {
    Spec::<Catalog>::given([email_defined(), office_defined(), email_p1_defined()])
        .when(revise_email_p1())
        .then_error(CatalogError::UnknownCalendar {
            calendar: name("24x7"),
        });
}

#[test]
fn revising_an_sla_policy_without_changing_it_is_rejected() {
    Spec::<Catalog>::given([email_defined(), office_defined(), email_p1_defined()])
        .when(CatalogCommand::ReviseSlaPolicy {
            policy: name("email-p1"),
            targets: targets(1, 8),
            calendar: name("office"),
            ola: BTreeMap::from([(group("messaging"), hours(4))]),
        })
        .then_error(CatalogError::Unchanged { what: "SLA policy" });
}

#[test]
fn revising_an_sla_policy_with_an_ola_longer_than_the_resolution_is_rejected() {
    Spec::<Catalog>::given([
        email_defined(),
        office_defined(),
        always_defined(),
        email_p1_defined(),
    ])
    .when(CatalogCommand::ReviseSlaPolicy {
        policy: name("email-p1"),
        targets: targets(1, 4),
        calendar: name("24x7"),
        ola: BTreeMap::from([(group("messaging"), hours(5))]),
    })
    .then_error(CatalogError::OlaExceedsResolution {
        group: group("messaging"),
    });
}

#[test]
fn revising_an_sla_policy_with_a_negative_ola_target_is_rejected() {
    Spec::<Catalog>::given([email_defined(), office_defined(), email_p1_defined()])
        .when(CatalogCommand::ReviseSlaPolicy {
            policy: name("email-p1"),
            targets: targets(1, 8),
            calendar: name("office"),
            ola: BTreeMap::from([(group("messaging"), hours(-1))]),
        })
        .then_error(CatalogError::InvalidTarget(SlaError::TargetNotPositive {
            clock: "OLA",
            value: hours(-1),
        }));
}

#[test]
fn revising_an_sla_policy_with_too_many_ola_targets_is_rejected() {
    let ola: BTreeMap<GroupId, TimeDelta> = (0..=MAX_OLA_TARGETS)
        .map(|n| (group(&format!("group-{n}")), hours(1)))
        .collect();
    Spec::<Catalog>::given([email_defined(), office_defined(), email_p1_defined()])
        .when(CatalogCommand::ReviseSlaPolicy {
            policy: name("email-p1"),
            targets: targets(1, 8),
            calendar: name("office"),
            ola,
        })
        .then_error(CatalogError::TooManyOlaTargets {
            count: MAX_OLA_TARGETS + 1,
            max: MAX_OLA_TARGETS,
        });
}

// --- Queries ---

#[test]
fn a_vip_ticket_without_a_vip_policy_falls_back_to_the_standard_policy() {
    let state = Spec::<Catalog>::given([email_defined(), office_defined(), email_p1_defined()])
        .when(CatalogCommand::DefineCalendar {
            name: name("24x7"),
            calendar: Calendar::always_open(),
        })
        .then([CatalogEvent::CalendarDefined {
            name: name("24x7"),
            calendar: Calendar::always_open(),
            by: actor(),
            at: now(),
        }]);
    assert_eq!(
        state.applied_sla(&service_id("email"), Priority::P1, CustomerTier::Vip),
        Some(email_p1_applied(None))
    );
}

#[test]
fn a_vip_ticket_runs_under_the_vip_policy_when_there_is_one() {
    let state = Spec::<Catalog>::given([
        email_defined(),
        office_defined(),
        always_defined(),
        email_p1_defined(),
    ])
    .when(CatalogCommand::DefineSlaPolicy {
        policy: name("email-p1-vip"),
        service: service_id("email"),
        priority: Priority::P1,
        tier: CustomerTier::Vip,
        targets: targets(1, 2),
        calendar: name("24x7"),
        ola: BTreeMap::new(),
    })
    .then([CatalogEvent::SlaPolicyDefined {
        policy: name("email-p1-vip"),
        service: service_id("email"),
        priority: Priority::P1,
        tier: CustomerTier::Vip,
        targets: targets(1, 2),
        calendar: name("24x7"),
        ola: BTreeMap::new(),
        by: actor(),
        at: now(),
    }]);
    let vip = state
        .applied_sla(&service_id("email"), Priority::P1, CustomerTier::Vip)
        .expect("a policy applies");
    assert_eq!(vip.policy, name("email-p1-vip"));
    // A standard customer never gets the VIP policy.
    let standard = state
        .applied_sla(&service_id("email"), Priority::P1, CustomerTier::Standard)
        .expect("a policy applies");
    assert_eq!(standard.policy, name("email-p1"));
    // Before the VIP policy existed, VIP tickets fell back to the standard one.
    let before = state
        .applied_sla_as_of(
            &service_id("email"),
            Priority::P1,
            CustomerTier::Vip,
            None,
            now() - hours(1),
        )
        .expect("a policy applied");
    assert_eq!(before.policy, name("email-p1"));
}

#[test]
fn the_ola_target_applies_only_to_the_group_that_has_one() {
    let state = Spec::<Catalog>::given([email_defined(), office_defined()])
        .when(define_email_p1())
        .then([CatalogEvent::SlaPolicyDefined {
            policy: name("email-p1"),
            service: service_id("email"),
            priority: Priority::P1,
            tier: CustomerTier::Standard,
            targets: targets(1, 8),
            calendar: name("office"),
            ola: BTreeMap::from([(group("messaging"), hours(4))]),
            by: actor(),
            at: now(),
        }]);
    let email = service_id("email");
    assert_eq!(
        state.applied_sla_for_group(
            &email,
            Priority::P1,
            CustomerTier::Standard,
            &group("messaging")
        ),
        Some(email_p1_applied(Some(hours(4))))
    );
    assert_eq!(
        state.applied_sla_for_group(
            &email,
            Priority::P1,
            CustomerTier::Standard,
            &group("network")
        ),
        Some(email_p1_applied(None))
    );
}

#[test]
fn an_applied_sla_uses_the_calendar_revision_in_force() {
    let state = Spec::<Catalog>::given([email_defined(), office_defined(), email_p1_defined()])
        .when(CatalogCommand::ReviseCalendar {
            name: name("office"),
            calendar: office_hours_with_holiday(),
        })
        .then([CatalogEvent::CalendarRevised {
            name: name("office"),
            revision: 2,
            calendar: office_hours_with_holiday(),
            by: actor(),
            at: now(),
        }]);
    let email = service_id("email");
    let current = state
        .applied_sla(&email, Priority::P1, CustomerTier::Standard)
        .expect("a policy applies");
    assert_eq!(current.calendar, office_hours_with_holiday());
    assert_eq!(current.revision, 1);
    let before = state
        .applied_sla_as_of(
            &email,
            Priority::P1,
            CustomerTier::Standard,
            None,
            now() - hours(1),
        )
        .expect("a policy applied");
    assert_eq!(before.calendar, office_hours());
}
