//! Work queues: the open incidents of each assignment group, of each agent, and the unassigned
//! ones, ordered by a combined urgency score.
//!
//! # The score
//!
//! Lower is more urgent; it is a number of seconds, roughly "how long until this ticket needs
//! someone", computed at query time from `now`:
//!
//! ```text
//! due     = earliest due time of the RUNNING first-response and resolution clocks,
//!           or logged_at + FALLBACK[priority] when no such clock runs (paused, none)
//! score   = (due - now)                           slack; negative once overdue
//!         + PRIORITY_OFFSET[priority]             P1 0, P2 15m, P3 30m, P4 1h, P5 2h
//!         - 2 * min(now - waiting_since, 5 days)  customer's unanswered public reply
//!         + 30 days   if on hold and the customer has not replied since
//! ```
//!
//! So the SLA deadline dominates (a P3 due in 5 minutes, 300 + 1 800, beats a fresh P2 whose
//! first response is due in 30 minutes, 1 800 + 900), priority breaks near-ties by up to two
//! hours, every second a
//! customer's public comment stays unanswered counts double (two days of waiting outweigh a
//! fresh P2), and tickets on hold sink below all actionable work until the customer replies.
//! `waiting_since` is the time of the requester's oldest public comment not yet followed by a
//! public comment, an acknowledgement or a resolution from the desk. Ties break by key.
//!
//! A ticket is *breached* when one of those clocks recorded a breach or a running one is past
//! due at `now`; *at risk* when not breached and a running clock had its warning raised or is
//! due within [`AT_RISK_WINDOW_SECS`].
//!
//! # The order index
//!
//! A queue page must not score and sort the whole group (thousands of open tickets in one
//! group at the scale benchmark). Every term of the score but `now` is fixed until the ticket's
//! next event, so each queue keeps its tickets in two ordered sets of `(rank, key)`, updated
//! when an event changes a ticket. With `horizon` the latest event time the model has seen:
//!
//! ```text
//! steady   no customer waiting:  rank = due + PRIORITY_OFFSET (+ HOLD_PENALTY)
//!                                score = rank - now                          (exact)
//!          customer waiting since before horizon - cap (the wait is capped):
//!                                rank = due + PRIORITY_OFFSET - 2 * cap
//!                                score = rank - now                          (exact)
//! waiting  customer waiting, not yet capped at horizon:
//!                                rank = due + PRIORITY_OFFSET + 2 * waiting_since
//!                                score = rank - 3 * now   while the wait is under the cap,
//!                                        and >= rank - 3 * now once it is capped
//! ```
//!
//! When the horizon moves past a waiting ticket's `waiting_since + cap`, the ticket moves to the
//! steady set (each once; a set of the not-yet-capped waits by time finds them). Both sets are
//! walked in rank order as sources of lower bounds on the score; a ticket is scored exactly when
//! its set's bound is the lowest, kept in a small heap, and emitted once its score is below
//! every set's next bound. The first page then costs about `first` steps plus the waiting
//! tickets (at most five days of them) whose bound is below its last score, whatever the
//! queue's size. All this needs `now >= horizon`, true for every live query; a query at an
//! earlier `now` (a clock set back) scores the whole queue instead ([`Queues::queue_by_scan`],
//! also the reference the index is tested against). A filtered query still counts its `total`
//! over the whole queue (no scoring or sorting).
//!
//! # Memory
//!
//! One [`Ticket`] per open incident: about 110 bytes plus the title, ids interned as `u32`,
//! times as `i64` seconds, no description or comments; each is also in one or two queue
//! order sets (16 bytes per entry), and a waiting one in the set of uncapped waits. A resolved or closed incident is parked in a smaller record
//! (title, ids, priority, breach flags) so a reopen can put it back; cancelled ones are dropped,
//! nothing follows a cancel.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, btree_set};
use std::fmt;
use std::iter::Peekable;
use std::ops::Bound;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use itsm_eventstore::{CodecError, Envelope};
use itsm_incident::{IncidentEvent, Status, Visibility};
use itsm_kernel::{GroupId, IncidentKey, Priority, ServiceId, UserId};
use itsm_sla::ClockKind;
use serde::{Deserialize, Serialize};

use crate::intern::Interner;
use crate::snapshot::{SnapshotReader, SnapshotWriter};
use crate::{LedgerEvent, Projection};

/// A running clock due within this many seconds counts as at risk.
pub const AT_RISK_WINDOW_SECS: i64 = 3_600;
/// Added to the slack per priority level, P1..P5.
pub const PRIORITY_OFFSET_SECS: [i64; 5] = [0, 900, 1_800, 3_600, 7_200];
/// Assumed deadline after logging when no first-response or resolution clock runs, P1..P5.
pub const FALLBACK_DUE_SECS: [i64; 5] = [14_400, 28_800, 86_400, 259_200, 604_800];
/// Customer waiting time counts at most this long (then doubled).
pub const CUSTOMER_WAIT_CAP_SECS: i64 = 5 * 86_400;
/// Weight of each second a customer's reply stays unanswered.
pub const CUSTOMER_WAIT_WEIGHT: i64 = 2;
/// Added while on hold without a customer reply since.
pub const HOLD_PENALTY_SECS: i64 = 30 * 86_400;

