//! What every resolver can reach.

use std::sync::Arc;
use std::time::Duration;

use itsm_app::desk::{ChangeLookup, DeskError};
use itsm_app::{
    Clock, CommandBus, Desk, PortFuture, ProcessConfig, ProcessHandle, ProcessManagers, UuidV7Ids,
};
use itsm_change::ScheduledChange;
use itsm_eventstore::{EventStore, SledStore};
use itsm_kernel::ServiceId;
use itsm_projections::{ProjectionRunner, ReadModels, RunnerConfig, RunnerError};

use crate::auth::Tokens;
use crate::limits::RateLimiter;
use crate::metrics::Metrics;

/// Request limits; each refusal is a GraphQL error with code `LIMIT_EXCEEDED`.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_page_size: usize,
    /// Longest `atLeast` wait for the read models.
    pub max_wait: Duration,
    /// Requests per second each token may make on average (HTTP 429 beyond).
    pub rate_per_second: f64,
    /// Requests each token may make at once.
    pub rate_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_depth: 12,
            max_complexity: 2_000,
            max_page_size: 200,
            max_wait: Duration::from_secs(5),
            rate_per_second: 50.0,
            rate_burst: 100,
        }
    }
}

/// The server's shared state. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<SledStore>,
    pub desk: Desk<SledStore>,
    pub runner: Arc<ProjectionRunner<SledStore>>,
    pub tokens: Arc<Tokens>,
    pub clock: Arc<dyn Clock>,
    pub limits: Limits,
    pub rate: Arc<RateLimiter>,
    pub metrics: Arc<Metrics>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The desk's view of scheduled changes, from the change-calendar read model (after waiting,
/// bounded, for it to reach the ledger head, so a change scheduled a moment ago is seen).
struct CalendarLookup {
    store: Arc<SledStore>,
    runner: Arc<ProjectionRunner<SledStore>>,
    wait: Duration,
}

impl ChangeLookup for CalendarLookup {
    fn scheduled_on<'a>(
        &'a self,
        service: &'a ServiceId,
    ) -> PortFuture<'a, Result<Vec<ScheduledChange>, DeskError>> {
        Box::pin(async move {
            self.runner
                .wait_for(self.store.head(), self.wait)
                .await
                .map_err(|e| DeskError::Internal(e.to_string()))?;
            Ok(self
                .runner
                .read(|models| models.changes.scheduled_on(service)))
        })
    }
}

/// A running desk: the state the gateway serves and the process managers beside it.
pub struct Running {
    pub state: AppState,
    pub processes: ProcessHandle,
    /// Keeps the token table following the ledger; dropping it stops the follower.
    pub token_follower: TokenFollower,
}

/// The task that applies access events to [`AppState::tokens`] as they are appended. Aborted
/// on drop, like the process managers.
#[derive(Debug)]
pub struct TokenFollower(tokio::task::JoinHandle<()>);

impl TokenFollower {
    /// Stops the follower and waits until it (and the store handle it holds) is gone.
    pub async fn stop(self) {
        self.0.abort();
        // The Drop below aborts again, which is harmless.
        let _aborted = (&mut { self }.0).await;
    }
}

impl Drop for TokenFollower {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Wires a desk around `store`: the command bus, the projection runner (resumed from its
    /// snapshot), the desk with the change-calendar lookup, the process managers (SLA
    /// timers, auto-close, problem follow-up), and the token table restored from the `access`
    /// stream and following it. Must run inside a tokio runtime.
    pub async fn start(
        store: Arc<SledStore>,
        clock: Arc<dyn Clock>,
        limits: Limits,
        processes: ProcessConfig,
    ) -> Result<Running, RunnerError> {
        Self::start_restored(store, clock, limits, processes, None).await
    }

    /// [`start`](Self::start) with read models already decoded from the store's newest
    /// snapshot (see `ProjectionRunner::start_restored`).
    pub async fn start_restored(
        store: Arc<SledStore>,
        clock: Arc<dyn Clock>,
        limits: Limits,
        processes: ProcessConfig,
        restored: Option<ReadModels>,
    ) -> Result<Running, RunnerError> {
        let bus = CommandBus::new(Arc::clone(&store), Arc::clone(&clock), Arc::new(UuidV7Ids));
        let runner = Arc::new(
            ProjectionRunner::start_restored(Arc::clone(&store), RunnerConfig::default(), restored)
                .await?,
        );
        let lookup = Arc::new(CalendarLookup {
            store: Arc::clone(&store),
            runner: Arc::clone(&runner),
            wait: limits.max_wait,
        });
        let desk = Desk::new(bus.clone(), lookup);
        let handle = ProcessManagers::start(&bus, &store, &clock, processes);
        // Subscribe before the first read, so no access event falls between the two.
        let subscription = store.subscribe_all(store.head() + 1);
        let tokens = Arc::new(Tokens::default());
        tokens.catch_up(&*store).await?;
        let follower = TokenFollower(tokens.follow(Arc::clone(&store), subscription));
        let rate = Arc::new(RateLimiter::new(limits.rate_per_second, limits.rate_burst));
        Ok(Running {
            state: AppState {
                store,
                desk,
                runner,
                tokens,
                clock,
                limits,
                rate,
                metrics: Arc::default(),
            },
            processes: handle,
            token_follower: follower,
        })
    }
}
