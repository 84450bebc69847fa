//! `itsm-projections`: the in-memory read models of Ledgerdesk, folded from ledger envelopes.
//!
//! (Crate documentation is being written; see docs/arch-projections.md.)

mod error;
pub mod event;
pub mod models;
pub mod projection;

pub use error::ProjectionError;
pub use event::{LedgerEvent, StreamFamily, StreamKind, decode};
pub use models::ReadModels;
pub use projection::Projection;
