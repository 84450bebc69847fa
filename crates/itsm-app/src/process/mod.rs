//! Process managers: SLA timers, auto-close and problem follow-up.
//!
//! Each one is a pure core (fed envelopes, asked what is due) plus an async driver. At start the
//! driver loads the manager's newest checkpoint (its state at a ledger position, saved through
//! [`SnapshotStore`]; see `checkpoint.rs`) and subscribes to the ledger from the position after
//! it, or from position 1 if there is none or it does not decode (the ledger is the source of
//! truth, so a restart still recovers every deadline). It acts only once it has caught up with
//! the ledger head seen at start, then waits for the next deadline (on the [`Clock`] port) or
//! the next event, whichever comes first. It saves a checkpoint every
//! [`ProcessConfig::checkpoint_every`] applied events, paced as the projection runner's snapshots
//! are ([`SnapshotPace`]: while catching up only at roughly doubling positions, live no more
//! often than twenty times a save's cost), and when stopped with
//! [`ProcessHandle::stop`]. Every command carries `Actor::Automation`, the triggering envelope's
//! command id as causation id, its correlation id, and a command id derived from the triggering
//! facts, so a restart that sends a command again never duplicates an event.

mod auto_close;
mod cause;
pub mod checkpoint;
mod follow_up;
mod sla;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use itsm_eventstore::{CodecError, Envelope, EventStore, SnapshotStore, Subscription};
use itsm_incident::{Incident, IncidentCommand, LinkTarget};
use itsm_kernel::Actor;
use itsm_projections::runner::SnapshotPace;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::port::Clock;
use crate::{AppError, CommandBus, stream};

pub use auto_close::{AUTO_CLOSE, AutoClose, CloseAction};
pub use cause::Cause;
pub use follow_up::{
    FollowUpAction, PROBLEM_FOLLOW_UP, decode_follow_up_checkpoint, encode_follow_up_checkpoint,
    follow_ups,
};
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
    /// Save a checkpoint after this many applied events (0: only at a clean stop).
    pub checkpoint_every: u64,
    /// Live, a checkpoint also waits this many times the last one's cost after it (0: by count
    /// alone); see [`SnapshotPace`].
    pub checkpoint_cost_factor: u32,
}

impl Default for ProcessConfig {
    fn default() -> Self {
        Self {
            sla_timers: true,
            auto_close: true,
            problem_follow_up: true,
            auto_close_after: TimeDelta::days(3),
            retry_after: TimeDelta::seconds(30),
            checkpoint_every: 50_000,
            checkpoint_cost_factor: SnapshotPace::COST_FACTOR,
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
    /// The position of the checkpoint it started from (0: it replayed the ledger from 1).
    pub resumed_from: u64,
    /// Envelopes it has applied since it started.
    pub applied: u64,
    /// Position of the last checkpoint it saved (0: none yet).
    pub checkpointed: u64,
}

/// Starts the process managers.
pub struct ProcessManagers;

impl ProcessManagers {
    /// Runs every enabled manager as a tokio task (call it inside a tokio runtime). Each task
    /// first loads its checkpoint, then follows the ledger. [`ProcessHandle::stop`] saves a
    /// checkpoint of each and stops them; dropping the handle stops them without saving.
    pub fn start<S: EventStore + SnapshotStore>(
        bus: &CommandBus<S>,
        store: &Arc<S>,
        clock: &Arc<dyn Clock>,
        config: ProcessConfig,
    ) -> ProcessHandle {
        let (stop, stopping) = watch::channel(false);
        let mut handle = ProcessHandle {
            tasks: Vec::new(),
            statuses: Vec::new(),
            head: {
                let store = Arc::clone(store);
                Arc::new(move || store.head())
            },
            stop,
        };
        let recovered_to = store.head();
        let mut spawn = |name: &'static str, run: Box<dyn FnOnce(Setup<S>) -> Driver + Send>| {
            let (status, receiver) = watch::channel(ProcessStatus::default());
            let setup = Setup {
                manager: name,
                store: Arc::clone(store),
                clock: Arc::clone(clock),
                status,
                stop: stopping.clone(),
                recovered_to,
                pace: SnapshotPace::new(config.checkpoint_every, config.checkpoint_cost_factor),
            };
            handle.tasks.push((name, tokio::spawn(run(setup))));
            handle.statuses.push(receiver);
        };
        if config.sla_timers {
            let bus = bus.clone();
            let retry = config.retry_after;
            spawn(
                SLA_TIMER,
                Box::new(move |setup| Box::pin(run_sla_timers(bus, setup, retry))),
            );
        }
        if config.auto_close {
            let bus = bus.clone();
            let (quiet, retry) = (config.auto_close_after, config.retry_after);
            spawn(
                AUTO_CLOSE,
                Box::new(move |setup| Box::pin(run_auto_close(bus, setup, quiet, retry))),
            );
        }
        if config.problem_follow_up {
            let bus = bus.clone();
            spawn(
                PROBLEM_FOLLOW_UP,
                Box::new(move |setup| Box::pin(run_follow_up(bus, setup))),
            );
        }
        handle
    }
}

type Driver = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// How long [`ProcessHandle::stop`] lets a manager finish the command it is sending and save its
/// checkpoint before it aborts it.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// The running managers. Dropping it aborts them (without a checkpoint).
pub struct ProcessHandle {
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    statuses: Vec<watch::Receiver<ProcessStatus>>,
    head: Arc<dyn Fn() -> u64 + Send + Sync>,
    stop: watch::Sender<bool>,
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

