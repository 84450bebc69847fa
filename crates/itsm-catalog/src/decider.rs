//! The catalog's decisions (`decide`) and how its events change the state (`evolve`).

use std::collections::BTreeMap;

use chrono::TimeDelta;
use itsm_kernel::{Context, Decider, GroupId, ServiceId, text};
use itsm_sla::{SlaTargets, validate_target};

use crate::command::{MAX_OLA_TARGETS, MAX_REASON_LEN, MAX_SERVICE_NAME_LEN};
use crate::{
    BusinessCalendar, CalendarRevision, Cancellation, CatalogCommand, CatalogError, CatalogEvent,
    CatalogState, FreezeScope, FreezeWindow, PolicyRevision, Service, ServiceStatus, SlaPolicy,
};

/// The catalog aggregate: one stream, `catalog`, for all services, calendars, SLA policies and
/// freeze windows, so rules that span them (a policy needs its service and calendar) are checked
/// against one consistent state.
pub struct Catalog;

impl Decider for Catalog {
    const NAME: &'static str = "catalog";
    type Command = CatalogCommand;
    type Event = CatalogEvent;
    type State = CatalogState;
    type Error = CatalogError;

    fn decide(
        state: &CatalogState,
        command: &CatalogCommand,
        context: &Context,
    ) -> Result<Vec<CatalogEvent>, CatalogError> {
        let by = context.actor.clone();
        let at = context.now;
        match command {
            CatalogCommand::DefineService {
                service,
                name,
                owner,
                criticality,
            } => {
                text::required("service name", name, MAX_SERVICE_NAME_LEN)?;
                if state.services.contains_key(service) {
                    return Err(CatalogError::DuplicateService {
                        service: service.clone(),
                    });
                }
                Ok(vec![CatalogEvent::ServiceDefined {
                    service: service.clone(),
                    name: name.clone(),
                    owner: owner.clone(),
                    criticality: *criticality,
                    by,
                    at,
                }])
            }
            CatalogCommand::ReviseService {
                service,
                name,
                owner,
                criticality,
            } => {
                text::required("service name", name, MAX_SERVICE_NAME_LEN)?;
                let current = active_service(state, service)?;
                if current.name == *name
                    && current.owner == *owner
                    && current.criticality == *criticality
                {
                    return Err(CatalogError::Unchanged { what: "service" });
                }
                Ok(vec![CatalogEvent::ServiceRevised {
                    service: service.clone(),
                    name: name.clone(),
                    owner: owner.clone(),
                    criticality: *criticality,
                    by,
                    at,
                }])
            }
            CatalogCommand::RetireService { service, reason } => {
                text::required("reason", reason, MAX_REASON_LEN)?;
                active_service(state, service)?;
                Ok(vec![CatalogEvent::ServiceRetired {
                    service: service.clone(),
                    reason: reason.clone(),
                    by,
                    at,
                }])
            }
            CatalogCommand::DefineCalendar { name, calendar } => {
                if state.calendars.contains_key(name) {
                    return Err(CatalogError::DuplicateCalendar {
                        calendar: name.clone(),
                    });
                }
                Ok(vec![CatalogEvent::CalendarDefined {
                    name: name.clone(),
                    calendar: calendar.clone(),
                    by,
                    at,
                }])
            }
            CatalogCommand::ReviseCalendar { name, calendar } => {
                let current =
                    state
                        .calendars
                        .get(name)
                        .ok_or_else(|| CatalogError::UnknownCalendar {
                            calendar: name.clone(),
                        })?;
                if current.current.calendar == *calendar {
                    return Err(CatalogError::Unchanged { what: "calendar" });
                }
                Ok(vec![CatalogEvent::CalendarRevised {
                    name: name.clone(),
                    revision: current.current.revision.saturating_add(1),
                    calendar: calendar.clone(),
                    by,
                    at,
                }])
            }
            CatalogCommand::DefineSlaPolicy {
                policy,
                service,
                priority,
                tier,
                targets,
                calendar,
                ola,
            } => {
                check_ola(targets, ola)?;
                active_service(state, service)?;
                known_calendar(state, calendar)?;
                if state.policies.contains_key(policy) {
                    return Err(CatalogError::DuplicatePolicy {
                        policy: policy.clone(),
                    });
                }
                if let Some(existing) = state.policy_for(service, *priority, *tier) {
                    return Err(CatalogError::PolicyScopeTaken {
                        service: service.clone(),
                        priority: *priority,
                        tier: *tier,
                        policy: existing.name.clone(),
                    });
                }
                Ok(vec![CatalogEvent::SlaPolicyDefined {
                    policy: policy.clone(),
                    service: service.clone(),
                    priority: *priority,
                    tier: *tier,
                    targets: targets.clone(),
                    calendar: calendar.clone(),
                    ola: ola.clone(),
                    by,
                    at,
                }])
            }
            CatalogCommand::ReviseSlaPolicy {
                policy,
                targets,
                calendar,
                ola,
            } => {
                check_ola(targets, ola)?;
                let existing =
                    state
                        .policies
                        .get(policy)
                        .ok_or_else(|| CatalogError::UnknownPolicy {
                            policy: policy.clone(),
                        })?;
                active_service(state, &existing.service)?;
                known_calendar(state, calendar)?;
                let current = &existing.current;
                if current.targets == *targets
                    && current.calendar == *calendar
                    && current.ola == *ola
                {
                    return Err(CatalogError::Unchanged { what: "SLA policy" });
                }
                Ok(vec![CatalogEvent::SlaPolicyRevised {
                    policy: policy.clone(),
                    revision: current.revision.saturating_add(1),
                    service: existing.service.clone(),
                    priority: existing.priority,
                    tier: existing.tier,
                    targets: targets.clone(),
                    calendar: calendar.clone(),
                    ola: ola.clone(),
                    by,
                    at,
                }])
            }
            CatalogCommand::DefineFreezeWindow {
                window,
                scope,
                from,
                to,
                reason,
            } => {
                text::required("reason", reason, MAX_REASON_LEN)?;
                if from >= to {
                    return Err(CatalogError::EmptyWindow {
                        from: *from,
                        to: *to,
                    });
                }
                if *to <= at {
                    return Err(CatalogError::WindowInPast { to: *to, now: at });
                }
                match scope {
                    FreezeScope::Global => {}
                    FreezeScope::Service(service) => {
                        active_service(state, service)?;
                    }
                }
                if state.freeze_windows.contains_key(window) {
                    return Err(CatalogError::DuplicateFreezeWindow {
                        window: window.clone(),
                    });
                }
                Ok(vec![CatalogEvent::FreezeWindowDefined {
                    window: window.clone(),
                    scope: scope.clone(),
                    from: *from,
                    to: *to,
                    reason: reason.clone(),
                    by,
                    at,
                }])
            }
            CatalogCommand::CancelFreezeWindow { window, reason } => {
                text::required("reason", reason, MAX_REASON_LEN)?;
                let existing = state.freeze_windows.get(window).ok_or_else(|| {
                    CatalogError::UnknownFreezeWindow {
                        window: window.clone(),
                    }
                })?;
                if existing.cancelled.is_some() {
                    return Err(CatalogError::FreezeWindowAlreadyCancelled {
                        window: window.clone(),
                    });
                }
                if existing.to <= at {
                    return Err(CatalogError::FreezeWindowEnded {
                        window: window.clone(),
                    });
                }
                Ok(vec![CatalogEvent::FreezeWindowCancelled {
                    window: window.clone(),
                    reason: reason.clone(),
                    by,
                    at,
                }])
            }
        }
    }

