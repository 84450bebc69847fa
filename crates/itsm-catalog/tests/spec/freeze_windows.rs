use itsm_catalog::{
    Catalog, CatalogCommand, CatalogError, CatalogEvent, FreezeScope, MAX_REASON_LEN,
};
use itsm_kernel::{Spec, TextError};

use super::{actor, email_defined, email_retired, hours, manager, name, now, service_id};

fn define_year_end(scope: FreezeScope) -> CatalogCommand {
    CatalogCommand::DefineFreezeWindow {
        window: name("year-end"),
        scope,
        from: now() + hours(24),
        to: now() + hours(72),
        reason: "year-end closing".to_owned(),
    }
}

fn year_end_defined(scope: FreezeScope) -> CatalogEvent {
    CatalogEvent::FreezeWindowDefined {
        window: name("year-end"),
        scope,
        from: now() + hours(24),
        to: now() + hours(72),
        reason: "year-end closing".to_owned(),
        by: manager(),
        at: now() - hours(1),
    }
}

fn cancel_year_end() -> CatalogCommand {
    CatalogCommand::CancelFreezeWindow {
        window: name("year-end"),
        reason: "closing moved to January".to_owned(),
    }
}

#[test]
fn defining_a_global_freeze_window_blocks_every_service() {
    let state = Spec::<Catalog>::new()
        .when(define_year_end(FreezeScope::Global))
        .then([CatalogEvent::FreezeWindowDefined {
            window: name("year-end"),
            scope: FreezeScope::Global,
            from: now() + hours(24),
            to: now() + hours(72),
            reason: "year-end closing".to_owned(),
            by: actor(),
            at: now(),
        }]);
    let hits = state.freeze_windows_overlapping(&service_id("anything"), now(), now() + hours(25));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].name, name("year-end"));
}

#[test]
fn defining_a_service_freeze_window_blocks_only_that_service() {
    let scope = FreezeScope::Service(service_id("email"));
    let state = Spec::<Catalog>::given([email_defined()])
        .when(define_year_end(scope.clone()))
        .then([CatalogEvent::FreezeWindowDefined {
            window: name("year-end"),
            scope,
            from: now() + hours(24),
            to: now() + hours(72),
            reason: "year-end closing".to_owned(),
            by: actor(),
            at: now(),
        }]);
    let window = (now() + hours(30), now() + hours(31));
    let hits = state.freeze_windows_overlapping(&service_id("email"), window.0, window.1);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].scope.service(), Some(&service_id("email")));
    assert!(
        state
            .freeze_windows_overlapping(&service_id("vpn"), window.0, window.1)
            .is_empty()
    );
}

#[test]
fn freeze_windows_are_half_open_intervals() {
    let state = Spec::<Catalog>::new()
        .when(define_year_end(FreezeScope::Global))
        .then([CatalogEvent::FreezeWindowDefined {
            window: name("year-end"),
            scope: FreezeScope::Global,
            from: now() + hours(24),
            to: now() + hours(72),
            reason: "year-end closing".to_owned(),
            by: actor(),
            at: now(),
        }]);
    let email = service_id("email");
    // Ending exactly when the window starts, or starting exactly when it ends, does not overlap.
    assert!(
        state
            .freeze_windows_overlapping(&email, now(), now() + hours(24))
            .is_empty()
    );
    assert!(
        state
            .freeze_windows_overlapping(&email, now() + hours(72), now() + hours(80))
            .is_empty()
    );
    assert_eq!(
        state
            .freeze_windows_overlapping(&email, now() + hours(71), now() + hours(80))
            .len(),
        1
    );
}

#[test]
fn defining_a_freeze_window_that_ends_before_it_starts_is_rejected() {
    Spec::<Catalog>::new()
        .when(CatalogCommand::DefineFreezeWindow {
            window: name("year-end"),
            scope: FreezeScope::Global,
            from: now() + hours(72),
            to: now() + hours(72),
            reason: "year-end closing".to_owned(),
        })
        .then_error(CatalogError::EmptyWindow {
            from: now() + hours(72),
            to: now() + hours(72),
        });
}

