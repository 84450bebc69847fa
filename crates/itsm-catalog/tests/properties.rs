//! Property tests: random command sequences against the catalog. `decide` never panics, every
//! accepted command yields events that keep the catalog's invariants, and folding the accepted
//! history gives the same state as evolving step by step.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use itsm_catalog::{
    Catalog, CatalogCommand, CatalogEvent, CatalogState, Criticality, FreezeScope, MAX_REASON_LEN,
    MAX_SERVICE_NAME_LEN, ServiceStatus,
};
use itsm_kernel::{
    Actor, Context, CustomerTier, Decider, GroupId, Name, Priority, Role, ServiceId, UserId,
};
use itsm_sla::{Calendar, HoldReason, SlaTargets};
use proptest::prelude::*;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .expect("valid date")
}

fn service() -> impl Strategy<Value = ServiceId> {
    prop::sample::select(vec!["email", "vpn", "erp"])
        .prop_map(|id| ServiceId::new(id).expect("valid id"))
}

fn group() -> impl Strategy<Value = GroupId> {
    prop::sample::select(vec!["messaging", "network", "service-desk"])
        .prop_map(|id| GroupId::new(id).expect("valid id"))
}

fn named(pool: Vec<&'static str>) -> impl Strategy<Value = Name> {
    prop::sample::select(pool).prop_map(|id| Name::new(id).expect("valid name"))
}

/// Mostly valid texts, sometimes blank or one character too long.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z ]{1,20}",
        1 => Just(String::new()),
        1 => Just("  ".to_owned()),
        1 => Just("x".repeat(max + 1)),
    ]
}

fn criticality() -> impl Strategy<Value = Criticality> {
    prop::sample::select(vec![
        Criticality::Critical,
        Criticality::High,
        Criticality::Medium,
        Criticality::Low,
    ])
}

fn priority() -> impl Strategy<Value = Priority> {
    prop::sample::select(Priority::ALL.to_vec())
}

fn tier() -> impl Strategy<Value = CustomerTier> {
    prop::sample::select(vec![CustomerTier::Standard, CustomerTier::Vip])
}

