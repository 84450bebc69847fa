//! Given / when / then specs of every catalog command: its success path and each way it can be
//! rejected.

mod freeze_windows;
mod services;

use chrono::{DateTime, Duration, TimeZone, Utc};
use itsm_catalog::{CatalogEvent, Criticality};
use itsm_kernel::spec::{default_actor, default_now};
use itsm_kernel::{Actor, GroupId, Name, Role, ServiceId, UserId};

fn service_id(text: &str) -> ServiceId {
    ServiceId::new(text).expect("valid service id")
}

fn group(text: &str) -> GroupId {
    GroupId::new(text).expect("valid group id")
}

fn name(text: &str) -> Name {
    Name::new(text).expect("valid name")
}

fn now() -> DateTime<Utc> {
    default_now()
}

fn actor() -> Actor {
    default_actor()
}

fn manager() -> Actor {
    Actor::user(
        UserId::new("maria.manager").expect("valid id"),
        Role::ServiceManager,
    )
}

/// An earlier moment, when the history of a spec was recorded.
fn earlier() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 12, 1, 8, 0, 0)
        .single()
        .expect("valid date")
}

fn hours(n: i64) -> Duration {
    Duration::hours(n)
}

/// `email`, owned by `messaging`, defined earlier by the service manager.
fn email_defined() -> CatalogEvent {
    CatalogEvent::ServiceDefined {
        service: service_id("email"),
        name: "Corporate e-mail".to_owned(),
        owner: group("messaging"),
        criticality: Criticality::High,
        by: manager(),
        at: earlier(),
    }
}

fn email_retired() -> CatalogEvent {
    CatalogEvent::ServiceRetired {
        service: service_id("email"),
        reason: "replaced by the new mail platform".to_owned(),
        by: manager(),
        at: earlier(),
    }
}