/// One SLA clock as the queue needs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockMark {
    /// Due time in seconds while the clock runs; `None` while paused, stopped or not started.
    pub due: Option<i64>,
    /// Paused: a re-target while paused records a due time, but the clock does not count.
    pub paused: bool,
    pub warned: bool,
    pub breached: bool,
}

/// What the queues remember of one incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub title: Box<str>,
    pub logged_at: i64,
    pub requester: u32,
    pub service: u32,
    pub group: Option<u32>,
    pub agent: Option<u32>,
    pub priority: Priority,
    pub status: Status,
    pub first_response: ClockMark,
    pub resolution: ClockMark,
    pub waiting_since: Option<i64>,
}

impl Ticket {
    fn running_due(&self) -> Option<i64> {
        match (self.first_response.due, self.resolution.due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The documented score at `now` (seconds; lower is more urgent).
    pub fn score(&self, now: i64) -> i64 {
        let level = usize::from(self.priority.level().saturating_sub(1)).min(4);
        let due = self
            .running_due()
            .unwrap_or_else(|| self.logged_at.saturating_add(FALLBACK_DUE_SECS[level]));
        let mut score = due
            .saturating_sub(now)
            .saturating_add(PRIORITY_OFFSET_SECS[level]);
        if let Some(since) = self.waiting_since {
            let waited = now.saturating_sub(since).clamp(0, CUSTOMER_WAIT_CAP_SECS);
            score = score.saturating_sub(CUSTOMER_WAIT_WEIGHT * waited);
        }
        if matches!(self.status, Status::OnHold(_)) && self.waiting_since.is_none() {
            score = score.saturating_add(HOLD_PENALTY_SECS);
        }
        score
    }

    /// Where the ticket sits in its queue's order index at `horizon` (see the module doc).
    fn rank(&self, horizon: i64) -> Rank {
        let level = usize::from(self.priority.level().saturating_sub(1)).min(4);
        let due = self
            .running_due()
            .unwrap_or_else(|| self.logged_at.saturating_add(FALLBACK_DUE_SECS[level]));
        let rank = due.saturating_add(PRIORITY_OFFSET_SECS[level]);
        match self.waiting_since {
            Some(since) if capped(since, horizon) => {
                Rank::Steady(rank.saturating_sub(CUSTOMER_WAIT_WEIGHT * CUSTOMER_WAIT_CAP_SECS))
            }
            Some(since) => Rank::Waiting(rank.saturating_add(since.saturating_mul(2))),
            None if matches!(self.status, Status::OnHold(_)) => {
                Rank::Steady(rank.saturating_add(HOLD_PENALTY_SECS))
            }
            None => Rank::Steady(rank),
        }
    }

    pub fn is_breached(&self, now: i64) -> bool {
        [self.first_response, self.resolution]
            .iter()
            .any(|clock| clock.breached || clock.due.is_some_and(|due| due < now))
    }

    pub fn is_at_risk(&self, now: i64) -> bool {
        !self.is_breached(now)
            && [self.first_response, self.resolution].iter().any(|clock| {
                clock.due.is_some_and(|due| {
                    clock.warned || due.saturating_sub(now) <= AT_RISK_WINDOW_SECS
                })
            })
    }

    fn clock_mut(&mut self, kind: &ClockKind) -> Option<&mut ClockMark> {
        match kind {
            ClockKind::FirstResponse => Some(&mut self.first_response),
            ClockKind::Resolution => Some(&mut self.resolution),
            ClockKind::Ola { .. } => None,
        }
    }
}

/// A resolved or closed incident, out of every queue: what a reopen needs to put it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Parked {
    title: Box<str>,
    logged_at: i64,
    requester: u32,
    service: u32,
    group: Option<u32>,
    agent: Option<u32>,
    priority: Priority,
    status: Status,
    first_response_breached: bool,
    resolution_breached: bool,
}

impl Parked {
    fn of(ticket: Ticket) -> Parked {
        Parked {
            title: ticket.title,
            logged_at: ticket.logged_at,
            requester: ticket.requester,
            service: ticket.service,
            group: ticket.group,
            agent: ticket.agent,
            priority: ticket.priority,
            status: ticket.status,
            first_response_breached: ticket.first_response.breached,
            resolution_breached: ticket.resolution.breached,
        }
    }

    fn ticket(&self) -> Ticket {
        Ticket {
            title: self.title.clone(),
            logged_at: self.logged_at,
            requester: self.requester,
            service: self.service,
            group: self.group,
            agent: self.agent,
            priority: self.priority,
            status: self.status,
            first_response: ClockMark {
                due: None,
                paused: false,
                warned: false,
                breached: self.first_response_breached,
            },
            resolution: ClockMark {
                due: None,
                paused: false,
                warned: false,
                breached: self.resolution_breached,
            },
            waiting_since: None,
        }
    }
}

/// Which queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QueueSelector {
    /// Every open incident of the group, with or without an agent.
    Group(GroupId),
    /// Every open incident assigned to the agent.
    Agent(UserId),
    /// Open incidents with no group yet (waiting for dispatch).
    Unassigned,
}