    /// Stops every manager: each finishes the command it is sending (if any), saves a
    /// checkpoint at the position it reached and ends; one that has not ended after
    /// [`STOP_GRACE`] is aborted. Returns once their tasks (and the store handles they hold)
    /// are gone.
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        for (name, mut task) in self.tasks.drain(..) {
            if tokio::time::timeout(STOP_GRACE, &mut task).await.is_err() {
                tracing::warn!(
                    manager = name,
                    "process manager did not stop in time: aborted"
                );
                task.abort();
                // An aborted task ends with a cancellation error; that is the expected outcome.
                let _aborted = task.await;
            }
        }
    }

    /// Stops every manager at once, without a checkpoint (for a store that can no longer be
    /// written), and waits until their tasks are gone.
    pub async fn abort(mut self) {
        for (_, task) in &self.tasks {
            task.abort();
        }
        for (_, task) in self.tasks.drain(..) {
            // An aborted task ends with a cancellation error; that is the expected outcome.
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

/// What a manager's task starts with, before it has loaded its checkpoint.
struct Setup<S> {
    manager: &'static str,
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    status: watch::Sender<ProcessStatus>,
    stop: watch::Receiver<bool>,
    /// The ledger head when the managers started.
    recovered_to: u64,
    pace: SnapshotPace,
}

impl<S: EventStore + SnapshotStore> Setup<S> {
    /// The manager's newest checkpoint at or below the ledger head, decoded; `None` (after a
    /// warning in the log) when there is none or it cannot be used, so the manager replays
    /// from position 1. Never fails: a checkpoint is a cache.
    async fn restore<T: Send + 'static>(
        &self,
        decode: impl FnOnce(&[u8]) -> Result<(u64, T), CodecError> + Send + 'static,
    ) -> Option<(u64, T)> {
        let manager = self.manager;
        let started = Instant::now();
        let name = checkpoint::snapshot_name(manager);
        let snapshot = match self.store.load_snapshot(&name, self.store.head()).await {
            Ok(Some(snapshot)) => snapshot,
            Ok(None) => return None,
            Err(error) => {
                tracing::warn!(manager, %error, "process checkpoint not readable: replaying the ledger from position 1");
                return None;
            }
        };
        let size = snapshot.bytes.len();
        // Seconds for the SLA timers' tens of megabytes at 1M incidents: off the executor, as
        // the snapshot files are read.
        let bytes = snapshot.bytes;
        let decoded = match tokio::task::spawn_blocking(move || decode(&bytes)).await {
            Ok(decoded) => decoded,
            Err(error) => {
                tracing::warn!(manager, %error, "process checkpoint decoder failed: replaying the ledger from position 1");
                return None;
            }
        };
        match decoded {
            Ok((position, core)) if position == snapshot.position => {
                tracing::info!(manager, position, size, elapsed = ?started.elapsed(), "process checkpoint restored");
                Some((position, core))
            }
            Ok((position, _)) => {
                tracing::warn!(
                    manager,
                    saved_at = snapshot.position,
                    position,
                    "process checkpoint holds another position: replaying the ledger from position 1"
                );
                None
            }
            Err(error) => {
                tracing::warn!(manager, saved_at = snapshot.position, %error, "process checkpoint does not decode: replaying the ledger from position 1");
                None
            }
        }
    }

    /// Subscribes to the ledger after `position` (the restored checkpoint's, or 0).
    fn feed(self, position: u64) -> Feed<S> {
        let current = ProcessStatus {
            position,
            resumed_from: position,
            checkpointed: position,
            ..ProcessStatus::default()
        };
        Feed {
            subscription: self.store.subscribe_all(position + 1),
            manager: self.manager,
            store: self.store,
            clock: self.clock,
            status: self.status,
            stop: self.stop,
            current,
            recovered_to: self.recovered_to,
            batch: 0,
            pace: self.pace,
            started: Instant::now(),
            caught_up: false,
        }
    }
}

/// A manager's view of the ledger: the subscription, how far it applied, its status channel,
/// its checkpoints.
struct Feed<S> {
    manager: &'static str,
    store: Arc<S>,
    subscription: Subscription,
    clock: Arc<dyn Clock>,
    status: watch::Sender<ProcessStatus>,
    stop: watch::Receiver<bool>,
    current: ProcessStatus,
    /// The ledger head when the manager started.
    recovered_to: u64,
    /// Envelopes applied since due actions last had a turn.
    batch: usize,
    /// When to save a checkpoint: every `ProcessConfig::checkpoint_every` applied envelopes (0:
    /// only at a clean stop), paced by its cost.
    pace: SnapshotPace,
    /// For the log line when it first caught up.
    started: Instant,
    caught_up: bool,
}

/// What a driver gets next.
#[expect(
    clippy::large_enum_variant,
    reason = "a return value moved once; boxing would allocate per envelope"
)]
enum Next {
    Envelope(Envelope),
    /// Nothing to apply right now (caught up, a deadline passed, or due actions get a turn).
    Turn,
    /// [`ProcessHandle::stop`] was called: save a checkpoint and end.
    Stop,
    /// The ledger closed (or failed): end without a checkpoint.
    Closed,
}

