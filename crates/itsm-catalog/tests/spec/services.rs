use itsm_catalog::{
    Catalog, CatalogCommand, CatalogError, CatalogEvent, Criticality, MAX_SERVICE_NAME_LEN,
    ServiceStatus,
};
use itsm_kernel::{Spec, TextError};

use super::{actor, email_defined, email_retired, group, now, service_id};

fn define_email() -> CatalogCommand {
    CatalogCommand::DefineService {
        service: service_id("email"),
        name: "Corporate e-mail".to_owned(),
        owner: group("messaging"),
        criticality: Criticality::High,
    }
}

fn revise_email() -> CatalogCommand {
    CatalogCommand::ReviseService {
        service: service_id("email"),
        name: "E-mail and calendars".to_owned(),
        owner: group("collaboration"),
        criticality: Criticality::Critical,
    }
}

fn retire_email() -> CatalogCommand {
    CatalogCommand::RetireService {
        service: service_id("email"),
        reason: "replaced by the new mail platform".to_owned(),
    }
}

#[test]
fn defining_a_new_service_records_it_as_active() {
    let state = Spec::<Catalog>::new()
        .when(define_email())
        .then([CatalogEvent::ServiceDefined {
            service: service_id("email"),
            name: "Corporate e-mail".to_owned(),
            owner: group("messaging"),
            criticality: Criticality::High,
            by: actor(),
            at: now(),
        }]);
    let email = state.service(&service_id("email")).expect("defined");
    assert_eq!(email.status, ServiceStatus::Active);
    assert_eq!(email.owner, group("messaging"));
}

#[test]
fn defining_a_service_twice_is_rejected() {
    Spec::<Catalog>::given([email_defined()])
        .when(define_email())
        .then_error(CatalogError::DuplicateService {
            service: service_id("email"),
        });
}

#[test]
fn defining_a_retired_service_again_is_rejected() {
    Spec::<Catalog>::given([email_defined(), email_retired()])
        .when(define_email())
        .then_error(CatalogError::DuplicateService {
            service: service_id("email"),
        });
}

#[test]
fn defining_a_service_with_a_blank_name_is_rejected() {
    Spec::<Catalog>::new()
        .when(CatalogCommand::DefineService {
            service: service_id("email"),
            name: "   ".to_owned(),
            owner: group("messaging"),
            criticality: Criticality::High,
        })
        .then_error(CatalogError::Validation(TextError::Empty {
            field: "service name",
        }));
}

#[test]
fn defining_a_service_with_an_overlong_name_is_rejected() {
    Spec::<Catalog>::new()
        .when(CatalogCommand::DefineService {
            service: service_id("email"),
            name: "x".repeat(MAX_SERVICE_NAME_LEN + 1),
            owner: group("messaging"),
            criticality: Criticality::High,
        })
        .then_error(CatalogError::Validation(TextError::TooLong {
            field: "service name",
            len: MAX_SERVICE_NAME_LEN + 1,
            max: MAX_SERVICE_NAME_LEN,
        }));
}

#[test]
fn revising_a_service_records_the_new_values() {
    let state = Spec::<Catalog>::given([email_defined()])
        .when(revise_email())
        .then([CatalogEvent::ServiceRevised {
            service: service_id("email"),
            name: "E-mail and calendars".to_owned(),
            owner: group("collaboration"),
            criticality: Criticality::Critical,
            by: actor(),
            at: now(),
        }]);
    let email = state.service(&service_id("email")).expect("defined");
    assert_eq!(email.name, "E-mail and calendars");
    assert_eq!(email.criticality, Criticality::Critical);
    assert_eq!(email.revised_at, now());
}

#[test]
fn revising_an_unknown_service_is_rejected() {
    Spec::<Catalog>::new()
        .when(revise_email())
        .then_error(CatalogError::UnknownService {
            service: service_id("email"),
        });
}

#[test]
fn revising_a_retired_service_is_rejected() {
    Spec::<Catalog>::given([email_defined(), email_retired()])
        .when(revise_email())
        .then_error(CatalogError::ServiceRetired {
            service: service_id("email"),
        });
}

#[test]
fn revising_a_service_without_changing_anything_is_rejected() {
    Spec::<Catalog>::given([email_defined()])
        .when(CatalogCommand::ReviseService {
            service: service_id("email"),
            name: "Corporate e-mail".to_owned(),
            owner: group("messaging"),
            criticality: Criticality::High,
        })
        .then_error(CatalogError::Unchanged { what: "service" });
}

#[test]
fn revising_a_service_to_a_blank_name_is_rejected() {
    Spec::<Catalog>::given([email_defined()])
        .when(CatalogCommand::ReviseService {
            service: service_id("email"),
            name: String::new(),
            owner: group("messaging"),
            criticality: Criticality::High,
        })
        .then_error(CatalogError::Validation(TextError::Empty {
            field: "service name",
        }));
}

#[test]
fn revising_a_service_to_an_overlong_name_is_rejected() {
    Spec::<Catalog>::given([email_defined()])
        .when(CatalogCommand::ReviseService {
            service: service_id("email"),
            name: "x".repeat(MAX_SERVICE_NAME_LEN + 1),
            owner: group("messaging"),
            criticality: Criticality::High,
        })
        .then_error(CatalogError::Validation(TextError::TooLong {
            field: "service name",
            len: MAX_SERVICE_NAME_LEN + 1,
            max: MAX_SERVICE_NAME_LEN,
        }));
}

#[test]
fn retiring_a_service_keeps_it_in_the_catalog_as_retired() {
    let state = Spec::<Catalog>::given([email_defined()])
        .when(retire_email())
        .then([CatalogEvent::ServiceRetired {
            service: service_id("email"),
            reason: "replaced by the new mail platform".to_owned(),
            by: actor(),
            at: now(),
        }]);
    let email = state.service(&service_id("email")).expect("still listed");
    assert_eq!(email.status, ServiceStatus::Retired);
}

#[test]
fn retiring_an_unknown_service_is_rejected() {
    Spec::<Catalog>::new()
        .when(retire_email())
        .then_error(CatalogError::UnknownService {
            service: service_id("email"),
        });
}

#[test]
fn retiring_a_retired_service_is_rejected() {
    Spec::<Catalog>::given([email_defined(), email_retired()])
        .when(retire_email())
        .then_error(CatalogError::ServiceRetired {
            service: service_id("email"),
        });
}

#[test]
fn retiring_a_service_without_a_reason_is_rejected() {
    Spec::<Catalog>::given([email_defined()])
        .when(CatalogCommand::RetireService {
            service: service_id("email"),
            reason: " ".to_owned(),
        })
        .then_error(CatalogError::Validation(TextError::Empty {
            field: "reason",
        }));
}
