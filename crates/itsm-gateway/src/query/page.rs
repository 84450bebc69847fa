//! Paging and point-in-time reading shared by the list queries: page sizes within the limit,
//! opaque position cursors, scans over the audit index, and read models "as of" a position.

use chrono::{DateTime, Utc};
use itsm_eventstore::{Envelope, EventStore};
use itsm_projections::views::AsOf;
use itsm_projections::{AuditFilter, ReadModels};

use crate::error::ApiError;
use crate::state::AppState;

/// Items per page when `first` is not given (capped by the limit).
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// Audit-index positions fetched per round while scanning for matches.
const SCAN_BATCH: usize = 256;

/// The page size `first` asks for: the default when absent, `VALIDATION` when negative,
/// `LIMIT_EXCEEDED` above `max_page_size`.
pub fn page_size(state: &AppState, first: Option<i32>) -> Result<usize, ApiError> {
    let max = state.limits.max_page_size;
    let Some(first) = first else {
        return Ok(DEFAULT_PAGE_SIZE.min(max));
    };
    let first = usize::try_from(first)
        .map_err(|_| ApiError::Validation(format!("first: {first} is negative")))?;
    if first > max {
        return Err(ApiError::LimitExceeded(format!(
            "first: at most {max} items per page, not {first}"
        )));
    }
    Ok(first)
}

/// Parses an opaque position cursor (what `endCursor` returned); absent is "from the start".
pub fn position_cursor(after: Option<&str>) -> Result<u64, ApiError> {
    after.map_or(Ok(0), |text| {
        text.parse()
            .map_err(|_| ApiError::Validation(format!("after: {text:?} is not a cursor")))
    })
}

/// Positions of events of `event_type` after `after`, in ledger order, read one envelope each,
/// keeping what `keep` maps to `Some`, until `first` are kept. The flag says whether more
/// matches follow.
pub async fn scan<T>(
    state: &AppState,
    event_type: &str,
    after: u64,
    first: usize,
    mut keep: impl FnMut(&Envelope) -> Result<Option<T>, ApiError>,
) -> Result<(Vec<(u64, T)>, bool), ApiError> {
    let filter = AuditFilter {
        event_type: Some(event_type.to_owned()),
        ..AuditFilter::default()
    };
    let mut cursor = after;
    let mut kept = Vec::new();
    loop {
        let batch = state
            .runner
            .read(|models| models.audit.audit(&filter, cursor, SCAN_BATCH));
        if batch.is_empty() {
            return Ok((kept, false));
        }
        for position in batch {
            cursor = position;
            let Some(envelope) = state.store.read_all(position, 1).await?.pop() else {
                continue;
            };
            if let Some(item) = keep(&envelope)? {
                if kept.len() == first {
                    return Ok((kept, true));
                }
                kept.push((position, item));
            }
        }
    }
}

/// When `position` was recorded (the epoch for 0).
async fn recorded_at(state: &AppState, position: u64) -> Result<DateTime<Utc>, ApiError> {
    if position == 0 {
        return Ok(DateTime::<Utc>::UNIX_EPOCH);
    }
    Ok(state
        .store
        .read_all(position, 1)
        .await?
        .first()
        .map_or_else(|| state.clock.now(), |e| e.metadata.recorded_at))
}

/// The last position recorded at or before `time` (0 if none), by binary search over the
/// ledger: `recorded_at` grows with the position (the desk's clock stamps appends in order), as
/// the ticket views' `AsOf::Time` assumes too.
async fn last_recorded_by(state: &AppState, time: DateTime<Utc>) -> Result<u64, ApiError> {
    let (mut low, mut high) = (0, state.store.head());
    while low < high {
        let middle = low + (high - low).div_ceil(2);
        if recorded_at(state, middle).await? <= time {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    Ok(low)
}

/// The read models to answer from: the live ones, or a copy rebuilt as of a past position.
pub enum Models {
    Live,
    AsOf {
        models: Box<ReadModels>,
        /// When the position was recorded: "now" for scores and risk at that moment.
        at: DateTime<Utc>,
    },
}

impl Models {
    /// The live models, or the models right after a past position, or as they were at a past
    /// instant (right after the last event recorded at or before it).
    pub async fn get(state: &AppState, as_of: AsOf) -> Result<Self, ApiError> {
        let (position, at) = match as_of {
            AsOf::Now => return Ok(Models::Live),
            AsOf::Position(position) => {
                let position = position.min(state.store.head());
                (position, recorded_at(state, position).await?)
            }
            AsOf::Time(time) => (last_recorded_by(state, time).await?, time),
        };
        let models = state.runner.as_of(position).await?;
        Ok(Models::AsOf {
            models: Box::new(models),
            at,
        })
    }

    /// Runs `query` on the chosen models.
    pub fn read<R>(&self, state: &AppState, query: impl FnOnce(&ReadModels) -> R) -> R {
        match self {
            Models::Live => state.runner.read(query),
            Models::AsOf { models, .. } => query(models),
        }
    }

    /// "Now" for these models: the clock, or the instant the as-of position was recorded.
    pub fn now(&self, state: &AppState) -> DateTime<Utc> {
        match self {
            Models::Live => state.clock.now(),
            Models::AsOf { at, .. } => *at,
        }
    }
}
