//! The SLA dashboard: counters per local day x service x priority x group, summed at query time.
//!
//! Every fact is counted on the local date (and hour) it happened, in the timezone of the
//! calendar the incident was logged under (`IncidentLogged.sla.calendar`), with the ticket's
//! service, priority and group at that moment:
//!
//! - volume: incidents logged (plus a 24-slot hour-of-day histogram; weekday comes from the date);
//! - backlog: `entered` and `left` the open backlog (logged, reopened, or moved in by a group or
//!   priority change; resolved, cancelled, or moved out), so the open count of any day is a
//!   prefix sum and stays right per group and priority;
//! - first response (acknowledged, or resolved when never acknowledged) and resolution times,
//!   wall-clock seconds from logging: count, sum and max, so MTTA = mean first response and
//!   MTTR = mean resolution time. A reopened incident is counted again when it is resolved again;
//! - met and breached per clock kind (`SlaMet`, `SlaBreached`; OLA clocks of all groups together);
//! - CSAT: the latest rating per incident (a new rating takes the old one out of its bucket);
//! - per agent and day: resolutions, and reopens of incidents that agent had resolved.
//!
//! Per incident it keeps one small [`DashTicket`] (about 64 bytes) for as long as a later event
//! can still count (cancelled ones are dropped); everything else is counters.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc, Weekday};
use itsm_eventstore::{CodecError, Envelope};
use itsm_incident::IncidentEvent;
use itsm_kernel::{GroupId, IncidentKey, Priority, ServiceId, UserId};
use itsm_sla::{Calendar, ClockKind};
use serde::{Deserialize, Serialize};

use crate::intern::Interner;
use crate::snapshot::{SnapshotReader, SnapshotWriter};
use crate::{LedgerEvent, Projection};

const NO_GROUP: u32 = u32::MAX;

/// (local day as days from CE, service, priority level, group or `u32::MAX`).
type BucketKey = (i32, u32, u8, u32);

/// The counters of one bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub logged: u32,
    pub entered: u32,
    pub left: u32,
    pub resolved: u32,
    pub reopened: u32,
    /// First response, resolution, OLA.
    pub met: [u32; 3],
    pub breached: [u32; 3],
    pub first_response_count: u32,
    pub first_response_sum: i64,
    pub first_response_max: i64,
    pub resolution_count: u32,
    pub resolution_sum: i64,
    pub resolution_max: i64,
    pub rating_count: u32,
    pub rating_sum: u32,
    /// Ratings 1..=5.
    pub ratings: [u32; 5],
    pub logged_by_hour: [u32; 24],
}

impl Counters {
    fn add(&mut self, other: &Counters) {
        self.logged += other.logged;
        self.entered += other.entered;
        self.left += other.left;
        self.resolved += other.resolved;
        self.reopened += other.reopened;
        for i in 0..3 {
            self.met[i] += other.met[i];
            self.breached[i] += other.breached[i];
        }
        self.first_response_count += other.first_response_count;
        self.first_response_sum += other.first_response_sum;
        self.first_response_max = self.first_response_max.max(other.first_response_max);
        self.resolution_count += other.resolution_count;
        self.resolution_sum += other.resolution_sum;
        self.resolution_max = self.resolution_max.max(other.resolution_max);
        self.rating_count += other.rating_count;
        self.rating_sum += other.rating_sum;
        for i in 0..5 {
            self.ratings[i] += other.ratings[i];
        }
        for i in 0..24 {
            self.logged_by_hour[i] += other.logged_by_hour[i];
        }
    }
}

/// What the dashboard remembers of one incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashTicket {
    pub logged_at: i64,
    pub zone: u16,
    pub service: u32,
    pub priority: u8,
    pub group: u32,
    pub open: bool,
    pub responded: bool,
    pub resolved_by: Option<u32>,
    /// The latest rating and the bucket it is counted in.
    pub rating: Option<(u8, BucketKey)>,
}

/// Per agent and day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentCounters {
    pub resolved: u32,
    /// Reopens of incidents this agent had resolved.
    pub reopened: u32,
}

/// The dashboard read model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaDashboard {
    names: Interner,
    /// One calendar per distinct timezone seen, to convert instants to local dates.
    zones: Vec<Calendar>,
    tickets: BTreeMap<u64, DashTicket>,
    buckets: BTreeMap<BucketKey, Counters>,
    agents: BTreeMap<(i32, u32), AgentCounters>,
}

