//! Process managers: SLA timers, auto-close and problem follow-up.
//!
//! Each one is a pure core (fed envelopes, asked what is due) plus an async driver that
//! subscribes to the whole ledger from position 1 (the ledger is the source of truth, so a
//! restart recovers every deadline), acts only once it has caught up with the ledger head, and
//! then waits for the next deadline (on the [`Clock`] port) or the next event, whichever comes
//! first. Every command carries `Actor::Automation`, the triggering envelope's command id as
//! causation id, its correlation id, and a command id derived from the triggering facts, so a
//! restart that sends a command again never duplicates an event.

mod auto_close;
mod cause;
mod follow_up;
mod sla;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use itsm_eventstore::{Envelope, EventStore, StoreError, Subscription};
use itsm_incident::{Incident, IncidentCommand, LinkTarget};
use itsm_kernel::Actor;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::port::Clock;
use crate::{AppError, CommandBus, stream};

pub use auto_close::{AUTO_CLOSE, AutoClose, CloseAction};
pub use cause::Cause;
pub use follow_up::{FollowUpAction, PROBLEM_FOLLOW_UP, follow_ups};
pub use sla::{SLA_TIMER, SlaTimers, TimerAction, TimerKind};

/// What the process managers do and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessConfig {
    pub sla_timers: bool,
    pub auto_close: bool,
    pub problem_follow_up: bool,
    /// How long a resolved incident stays resolved (no reopen) before it is closed.
    pub auto_close_after: TimeDelta,
    /// When a command failed in the store (possibly transient), how long until it is tried
    /// again.
    pub retry_after: TimeDelta,
}

impl Default for ProcessConfig {
    fn default() -> Self {
        Self {
            sla_timers: true,
            auto_close: true,
            problem_follow_up: true,
            auto_close_after: TimeDelta::days(3),
            retry_after: TimeDelta::seconds(30),
        }
    }
}

/// Where a process manager is: published each time it has acted on everything it saw and is
/// about to wait.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessStatus {
    /// Ledger position of the last envelope it has applied.
    pub position: u64,
    /// Its next deadline (`None`: nothing pending).
    pub next_deadline: Option<DateTime<Utc>>,
    /// Commands refused or failed so far (stale timers, closed incidents, store failures).
    pub failures: u64,
}

/// Starts the process managers.
pub struct ProcessManagers;

impl ProcessManagers {
    /// Runs every enabled manager as a tokio task (call it inside a tokio runtime). Dropping
    /// (or [`ProcessHandle::stop`]ping) the handle stops them.
    pub fn start<S: EventStore>(
        bus: &CommandBus<S>,
        store: &Arc<S>,
        clock: &Arc<dyn Clock>,
        config: ProcessConfig,
    ) -> ProcessHandle {
        let mut handle = ProcessHandle {
            tasks: Vec::new(),
            statuses: Vec::new(),
            head: {
                let store = Arc::clone(store);
                Arc::new(move || store.head())
            },
        };
        let mut spawn = |name: &'static str, run: Box<dyn FnOnce(Feed<S>) -> Driver + Send>| {
            let (status, receiver) = watch::channel(ProcessStatus::default());
            let feed = Feed {
                store: Arc::clone(store),
                subscription: store.subscribe_all(1),
                clock: Arc::clone(clock),
                status,
                current: ProcessStatus::default(),
                recovered_to: store.head(),
                batch: 0,
            };
            handle.tasks.push((name, tokio::spawn(run(feed))));
            handle.statuses.push(receiver);
        };
        if config.sla_timers {
            let bus = bus.clone();
            let retry = config.retry_after;
            spawn(
                SLA_TIMER,
                Box::new(move |feed| Box::pin(run_sla_timers(bus, feed, retry))),
            );
        }
        if config.auto_close {
            let bus = bus.clone();
            let (quiet, retry) = (config.auto_close_after, config.retry_after);
            spawn(
                AUTO_CLOSE,
                Box::new(move |feed| Box::pin(run_auto_close(bus, feed, quiet, retry))),
            );
        }
        if config.problem_follow_up {
            let bus = bus.clone();
            spawn(
                PROBLEM_FOLLOW_UP,
                Box::new(move |feed| Box::pin(run_follow_up(bus, feed))),
            );
        }
        handle
    }
}

type Driver = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// The running managers. Dropping it aborts them.
pub struct ProcessHandle {
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    statuses: Vec<watch::Receiver<ProcessStatus>>,
    head: Arc<dyn Fn() -> u64 + Send + Sync>,
}

