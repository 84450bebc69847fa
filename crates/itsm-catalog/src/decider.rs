//! The catalog's decisions (`decide`) and how its events change the state (`evolve`).

use itsm_kernel::{Context, Decider};

use crate::command::{MAX_REASON_LEN, MAX_SERVICE_NAME_LEN};
use crate::{
    Cancellation, CatalogCommand, CatalogError, CatalogEvent, CatalogState, FieldError,
    FreezeScope, FreezeWindow, Service, ServiceStatus,
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
                FieldError::check_required("service name", name, MAX_SERVICE_NAME_LEN)?;
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
                FieldError::check_required("service name", name, MAX_SERVICE_NAME_LEN)?;
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
                FieldError::check_required("reason", reason, MAX_REASON_LEN)?;
                active_service(state, service)?;
                Ok(vec![CatalogEvent::ServiceRetired {
                    service: service.clone(),
                    reason: reason.clone(),
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
                FieldError::check_required("reason", reason, MAX_REASON_LEN)?;
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
                FieldError::check_required("reason", reason, MAX_REASON_LEN)?;
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

/// The service, if it exists and is active.
fn active_service<'a>(
    state: &'a CatalogState,
    service: &itsm_kernel::ServiceId,
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