/// Local dates `[from, to)` in each incident's calendar timezone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// How to group a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Nothing,
    Service,
    Priority,
    Group,
    Day,
    /// ISO weeks, keyed by their Monday.
    Week,
}

/// Restricts a report to some tickets; `None` is any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardFilter {
    pub service: Option<ServiceId>,
    pub priority: Option<Priority>,
    /// `Some(None)` is "no group".
    pub group: Option<Option<GroupId>>,
}

/// The key of one report row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupKey {
    All,
    Service(ServiceId),
    Priority(Priority),
    Group(Option<GroupId>),
    Day(NaiveDate),
    Week(NaiveDate),
}

/// Met and breached counts of one clock kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockOutcomes {
    pub met: u64,
    pub breached: u64,
    /// `met / (met + breached)` in percent; `None` without outcomes.
    pub met_percent: Option<f64>,
    pub breached_percent: Option<f64>,
}

/// The figures of one report row.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardStats {
    /// Incidents logged.
    pub volume: u64,
    pub resolved: u64,
    pub reopened: u64,
    pub first_response: ClockOutcomes,
    pub resolution: ClockOutcomes,
    pub ola: ClockOutcomes,
    /// Mean time to acknowledge (= mean first response), seconds.
    pub mtta_secs: Option<f64>,
    pub max_first_response_secs: Option<i64>,
    /// Mean time to resolve, seconds.
    pub mttr_secs: Option<f64>,
    pub max_resolution_secs: Option<i64>,
    pub csat_average: Option<f64>,
    /// Count of latest ratings 1..=5.
    pub csat_distribution: [u64; 5],
    /// Incidents logged per local hour of day.
    pub volume_by_hour: [u64; 24],
    /// Incidents logged per local weekday, Monday first.
    pub volume_by_weekday: [u64; 7],
}

/// One report row.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardRow {
    pub key: GroupKey,
    pub stats: DashboardStats,
}

/// One agent's productivity over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentRow {
    pub agent: UserId,
    pub resolved: u64,
    pub reopened: u64,
    /// `reopened / resolved`; `None` without resolutions.
    pub reopen_rate: Option<f64>,
}

fn day_number(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

fn date_of(day: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day).unwrap_or(NaiveDate::MIN)
}

fn clock_index(kind: &ClockKind) -> usize {
    match kind {
        ClockKind::FirstResponse => 0,
        ClockKind::Resolution => 1,
        ClockKind::Ola { .. } => 2,
    }
}

#[allow(clippy::cast_precision_loss)] // counts and second sums far below 2^52
fn mean(sum: i64, count: u32) -> Option<f64> {
    (count > 0).then(|| sum as f64 / f64::from(count))
}

#[allow(clippy::cast_precision_loss)]
fn outcomes(met: u32, breached: u32) -> ClockOutcomes {
    let total = f64::from(met) + f64::from(breached);
    ClockOutcomes {
        met: u64::from(met),
        breached: u64::from(breached),
        met_percent: (total > 0.0).then(|| f64::from(met) * 100.0 / total),
        breached_percent: (total > 0.0).then(|| f64::from(breached) * 100.0 / total),
    }
}

impl SlaDashboard {
    fn zone_of(&mut self, calendar: &Calendar) -> u16 {
        let tz = calendar.timezone();
        if let Some(i) = self.zones.iter().position(|known| known.timezone() == tz) {
            return u16::try_from(i).unwrap_or(0);
        }
        self.zones.push(calendar.clone());
        u16::try_from(self.zones.len() - 1).unwrap_or(0)
    }

    /// Local (day number, hour) of an instant in a zone.
    fn local(&self, zone: u16, at: DateTime<Utc>) -> (i32, usize) {
        match self.zones.get(usize::from(zone)) {
            Some(calendar) => {
                let local = at.with_timezone(&calendar.timezone());
                (day_number(local.date_naive()), local.hour() as usize)
            }
            None => (day_number(at.date_naive()), at.hour() as usize),
        }
    }

    fn bucket(&mut self, key: BucketKey) -> &mut Counters {
        self.buckets.entry(key).or_default()
    }

    fn key_of(&self, ticket: &DashTicket, at: DateTime<Utc>) -> BucketKey {
        let (day, _) = self.local(ticket.zone, at);
        (day, ticket.service, ticket.priority, ticket.group)
    }