impl std::fmt::Debug for ProcessHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessHandle")
            .field("managers", &self.names())
            .finish_non_exhaustive()
    }
}

impl ProcessHandle {
    /// The running managers' automation names.
    pub fn names(&self) -> Vec<&'static str> {
        self.tasks.iter().map(|(name, _)| *name).collect()
    }

    /// Each manager's last published status, in [`ProcessHandle::names`] order.
    pub fn statuses(&self) -> Vec<ProcessStatus> {
        self.statuses
            .iter()
            .map(|status| *status.borrow())
            .collect()
    }

    /// Waits until every manager has applied the whole ledger, acted on it, and has nothing
    /// due at or before `at`: after `clock.set(at)`, everything due by then has been written.
    /// Returns early if a manager stopped.
    pub async fn settled(&self, at: DateTime<Utc>) {
        let settled = |status: &ProcessStatus| {
            status.position >= (self.head)() && status.next_deadline.is_none_or(|next| next > at)
        };
        loop {
            for status in &self.statuses {
                let mut status = status.clone();
                if status.wait_for(settled).await.is_err() {
                    return;
                }
            }
            // One manager's commands may have given another one work: check all at once.
            if self.statuses.iter().all(|status| settled(&status.borrow())) {
                return;
            }
        }
    }

    /// Stops every manager and waits until their tasks (and the store handles they hold) are
    /// gone.
    pub async fn stop(mut self) {
        for (_, task) in &self.tasks {
            task.abort();
        }
        for (_, task) in self.tasks.drain(..) {
            let _aborted = task.await;
        }
    }
}

impl Drop for ProcessHandle {
    fn drop(&mut self) {
        for (_, task) in &self.tasks {
            task.abort();
        }
    }
}

/// A manager's view of the ledger: the subscription, how far it applied, its status channel.
struct Feed<S> {
    store: Arc<S>,
    subscription: Subscription,
    clock: Arc<dyn Clock>,
    status: watch::Sender<ProcessStatus>,
    current: ProcessStatus,
    /// The ledger head when the manager started.
    recovered_to: u64,
    /// Envelopes applied since due actions last had a turn.
    batch: usize,
}

/// Envelopes applied in a row (once recovered) before due actions get a turn.
const BATCH: usize = 256;

impl<S: EventStore> Feed<S> {
    /// The next envelope to apply, if the manager is behind the ledger head. While recovering
    /// (before reaching the head seen at start) every envelope is applied before anything is
    /// sent, so history is never acted on half-read; after that, due actions get a turn every
    /// [`BATCH`] envelopes, so a busy ledger cannot starve the timers.
    async fn next_in_batch(&mut self) -> Result<Option<Envelope>, StoreError> {
        if !self.behind() || (self.recovered() && self.batch >= BATCH) {
            self.batch = 0;
            return Ok(None);
        }
        self.batch += 1;
        // A catch-up read is answered without ever returning `Pending`, so a long recovery
        // would keep its runtime worker to itself (at 100 000 incidents the server's
        // /healthz went unanswered for 28 s, as long as the replays took): let other
        // tasks run every `BATCH` envelopes.
        if self.batch.is_multiple_of(BATCH) {
            tokio::task::yield_now().await;
        }
        let envelope = self.subscription.next().await?;
        self.current.position = envelope.position;
        Ok(Some(envelope))
    }

    /// Whether the manager has applied everything that was in the ledger when it started.
    fn recovered(&self) -> bool {
        self.current.position >= self.recovered_to
    }

    fn behind(&self) -> bool {
        self.current.position < self.store.head()
    }

    fn failed(&mut self) {
        self.current.failures += 1;
    }