/// Status as the queue filters it (every hold reason is `OnHold`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QueueStatus {
    New,
    Assigned,
    InProgress,
    OnHold,
}

impl QueueStatus {
    fn of(status: Status) -> Option<QueueStatus> {
        match status {
            Status::New => Some(QueueStatus::New),
            Status::Assigned => Some(QueueStatus::Assigned),
            Status::InProgress => Some(QueueStatus::InProgress),
            Status::OnHold(_) => Some(QueueStatus::OnHold),
            Status::Resolved | Status::Closed | Status::Cancelled => None,
        }
    }
}

/// Conditions every returned item meets; `None`/`false` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    pub status: Option<QueueStatus>,
    pub priority: Option<Priority>,
    pub service: Option<ServiceId>,
    /// Only tickets at risk (see the module doc).
    pub at_risk: bool,
    /// Only breached tickets.
    pub breached: bool,
}

/// Position in a queue listing: the last item's score and key. Opaque text form `score:key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QueueCursor {
    pub score: i64,
    pub key: u64,
}

impl fmt::Display for QueueCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.score, self.key)
    }
}

/// A cursor text that is not `score:key`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a queue cursor")]
pub struct CursorError(pub String);

impl FromStr for QueueCursor {
    type Err = CursorError;
    fn from_str(text: &str) -> Result<Self, CursorError> {
        let bad = || CursorError(text.to_owned());
        let (score, key) = text.split_once(':').ok_or_else(bad)?;
        Ok(QueueCursor {
            score: score.parse().map_err(|_| bad())?,
            key: key.parse().map_err(|_| bad())?,
        })
    }
}

/// One row of a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    pub key: IncidentKey,
    pub title: String,
    pub priority: Priority,
    pub status: Status,
    pub service: ServiceId,
    pub group: Option<GroupId>,
    pub agent: Option<UserId>,
    /// Earliest due time of the running first-response and resolution clocks.
    pub due: Option<DateTime<Utc>>,
    pub waiting_since: Option<DateTime<Utc>>,
    pub at_risk: bool,
    pub breached: bool,
    pub score: i64,
    pub cursor: QueueCursor,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Items matching the filter in the whole queue (all pages).
    pub total: usize,
    pub has_next: bool,
    /// Cursor of the last item, to pass as `after` for the next page.
    pub end_cursor: Option<QueueCursor>,
}

/// Counts of one queue at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCount {
    pub selector: QueueSelector,
    pub open: usize,
    pub at_risk: usize,
    pub breached: usize,
}

/// Whether a customer waiting since `since` has waited the whole cap at `horizon`.
fn capped(since: i64, horizon: i64) -> bool {
    since.saturating_add(CUSTOMER_WAIT_CAP_SECS) <= horizon
}

/// A ticket's place in the order index: which set, and its rank there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rank {
    Steady(i64),
    Waiting(i64),
}

/// The open tickets of one queue, in rank order (see "The order index" in the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Order {
    /// `(rank, key)` of tickets no customer waits on; score = rank - now.
    steady: BTreeSet<(i64, u64)>,
    /// `(rank, key)` of tickets a customer waits on; score >= rank - 3 * now.
    waiting: BTreeSet<(i64, u64)>,
}

impl Order {
    fn insert(&mut self, rank: Rank, key: u64) {
        match rank {
            Rank::Steady(rank) => self.steady.insert((rank, key)),
            Rank::Waiting(rank) => self.waiting.insert((rank, key)),
        };
    }

    fn remove(&mut self, rank: Rank, key: u64) {
        match rank {
            Rank::Steady(rank) => self.steady.remove(&(rank, key)),
            Rank::Waiting(rank) => self.waiting.remove(&(rank, key)),
        };
    }

    fn len(&self) -> usize {
        self.steady.len() + self.waiting.len()
    }

    fn is_empty(&self) -> bool {
        self.steady.is_empty() && self.waiting.is_empty()
    }

    fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.steady.iter().chain(&self.waiting).map(|&(_, key)| key)
    }
}

/// Walks an [`Order`] most urgent first: both sets as sources of lower bounds on the score,
/// merged through a heap of exactly scored tickets (see the module doc).
struct Ranked<'a> {
    queues: &'a Queues,
    filter: &'a QueueFilter,
    now: i64,
    after: Option<QueueCursor>,
    steady: Peekable<btree_set::Range<'a, (i64, u64)>>,
    waiting: Peekable<btree_set::Iter<'a, (i64, u64)>>,
    scored: BinaryHeap<Reverse<QueueCursor>>,
}

impl<'a> Ranked<'a> {
    fn new(
        queues: &'a Queues,
        order: &'a Order,
        filter: &'a QueueFilter,
        now: i64,
        after: Option<QueueCursor>,
    ) -> Self {
        // Steady scores are exact, so a cursor skips straight to the tickets after it.
        let start = after.map_or(Bound::Unbounded, |after| {
            Bound::Excluded((after.score.saturating_add(now), after.key))
        });
        Ranked {
            queues,
            filter,
            now,
            after,
            steady: order.steady.range((start, Bound::Unbounded)).peekable(),
            waiting: order.waiting.iter().peekable(),
            scored: BinaryHeap::new(),
        }
    }
}

