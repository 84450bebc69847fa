//! The checkpointed projection runner: keeps [`ReadModels`] up to date with the ledger.
//!
//! At start it loads the newest snapshot (if any, and if it still decodes with this code) and
//! subscribes to the ledger from the position after it; every envelope is applied in position
//! order, and every `snapshot_every` events the models are encoded
//! ([`ReadModels::encode_snapshot`]) and saved as a new snapshot; while catching up on a long
//! replay, only at roughly doubling positions ([`snapshot_due`]).
//! Queries read the models under a read lock; [`ProjectionRunner::wait_for`] gives
//! read-your-writes (wait, bounded, until a position is applied), and
//! [`ProjectionRunner::as_of`] rebuilds the models as they were at a past position from the
//! newest snapshot at or below it.
//!
//! A snapshot is a cache: one that does not decode (older code, damage) is ignored and the models
//! are rebuilt from the ledger.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use itsm_eventstore::{EventStore, SnapshotStore, StoreError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{Projection, ProjectionError, ReadModels};

/// Events read per page when replaying.
const PAGE: usize = 4_096;

/// How the runner behaves.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Save a snapshot after this many applied events (0: never).
    pub snapshot_every: u64,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            snapshot_every: 50_000,
        }
    }
}

/// Why a runner call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The read models did not reach `wanted` in time.
    #[error("the read models reached position {reached}, not {wanted}, in time")]
    Lagging { wanted: u64, reached: u64 },
    /// The runner stopped (its store closed or it was shut down).
    #[error("the projection runner has stopped at position {reached}")]
    Stopped { reached: u64 },
}

/// What the runner has done, for health checks and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunnerStats {
    /// The position the runner started from (0 = replayed the whole ledger).
    pub started_from_snapshot: u64,
    /// Position of the last snapshot saved by this runner (0 = none yet).
    pub last_snapshot: u64,
    /// Envelopes whose payload did not decode (indexed for the audit, skipped otherwise).
    pub undecodable: u64,
    /// The last such failure, or the last snapshot that could not be saved.
    pub last_problem: Option<String>,
}

struct Shared {
    models: RwLock<ReadModels>,
    stats: Mutex<RunnerStats>,
}

/// Runs the read models beside a store. Dropping it stops the background task.
pub struct ProjectionRunner<S> {
    store: Arc<S>,
    shared: Arc<Shared>,
    position: watch::Receiver<u64>,
    task: Option<JoinHandle<()>>,
}

impl<S> std::fmt::Debug for ProjectionRunner<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectionRunner")
            .field("position", &*self.position.borrow())
            .finish_non_exhaustive()
    }
}

impl<S> Drop for ProjectionRunner<S> {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl<S> ProjectionRunner<S> {
    /// Stops the background task and waits until it has let go of the store (a dropped runner
    /// stops too, but lets go a moment later, which matters before reopening the directory).
    pub async fn stop(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            // An aborted task ends with a cancellation error; that is the expected outcome.
            let _cancelled = task.await;
        }
    }
}

/// The newest snapshot at or below `at_or_below` that decodes, or empty models.
async fn restore<S: SnapshotStore>(
    store: &S,
    at_or_below: u64,
) -> Result<(ReadModels, Option<String>), StoreError> {
    let Some(snapshot) = store.load_snapshot(ReadModels::NAME, at_or_below).await? else {
        return Ok((ReadModels::default(), None));
    };
    match ReadModels::decode_snapshot(&snapshot.bytes) {
        Ok(models) if models.position() == snapshot.position => Ok((models, None)),
        Ok(models) => Ok((
            ReadModels::default(),
            Some(format!(
                "snapshot at {} holds models at {}; rebuilding",
                snapshot.position,
                models.position()
            )),
        )),
        Err(error) => Ok((
            ReadModels::default(),
            Some(format!(
                "snapshot at {} does not decode ({error}); rebuilding",
                snapshot.position
            )),
        )),
    }
}

