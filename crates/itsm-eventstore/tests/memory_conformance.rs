//! The conformance suite against `MemoryStore`.

#[macro_use]
mod conformance;

use itsm_eventstore::MemoryStore;

fn memory() -> (MemoryStore, ()) {
    (
        MemoryStore::with_broadcast_capacity(conformance::SMALL_BROADCAST),
        (),
    )
}

conformance_tests!(memory());
