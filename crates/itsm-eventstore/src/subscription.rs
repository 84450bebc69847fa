//! `subscribe_all`: catch-up reads from the log, then live envelopes from the writer's
//! broadcast, without gap or duplicate.
//!
//! The receiver is created *before* the first catch-up read. A backend publishes envelopes only
//! after they are readable (committed) and sends every committed batch on the broadcast, so
//! any envelope is either found by a catch-up read or arrives on the receiver; envelopes at
//! positions already delivered are dropped. If the receiver lagged (the bounded broadcast
//! overwrote messages) or a batch does not start where the last delivered one ended, the
//! subscription goes back to catch-up reads from the next undelivered position. So a slow
//! subscriber never stalls the writer and never loses an event.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Weak};

use tokio::sync::broadcast;

use crate::envelope::Envelope;
use crate::error::StoreError;

/// What the writer broadcasts: the envelopes of one committed batch, in position order.
pub(crate) type Published = Arc<[Envelope]>;

/// Envelopes read per catch-up page.
const PAGE: usize = 512;

/// Committed-log reads for catch-up.
pub(crate) trait LogSource: Send + Sync {
    fn read_committed(&self, from_position: u64, limit: usize)
    -> Result<Vec<Envelope>, StoreError>;
}

/// A live feed of every envelope from a position on. Ends with [`StoreError::Closed`] once the
/// store is dropped and everything published before was delivered.
pub struct Subscription {
    source: Weak<dyn LogSource>,
    live: broadcast::Receiver<Published>,
    next_position: u64,
    buffer: VecDeque<Envelope>,
    catching_up: bool,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("next_position", &self.next_position)
            .field("buffered", &self.buffer.len())
            .field("catching_up", &self.catching_up)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// `live` must have been subscribed before this call returns to the caller and before any
    /// catch-up read, which happens lazily in `next`.
    pub(crate) fn new(
        source: Weak<dyn LogSource>,
        live: broadcast::Receiver<Published>,
        from_position: u64,
    ) -> Self {
        Subscription {
            source,
            live,
            next_position: from_position.max(1),
            buffer: VecDeque::new(),
            catching_up: true,
        }
    }

    /// Position of the next envelope this subscription will deliver.
    pub fn next_position(&self) -> u64 {
        self.next_position
    }

    /// The next envelope in position order.
    pub async fn next(&mut self) -> Result<Envelope, StoreError> {
        loop {
            if let Some(env) = self.buffer.pop_front() {
                self.next_position = env.position + 1;
                return Ok(env);
            }
            if self.catching_up {
                let source = self.source.upgrade().ok_or(StoreError::Closed)?;
                let page = source.read_committed(self.next_position, PAGE)?;
                drop(source);
                if page.len() < PAGE {
                    self.catching_up = false;
                }
                self.buffer.extend(page);
                continue;
            }
            match self.live.recv().await {
                Ok(batch) => self.take_live(&batch),
                Err(broadcast::error::RecvError::Lagged(_)) => self.catching_up = true,
                Err(broadcast::error::RecvError::Closed) => return Err(StoreError::Closed),
            }
        }
    }

    fn take_live(&mut self, batch: &[Envelope]) {
        let fresh = batch.iter().skip_while(|e| e.position < self.next_position);
        for (expected, env) in (self.next_position..).zip(fresh) {
            if env.position != expected {
                // Something was committed without reaching us: read it from the log.
                self.buffer.clear();
                self.catching_up = true;
                return;
            }
            self.buffer.push_back(env.clone());
        }
    }
}

/// Convenience for backends: subscribe first, then hand over.
pub(crate) fn subscribe<S: LogSource + 'static>(
    source: &Arc<S>,
    live: &broadcast::Sender<Published>,
    from_position: u64,
) -> Subscription {
    let receiver = live.subscribe();
    let weak: Weak<S> = Arc::downgrade(source);
    Subscription::new(weak, receiver, from_position)
}
