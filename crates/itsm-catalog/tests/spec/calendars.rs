use itsm_catalog::{Catalog, CatalogCommand, CatalogError, CatalogEvent};
use itsm_kernel::Spec;

use super::{actor, name, now, office_defined, office_hours, office_hours_with_holiday};

#[test]
fn defining_a_calendar_records_revision_one() {
    let state = Spec::<Catalog>::new()
        .when(CatalogCommand::DefineCalendar {
            name: name("office"),
            calendar: office_hours(),
        })
        .then([CatalogEvent::CalendarDefined {
            name: name("office"),
            calendar: office_hours(),
            by: actor(),
            at: now(),
        }]);
    let office = state.calendar(&name("office")).expect("defined");
    assert_eq!(office.current.revision, 1);
    assert_eq!(office.current.calendar, office_hours());
    assert_eq!(state.calendars().count(), 1);
}

#[test]
fn defining_a_calendar_twice_is_rejected() {
    Spec::<Catalog>::given([office_defined()])
        .when(CatalogCommand::DefineCalendar {
            name: name("office"),
            calendar: office_hours_with_holiday(),
        })
        .then_error(CatalogError::DuplicateCalendar {
            calendar: name("office"),
        });
}

#[test]
fn revising_a_calendar_adds_a_revision_and_keeps_the_earlier_one() {
    let state = Spec::<Catalog>::given([office_defined()])
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
    let office = state.calendar(&name("office")).expect("defined");
    assert_eq!(office.current.revision, 2);
    assert_eq!(office.current.calendar, office_hours_with_holiday());
    let revisions: Vec<u32> = office.revisions().map(|r| r.revision).collect();
    assert_eq!(revisions, vec![1, 2]);
    assert_eq!(
        office
            .as_of(now() - chrono::Duration::seconds(1))
            .map(|r| r.revision),
        Some(1)
    );
}

#[test]
fn revising_an_unknown_calendar_is_rejected() {
    Spec::<Catalog>::new()
        .when(CatalogCommand::ReviseCalendar {
            name: name("office"),
            calendar: office_hours(),
        })
        .then_error(CatalogError::UnknownCalendar {
            calendar: name("office"),
        });
}

#[test]
fn revising_a_calendar_without_changing_it_is_rejected() {
    Spec::<Catalog>::given([office_defined()])
        .when(CatalogCommand::ReviseCalendar {
            name: name("office"),
            calendar: office_hours(),
        })
        .then_error(CatalogError::Unchanged { what: "calendar" });
}
