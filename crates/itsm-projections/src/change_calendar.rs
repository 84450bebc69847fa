//! The change calendar: every change with its slot, the freeze windows (cancelled ones kept and
//! marked), and collisions (overlapping slots of live changes on the same service).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use itsm_catalog::CatalogEvent;
use itsm_change::{ChangeEvent, ChangeType, Risk, ScheduledChange, Status, overlaps};
use itsm_eventstore::Envelope;
use itsm_kernel::{ChangeKey, Name, ServiceId};
use serde::{Deserialize, Serialize};

use crate::{LedgerEvent, Projection};

/// One change as the calendar shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarChange {
    pub key: ChangeKey,
    pub title: String,
    pub service: ServiceId,
    pub change_type: ChangeType,
    pub risk: Risk,
    pub status: Status,
    /// `[from, to)` once scheduled.
    pub slot: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl CalendarChange {
    /// Scheduled or being implemented: its slot blocks the calendar.
    pub fn is_live(&self) -> bool {
        matches!(self.status, Status::Scheduled | Status::Implementing) && self.slot.is_some()
    }
}

/// A freeze window from the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarFreeze {
    pub name: Name,
    /// `None` freezes every service.
    pub service: Option<ServiceId>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub reason: String,
    pub cancelled: bool,
}

/// Two live changes whose slots overlap on one service (`first < second`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    pub service: ServiceId,
    pub first: ChangeKey,
    pub second: ChangeKey,
}

/// What lies in a time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarRange {
    /// Changes whose slot overlaps the range, by start time.
    pub changes: Vec<CalendarChange>,
    /// Freeze windows overlapping the range, cancelled ones included.
    pub freezes: Vec<CalendarFreeze>,
    /// Collisions among the live changes in the range.
    pub collisions: Vec<Collision>,
}

/// The change calendar read model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCalendar {
    changes: BTreeMap<ChangeKey, CalendarChange>,
    freezes: BTreeMap<Name, CalendarFreeze>,
}

impl ChangeCalendar {
    /// Heap bytes held, estimated from struct sizes and string lengths (B-tree nodes counted as
    /// 2/3 full).
    pub fn approximate_heap_bytes(&self) -> usize {
        let change = (8 + std::mem::size_of::<CalendarChange>()) * 3 / 2;
        let freeze = (std::mem::size_of::<Name>() + std::mem::size_of::<CalendarFreeze>()) * 3 / 2;
        self.changes
            .values()
            .map(|c| change + c.title.len() + c.service.as_str().len())
            .sum::<usize>()
            + self
                .freezes
                .values()
                .map(|f| freeze + 2 * f.name.as_str().len() + f.reason.len())
                .sum::<usize>()
    }

    pub fn change(&self, key: ChangeKey) -> Option<&CalendarChange> {
        self.changes.get(&key)
    }

    pub fn freeze_windows(&self) -> impl Iterator<Item = &CalendarFreeze> {
        self.freezes.values()
    }

    /// Active (not cancelled) freeze windows as the change aggregate's commands take them.
    pub fn active_freeze_windows(&self) -> Vec<itsm_change::FreezeWindow> {
        self.freezes
            .values()
            .filter(|freeze| !freeze.cancelled)
            .map(|freeze| itsm_change::FreezeWindow {
                name: freeze.name.clone(),
                service: freeze.service.clone(),
                from: freeze.from,
                to: freeze.to,
            })
            .collect()
    }

    /// Live changes on `service`, as `other_changes` of a Schedule command.
    pub fn scheduled_on(&self, service: &ServiceId) -> Vec<ScheduledChange> {
        self.changes
            .values()
            .filter(|change| change.is_live() && &change.service == service)
            .filter_map(|change| {
                let (from, to) = change.slot?;
                Some(ScheduledChange {
                    key: change.key,
                    service: change.service.clone(),
                    from,
                    to,
                })
            })
            .collect()
    }