/// Applies every envelope after `models.position()` up to and including `until`.
async fn replay<S: EventStore>(
    store: &S,
    models: &mut ReadModels,
    until: u64,
) -> Result<Vec<ProjectionError>, StoreError> {
    let mut problems = Vec::new();
    while models.position() < until {
        let want = usize::try_from(until - models.position())
            .unwrap_or(PAGE)
            .min(PAGE);
        let page = store.read_all(models.position() + 1, want).await?;
        if page.is_empty() {
            break;
        }
        for envelope in page.iter().take_while(|e| e.position <= until) {
            if let Err(problem) = models.apply_envelope(envelope) {
                problems.push(problem);
            }
        }
    }
    Ok(problems)
}

/// Folds the whole ledger into fresh read models (what `rebuild` means: replay from 1).
pub async fn rebuild<S: EventStore>(store: &S) -> Result<ReadModels, StoreError> {
    let mut models = ReadModels::default();
    replay(store, &mut models, store.head()).await?;
    Ok(models)
}

impl<S: EventStore + SnapshotStore> ProjectionRunner<S> {
    /// Restores the newest snapshot and starts following the ledger in the background.
    pub async fn start(store: Arc<S>, config: RunnerConfig) -> Result<Self, RunnerError> {
        Self::start_restored(store, config, None).await
    }

    /// [`start`](Self::start) from `restored`, models the caller already decoded from the
    /// store's newest snapshot (`ledgerdesk serve` reads and decodes it while the store opens).
    /// Models beyond the store's head cannot be of this ledger: they are set aside and the
    /// newest snapshot is loaded as [`start`](Self::start) does, as it is without `restored`.
    pub async fn start_restored(
        store: Arc<S>,
        config: RunnerConfig,
        restored: Option<ReadModels>,
    ) -> Result<Self, RunnerError> {
        let (models, problem) = match restored {
            Some(models) if models.position() <= store.head() => (models, None),
            Some(models) => {
                let (fallback, problem) = restore(&*store, u64::MAX).await?;
                let beyond = format!(
                    "restored models at {} are beyond the ledger head {}",
                    models.position(),
                    store.head()
                );
                (
                    fallback,
                    Some(problem.map_or(beyond.clone(), |p| format!("{beyond}; {p}"))),
                )
            }
            None => restore(&*store, u64::MAX).await?,
        };
        let from = models.position();
        let shared = Arc::new(Shared {
            models: RwLock::new(models),
            stats: Mutex::new(RunnerStats {
                started_from_snapshot: from,
                last_problem: problem,
                ..RunnerStats::default()
            }),
        });
        let (tx, rx) = watch::channel(from);
        let task = tokio::spawn(follow(Arc::clone(&store), Arc::clone(&shared), tx, config));
        Ok(Self {
            store,
            shared,
            position: rx,
            task: Some(task),
        })
    }

    /// The last position applied to the read models.
    pub fn position(&self) -> u64 {
        *self.position.borrow()
    }