#[test]
fn defining_a_freeze_window_in_the_past_is_rejected() {
    Spec::<Catalog>::new()
        .when(CatalogCommand::DefineFreezeWindow {
            window: name("year-end"),
            scope: FreezeScope::Global,
            from: now() - hours(72),
            to: now(),
            reason: "year-end closing".to_owned(),
        })
        .then_error(CatalogError::WindowInPast {
            to: now(),
            now: now(),
        });
}

#[test]
fn defining_a_freeze_window_for_an_unknown_service_is_rejected() {
    Spec::<Catalog>::new()
        .when(define_year_end(FreezeScope::Service(service_id("email"))))
        .then_error(CatalogError::UnknownService {
            service: service_id("email"),
        });
}

#[test]
fn defining_a_freeze_window_for_a_retired_service_is_rejected() {
    Spec::<Catalog>::given([email_defined(), email_retired()])
        .when(define_year_end(FreezeScope::Service(service_id("email"))))
        .then_error(CatalogError::ServiceRetired {
            service: service_id("email"),
        });
}

#[test]
fn defining_a_freeze_window_twice_is_rejected() {
    Spec::<Catalog>::given([year_end_defined(FreezeScope::Global)])
        .when(define_year_end(FreezeScope::Global))
        .then_error(CatalogError::DuplicateFreezeWindow {
            window: name("year-end"),
        });
}

#[test]
fn defining_a_freeze_window_without_a_reason_is_rejected() {
    Spec::<Catalog>::new()
        .when(CatalogCommand::DefineFreezeWindow {
            window: name("year-end"),
            scope: FreezeScope::Global,
            from: now() + hours(24),
            to: now() + hours(72),
            reason: String::new(),
        })
        .then_error(CatalogError::Validation(TextError::Empty {
            field: "reason",
        }));
}

#[test]
fn cancelling_a_freeze_window_lifts_it_but_keeps_it_on_record() {
    let state = Spec::<Catalog>::given([year_end_defined(FreezeScope::Global)])
        .when(cancel_year_end())
        .then([CatalogEvent::FreezeWindowCancelled {
            window: name("year-end"),
            reason: "closing moved to January".to_owned(),
            by: actor(),
            at: now(),
        }]);
    assert!(
        state
            .freeze_windows_overlapping(&service_id("email"), now(), now() + hours(100))
            .is_empty()
    );
    let window = state.freeze_window(&name("year-end")).expect("kept");
    assert_eq!(
        window.cancelled.as_ref().map(|c| c.reason.as_str()),
        Some("closing moved to January")
    );
}

#[test]
fn cancelling_an_unknown_freeze_window_is_rejected() {
    Spec::<Catalog>::new()
        .when(cancel_year_end())
        .then_error(CatalogError::UnknownFreezeWindow {
            window: name("year-end"),
        });
}

#[test]
fn cancelling_a_freeze_window_twice_is_rejected() {
    Spec::<Catalog>::given([
        year_end_defined(FreezeScope::Global),
        CatalogEvent::FreezeWindowCancelled {
            window: name("year-end"),
            reason: "closing moved to January".to_owned(),
            by: manager(),
            at: now() - hours(1),
        },
    ])
    .when(cancel_year_end())
    .then_error(CatalogError::FreezeWindowAlreadyCancelled {
        window: name("year-end"),
    });
}

#[test]
fn cancelling_a_freeze_window_that_has_ended_is_rejected() {
    Spec::<Catalog>::given([year_end_defined(FreezeScope::Global)])
        .at(now() + hours(72))
        .when(cancel_year_end())
        .then_error(CatalogError::FreezeWindowEnded {
            window: name("year-end"),
        });
}

#[test]
fn cancelling_a_freeze_window_with_an_overlong_reason_is_rejected() {
    Spec::<Catalog>::given([year_end_defined(FreezeScope::Global)])
        .when(CatalogCommand::CancelFreezeWindow {
            window: name("year-end"),
            reason: "x".repeat(MAX_REASON_LEN + 1),
        })
        .then_error(CatalogError::Validation(TextError::TooLong {
            field: "reason",
            len: MAX_REASON_LEN + 1,
            max: MAX_REASON_LEN,
        }));
}