fn calendar() -> impl Strategy<Value = Calendar> {
    (0u32..3).prop_map(|kind| {
        let utc = Calendar::always_open().timezone();
        match kind {
            0 => Calendar::always_open(),
            1 => Calendar::office_hours(
                utc,
                chrono::NaiveTime::from_hms_opt(8, 0, 0).expect("valid time"),
                chrono::NaiveTime::from_hms_opt(17, 0, 0).expect("valid time"),
            )
            .expect("valid calendar"),
            _ => Calendar::always_open()
                .with_holidays([chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid")])
                .expect("valid calendar"),
        }
    })
}

fn targets() -> impl Strategy<Value = SlaTargets> {
    (1i64..8, 0i64..16, 1u8..100, any::<bool>()).prop_map(|(first, extra, warning, pause)| {
        let pause_on = if pause {
            BTreeSet::from([HoldReason::AwaitingCustomer])
        } else {
            BTreeSet::new()
        };
        SlaTargets::new(
            TimeDelta::hours(first),
            TimeDelta::hours(first + extra),
            warning,
            pause_on,
        )
        .expect("valid by construction")
    })
}

/// Mostly within every resolution target; sometimes zero or very long, to exercise the
/// rejections.
fn ola() -> impl Strategy<Value = BTreeMap<GroupId, TimeDelta>> {
    let target = prop_oneof![
        8 => (1i64..60).prop_map(TimeDelta::minutes),
        1 => Just(TimeDelta::zero()),
        1 => Just(TimeDelta::hours(100)),
    ];
    prop::collection::btree_map(group(), target, 0..3)
}

fn scope() -> impl Strategy<Value = FreezeScope> {
    prop_oneof![
        Just(FreezeScope::Global),
        service().prop_map(FreezeScope::Service)
    ]
}

fn command() -> impl Strategy<Value = CatalogCommand> {
    let calendars = || named(vec!["office", "24x7"]);
    let policies = || named(vec!["p-a", "p-b", "p-c", "p-d"]);
    let windows = || named(vec!["w-1", "w-2"]);
    prop_oneof![
        2 => (
            service(),
            text(MAX_SERVICE_NAME_LEN),
            group(),
            criticality()
        )
            .prop_map(|(service, name, owner, criticality)| {
                CatalogCommand::DefineService {
                    service,
                    name,
                    owner,
                    criticality,
                }
            }),
        1 => (
            service(),
            text(MAX_SERVICE_NAME_LEN),
            group(),
            criticality()
        )
            .prop_map(|(service, name, owner, criticality)| {
                CatalogCommand::ReviseService {
                    service,
                    name,
                    owner,
                    criticality,
                }
            }),
        1 => (service(), text(MAX_REASON_LEN))
            .prop_map(|(service, reason)| CatalogCommand::RetireService { service, reason }),
        2 => (calendars(), calendar())
            .prop_map(|(name, calendar)| CatalogCommand::DefineCalendar { name, calendar }),
        1 => (calendars(), calendar())
            .prop_map(|(name, calendar)| CatalogCommand::ReviseCalendar { name, calendar }),
        3 => (
            policies(),
            service(),
            priority(),
            tier(),
            targets(),
            calendars(),
            ola()
        )
            .prop_map(
                |(policy, service, priority, tier, targets, calendar, ola)| {
                    CatalogCommand::DefineSlaPolicy {
                        policy,
                        service,
                        priority,
                        tier,
                        targets,
                        calendar,
                        ola,
                    }
                }
            ),
        3 => (policies(), targets(), calendars(), ola()).prop_map(|(policy, targets, calendar, ola)| {
            CatalogCommand::ReviseSlaPolicy {
                policy,
                targets,
                calendar,
                ola,
            }
        }),
        3 => (
            windows(),
            scope(),
            -50i64..100,
            -10i64..60,
            text(MAX_REASON_LEN)
        )
            .prop_map(|(window, scope, from, length, reason)| {
                let from = start() + TimeDelta::hours(from);
                CatalogCommand::DefineFreezeWindow {
                    window,
                    scope,
                    from,
                    to: from + TimeDelta::hours(length),
                    reason,
                }
            }),
        1 => (windows(), text(MAX_REASON_LEN))
            .prop_map(|(window, reason)| CatalogCommand::CancelFreezeWindow { window, reason }),
    ]
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        Just(Actor::user(
            UserId::new("maria.manager").expect("valid id"),
            Role::ServiceManager
        )),
        Just(Actor::automation("catalog-import")),
    ]
}

/// Commands, each sent some hours after the previous one.
fn history() -> impl Strategy<Value = Vec<(CatalogCommand, Actor, i64)>> {
    prop::collection::vec((command(), actor(), 0i64..12), 10..60)
}

fn check_invariants(state: &CatalogState) {
    for policy in state.policies() {
        assert!(
            state.service(&policy.service).is_some(),
            "policy {} names an unknown service",
            policy.name
        );
        let found = state
            .policy_for(&policy.service, policy.priority, policy.tier)
            .map(|found| found.name.clone());
        assert_eq!(found.as_ref(), Some(&policy.name), "one policy per scope");
        let numbers: Vec<u32> = policy.revisions().map(|r| r.revision).collect();
        let expected: Vec<u32> = (1..=u32::try_from(numbers.len()).expect("small")).collect();
        assert_eq!(numbers, expected, "policy revisions count 1, 2, ...");
        for revision in policy.revisions() {
            assert!(state.calendar(&revision.calendar).is_some());
            for target in revision.ola.values() {
                assert!(*target > TimeDelta::zero());
                assert!(*target <= revision.targets.resolution());
            }
        }
        let applied = state
            .applied_sla(&policy.service, policy.priority, policy.tier)
            .expect("a defined policy applies to its own scope");
        assert_eq!(applied.revision, policy.current.revision);
    }
    for calendar in state.calendars() {
        let numbers: Vec<u32> = calendar.revisions().map(|r| r.revision).collect();
        let expected: Vec<u32> = (1..=u32::try_from(numbers.len()).expect("small")).collect();
        assert_eq!(numbers, expected, "calendar revisions count 1, 2, ...");
    }
    for window in state.freeze_windows() {
        assert!(window.from < window.to, "freeze windows are never empty");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn decide_never_panics_and_accepted_events_keep_the_invariants(history in history()) {
        let mut state = CatalogState::default();
        let mut accepted: Vec<CatalogEvent> = Vec::new();
        let mut now = start();
        for (command, actor, hours) in history {
            now += TimeDelta::hours(hours);
            // Freeze windows are generated around the start; move them to around now.
            let command = match command {
                CatalogCommand::DefineFreezeWindow { window, scope, from, to, reason } => {
                    let shift = now - start();
                    CatalogCommand::DefineFreezeWindow {
                        window,
                        scope,
                        from: from + shift,
                        to: to + shift,
                        reason,
                    }
                }
                other => other,
            };
            let context = Context::new(actor, now);
            let retired_before: Vec<ServiceId> = state
                .services()
                .filter(|service| service.status == ServiceStatus::Retired)
                .map(|service| service.id.clone())
                .collect();
            match Catalog::decide(&state, &command, &context) {
                Ok(events) => {
                    prop_assert_eq!(events.len(), 1, "every catalog command records one event");
                    for event in &events {
                        state = Catalog::evolve(state, event);
                    }
                    accepted.extend(events);
                }
                Err(error) => {
                    // A refusal is typed and explains itself.
                    prop_assert!(!error.to_string().is_empty());
                }
            }
            check_invariants(&state);
            for id in retired_before {
                prop_assert_eq!(
                    state.service(&id).map(|service| service.status),
                    Some(ServiceStatus::Retired),
                    "a retired service stays retired"
                );
            }
        }
        prop_assert_eq!(Catalog::fold(&accepted), state);
    }
}