    /// Changes, freezes and collisions overlapping `[from, to)`.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> CalendarRange {
        let mut changes: Vec<CalendarChange> = self
            .changes
            .values()
            .filter(|change| {
                change
                    .slot
                    .is_some_and(|(start, end)| overlaps(start, end, from, to))
            })
            .cloned()
            .collect();
        changes.sort_by_key(|change| (change.slot.map(|slot| slot.0), change.key));
        let freezes = self
            .freezes
            .values()
            .filter(|freeze| overlaps(freeze.from, freeze.to, from, to))
            .cloned()
            .collect();
        let live: Vec<&CalendarChange> = changes.iter().filter(|c| c.is_live()).collect();
        let collisions = collisions_among(&live);
        CalendarRange {
            changes,
            freezes,
            collisions,
        }
    }

    /// Every collision among live changes.
    pub fn collisions(&self) -> Vec<Collision> {
        let live: Vec<&CalendarChange> = self.changes.values().filter(|c| c.is_live()).collect();
        collisions_among(&live)
    }

    fn apply_change(&mut self, key: ChangeKey, event: &ChangeEvent) {
        use ChangeEvent as E;
        if let E::Raised {
            change_type,
            title,
            service,
            risk,
            ..
        } = event
        {
            self.changes.insert(
                key,
                CalendarChange {
                    key,
                    title: title.clone(),
                    service: service.clone(),
                    change_type: change_type.clone(),
                    risk: *risk,
                    status: Status::Draft,
                    slot: None,
                },
            );
            return;
        }
        let Some(change) = self.changes.get_mut(&key) else {
            return;
        };
        match event {
            E::Raised { .. } | E::ApprovalRecorded { .. } => {}
            E::Submitted { .. } => change.status = Status::Submitted,
            E::Assessed { risk, .. } => {
                change.risk = *risk;
                change.status = Status::Assessed;
            }
            E::Authorized { .. } => change.status = Status::Authorized,
            E::Rejected { .. } => change.status = Status::Rejected,
            E::Scheduled {
                service, from, to, ..
            }
            | E::Rescheduled {
                service, from, to, ..
            } => {
                change.service = service.clone();
                change.slot = Some((*from, *to));
                change.status = Status::Scheduled;
            }
            E::ImplementationStarted { .. } => change.status = Status::Implementing,
            E::Implemented { .. } => change.status = Status::Implemented,
            E::Failed { .. } => change.status = Status::Failed,
            E::Reviewed { .. } => change.status = Status::Reviewed,
            E::Closed { .. } => change.status = Status::Closed,
            E::Cancelled { .. } => change.status = Status::Cancelled,
        }
    }

    fn apply_catalog(&mut self, event: &CatalogEvent) {
        match event {
            CatalogEvent::FreezeWindowDefined {
                window,
                scope,
                from,
                to,
                reason,
                ..
            } => {
                self.freezes.insert(
                    window.clone(),
                    CalendarFreeze {
                        name: window.clone(),
                        service: scope.service().cloned(),
                        from: *from,
                        to: *to,
                        reason: reason.clone(),
                        cancelled: false,
                    },
                );
            }
            CatalogEvent::FreezeWindowCancelled { window, .. } => {
                if let Some(freeze) = self.freezes.get_mut(window) {
                    freeze.cancelled = true;
                }
            }
            CatalogEvent::ServiceDefined { .. }
            | CatalogEvent::ServiceRevised { .. }
            | CatalogEvent::ServiceRetired { .. }
            | CatalogEvent::CalendarDefined { .. }
            | CatalogEvent::CalendarRevised { .. }
            | CatalogEvent::SlaPolicyDefined { .. }
            | CatalogEvent::SlaPolicyRevised { .. } => {}
        }
    }
}

fn collisions_among(live: &[&CalendarChange]) -> Vec<Collision> {
    let mut out = Vec::new();
    for (i, a) in live.iter().enumerate() {
        for b in &live[i + 1..] {
            let (Some((a_from, a_to)), Some((b_from, b_to))) = (a.slot, b.slot) else {
                continue;
            };
            if a.service == b.service && overlaps(a_from, a_to, b_from, b_to) {
                let (first, second) = if a.key < b.key {
                    (a.key, b.key)
                } else {
                    (b.key, a.key)
                };
                out.push(Collision {
                    service: a.service.clone(),
                    first,
                    second,
                });
            }
        }
    }
    out.sort_by_key(|c| (c.first, c.second));
    out
}

impl Projection for ChangeCalendar {
    const NAME: &'static str = "change-calendar";

    fn apply(&mut self, _envelope: &Envelope, event: &LedgerEvent) {
        match event {
            LedgerEvent::Change(key, event) => self.apply_change(*key, event),
            LedgerEvent::Catalog(event) => self.apply_catalog(event),
            LedgerEvent::Incident(..) | LedgerEvent::Problem(..) => {}
        }
    }
}
