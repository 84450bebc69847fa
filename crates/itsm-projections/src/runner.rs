//! The checkpointed projection runner: keeps [`ReadModels`] up to date with the ledger.
//!
//! At start it loads the newest snapshot (if any, and if it still decodes with this code) and
//! subscribes to the ledger from the position after it; every envelope is applied in position
//! order, and every `snapshot_every` events the models are encoded
//! ([`ReadModels::encode_snapshot`]) and saved as a new snapshot; while catching up on a long
//! replay, only at roughly doubling positions, and live no more often than twenty times a save's
//! cost ([`SnapshotPace`]).
//! Queries read the models under a read lock; [`ProjectionRunner::wait_for`] gives
//! read-your-writes (wait, bounded, until a position is applied), and
//! [`ProjectionRunner::as_of`] rebuilds the models as they were at a past position from the
//! newest snapshot at or below it.
//!
//! A snapshot is a cache: one that does not decode (older code, damage) is ignored and the models
//! are rebuilt from the ledger.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

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
    /// Live, a snapshot also waits this many times the last one's cost after it (0: by count
    /// alone); see [`SnapshotPace`].
    pub snapshot_cost_factor: u32,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            snapshot_every: 50_000,
            snapshot_cost_factor: SnapshotPace::COST_FACTOR,
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
    let mut pace = SnapshotPace::new(config.snapshot_every, config.snapshot_cost_factor);
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
        pace.applied();
        if pace.due(applied.0, store.head(), Instant::now()) {
            let started = Instant::now();
            save_snapshot(&*store, &shared).await;
            pace.saved(started, Instant::now());
        }
        position.send_replace(applied.0);
    }
}

/// When a follower of the ledger (this runner, a process manager) saves its state.
///
/// - `every` applied events after the last save (0: never by count).
/// - While catching up on a long replay, only once the events since the last save are at least
///   half the position: saves at roughly doubling positions, so a replay of n events encodes
///   about 2n worth of state instead of one full save every `every` events (quadratic: at 10
///   million events, hundreds of snapshots of hundreds of megabytes each).
/// - Live (at the head), also no sooner than a factor ([`SnapshotPace::COST_FACTOR`] by default)
///   times the last save's cost after it ended, so saving takes at most about a twentieth of the time. At 1M incidents
///   a read-model snapshot costs 1.5-2 s and 50 000 events arrive in about 3.5 s under load:
///   saving by count alone encoded a 148 MB snapshot every 3.5 s.
#[derive(Debug, Clone)]
pub struct SnapshotPace {
    every: u64,
    cost_factor: u32,
    since: u64,
    last: Option<(Instant, Duration)>,
}

impl SnapshotPace {
    /// The default wait of a live save, in multiples of the last save's cost.
    pub const COST_FACTOR: u32 = 20;

    /// Saves every `every` events, live no sooner than `cost_factor` times the last save's cost
    /// after it (0: by count alone).
    pub fn new(every: u64, cost_factor: u32) -> Self {
        SnapshotPace {
            every,
            cost_factor,
            since: 0,
            last: None,
        }
    }

    /// One more event applied.
    pub fn applied(&mut self) {
        self.since += 1;
    }

    /// Whether to save now, at `position` with the ledger's head at `head`.
    pub fn due(&self, position: u64, head: u64, now: Instant) -> bool {
        if self.every == 0 || self.since < self.every {
            return false;
        }
        if position < head {
            return self.since >= position / 2;
        }
        self.last.is_none_or(|(ended, cost)| {
            now.saturating_duration_since(ended) >= cost * self.cost_factor
        })
    }

    /// A save (or an attempt) that started at `started` ended at `ended`.
    pub fn saved(&mut self, started: Instant, ended: Instant) {
        self.since = 0;
        self.last = Some((ended, ended.saturating_duration_since(started)));
    }
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
    use std::time::{Duration, Instant};

    use super::SnapshotPace;

    /// The positions from 1 to `last` at which a follower saves, with `gap` between two events
    /// and each save costing `cost`; `head` is the ledger's head (`None`: each event is the head,
    /// a live follower).
    fn saves(every: u64, last: u64, head: Option<u64>, gap: Duration, cost: Duration) -> Vec<u64> {
        let mut pace = SnapshotPace::new(every, SnapshotPace::COST_FACTOR);
        let mut now = Instant::now();
        let mut saved = Vec::new();
        for position in 1..=last {
            pace.applied();
            now += gap;
            if pace.due(position, head.unwrap_or(position), now) {
                saved.push(position);
                let started = now;
                now += cost;
                pace.saved(started, now);
            }
        }
        saved
    }

    #[test]
    fn live_followers_save_every_n_events_and_replays_at_doubling_positions() {
        let instant = Duration::ZERO;
        assert_eq!(
            saves(100, 1_000, None, instant, instant),
            (1..=10).map(|n| n * 100).collect::<Vec<_>>()
        );
        assert!(
            saves(0, 1_000, None, instant, instant).is_empty(),
            "0 turns saves off"
        );
        // Catching up on 1 000 000 events: not every 100, only once the gap is half the
        // position, and at the end of the catch-up.
        let replay = saves(100, 1_000_000, Some(1_000_000), instant, instant);
        assert_eq!(
            replay.last(),
            Some(&1_000_000),
            "one at the end of the catch-up"
        );
        assert!(replay.len() <= 16, "a handful, not 10 000: {replay:?}");
    }

    #[test]
    fn live_saves_wait_twenty_times_their_cost() {
        // 10 ms between events, saves of 1 s: by count every 100 events (1 s), by cost no
        // sooner than 20 s after the last one ended, that is 2 000 events later.
        let slow = saves(
            100,
            10_000,
            None,
            Duration::from_millis(10),
            Duration::from_secs(1),
        );
        assert_eq!(slow, vec![100, 2_100, 4_100, 6_100, 8_100]);
        // Cheap saves are not held back.
        let cheap = saves(
            100,
            10_000,
            None,
            Duration::from_millis(10),
            Duration::from_millis(1),
        );
        assert_eq!(cheap.len(), 100);
    }
}
