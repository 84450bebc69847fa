//! A million incidents: the large-ledger figures.
//!
//! - [`generate`]: `genledger`'s engine, a realistic ledger written by the real desk (the
//!   deciders through `itsm_app::Desk` on a manual clock, many incident streams at once through
//!   the store's group commit).
//! - [`bench`]: `scalebench`'s figures on such a ledger: `rebuild_all` (every projection
//!   rebuilt from the ledger, against `read_all` of the same ledger) and `startup_snapshot`
//!   (the real `ledgerdesk serve` from start to ready, with and without a usable snapshot).

pub mod bench;
pub mod generate;

use std::path::Path;

use itsm_app::DeskError;
use itsm_eventstore::StoreError;

/// Why a scale run failed.
#[derive(Debug)]
pub enum ScaleError {
    Store(StoreError),
    Desk(DeskError),
    Io(std::io::Error),
    /// The plan or a step of the run could not be carried out.
    Plan(String),
    /// The served process misbehaved (did not start, exited, never got ready).
    Serve(String),
}

impl std::fmt::Display for ScaleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScaleError::Store(e) => write!(f, "store: {e}"),
            ScaleError::Desk(e) => write!(f, "desk: {e}"),
            ScaleError::Io(e) => write!(f, "i/o: {e}"),
            ScaleError::Plan(e) => write!(f, "plan: {e}"),
            ScaleError::Serve(e) => write!(f, "serve: {e}"),
        }
    }
}

impl std::error::Error for ScaleError {}

impl From<StoreError> for ScaleError {
    fn from(e: StoreError) -> Self {
        ScaleError::Store(e)
    }
}

impl From<DeskError> for ScaleError {
    fn from(e: DeskError) -> Self {
        ScaleError::Desk(e)
    }
}

impl From<std::io::Error> for ScaleError {
    fn from(e: std::io::Error) -> Self {
        ScaleError::Io(e)
    }
}

/// `SplitMix64`: a tiny fixed-seed generator, so the same options give the same ledger.
#[derive(Debug, Clone)]
pub struct Dice(pub u64);

impl Dice {
    pub fn roll(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.roll() % n.max(1)
    }

    pub fn index(&mut self, n: usize) -> usize {
        usize::try_from(self.below(n as u64)).unwrap_or(0)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Bytes of all files under `dir` (what the ledger takes on disk).
pub fn bytes_on_disk(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            bytes_on_disk(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
