//! Ports: where the shell gets time and new ids. Production uses the system clock and `UUIDv7`;
//! tests use a [`ManualClock`] they move by hand.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;
use uuid::Uuid;

/// A future borrowed from a port (ports are used as `Arc<dyn ..>`, so no `async fn`).
pub type PortFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The current time, as the shell sees it, and a way to wait for a moment of it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Resolves once [`Clock::now`] has reached `deadline`. The default sleeps on the tokio
    /// timer and checks again on waking (the wall clock may have been moved meanwhile); a manual
    /// clock wakes its waiters when a test moves it.
    fn sleep_until(&self, deadline: DateTime<Utc>) -> PortFuture<'_, ()> {
        Box::pin(async move {
            loop {
                let now = self.now();
                if now >= deadline {
                    return;
                }
                let wait = (deadline - now)
                    .to_std()
                    .unwrap_or(std::time::Duration::ZERO);
                tokio::time::sleep(wait).await;
            }
        })
    }
}

/// Fresh, unique ids for commands and correlations.
pub trait IdSource: Send + Sync {
    fn new_id(&self) -> Uuid;
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until a test moves it. Moving it wakes every
/// [`Clock::sleep_until`] whose deadline it reached, so tests never sleep for real.
#[derive(Debug)]
pub struct ManualClock {
    now: watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: watch::Sender::new(start),
        }
    }

    pub fn set(&self, to: DateTime<Utc>) {
        self.now.send_replace(to);
    }

    pub fn advance(&self, by: TimeDelta) {
        self.now.send_modify(|now| *now += by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> PortFuture<'_, ()> {
        let mut moves = self.now.subscribe();
        Box::pin(async move {
            // The sender lives as long as `self`, which this future borrows: it cannot close.
            let _ = moves.wait_for(|now| *now >= deadline).await;
        })
    }
}

/// Time-ordered `UUIDv7` ids, so command ids sort by when they were made.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidV7Ids;

impl IdSource for UuidV7Ids {
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// A deterministic id derived from `facts` (BLAKE3, first 16 bytes, as a version 8 UUID): the
/// same facts always give the same id, so a process manager that re-sends a command after a
/// restart reuses the command id and the store writes nothing twice.
pub fn derived_id(facts: &str) -> Uuid {
    let hash = blake3::hash(facts.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash.as_bytes()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn derived_ids_are_stable_valid_uuids() {
        let a = derived_id("sla-breach|incident-42|resolution|2026-01-05T10:30:00Z");
        let b = derived_id("sla-breach|incident-42|resolution|2026-01-05T10:30:00Z");
        let c = derived_id("sla-breach|incident-43|resolution|2026-01-05T10:30:00Z");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.get_version_num(), 8);
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
    }

    #[tokio::test]
    async fn a_manual_clock_wakes_sleepers_when_moved_past_their_deadline() {
        let start = Utc
            .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
            .single()
            .expect("valid");
        let clock = std::sync::Arc::new(ManualClock::new(start));
        let deadline = start + TimeDelta::hours(1);
        let sleeper = {
            let clock = std::sync::Arc::clone(&clock);
            tokio::spawn(async move {
                clock.sleep_until(deadline).await;
                clock.now()
            })
        };
        clock.advance(TimeDelta::minutes(30));
        clock.advance(TimeDelta::minutes(45));
        let woke_at = sleeper.await.expect("sleeper ran");
        assert!(woke_at >= deadline);
    }
}