/// Envelopes applied in a row (once recovered) before due actions get a turn.
const BATCH: usize = 256;

/// A manager's state as its driver sees it: fed envelopes, saved in checkpoints.
trait Checkpointed {
    /// Applies an envelope; `false` if its payload did not decode (a failure in the status).
    fn apply_envelope(&mut self, envelope: &Envelope) -> bool;
    fn encode_at(&self, position: u64) -> Result<Vec<u8>, CodecError>;
}

impl Checkpointed for SlaTimers {
    fn apply_envelope(&mut self, envelope: &Envelope) -> bool {
        self.apply(envelope).is_ok()
    }

    fn encode_at(&self, position: u64) -> Result<Vec<u8>, CodecError> {
        self.encode_checkpoint(position)
    }
}

impl Checkpointed for AutoClose {
    fn apply_envelope(&mut self, envelope: &Envelope) -> bool {
        self.apply(envelope);
        true
    }

    fn encode_at(&self, position: u64) -> Result<Vec<u8>, CodecError> {
        self.encode_checkpoint(position)
    }
}

/// What a driver does after [`Feed::settle`].
enum Flow {
    /// An envelope was applied.
    Applied,
    /// Due actions get a turn.
    Turn,
    /// Stopped or closed: the driver ends.
    End,
}

impl<S: EventStore + SnapshotStore> Feed<S> {
    /// The next envelope to apply, if the manager is behind the ledger head. While recovering
    /// (before reaching the head seen at start) every envelope is applied before anything is
    /// sent, so history is never acted on half-read; after that, due actions get a turn every
    /// [`BATCH`] envelopes, so a busy ledger cannot starve the timers.
    async fn next_in_batch(&mut self) -> Next {
        if self.stopping() {
            return Next::Stop;
        }
        if !self.behind() || (self.recovered() && self.batch >= BATCH) {
            self.batch = 0;
            return Next::Turn;
        }
        self.batch += 1;
        // A catch-up read is answered without ever returning `Pending`, so a long recovery
        // would keep its runtime worker to itself (at 100 000 incidents the server's
        // /healthz went unanswered for 28 s, as long as the replays took): let other
        // tasks run every `BATCH` envelopes.
        if self.batch.is_multiple_of(BATCH) {
            tokio::task::yield_now().await;
        }
        match self.subscription.next().await {
            Ok(envelope) => self.received(envelope),
            Err(_) => Next::Closed,
        }
    }

