//! A bounded, least-recently-used cache of folded aggregate states, keyed by stream.
//!
//! An entry is `(version, state)` where `state` is the fold of the stream's events `1..=version`,
//! so a reader only needs the tail `read_stream(stream, version + 1)` to be current. An entry is
//! never wrong, only possibly behind: any writer (this bus, another bus, another process) just
//! makes the tail longer. States of different aggregates share the cache, type-erased and tagged
//! with the decider's name.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use itsm_eventstore::StreamId;

/// Default number of streams whose state is kept.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

struct Slot {
    decider: &'static str,
    version: u64,
    state: Arc<dyn Any + Send + Sync>,
    used: u64,
}

#[derive(Default)]
struct Lru {
    slots: HashMap<StreamId, Slot>,
    /// `used` tick -> stream, oldest first.
    order: BTreeMap<u64, StreamId>,
    tick: u64,
}

pub(crate) struct StateCache {
    capacity: usize,
    lru: Mutex<Lru>,
}

impl StateCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            lru: Mutex::default(),
        }
    }

    fn lru(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.lru.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the cached state of `stream`, if it was cached by `decider` with type `T`.
    pub(crate) fn get<T: Clone + 'static>(
        &self,
        decider: &'static str,
        stream: &StreamId,
    ) -> Option<(u64, T)> {
        let mut lru = self.lru();
        let lru = &mut *lru;
        let slot = lru.slots.get_mut(stream)?;
        if slot.decider != decider {
            return None;
        }
        let state = slot.state.downcast_ref::<T>()?.clone();
        lru.tick += 1;
        lru.order.remove(&slot.used);
        slot.used = lru.tick;
        lru.order.insert(slot.used, stream.clone());
        Some((slot.version, state))
    }

    /// Takes the entry out (no copy); the caller puts the newer state back with [`Self::put`].
    pub(crate) fn take<T: Clone + Send + Sync + 'static>(
        &self,
        decider: &'static str,
        stream: &StreamId,
    ) -> Option<(u64, T)> {
        let mut lru = self.lru();
        let slot = lru.slots.remove(stream)?;
        lru.order.remove(&slot.used);
        if slot.decider != decider {
            return None;
        }
        let version = slot.version;
        let state = slot.state.downcast::<T>().ok()?;
        // Nobody else holds the Arc once it left the map, except a concurrent `get` copying it.
        let state = Arc::try_unwrap(state).unwrap_or_else(|shared| (*shared).clone());
        Some((version, state))
    }

    /// Stores `state` as the fold of `stream` up to `version`, unless a newer one is cached.
    pub(crate) fn put<T: Send + Sync + 'static>(
        &self,
        decider: &'static str,
        stream: &StreamId,
        version: u64,
        state: T,
    ) {
        if self.capacity == 0 {
            return;
        }
        let state: Arc<dyn Any + Send + Sync> = Arc::new(state);
        // Dropped after the lock is released: an evicted incident's state (clocks with their
        // calendars) takes a while to free, and every command waits for this lock.
        let mut dropped = Vec::new();
        {
            let mut lru = self.lru();
            let lru = &mut *lru;
            if let Some(existing) = lru.slots.get(stream) {
                // `state` is dropped after the guard (declared before it).
                if existing.decider == decider && existing.version > version {
                    return;
                }
                lru.order.remove(&existing.used);
            }
            lru.tick += 1;
            let used = lru.tick;
            lru.order.insert(used, stream.clone());
            let slot = Slot {
                decider,
                version,
                state,
                used,
            };
            dropped.extend(lru.slots.insert(stream.clone(), slot));
            while lru.slots.len() > self.capacity {
                let Some((_, oldest)) = lru.order.pop_first() else {
                    break;
                };
                dropped.extend(lru.slots.remove(&oldest));
            }
        }
        drop(dropped);
    }

    pub(crate) fn remove(&self, stream: &StreamId) {
        let mut lru = self.lru();
        if let Some(slot) = lru.slots.remove(stream) {
            lru.order.remove(&slot.used);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lru().slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(name: &str) -> StreamId {
        StreamId::new(name).expect("valid")
    }

    #[test]
    fn the_least_recently_used_stream_is_evicted_first() {
        let cache = StateCache::new(2);
        cache.put("t", &stream("a"), 1, 10_u32);
        cache.put("t", &stream("b"), 1, 20_u32);
        assert_eq!(cache.get::<u32>("t", &stream("a")), Some((1, 10)));
        cache.put("t", &stream("c"), 1, 30_u32);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get::<u32>("t", &stream("b")), None);
        assert_eq!(cache.get::<u32>("t", &stream("a")), Some((1, 10)));
        assert_eq!(cache.get::<u32>("t", &stream("c")), Some((1, 30)));
    }

    #[test]
    fn an_older_state_never_replaces_a_newer_one() {
        let cache = StateCache::new(4);
        cache.put("t", &stream("a"), 5, 50_u32);
        cache.put("t", &stream("a"), 3, 30_u32);
        assert_eq!(cache.get::<u32>("t", &stream("a")), Some((5, 50)));
    }

    #[test]
    fn another_decider_or_type_misses() {
        let cache = StateCache::new(4);
        cache.put("t", &stream("a"), 1, 1_u32);
        assert_eq!(cache.get::<u32>("other", &stream("a")), None);
        assert_eq!(cache.get::<u64>("t", &stream("a")), None);
        assert_eq!(cache.take::<u32>("t", &stream("a")), Some((1, 1)));
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn capacity_zero_caches_nothing() {
        let cache = StateCache::new(0);
        cache.put("t", &stream("a"), 1, 1_u32);
        assert_eq!(cache.get::<u32>("t", &stream("a")), None);
    }
}