    /// Heap bytes held: per-ticket records, buckets and agent counters (an estimate from
    /// sizes, with B-tree nodes counted as 2/3 full).
    pub fn approximate_heap_bytes(&self) -> usize {
        let ticket = (8 + std::mem::size_of::<DashTicket>()) * 3 / 2;
        let bucket = (std::mem::size_of::<BucketKey>() + std::mem::size_of::<Counters>()) * 3 / 2;
        let agent = (8 + std::mem::size_of::<AgentCounters>()) * 3 / 2;
        self.tickets.len() * ticket
            + self.buckets.len() * bucket
            + self.agents.len() * agent
            + self.names.approximate_heap_bytes()
            + self.zones.len() * std::mem::size_of::<Calendar>()
    }

    /// Number of counter buckets (day x service x priority x group combinations seen).
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    fn apply_incident(&mut self, key: IncidentKey, event: &IncidentEvent) {
        use IncidentEvent as E;
        let number = key.number();
        if let E::Logged {
            service,
            priority,
            sla,
            at,
            ..
        } = event
        {
            let zone = self.zone_of(&sla.calendar);
            let ticket = DashTicket {
                logged_at: at.timestamp(),
                zone,
                service: self.names.intern(service.as_str()),
                priority: priority.level(),
                group: NO_GROUP,
                open: true,
                responded: false,
                resolved_by: None,
                rating: None,
            };
            let (day, hour) = self.local(zone, *at);
            let counters = self.bucket((day, ticket.service, ticket.priority, NO_GROUP));
            counters.logged += 1;
            counters.entered += 1;
            counters.logged_by_hour[hour.min(23)] += 1;
            self.tickets.insert(number, ticket);
            return;
        }
        let Some(mut ticket) = self.tickets.remove(&number) else {
            return;
        };
        let at = event.at();
        let mut keep = true;
        match event {
            E::Logged { .. }
            | E::WorkStarted { .. }
            | E::PutOnHold { .. }
            | E::Resumed { .. }
            | E::EscalatedHierarchically { .. }
            | E::SlaChanged { .. }
            | E::Closed { .. }
            | E::Commented { .. }
            | E::FileAttached { .. }
            | E::Linked { .. }
            | E::DeclaredMajor { .. }
            | E::LinkedToMajor { .. }
            | E::ProblemUpdateNoted { .. }
            | E::SlaClockStarted { .. }
            | E::SlaClockPaused { .. }
            | E::SlaClockResumed { .. }
            | E::SlaClockRetargeted { .. }
            | E::SlaWarningRaised { .. }
            | E::SlaClockStopped { .. } => {}
            E::Acknowledged { .. } => self.first_response(&mut ticket, at),
            E::Assigned { group, .. } => {
                let group = group
                    .as_ref()
                    .map_or(NO_GROUP, |g| self.names.intern(g.as_str()));
                self.move_ticket(&mut ticket, at, |t| t.group = group);
            }
            E::EscalatedFunctionally { to_group, .. } => {
                let group = self.names.intern(to_group.as_str());
                self.move_ticket(&mut ticket, at, |t| t.group = group);
            }
            E::Reprioritized { priority, .. } => {
                let level = priority.level();
                self.move_ticket(&mut ticket, at, |t| t.priority = level);
            }
            E::Resolved { by, .. } => {
                self.first_response(&mut ticket, at);
                let key = self.key_of(&ticket, at);
                let took = at.timestamp() - ticket.logged_at;
                let counters = self.bucket(key);
                counters.resolved += 1;
                counters.resolution_count += 1;
                counters.resolution_sum += took;
                counters.resolution_max = counters.resolution_max.max(took);
                if ticket.open {
                    counters.left += 1;
                    ticket.open = false;
                }
                ticket.resolved_by = by.user_id().map(|u| self.names.intern(u.as_str()));
                if let Some(agent) = ticket.resolved_by {
                    self.agents.entry((key.0, agent)).or_default().resolved += 1;
                }
            }
            E::Reopened { .. } => {
                let key = self.key_of(&ticket, at);
                let counters = self.bucket(key);
                counters.reopened += 1;
                if !ticket.open {
                    counters.entered += 1;
                    ticket.open = true;
                }
                if let Some(agent) = ticket.resolved_by {
                    self.agents.entry((key.0, agent)).or_default().reopened += 1;
                }
            }
            E::Cancelled { .. } => {
                if ticket.open {
                    let key = self.key_of(&ticket, at);
                    self.bucket(key).left += 1;
                }
                keep = false;
            }
            E::Rated { score, .. } => {
                let slot = usize::from((*score).clamp(1, 5) - 1);
                if let Some((old, old_key)) = ticket.rating.take() {
                    let counters = self.bucket(old_key);
                    counters.rating_count = counters.rating_count.saturating_sub(1);
                    counters.rating_sum = counters.rating_sum.saturating_sub(u32::from(old));
                    let old_slot = usize::from(old.clamp(1, 5) - 1);
                    counters.ratings[old_slot] = counters.ratings[old_slot].saturating_sub(1);
                }
                let key = self.key_of(&ticket, at);
                let counters = self.bucket(key);
                counters.rating_count += 1;
                counters.rating_sum += u32::from(*score);
                counters.ratings[slot] += 1;
                ticket.rating = Some((*score, key));
            }
            E::SlaMet { clock, .. } => {
                let key = self.key_of(&ticket, at);
                self.bucket(key).met[clock_index(clock)] += 1;
            }
            E::SlaBreached { clock, .. } => {
                let key = self.key_of(&ticket, at);
                self.bucket(key).breached[clock_index(clock)] += 1;
            }
        }
        if keep {
            self.tickets.insert(number, ticket);
        }
    }