    /// Publishes the status, then waits for the next envelope (returned) or the deadline
    /// (`None`).
    async fn wait(
        &mut self,
        deadline: Option<DateTime<Utc>>,
    ) -> Result<Option<Envelope>, StoreError> {
        self.current.next_deadline = deadline;
        self.status.send_replace(self.current);
        let clock = Arc::clone(&self.clock);
        let sleep = async move {
            match deadline {
                Some(deadline) => clock.sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            envelope = self.subscription.next() => {
                let envelope = envelope?;
                self.current.position = envelope.position;
                Ok(Some(envelope))
            }
            () = sleep => Ok(None),
        }
    }
}

/// Whether a failed command may succeed later (the store failed) or never will (the decider
/// refused: the fact it was about is stale).
fn is_transient<E: std::error::Error>(error: &AppError<E>) -> bool {
    match error {
        AppError::Store(_) | AppError::TooMuchContention { .. } => true,
        AppError::Domain(_) | AppError::Decode { .. } | AppError::Encode(_) => false,
    }
}

async fn run_sla_timers<S: EventStore>(
    bus: CommandBus<S>,
    mut feed: Feed<S>,
    retry_after: TimeDelta,
) {
    let actor = Actor::automation(SLA_TIMER);
    let mut timers = SlaTimers::new();
    loop {
        loop {
            match feed.next_in_batch().await {
                Ok(Some(envelope)) => {
                    if timers.apply(&envelope).is_err() {
                        feed.failed();
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
        if !feed.recovered() {
            continue;
        }
        let now = feed.clock.now();
        for action in timers.due(now) {
            let stream = stream::incident(action.incident);
            let sent = bus
                .execute_with::<Incident>(&stream, &action.command(), &actor, action.options())
                .await;
            if let Err(error) = sent {
                feed.failed();
                if is_transient(&error) {
                    timers.retry(&action, now + retry_after);
                }
            }
        }
        if feed.behind() {
            continue;
        }
        match feed.wait(timers.next_deadline()).await {
            Ok(Some(envelope)) => {
                if timers.apply(&envelope).is_err() {
                    feed.failed();
                }
            }
            Ok(None) => {}
            Err(_) => return,
        }
    }
}

async fn run_auto_close<S: EventStore>(
    bus: CommandBus<S>,
    mut feed: Feed<S>,
    quiet: TimeDelta,
    retry_after: TimeDelta,
) {
    let actor = Actor::automation(AUTO_CLOSE);
    let mut closer = AutoClose::new(quiet);
    loop {
        loop {
            match feed.next_in_batch().await {
                Ok(Some(envelope)) => closer.apply(&envelope),
                Ok(None) => break,
                Err(_) => return,
            }
        }
        if !feed.recovered() {
            continue;
        }
        let now = feed.clock.now();
        for action in closer.due(now) {
            let stream = stream::incident(action.incident);
            let sent = bus
                .execute_with::<Incident>(
                    &stream,
                    &IncidentCommand::Close,
                    &actor,
                    action.options(),
                )
                .await;
            if let Err(error) = sent {
                feed.failed();
                if is_transient(&error) {
                    closer.retry(&action, now + retry_after);
                }
            }
        }
        if feed.behind() {
            continue;
        }
        match feed.wait(closer.next_deadline()).await {
            Ok(Some(envelope)) => closer.apply(&envelope),
            Ok(None) => {}
            Err(_) => return,
        }
    }
}

async fn run_follow_up<S: EventStore>(bus: CommandBus<S>, mut feed: Feed<S>) {
    let actor = Actor::automation(PROBLEM_FOLLOW_UP);
    loop {
        let envelope = if feed.behind() {
            feed.next_in_batch().await
        } else {
            feed.wait(None).await
        };
        let envelope = match envelope {
            Ok(Some(envelope)) => envelope,
            Ok(None) => continue,
            Err(_) => return,
        };
        let Ok(actions) = follow_ups(&envelope) else {
            feed.failed();
            continue;
        };
        for action in actions {
            if note_update(&bus, &actor, &action).await.is_err() {
                feed.failed();
            }
        }
    }
}

/// Notes `action`'s update on its incident if the incident is still open, linking the problem
/// on the incident's side first when only the problem lists the link.
async fn note_update<S: EventStore>(
    bus: &CommandBus<S>,
    actor: &Actor,
    action: &FollowUpAction,
) -> Result<(), AppError<itsm_incident::IncidentError>> {
    let stream = stream::incident(action.incident);
    let Some(incident) = bus.load::<Incident>(&stream).await?.state else {
        return Ok(());
    };
    if !incident.status.is_open() {
        return Ok(());
    }
    if !incident.problems.contains(&action.problem) {
        let link = IncidentCommand::Link {
            target: LinkTarget::Problem(action.problem),
        };
        bus.execute_with::<Incident>(&stream, &link, actor, action.link_options())
            .await?;
    }
    let note = IncidentCommand::NoteProblemUpdate {
        problem: action.problem,
        update: action.update.clone(),
    };
    bus.execute_with::<Incident>(&stream, &note, actor, action.options())
        .await?;
    Ok(())
}
