//! Other scheduled changes of a service, for the change aggregate's collision check.

use itsm_change::{Change, ScheduledChange, Status};
use itsm_eventstore::EventStore;
use itsm_kernel::{ChangeKey, ServiceId};

use crate::desk::DeskError;
use crate::port::PortFuture;
use crate::{CommandBus, stream};

/// Answers "which changes are scheduled on this service?". The server answers from the change
/// calendar read model; [`StreamChangeLookup`] folds the change streams (tests, small ledgers).
pub trait ChangeLookup: Send + Sync {
    /// Every change of `service` that is scheduled now (status `Scheduled`), with its slot.
    fn scheduled_on<'a>(
        &'a self,
        service: &'a ServiceId,
    ) -> PortFuture<'a, Result<Vec<ScheduledChange>, DeskError>>;
}

/// Folds `change-1`, `change-2`, ... until the first stream that does not exist (numbers are
/// handed out densely from 1). Linear in the number of changes: for tests and small ledgers.
pub struct StreamChangeLookup<S> {
    bus: CommandBus<S>,
}

impl<S> StreamChangeLookup<S> {
    pub fn new(bus: CommandBus<S>) -> Self {
        Self { bus }
    }
}

impl<S: EventStore> ChangeLookup for StreamChangeLookup<S> {
    fn scheduled_on<'a>(
        &'a self,
        service: &'a ServiceId,
    ) -> PortFuture<'a, Result<Vec<ScheduledChange>, DeskError>> {
        Box::pin(async move {
            let mut scheduled = Vec::new();
            for number in 1.. {
                let key = ChangeKey::new(number);
                let loaded = self.bus.load::<Change>(&stream::change(key)).await?;
                let Some(record) = loaded.state.record() else {
                    break;
                };
                if &record.service == service
                    && record.status == Status::Scheduled
                    && let Some(slot) = record.slot
                {
                    scheduled.push(ScheduledChange {
                        key,
                        service: service.clone(),
                        from: slot.from,
                        to: slot.to,
                    });
                }
            }
            Ok(scheduled)
        })
    }
}