    fn received(&mut self, envelope: Envelope) -> Next {
        self.current.position = envelope.position;
        self.current.applied += 1;
        self.pace.applied();
        Next::Envelope(envelope)
    }

    /// Whether the manager has applied everything that was in the ledger when it started.
    fn recovered(&self) -> bool {
        self.current.position >= self.recovered_to
    }

    fn behind(&self) -> bool {
        self.current.position < self.store.head()
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    fn failed(&mut self) {
        self.current.failures += 1;
    }

    /// Saves a checkpoint at `position` if one is due (see `checkpoint::checkpoint_due`).
    /// `encode` is called only then.
    async fn checkpoint_if_due(
        &mut self,
        position: u64,
        encode: impl FnOnce(u64) -> Result<Vec<u8>, CodecError>,
    ) {
        if self
            .pace
            .due(self.current.position, self.store.head(), Instant::now())
        {
            self.checkpoint(position, encode).await;
        }
    }

    /// Saves a checkpoint at `position` (unless it is the one saved or restored last), and
    /// tells the pace what it cost. Best effort: a checkpoint is a cache; a failure is logged
    /// and the next start replays more.
    async fn checkpoint(
        &mut self,
        position: u64,
        encode: impl FnOnce(u64) -> Result<Vec<u8>, CodecError>,
    ) {
        let started = Instant::now();
        if position != self.current.checkpointed {
            self.save(position, encode, started).await;
        }
        self.pace.saved(started, Instant::now());
    }

    async fn save(
        &mut self,
        position: u64,
        encode: impl FnOnce(u64) -> Result<Vec<u8>, CodecError>,
        started: Instant,
    ) {
        let manager = self.manager;
        let bytes = match encode(position) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::warn!(manager, position, %error, "process checkpoint not encoded");
                return;
            }
        };
        let size = bytes.len();
        let encoded = started.elapsed();
        let name = checkpoint::snapshot_name(manager);
        match self.store.save_snapshot(&name, position, bytes).await {
            Ok(()) => {
                self.current.checkpointed = position;
                tracing::info!(manager, position, size, ?encoded, elapsed = ?started.elapsed(), "process checkpoint saved");
            }
            Err(error) => {
                tracing::warn!(manager, position, %error, "process checkpoint not saved");
            }
        }
    }

    /// Settles what the feed gave: an envelope is applied to `state` (then a checkpoint, when
    /// one is due); a stop saves a checkpoint and ends; the ledger closing ends without one.
    async fn settle(&mut self, next: Next, state: &mut impl Checkpointed) -> Flow {
        match next {
            Next::Envelope(envelope) => {
                if !state.apply_envelope(&envelope) {
                    self.failed();
                }
                let position = self.current.position;
                self.checkpoint_if_due(position, |at| state.encode_at(at))
                    .await;
                Flow::Applied
            }
            Next::Turn => Flow::Turn,
            Next::Stop => {
                let position = self.current.position;
                self.checkpoint(position, |at| state.encode_at(at)).await;
                Flow::End
            }
            Next::Closed => Flow::End,
        }
    }

    /// Publishes the status, then waits for the next envelope, the deadline (`Turn`) or a stop.
    async fn wait(&mut self, deadline: Option<DateTime<Utc>>) -> Next {
        if !self.caught_up {
            self.caught_up = true;
            tracing::info!(
                manager = self.manager,
                position = self.current.position,
                resumed_from = self.current.resumed_from,
                applied = self.current.applied,
                elapsed = ?self.started.elapsed(),
                "process manager caught up"
            );
        }
        self.current.next_deadline = deadline;
        self.status.send_replace(self.current);
        let clock = Arc::clone(&self.clock);
        let sleep = async move {
            match deadline {
                Some(deadline) => clock.sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        let stop = self.stop.wait_for(|stop| *stop);
        let woken = tokio::select! {
            envelope = self.subscription.next() => Some(envelope),
            () = sleep => None,
            // A closed channel means the handle was dropped (its tasks are being aborted): end
            // without a checkpoint, as documented for a drop.
            stopped = stop => return if stopped.is_ok() { Next::Stop } else { Next::Closed },
        };
        match woken {
            Some(Ok(envelope)) => self.received(envelope),
            Some(Err(_)) => Next::Closed,
            None => Next::Turn,
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

async fn run_sla_timers<S: EventStore + SnapshotStore>(
    bus: CommandBus<S>,
    setup: Setup<S>,
    retry_after: TimeDelta,
) {
    let actor = Actor::automation(SLA_TIMER);
    let (from, mut timers) = setup
        .restore(SlaTimers::decode_checkpoint)
        .await
        .unwrap_or_else(|| (0, SlaTimers::new()));
    let mut feed = setup.feed(from);
    loop {
        loop {
            let next = feed.next_in_batch().await;
            match feed.settle(next, &mut timers).await {
                Flow::Applied => {}
                Flow::Turn => break,
                Flow::End => return,
            }
        }
        if !feed.recovered() {
            continue;
        }
        let now = feed.clock.now();
        for action in timers.due(now) {
            // Actions not sent now are armed again by the checkpoint (it holds no heap).
            if feed.stopping() {
                break;
            }
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
        if feed.behind() && !feed.stopping() {
            continue;
        }
        let next = feed.wait(timers.next_deadline()).await;
        if let Flow::End = feed.settle(next, &mut timers).await {
            return;
        }
    }
}

async fn run_auto_close<S: EventStore + SnapshotStore>(
    bus: CommandBus<S>,
    setup: Setup<S>,
    quiet: TimeDelta,
    retry_after: TimeDelta,
) {
    let actor = Actor::automation(AUTO_CLOSE);
    let (from, mut closer) = setup
        .restore(move |bytes| AutoClose::decode_checkpoint(bytes, quiet))
        .await
        .unwrap_or_else(|| (0, AutoClose::new(quiet)));
    let mut feed = setup.feed(from);
    loop {
        loop {
            let next = feed.next_in_batch().await;
            match feed.settle(next, &mut closer).await {
                Flow::Applied => {}
                Flow::Turn => break,
                Flow::End => return,
            }
        }
        if !feed.recovered() {
            continue;
        }
        let now = feed.clock.now();
        for action in closer.due(now) {
            // Actions not sent now are armed again by the checkpoint (it holds no heap).
            if feed.stopping() {
                break;
            }
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
        if feed.behind() && !feed.stopping() {
            continue;
        }
        let next = feed.wait(closer.next_deadline()).await;
        if let Flow::End = feed.settle(next, &mut closer).await {
            return;
        }
    }
}

async fn run_follow_up<S: EventStore + SnapshotStore>(bus: CommandBus<S>, setup: Setup<S>) {
    let actor = Actor::automation(PROBLEM_FOLLOW_UP);
    let from = setup
        .restore(|bytes| decode_follow_up_checkpoint(bytes).map(|position| (position, ())))
        .await
        .map_or(0, |(position, ())| position);
    let mut feed = setup.feed(from);
    // The first envelope whose follow-up failed in the store: checkpoints stay before it, so
    // the next start tries it again (as a full replay would; the derived ids make repeats
    // write nothing).
    let mut first_failed: Option<u64> = None;
    let done = |feed: &Feed<S>, first_failed: Option<u64>| {
        first_failed.map_or(feed.current.position, |failed| failed - 1)
    };
    loop {
        let next = if feed.behind() {
            feed.next_in_batch().await
        } else {
            feed.wait(None).await
        };
        let envelope = match next {
            Next::Envelope(envelope) => envelope,
            Next::Turn => continue,
            Next::Stop => {
                let position = done(&feed, first_failed);
                feed.checkpoint(position, encode_follow_up_checkpoint).await;
                return;
            }
            Next::Closed => return,
        };
        match follow_ups(&envelope) {
            Ok(actions) => {
                for action in actions {
                    if let Err(error) = note_update(&bus, &actor, &action).await {
                        feed.failed();
                        if is_transient(&error) {
                            first_failed.get_or_insert(envelope.position);
                        }
                    }
                }
            }
            Err(_) => feed.failed(),
        }
        let position = done(&feed, first_failed);
        feed.checkpoint_if_due(position, encode_follow_up_checkpoint)
            .await;
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