impl<'a> Iterator for Ranked<'a> {
    type Item = (QueueCursor, &'a Ticket);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let bound = |&&(rank, key): &&(i64, u64), weight: i64| QueueCursor {
                score: rank.saturating_sub(self.now.saturating_mul(weight)),
                key,
            };
            let steady = self.steady.peek().map(|entry| bound(entry, 1));
            let waiting = self.waiting.peek().map(|entry| bound(entry, 3));
            let next_bound = match (steady, waiting) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if let Some(&Reverse(best)) = self.scored.peek()
                && next_bound.is_none_or(|bound| best < bound)
            {
                self.scored.pop();
                let ticket = self.queues.tickets.get(&best.key)?;
                return Some((best, ticket));
            }
            let from_steady = match (steady, waiting) {
                (Some(a), Some(b)) => a < b,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => return None,
            };
            let source = if from_steady {
                self.steady.next()
            } else {
                self.waiting.next()
            };
            let Some(&(_, key)) = source else { continue };
            let Some(ticket) = self.queues.tickets.get(&key) else {
                continue;
            };
            if !self.queues.matches(ticket, self.filter, self.now) {
                continue;
            }
            let cursor = QueueCursor {
                score: ticket.score(self.now),
                key,
            };
            if self.after.is_none_or(|after| cursor > after) {
                self.scored.push(Reverse(cursor));
            }
        }
    }
}

/// The queues read model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queues {
    names: Interner,
    /// Open incidents.
    tickets: BTreeMap<u64, Ticket>,
    /// Resolved and closed incidents, compactly, for reopens.
    parked: BTreeMap<u64, Parked>,
    by_group: BTreeMap<u32, Order>,
    by_agent: BTreeMap<u32, Order>,
    unassigned: Order,
    /// `(waiting_since, key)` of open tickets whose customer's wait is not capped at `horizon`.
    uncapped: BTreeSet<(i64, u64)>,
    /// The latest incident event time applied (seconds); the order index is exact for `now` at
    /// or after it.
    horizon: i64,
}