    fn evolve(mut state: CatalogState, event: &CatalogEvent) -> CatalogState {
        match event {
            CatalogEvent::ServiceDefined {
                service,
                name,
                owner,
                criticality,
                by: _,
                at,
            } => {
                state.services.insert(
                    service.clone(),
                    Service {
                        id: service.clone(),
                        name: name.clone(),
                        owner: owner.clone(),
                        criticality: *criticality,
                        status: ServiceStatus::Active,
                        defined_at: *at,
                        revised_at: *at,
                    },
                );
            }
            CatalogEvent::ServiceRevised {
                service,
                name,
                owner,
                criticality,
                by: _,
                at,
            } => {
                if let Some(current) = state.services.get_mut(service) {
                    current.name.clone_from(name);
                    current.owner = owner.clone();
                    current.criticality = *criticality;
                    current.revised_at = *at;
                }
            }
            CatalogEvent::ServiceRetired {
                service,
                reason: _,
                by: _,
                at,
            } => {
                if let Some(current) = state.services.get_mut(service) {
                    current.status = ServiceStatus::Retired;
                    current.revised_at = *at;
                }
            }
            CatalogEvent::CalendarDefined {
                name,
                calendar,
                by,
                at,
            } => {
                state.calendars.insert(
                    name.clone(),
                    BusinessCalendar {
                        name: name.clone(),
                        current: CalendarRevision {
                            revision: 1,
                            calendar: calendar.clone(),
                            by: by.clone(),
                            at: *at,
                        },
                        earlier: Vec::new(),
                    },
                );
            }
            CatalogEvent::CalendarRevised {
                name,
                revision,
                calendar,
                by,
                at,
            } => {
                if let Some(existing) = state.calendars.get_mut(name) {
                    let replaced = std::mem::replace(
                        &mut existing.current,
                        CalendarRevision {
                            revision: *revision,
                            calendar: calendar.clone(),
                            by: by.clone(),
                            at: *at,
                        },
                    );
                    existing.earlier.push(replaced);
                }
            }
            CatalogEvent::SlaPolicyDefined {
                policy,
                service,
                priority,
                tier,
                targets,
                calendar,
                ola,
                by,
                at,
            } => {
                state
                    .policy_by_scope
                    .insert((service.clone(), *priority, *tier), policy.clone());
                state.policies.insert(
                    policy.clone(),
                    SlaPolicy {
                        name: policy.clone(),
                        service: service.clone(),
                        priority: *priority,
                        tier: *tier,
                        current: PolicyRevision {
                            revision: 1,
                            targets: targets.clone(),
                            calendar: calendar.clone(),
                            ola: ola.clone(),
                            by: by.clone(),
                            at: *at,
                        },
                        earlier: Vec::new(),
                    },
                );
            }
            CatalogEvent::SlaPolicyRevised {
                policy,
                revision,
                service: _,
                priority: _,
                tier: _,
                targets,
                calendar,
                ola,
                by,
                at,
            } => {
                if let Some(existing) = state.policies.get_mut(policy) {
                    let replaced = std::mem::replace(
                        &mut existing.current,
                        PolicyRevision {
                            revision: *revision,
                            targets: targets.clone(),
                            calendar: calendar.clone(),
                            ola: ola.clone(),
                            by: by.clone(),
                            at: *at,
                        },
                    );
                    existing.earlier.push(replaced);
                }
            }
            CatalogEvent::FreezeWindowDefined {
                window,
                scope,
                from,
                to,
                reason,
                by,
                at: _,
            } => {
                state.freeze_windows.insert(
                    window.clone(),
                    FreezeWindow {
                        name: window.clone(),
                        scope: scope.clone(),
                        from: *from,
                        to: *to,
                        reason: reason.clone(),
                        defined_by: by.clone(),
                        cancelled: None,
                    },
                );
            }
            CatalogEvent::FreezeWindowCancelled {
                window,
                reason,
                by,
                at,
            } => {
                if let Some(current) = state.freeze_windows.get_mut(window) {
                    current.cancelled = Some(Cancellation {
                        by: by.clone(),
                        at: *at,
                        reason: reason.clone(),
                    });
                }
            }
        }
        state
    }
}