    fn first_response(&mut self, ticket: &mut DashTicket, at: DateTime<Utc>) {
        if ticket.responded {
            return;
        }
        ticket.responded = true;
        let took = at.timestamp() - ticket.logged_at;
        let key = self.key_of(ticket, at);
        let counters = self.bucket(key);
        counters.first_response_count += 1;
        counters.first_response_sum += took;
        counters.first_response_max = counters.first_response_max.max(took);
    }

    /// Changes a dimension of an open ticket: it leaves the old bucket's backlog and enters
    /// the new one's on the same day.
    fn move_ticket(
        &mut self,
        ticket: &mut DashTicket,
        at: DateTime<Utc>,
        change: impl FnOnce(&mut DashTicket),
    ) {
        let old = self.key_of(ticket, at);
        change(ticket);
        let new = self.key_of(ticket, at);
        if ticket.open && old != new {
            self.bucket(old).left += 1;
            self.bucket(new).entered += 1;
        }
    }

    fn keep(&self, key: &BucketKey, filter: &DashboardFilter) -> bool {
        let (_, service, priority, group) = *key;
        if let Some(wanted) = &filter.service
            && self.names.get(wanted.as_str()) != Some(service)
        {
            return false;
        }
        if filter.priority.is_some_and(|p| p.level() != priority) {
            return false;
        }
        if let Some(wanted) = &filter.group {
            let wanted = match wanted {
                None => Some(NO_GROUP),
                Some(g) => self.names.get(g.as_str()),
            };
            if wanted != Some(group) {
                return false;
            }
        }
        true
    }

    fn group_key(&self, key: &BucketKey, group_by: GroupBy) -> GroupKey {
        let (day, service, priority, group) = *key;
        match group_by {
            GroupBy::Nothing => GroupKey::All,
            GroupBy::Service => GroupKey::Service(
                ServiceId::new(self.names.name(service)).unwrap_or_else(|_| unknown_service()),
            ),
            GroupBy::Priority => GroupKey::Priority(
                Priority::ALL
                    .into_iter()
                    .find(|p| p.level() == priority)
                    .unwrap_or(Priority::P5),
            ),
            GroupBy::Group => GroupKey::Group(if group == NO_GROUP {
                None
            } else {
                GroupId::new(self.names.name(group)).ok()
            }),
            GroupBy::Day => GroupKey::Day(date_of(day)),
            GroupBy::Week => {
                let date = date_of(day);
                let monday =
                    date - chrono::Days::new(u64::from(date.weekday().num_days_from_monday()));
                GroupKey::Week(monday)
            }
        }
    }

    /// The figures of `period`, one row per group (rows in key order; no row for a group
    /// without any counted fact).
    pub fn report(
        &self,
        period: Period,
        group_by: GroupBy,
        filter: &DashboardFilter,
    ) -> Vec<DashboardRow> {
        let mut rows: BTreeMap<GroupKey, (Counters, [u64; 7])> = BTreeMap::new();
        let from = (day_number(period.from), 0, 0, 0);
        let to = (day_number(period.to), 0, 0, 0);
        for (key, counters) in self.buckets.range(from..to) {
            if !self.keep(key, filter) {
                continue;
            }
            let row = rows.entry(self.group_key(key, group_by)).or_default();
            row.0.add(counters);
            let weekday = date_of(key.0).weekday().num_days_from_monday() as usize;
            row.1[weekday] += u64::from(counters.logged);
        }
        rows.into_iter()
            .map(|(key, (c, by_weekday))| DashboardRow {
                key,
                stats: stats(&c, by_weekday),
            })
            .collect()
    }

