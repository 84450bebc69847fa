//! The conformance suite against `SledStore` in a temporary directory.

#[macro_use]
mod conformance;

use itsm_eventstore::{SledConfig, SledStore};

fn sled() -> (SledStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = SledConfig {
        cache_capacity: 16 * 1024 * 1024,
        broadcast_capacity: conformance::SMALL_BROADCAST,
        ..SledConfig::default()
    };
    (SledStore::open(dir.path(), &config).unwrap(), dir)
}

conformance_tests!(sled());