/// The OLA targets are positive, bounded, not longer than the resolution target, and few.
fn check_ola(targets: &SlaTargets, ola: &BTreeMap<GroupId, TimeDelta>) -> Result<(), CatalogError> {
    if ola.len() > MAX_OLA_TARGETS {
        return Err(CatalogError::TooManyOlaTargets {
            count: ola.len(),
            max: MAX_OLA_TARGETS,
        });
    }
    for (group, target) in ola {
        validate_target("OLA", *target).map_err(CatalogError::InvalidTarget)?;
        if *target > targets.resolution() {
            return Err(CatalogError::OlaExceedsResolution {
                group: group.clone(),
            });
        }
    }
    Ok(())
}

fn known_calendar(state: &CatalogState, calendar: &itsm_kernel::Name) -> Result<(), CatalogError> {
    if state.calendars.contains_key(calendar) {
        Ok(())
    } else {
        Err(CatalogError::UnknownCalendar {
            calendar: calendar.clone(),
        })
    }
}

/// The service, if it exists and is active.
fn active_service<'a>(
    state: &'a CatalogState,
    service: &ServiceId,
) -> Result<&'a Service, CatalogError> {
    let found = state
        .services
        .get(service)
        .ok_or_else(|| CatalogError::UnknownService {
            service: service.clone(),
        })?;
    if !found.is_active() {
        return Err(CatalogError::ServiceRetired {
            service: service.clone(),
        });
    }
    Ok(found)
}