    /// Open incidents at the end of each local day `from..to` (prefix sums of entered - left).
    pub fn backlog(&self, period: Period, filter: &DashboardFilter) -> Vec<(NaiveDate, i64)> {
        let start = day_number(period.from);
        let end = day_number(period.to);
        let mut open: i64 = 0;
        let mut per_day: BTreeMap<i32, i64> = BTreeMap::new();
        for (key, counters) in self.buckets.range(..(end, 0, 0, 0)) {
            if !self.keep(key, filter) {
                continue;
            }
            let delta = i64::from(counters.entered) - i64::from(counters.left);
            if key.0 < start {
                open += delta;
            } else {
                *per_day.entry(key.0).or_default() += delta;
            }
        }
        (start..end)
            .map(|day| {
                open += per_day.get(&day).copied().unwrap_or(0);
                (date_of(day), open)
            })
            .collect()
    }

    /// Resolutions and reopen rate per agent over `period` (local dates of the facts).
    pub fn agents(&self, period: Period) -> Vec<AgentRow> {
        let mut per_agent: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
        let from = (day_number(period.from), 0);
        let to = (day_number(period.to), 0);
        for ((_, agent), counters) in self.agents.range(from..to) {
            let row = per_agent.entry(*agent).or_default();
            row.0 += u64::from(counters.resolved);
            row.1 += u64::from(counters.reopened);
        }
        per_agent
            .into_iter()
            .filter_map(|(agent, (resolved, reopened))| {
                #[allow(clippy::cast_precision_loss)]
                let reopen_rate = (resolved > 0).then(|| reopened as f64 / resolved as f64);
                Some(AgentRow {
                    agent: UserId::new(self.names.name(agent)).ok()?,
                    resolved,
                    reopened,
                    reopen_rate,
                })
            })
            .collect()
    }
}

fn stats(c: &Counters, by_weekday: [u64; 7]) -> DashboardStats {
    #[allow(clippy::cast_precision_loss)]
    let csat_average =
        (c.rating_count > 0).then(|| f64::from(c.rating_sum) / f64::from(c.rating_count));
    DashboardStats {
        volume: u64::from(c.logged),
        resolved: u64::from(c.resolved),
        reopened: u64::from(c.reopened),
        first_response: outcomes(c.met[0], c.breached[0]),
        resolution: outcomes(c.met[1], c.breached[1]),
        ola: outcomes(c.met[2], c.breached[2]),
        mtta_secs: mean(c.first_response_sum, c.first_response_count),
        max_first_response_secs: (c.first_response_count > 0).then_some(c.first_response_max),
        mttr_secs: mean(c.resolution_sum, c.resolution_count),
        max_resolution_secs: (c.resolution_count > 0).then_some(c.resolution_max),
        csat_average,
        csat_distribution: c.ratings.map(u64::from),
        volume_by_hour: c.logged_by_hour.map(u64::from),
        volume_by_weekday: by_weekday,
    }
}

fn unknown_service() -> ServiceId {
    // Proven infallible: a constant valid id.
    ServiceId::new("unknown").expect("constant id is valid")
}

/// Weekdays in the order of [`DashboardStats::volume_by_weekday`].
pub const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

impl Projection for SlaDashboard {
    const NAME: &'static str = "sla-dashboard";

    fn apply(&mut self, _envelope: &Envelope, event: &LedgerEvent) {
        if let LedgerEvent::Incident(key, event) = event {
            self.apply_incident(*key, event);
        }
    }
}

impl SlaDashboard {
    /// Writes the model as snapshot frames (see [`crate::snapshot`]).
    pub(crate) fn write_snapshot(&self, out: &mut SnapshotWriter) -> Result<(), CodecError> {
        out.value(&self.names)?;
        out.value(&self.zones)?;
        out.seq(self.tickets.len(), self.tickets.iter())?;
        out.seq(self.buckets.len(), self.buckets.iter())?;
        out.seq(self.agents.len(), self.agents.iter())
    }

    pub(crate) fn read_snapshot(input: &mut SnapshotReader<'_>) -> Result<Self, CodecError> {
        Ok(SlaDashboard {
            names: input.value()?,
            zones: input.value()?,
            tickets: input.seq::<(u64, DashTicket)>()?.into_iter().collect(),
            buckets: input.seq::<(BucketKey, Counters)>()?.into_iter().collect(),
            agents: input
                .seq::<((i32, u32), AgentCounters)>()?
                .into_iter()
                .collect(),
        })
    }
}