fn secs(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

fn time(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

impl Queues {
    /// The ticket record of an incident (open, resolved or closed; a resolved or closed one has
    /// no running clocks and no customer waiting).
    pub fn ticket(&self, key: IncidentKey) -> Option<Ticket> {
        let key = key.number();
        self.tickets
            .get(&key)
            .cloned()
            .or_else(|| self.parked.get(&key).map(Parked::ticket))
    }

    /// Number of open incidents in all queues.
    pub fn open_count(&self) -> usize {
        self.tickets
            .values()
            .filter(|ticket| ticket.status.is_open())
            .count()
    }

    /// Interned id text (group, agent, service, requester).
    pub fn name(&self, id: u32) -> &str {
        self.names.name(id)
    }

    /// Takes an open ticket out of its queues' order sets, before an event changes it.
    fn unindex(&mut self, key: u64) {
        let Some(ticket) = self.tickets.get(&key) else {
            return;
        };
        if !ticket.status.is_open() {
            return;
        }
        let rank = ticket.rank(self.horizon);
        let remove = |orders: &mut BTreeMap<u32, Order>, id: u32| {
            if let Some(order) = orders.get_mut(&id) {
                order.remove(rank, key);
                if order.is_empty() {
                    orders.remove(&id);
                }
            }
        };
        match ticket.group {
            Some(group) => remove(&mut self.by_group, group),
            None => self.unassigned.remove(rank, key),
        }
        if let Some(agent) = ticket.agent {
            remove(&mut self.by_agent, agent);
        }
        if let Some(since) = ticket.waiting_since {
            self.uncapped.remove(&(since, key));
        }
    }

    /// Puts an open ticket into its queues' order sets, after an event changed it.
    fn index(&mut self, key: u64) {
        let Some(ticket) = self.tickets.get(&key) else {
            return;
        };
        if !ticket.status.is_open() {
            return;
        }
        let rank = ticket.rank(self.horizon);
        match ticket.group {
            Some(group) => self.by_group.entry(group).or_default().insert(rank, key),
            None => self.unassigned.insert(rank, key),
        }
        if let Some(agent) = ticket.agent {
            self.by_agent.entry(agent).or_default().insert(rank, key);
        }
        if let Some(since) = ticket.waiting_since
            && !capped(since, self.horizon)
        {
            self.uncapped.insert((since, key));
        }
    }

    /// Moves the horizon to `at` if that is later, first moving every ticket whose customer's
    /// wait becomes capped to its steady rank.
    fn advance(&mut self, at: i64) {
        if at <= self.horizon {
            return;
        }
        let crossing: Vec<u64> = self
            .uncapped
            .iter()
            .take_while(|(since, _)| capped(*since, at))
            .map(|&(_, key)| key)
            .collect();
        for &key in &crossing {
            self.unindex(key);
        }
        self.horizon = at;
        for key in crossing {
            self.index(key);
        }
    }

    fn members(&self, selector: &QueueSelector) -> Option<&Order> {
        match selector {
            QueueSelector::Group(group) => self
                .names
                .get(group.as_str())
                .and_then(|id| self.by_group.get(&id)),
            QueueSelector::Agent(agent) => self
                .names
                .get(agent.as_str())
                .and_then(|id| self.by_agent.get(&id)),
            QueueSelector::Unassigned => Some(&self.unassigned),
        }
    }

    fn matches(&self, ticket: &Ticket, filter: &QueueFilter, now: i64) -> bool {
        if filter
            .status
            .is_some_and(|status| QueueStatus::of(ticket.status) != Some(status))
        {
            return false;
        }
        if filter
            .priority
            .is_some_and(|priority| priority != ticket.priority)
        {
            return false;
        }
        if let Some(service) = &filter.service
            && self.names.get(service.as_str()) != Some(ticket.service)
        {
            return false;
        }
        if filter.at_risk && !ticket.is_at_risk(now) {
            return false;
        }
        if filter.breached && !ticket.is_breached(now) {
            return false;
        }
        true
    }

    /// One page of a queue, most urgent first, starting after `after`: walked from the order
    /// index (see the module doc).
    pub fn queue(
        &self,
        selector: &QueueSelector,
        filter: &QueueFilter,
        now: DateTime<Utc>,
        after: Option<QueueCursor>,
        first: usize,
    ) -> Page<QueueItem> {
        let secs_now = secs(now);
        if secs_now < self.horizon {
            return self.queue_by_scan(selector, filter, now, after, first);
        }
        let Some(order) = self.members(selector) else {
            return Self::page(Vec::new(), 0, false);
        };
        let total = if *filter == QueueFilter::default() {
            order.len()
        } else {
            order
                .keys()
                .filter_map(|key| self.tickets.get(&key))
                .filter(|ticket| self.matches(ticket, filter, secs_now))
                .count()
        };
        let mut ranked = Ranked::new(self, order, filter, secs_now, after);
        let items: Vec<QueueItem> = ranked
            .by_ref()
            .take(first)
            .map(|(cursor, ticket)| self.item(cursor, ticket, secs_now))
            .collect();
        let has_next = items.len() == first && ranked.next().is_some();
        Self::page(items, total, has_next)
    }

    /// [`Queues::queue`] by scoring and sorting every ticket of the queue: the reference the
    /// order index is tested against, and the answer for a `now` before some customer's reply.
    pub fn queue_by_scan(
        &self,
        selector: &QueueSelector,
        filter: &QueueFilter,
        now: DateTime<Utc>,
        after: Option<QueueCursor>,
        first: usize,
    ) -> Page<QueueItem> {
        let now = secs(now);
        let mut ranked: Vec<(QueueCursor, &Ticket)> = self
            .members(selector)
            .into_iter()
            .flat_map(Order::keys)
            .filter_map(|key| Some((key, self.tickets.get(&key)?)))
            .filter(|(_, ticket)| self.matches(ticket, filter, now))
            .map(|(key, ticket)| {
                (
                    QueueCursor {
                        score: ticket.score(now),
                        key,
                    },
                    ticket,
                )
            })
            .collect();
        let total = ranked.len();
        ranked.retain(|(cursor, _)| after.is_none_or(|after| *cursor > after));
        ranked.sort_unstable_by_key(|(cursor, _)| *cursor);
        let has_next = ranked.len() > first;
        ranked.truncate(first);
        let items = ranked
            .into_iter()
            .map(|(cursor, ticket)| self.item(cursor, ticket, now))
            .collect();
        Self::page(items, total, has_next)
    }

    fn page(items: Vec<QueueItem>, total: usize, has_next: bool) -> Page<QueueItem> {
        Page {
            end_cursor: items.last().map(|item| item.cursor),
            items,
            total,
            has_next,
        }
    }

    fn item(&self, cursor: QueueCursor, ticket: &Ticket, now: i64) -> QueueItem {
        let id = |id: u32| self.names.name(id);
        QueueItem {
            key: IncidentKey::new(cursor.key),
            title: ticket.title.to_string(),
            priority: ticket.priority,
            status: ticket.status,
            // Interned from valid ids, so these parse back; fall back to none defensively.
            service: ServiceId::new(id(ticket.service)).unwrap_or_else(|_| unknown_service()),
            group: ticket.group.and_then(|g| GroupId::new(id(g)).ok()),
            agent: ticket.agent.and_then(|a| UserId::new(id(a)).ok()),
            due: ticket.running_due().and_then(time),
            waiting_since: ticket.waiting_since.and_then(time),
            at_risk: ticket.is_at_risk(now),
            breached: ticket.is_breached(now),
            score: cursor.score,
            cursor,
        }
    }

    /// How many open tickets a queue holds (no filter).
    pub fn count(&self, selector: &QueueSelector) -> usize {
        self.members(selector).map_or(0, Order::len)
    }

    /// Open, at-risk and breached counts of every non-empty queue: groups, agents, unassigned.
    pub fn counts(&self, now: DateTime<Utc>) -> Vec<QueueCount> {
        let now = secs(now);
        let count = |selector: QueueSelector, order: &Order| {
            let tickets = order.keys().filter_map(|key| self.tickets.get(&key));
            let (mut at_risk, mut breached) = (0, 0);
            for ticket in tickets {
                at_risk += usize::from(ticket.is_at_risk(now));
                breached += usize::from(ticket.is_breached(now));
            }
            QueueCount {
                selector,
                open: order.len(),
                at_risk,
                breached,
            }
        };
        let mut out = Vec::new();
        for (group, order) in &self.by_group {
            if let Ok(group) = GroupId::new(self.names.name(*group)) {
                out.push(count(QueueSelector::Group(group), order));
            }
        }
        for (agent, order) in &self.by_agent {
            if let Ok(agent) = UserId::new(self.names.name(*agent)) {
                out.push(count(QueueSelector::Agent(agent), order));
            }
        }
        out.push(count(QueueSelector::Unassigned, &self.unassigned));
        out
    }

    /// Heap bytes held (see the module doc): an estimate from sizes and capacities, not from
    /// the allocator.
    pub fn approximate_heap_bytes(&self) -> usize {
        // A BTreeMap/BTreeSet node holds up to 11 entries; count nodes as 2/3 full plus
        // two words of node header per entry-share.
        let entry = std::mem::size_of::<u64>() + std::mem::size_of::<Ticket>();
        let tickets: usize = self
            .tickets
            .values()
            .map(|ticket| entry * 3 / 2 + 16 + ticket.title.len())
            .sum();
        let index_entries: usize = self.by_group.values().map(Order::len).sum::<usize>()
            + self.by_agent.values().map(Order::len).sum::<usize>()
            + self.unassigned.len()
            + self.uncapped.len();
        let parked_entry = std::mem::size_of::<u64>() + std::mem::size_of::<Parked>();
        let parked: usize = self
            .parked
            .values()
            .map(|parked| parked_entry * 3 / 2 + 16 + parked.title.len())
            .sum();
        tickets + parked + index_entries * (16 * 3 / 2 + 16) + self.names.approximate_heap_bytes()
    }

    fn apply_incident(&mut self, key: IncidentKey, event: &IncidentEvent) {
        use IncidentEvent as E;
        let key = key.number();
        self.advance(secs(event.at()));
        if let E::Logged {
            title,
            requester,
            service,
            priority,
            at,
            ..
        } = event
        {
            self.unindex(key);
            let ticket = Ticket {
                title: title.as_str().into(),
                logged_at: secs(*at),
                requester: self.names.intern(requester.as_str()),
                service: self.names.intern(service.as_str()),
                group: None,
                agent: None,
                priority: *priority,
                status: Status::New,
                first_response: ClockMark::default(),
                resolution: ClockMark::default(),
                waiting_since: None,
            };
            self.tickets.insert(key, ticket);
            self.index(key);
            return;
        }
        if let Some(parked) = self.parked.get_mut(&key) {
            match event {
                E::Reopened { .. } => {
                    let ticket = parked.ticket();
                    self.parked.remove(&key);
                    self.tickets.insert(key, ticket);
                }
                E::Closed { .. } => {
                    parked.status = Status::Closed;
                    return;
                }
                E::Cancelled { .. } => {
                    self.parked.remove(&key);
                    return;
                }
                E::SlaBreached { clock, .. } => {
                    match clock {
                        ClockKind::FirstResponse => parked.first_response_breached = true,
                        ClockKind::Resolution => parked.resolution_breached = true,
                        ClockKind::Ola { .. } => {}
                    }
                    return;
                }
                // Nothing else changes what a queue shows of a resolved or closed incident.
                _ => return,
            }
        }
        if !self.tickets.contains_key(&key) {
            return;
        }
        // Any event may change the rank or the queue: out of the index before, back in after.
        self.unindex(key);
        let group_of = |names: &mut Interner, group: &Option<GroupId>| {
            group.as_ref().map(|g| names.intern(g.as_str()))
        };
        let mut drop_ticket = false;
        match event {
            E::Logged { .. }
            | E::EscalatedHierarchically { .. }
            | E::FileAttached { .. }
            | E::Linked { .. }
            | E::DeclaredMajor { .. }
            | E::LinkedToMajor { .. }
            | E::Rated { .. }
            | E::ProblemUpdateNoted { .. }
            | E::SlaChanged { .. } => {}
            E::Assigned { group, agent, .. } => {
                let group = group_of(&mut self.names, group);
                let agent = agent.as_ref().map(|a| self.names.intern(a.as_str()));
                if let Some(ticket) = self.tickets.get_mut(&key) {
                    ticket.group = group;
                    ticket.agent = agent;
                    if ticket.status == Status::New {
                        ticket.status = Status::Assigned;
                    }
                }
            }
            E::EscalatedFunctionally { to_group, .. } => {
                let group = self.names.intern(to_group.as_str());
                if let Some(ticket) = self.tickets.get_mut(&key) {
                    ticket.group = Some(group);
                    ticket.agent = None;
                    ticket.status = Status::Assigned;
                }
            }
            E::Acknowledged { .. } | E::Resolved { .. } => {
                if let Some(ticket) = self.tickets.get_mut(&key) {
                    ticket.waiting_since = None;
                    if matches!(event, E::Resolved { .. }) {
                        ticket.status = Status::Resolved;
                    }
                }
            }
            E::WorkStarted { .. } | E::Resumed { .. } => self.set_status(key, Status::InProgress),
            E::PutOnHold { reason, .. } => self.set_status(key, Status::OnHold(*reason)),
            E::Reprioritized { priority, .. } => {
                if let Some(ticket) = self.tickets.get_mut(&key) {
                    ticket.priority = *priority;
                }
            }
            E::Closed { .. } => self.set_status(key, Status::Closed),
            E::Reopened { .. } => {
                if let Some(ticket) = self.tickets.get_mut(&key) {
                    ticket.status = if ticket.group.is_some() {
                        Status::Assigned
                    } else {
                        Status::New
                    };
                }
            }
            E::Cancelled { .. } => drop_ticket = true,
            E::Commented { visibility, by, .. } => {
                if *visibility == Visibility::Public {
                    let author = by.user_id().and_then(|u| self.names.get(u.as_str()));
                    if let Some(ticket) = self.tickets.get_mut(&key) {
                        if author == Some(ticket.requester) {
                            ticket.waiting_since.get_or_insert(secs(event.at()));
                        } else {
                            ticket.waiting_since = None;
                        }
                    }
                }
            }
            E::SlaClockStarted { clock, due, .. } => self.with_clock(key, clock, |mark| {
                *mark = ClockMark {
                    due: Some(secs(*due)),
                    paused: false,
                    warned: false,
                    breached: false,
                };
            }),
            E::SlaClockPaused { clock, .. } => self.with_clock(key, clock, |mark| {
                mark.due = None;
                mark.paused = true;
            }),
            E::SlaMet { clock, .. } | E::SlaClockStopped { clock, .. } => {
                self.with_clock(key, clock, |mark| {
                    mark.due = None;
                    mark.paused = false;
                });
            }
            E::SlaClockResumed { clock, due, .. } => self.with_clock(key, clock, |mark| {
                mark.due = Some(secs(*due));
                mark.paused = false;
            }),
            E::SlaClockRetargeted { clock, due, .. } => self.with_clock(key, clock, |mark| {
                mark.due = if mark.paused { None } else { due.map(secs) };
            }),
            E::SlaWarningRaised { clock, .. } => {
                self.with_clock(key, clock, |mark| mark.warned = true);
            }
            E::SlaBreached { clock, .. } => {
                self.with_clock(key, clock, |mark| mark.breached = true);
            }
        }
        if drop_ticket {
            self.tickets.remove(&key);
        } else {
            self.index(key);
        }
        if self
            .tickets
            .get(&key)
            .is_some_and(|ticket| !ticket.status.is_open())
            && let Some(ticket) = self.tickets.remove(&key)
        {
            self.parked.insert(key, Parked::of(ticket));
        }
    }

    fn set_status(&mut self, key: u64, status: Status) {
        if let Some(ticket) = self.tickets.get_mut(&key) {
            ticket.status = status;
        }
    }

    fn with_clock(&mut self, key: u64, kind: &ClockKind, change: impl FnOnce(&mut ClockMark)) {
        if let Some(mark) = self
            .tickets
            .get_mut(&key)
            .and_then(|ticket| ticket.clock_mut(kind))
        {
            change(mark);
        }
    }
}

fn unknown_service() -> ServiceId {
    // Proven infallible: a constant valid id.
    ServiceId::new("unknown").expect("constant id is valid")
}

impl Projection for Queues {
    const NAME: &'static str = "queues";

    fn apply(&mut self, _envelope: &Envelope, event: &LedgerEvent) {
        if let LedgerEvent::Incident(key, event) = event {
            self.apply_incident(*key, event);
        }
    }
}

impl Queues {
    /// Writes the model as snapshot frames (see [`crate::snapshot`]).
    pub(crate) fn write_snapshot(&self, out: &mut SnapshotWriter) -> Result<(), CodecError> {
        out.value(&self.names)?;
        out.seq(self.tickets.len(), self.tickets.iter())?;
        out.seq(self.parked.len(), self.parked.iter())?;
        write_sets(out, &self.by_group)?;
        write_sets(out, &self.by_agent)?;
        out.deltas(&sorted_keys(&self.unassigned))?;
        out.value(&self.horizon)
    }

    /// Reads what [`Queues::write_snapshot`] wrote. The queue memberships are read and
    /// checked against the tickets; the order index is rebuilt from the tickets.
    pub(crate) fn read_snapshot(input: &mut SnapshotReader<'_>) -> Result<Self, CodecError> {
        let mut queues = Queues {
            names: input.value()?,
            tickets: input.seq::<(u64, Ticket)>()?.into_iter().collect(),
            parked: input.seq::<(u64, Parked)>()?.into_iter().collect(),
            ..Queues::default()
        };
        let stored = [read_sets(input)?, read_sets(input)?];
        let unassigned = input.deltas()?;
        queues.horizon = input.value()?;
        let keys: Vec<u64> = queues.tickets.keys().copied().collect();
        for key in keys {
            queues.index(key);
        }
        let rebuilt = [&queues.by_group, &queues.by_agent].map(|orders| {
            orders
                .iter()
                .map(|(id, order)| (*id, sorted_keys(order)))
                .collect::<BTreeMap<u32, Vec<u64>>>()
        });
        if stored != rebuilt || unassigned != sorted_keys(&queues.unassigned) {
            return Err(CodecError::Decode(
                "queue memberships disagree with the tickets".to_owned(),
            ));
        }
        Ok(queues)
    }
}

fn sorted_keys(order: &Order) -> Vec<u64> {
    let mut keys: Vec<u64> = order.keys().collect();
    keys.sort_unstable();
    keys
}

/// The ticket numbers of each queue per interned id: the ids, then each set delta-coded.
fn write_sets(out: &mut SnapshotWriter, orders: &BTreeMap<u32, Order>) -> Result<(), CodecError> {
    out.value(&orders.keys().copied().collect::<Vec<u32>>())?;
    for order in orders.values() {
        out.deltas(&sorted_keys(order))?;
    }
    Ok(())
}

fn read_sets(input: &mut SnapshotReader<'_>) -> Result<BTreeMap<u32, Vec<u64>>, CodecError> {
    let ids: Vec<u32> = input.value()?;
    ids.into_iter()
        .map(|id| Ok((id, input.deltas()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use itsm_sla::HoldReason;
    use proptest::prelude::*;

    use super::*;

    const T0: i64 = 1_780_000_000;

    fn clock() -> impl Strategy<Value = ClockMark> {
        (
            proptest::option::of(-200_000..400_000i64),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(due, warned, breached)| ClockMark {
                due: due.map(|d| T0 + d),
                paused: due.is_none(),
                warned,
                breached,
            })
    }

    /// Interned ids 0..3 are the groups g0..g2, 3..5 the agents a0, a1 (see `queues`).
    fn ticket() -> impl Strategy<Value = Ticket> {
        (
            0..5usize,
            0..4u8,
            proptest::option::of(0..3u32),
            proptest::option::of(3..5u32),
            clock(),
            clock(),
            proptest::option::of(-800_000..0i64),
            -300_000..0i64,
        )
            .prop_map(
                |(priority, status, group, agent, first_response, resolution, since, logged)| {
                    let status = match status {
                        0 => Status::New,
                        1 => Status::Assigned,
                        2 => Status::InProgress,
                        _ => Status::OnHold(HoldReason::AwaitingCustomer),
                    };
                    Ticket {
                        title: "t".into(),
                        logged_at: T0 + logged,
                        requester: 0,
                        service: 0,
                        group,
                        agent,
                        priority: Priority::ALL[priority],
                        status,
                        first_response,
                        resolution,
                        waiting_since: since.map(|s| T0 + s),
                    }
                },
            )
    }

    fn queues(tickets: Vec<Ticket>) -> Queues {
        let mut queues = Queues::default();
        for name in ["g0", "g1", "g2", "a0", "a1"] {
            queues.names.intern(name);
        }
        for (key, ticket) in (1..).zip(tickets) {
            queues.tickets.insert(key, ticket);
            queues.index(key);
        }
        queues
    }

    /// Every page of a listing, following the cursors.
    fn all_pages(
        queues: &Queues,
        page: impl Fn(&Queues, Option<QueueCursor>) -> Page<QueueItem>,
    ) -> Vec<Page<QueueItem>> {
        let mut pages = vec![page(queues, None)];
        while let Some(last) = pages.last()
            && last.has_next
            && pages.len() < 200
        {
            pages.push(page(queues, last.end_cursor));
        }
        pages
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Walking the order index gives exactly the pages of scoring and sorting everything:
        /// every queue, filters, page sizes, cursors, a horizon before or after the waits'
        /// caps, and `now` anywhere after it.
        #[test]
        fn index_pages_equal_scanned_pages(
            tickets in proptest::collection::vec(ticket(), 0..60),
            horizon in 0..(3 * CUSTOMER_WAIT_CAP_SECS),
            later in 0..(3 * CUSTOMER_WAIT_CAP_SECS),
            first in 1..8usize,
            which in 0..5u8,
            // 0: no filter; 5: a service nobody has (matches nothing).
            filter in 0..6u8,
        ) {
            let mut queues = queues(tickets);
            // The horizon is at or after every customer's reply; advancing it re-ranks the
            // waits it caps, as a new event would.
            queues.advance(T0 + horizon);
            let now = time(T0 + horizon + later).expect("valid time");
            let selector = match which {
                0 => QueueSelector::Unassigned,
                1 | 2 => QueueSelector::Group(GroupId::new(format!("g{which}")).expect("id")),
                _ => QueueSelector::Agent(UserId::new(format!("a{}", which - 3)).expect("id")),
            };
            let filter = QueueFilter {
                status: (filter == 1).then_some(QueueStatus::OnHold),
                priority: (filter == 2).then_some(Priority::P3),
                at_risk: filter == 3,
                breached: filter == 4,
                service: (filter == 5).then(|| ServiceId::new("nobody").expect("id")),
            };
            let indexed = all_pages(&queues, |q, after| {
                q.queue(&selector, &filter, now, after, first)
            });
            let scanned = all_pages(&queues, |q, after| {
                q.queue_by_scan(&selector, &filter, now, after, first)
            });
            prop_assert_eq!(indexed, scanned);
        }
    }
}