    pub fn stats(&self) -> RunnerStats {
        self.shared
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs `query` against the current read models.
    pub fn read<R>(&self, query: impl FnOnce(&ReadModels) -> R) -> R {
        let models = self
            .shared
            .models
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        query(&models)
    }

    /// Waits until the read models have applied `position` (read-your-writes), at most
    /// `limit`. Returns the position reached.
    pub async fn wait_for(&self, position: u64, limit: Duration) -> Result<u64, RunnerError> {
        let mut rx = self.position.clone();
        let reached = tokio::time::timeout(limit, rx.wait_for(|p| *p >= position)).await;
        match reached {
            Ok(Ok(p)) => Ok(*p),
            Ok(Err(_closed)) => Err(RunnerError::Stopped {
                reached: self.position(),
            }),
            Err(_elapsed) => Err(RunnerError::Lagging {
                wanted: position,
                reached: self.position(),
            }),
        }
    }

    /// The read models as they were right after `position` was applied: the newest snapshot at
    /// or below it, then the ledger up to it. Positions past the head give the head.
    pub async fn as_of(&self, position: u64) -> Result<ReadModels, RunnerError> {
        let (mut models, _problem) = restore(&*self.store, position).await?;
        replay(&*self.store, &mut models, position.min(self.store.head())).await?;
        Ok(models)
    }
}

/// The background task: apply every envelope from the ledger, snapshot now and then.
async fn follow<S: EventStore + SnapshotStore>(
    store: Arc<S>,
    shared: Arc<Shared>,
    position: watch::Sender<u64>,
    config: RunnerConfig,
) {
    let from = *position.borrow() + 1;
    let mut subscription = store.subscribe_all(from);
    let mut since_snapshot = 0_u64;
    while let Ok(envelope) = subscription.next().await {
        let applied = {
            let mut models = shared
                .models
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            let outcome = models.apply_envelope(&envelope);
            (models.position(), outcome)
        };
        if let (_, Err(problem)) = &applied {
            let mut stats = shared.stats.lock().unwrap_or_else(PoisonError::into_inner);
            stats.undecodable += 1;
            stats.last_problem = Some(problem.to_string());
        }
        since_snapshot += 1;
        if snapshot_due(
            config.snapshot_every,
            since_snapshot,
            applied.0,
            store.head(),
        ) {
            since_snapshot = 0;
            save_snapshot(&*store, &shared).await;
        }
        position.send_replace(applied.0);
    }
}

/// Whether to save a snapshot now: `every` events after the last one, once the models have
/// caught up with the ledger's head. While catching up (a long replay), only when the events
/// since the last snapshot are at least half the position: snapshots at roughly doubling
/// positions, so a replay of n events encodes about 2n worth of models instead of one full
/// snapshot every `every` events (quadratic: at 10 million events, hundreds of snapshots of
/// hundreds of megabytes each).
pub(crate) fn snapshot_due(every: u64, since: u64, position: u64, head: u64) -> bool {
    every > 0 && since >= every && (position >= head || since >= position / 2)
}

async fn save_snapshot<S: SnapshotStore>(store: &S, shared: &Shared) {
    let encoded = {
        let models = shared.models.read().unwrap_or_else(PoisonError::into_inner);
        models
            .encode_snapshot()
            .map(|bytes| (models.position(), bytes))
    };
    let outcome = match encoded {
        Ok((at, bytes)) => store
            .save_snapshot(ReadModels::NAME, at, bytes)
            .await
            .map(|()| at)
            .map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    let mut stats = shared.stats.lock().unwrap_or_else(PoisonError::into_inner);
    match outcome {
        Ok(at) => stats.last_snapshot = at,
        Err(problem) => stats.last_problem = Some(format!("snapshot not saved: {problem}")),
    }
}

#[cfg(test)]
mod tests {
    use super::snapshot_due;

    #[test]
    fn live_runners_snapshot_every_n_events_and_replays_at_doubling_positions() {
        // Live (at the head): every `every` events.
        assert!(!snapshot_due(100, 99, 1_000, 1_000));
        assert!(snapshot_due(100, 100, 1_000, 1_000));
        assert!(
            !snapshot_due(0, 1_000_000, 1_000, 1_000),
            "0 turns snapshots off"
        );
        // Catching up on 1 000 000 events: not every 100, only once the gap is half the
        // position, and at the end of the catch-up.
        assert!(!snapshot_due(100, 100, 10_000, 1_000_000));
        assert!(snapshot_due(100, 5_000, 10_000, 1_000_000));
        assert!(snapshot_due(100, 200, 200, 1_000_000));
        let mut saved = Vec::new();
        let mut since = 0;
        for position in 1..=1_000_000_u64 {
            since += 1;
            if snapshot_due(100, since, position, 1_000_000) {
                saved.push(position);
                since = 0;
            }
        }
        assert_eq!(
            saved.last(),
            Some(&1_000_000),
            "one at the end of the catch-up"
        );
        assert!(saved.len() <= 16, "a handful, not 10 000: {saved:?}");
    }
}
