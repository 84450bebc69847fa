//! The contract between a read model and the runner that feeds it.

use itsm_eventstore::Envelope;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::LedgerEvent;

/// A read model: a pure fold of ledger events. No I/O, no clock, no async; `apply` never fails
/// (an event is a fact) and queries take `now` as an argument.
///
/// `Clone + Serialize + DeserializeOwned` so the runner can snapshot it with
/// `itsm_eventstore::codec` and replay a copy for as-of queries.
pub trait Projection:
    Default + Clone + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// Stable name, used in snapshot keys.
    const NAME: &'static str;

    /// Folds one decoded event into the model. `envelope` gives position, actor and time.
    fn apply(&mut self, envelope: &Envelope, event: &LedgerEvent);
}
