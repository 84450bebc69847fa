//! One mutation per domain command, named like the command (`logIncident`), with a single
//! `input` argument and a payload holding the resulting view and the ledger `position`.

mod access;
mod catalog;
mod change;
mod incident;
mod problem;

pub use access::AccessMutations;
pub use catalog::CatalogMutations;
pub use change::ChangeMutations;
pub use incident::IncidentMutations;
pub use problem::ProblemMutations;
