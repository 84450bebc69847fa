//! `ledgerdesk demo` (and `serve --demo`): realistic demo data played through the real desk.
//!
//! Three services with business-hours calendars in three time zones (e-mail in
//! `Europe/Berlin`, ERP in `America/New_York`, VPN in `Asia/Tokyo`) and SLA policies per priority
//! and customer tier; then weeks of history: incidents logged in local office hours,
//! acknowledged, assigned, put on hold, escalated to second line, resolved (some too late, so
//! their SLA clocks breach), rated, reopened or cancelled; recurring faults become problems
//! with root causes and workarounds (known errors); changes go through CAB approval, are
//! scheduled, implemented (one fails and is backed out), reviewed and closed. Last comes the
//! short story of the original demo at the present moment: an Outlook incident worked to
//! resolution, a problem behind it, and a change scheduled for tomorrow.
//!
//! # Past timestamps
//!
//! The desk reads time from its `Clock` port. The demo drives it with a `ManualClock` moved
//! forward through the weeks, so every event of the history carries its past moment as
//! `recorded_at`, in ledger order (time never goes backwards in the ledger). The process
//! managers (SLA timers, auto-close, problem follow-up) run on the same clock; the demo stops
//! the clock at each of their deadlines, so SLA warnings and breaches are recorded at their due
//! times, and auto-closes three days after a resolution. The history ends at the real "now";
//! a server started afterwards continues with the system clock.
//!
//! Every step is a command through `itsm_app::Desk`, so every event is decided, encoded,
//! appended durably and hash-chained exactly as the server does it. The plan is drawn from a
//! fixed-seed generator: the same options give the same story.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use itsm_app::desk::{Assessment, EscalateTo, NewChange, NewIncident, NewProblem, NewSlaPolicy};
use itsm_app::{
    Clock, CommandBus, CommandResult, Desk, DeskError, ManualClock, ProcessConfig, ProcessHandle,
    ProcessManagers, UuidV7Ids,
};
use itsm_catalog::{Criticality, FreezeScope};
use itsm_change::{ChangeType, Likelihood, ReviewOutcome, Vote};
use itsm_eventstore::{EventStore, SledStore};
use itsm_incident::{Channel, ResolutionCode, Visibility};
use itsm_kernel::{
    Actor, ChangeKey, CustomerTier, GroupId, Impact, IncidentKey, Priority, ProblemKey, Role,
    ServiceId, Urgency, UserId,
};
use itsm_sla::{Calendar, HoldReason, SlaTargets};

use crate::{CliError, ledger};

/// How much demo data to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Incidents spread over the history.
    pub incidents: u32,
    /// Weeks of history before now.
    pub weeks: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            incidents: 60,
            weeks: 4,
        }
    }
}

/// A fixed, valid name used by the demo. Proven infallible for the literals below.
fn id<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    text.parse().expect("the demo's literal ids are valid")
}

fn person(name: &str, role: Role) -> Actor {
    Actor::user(id(name), role)
}

fn failed(step: &str) -> impl FnOnce(DeskError) -> CliError + '_ {
    move |error| CliError::Command(format!("demo step '{step}' failed: {error}"))
}

/// One service of the demo catalog with its people and typical faults.
struct ServiceSpec {
    id: &'static str,
    name: &'static str,
    calendar: &'static str,
    timezone: Tz,
    /// Local office hours.
    hours: (u32, u32),
    group: &'static str,
    second_line: &'static str,
    agents: [&'static str; 2],
    requesters: [&'static str; 3],
    /// (category, title); the first one recurs and becomes a problem.
    faults: [(&'static str, &'static str); 3],
    /// (root cause, workaround) of the recurring fault.
    known_error: (&'static str, &'static str),
}

const SERVICES: [ServiceSpec; 3] = [
    ServiceSpec {
        id: "email",
        name: "Corporate e-mail",
        calendar: "berlin-office",
        timezone: chrono_tz::Europe::Berlin,
        hours: (8, 18),
        group: "service-desk",
        second_line: "email-l2",
        agents: ["alex.agent", "bea.agent"],
        requesters: ["rita.requester", "tom.requester", "ines.requester"],
        faults: [
            ("email/connectivity", "Outlook keeps disconnecting"),
            ("email/delivery", "Mails to a partner domain bounce"),
            ("email/calendar", "Shared calendar does not update"),
        ],
        known_error: (
            "The mail gateway drops idle IMAP sessions after 5 minutes.",
            "Switch Outlook to cached mode and restart it.",
        ),
    },
    ServiceSpec {
        id: "erp",
        name: "ERP (finance and purchasing)",
        calendar: "newyork-office",
        timezone: chrono_tz::America::New_York,
        hours: (9, 17),
        group: "erp-desk",
        second_line: "erp-l2",
        agents: ["dan.agent", "eve.agent"],
        requesters: ["sue.requester", "raj.requester", "liz.requester"],
        faults: [
            ("erp/login", "ERP login fails with a session error"),
            ("erp/reports", "Month-end report times out"),
            ("erp/printing", "Purchase orders print blank"),
        ],
        known_error: (
            "The session cache fills up after the nightly batch.",
            "Clear the browser's site data and log in again.",
        ),
    },
    ServiceSpec {
        id: "vpn",
        name: "Remote access VPN",
        calendar: "tokyo-office",
        timezone: chrono_tz::Asia::Tokyo,
        hours: (9, 18),
        group: "network-desk",
        second_line: "network-l2",
        agents: ["ken.agent", "yui.agent"],
        requesters: ["aki.requester", "ren.requester", "mei.requester"],
        faults: [
            ("vpn/tunnel", "VPN tunnel drops every few minutes"),
            ("vpn/mfa", "MFA prompt never arrives"),
            ("vpn/split-tunnel", "Intranet unreachable over VPN"),
        ],
        known_error: (
            "A client update lowered the keep-alive interval below the concentrator's.",
            "Set the client keep-alive to 20 seconds.",
        ),
    },
];

const SERVICE_MANAGER: &str = "sam.manager";
const CHANGE_MANAGER: &str = "chris.cm";
const CAB: [&str; 2] = ["cab.alice", "cab.bob"];

/// Response and resolution targets in minutes (business time) per priority.
const TARGETS: [(Priority, i64, i64); 5] = [
    (Priority::P1, 15, 4 * 60),
    (Priority::P2, 60, 8 * 60),
    (Priority::P3, 4 * 60, 3 * 8 * 60),
    (Priority::P4, 8 * 60, 5 * 8 * 60),
    (Priority::P5, 2 * 8 * 60, 10 * 8 * 60),
];

/// `SplitMix64`: a tiny fixed-seed generator, so the demo is the same every time.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn index(&mut self, n: usize) -> usize {
        usize::try_from(self.below(n as u64)).unwrap_or(0)
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn minutes(&mut self, from: i64, to: i64) -> TimeDelta {
        let span = u64::try_from(to - from).unwrap_or(0) + 1;
        TimeDelta::minutes(from + i64::try_from(self.below(span)).unwrap_or(0))
    }
}

/// What happens to one incident of the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Resolved in time, rated.
    Smooth,
    /// Waits for the requester on hold, then resolved.
    OnHold,
    /// Escalated to second line, resolved late: breaches.
    Escalated,
    /// Left unattended too long: breaches, then resolved.
    Slow,
    /// Resolved, reopened by the requester, resolved again.
    Reopened,
    /// A duplicate, cancelled.
    Cancelled,
}

#[derive(Debug, Clone)]
struct PlannedIncident {
    service: usize,
    fault: usize,
    requester: usize,
    agent: usize,
    impact: Impact,
    urgency: Urgency,
    tier: CustomerTier,
    channel: Channel,
    fate: Fate,
}

/// One step of the history. Incidents, problems and changes are named by their index in the
/// plan; their keys are known once they are created.
#[derive(Debug, Clone)]
enum Act {
    Log(usize),
    Acknowledge(usize),
    Assign(usize),
    StartWork(usize),
    AskCustomer(usize),
    CustomerReplies(usize),
    Escalate(usize),
    Resolve(usize, ResolutionCode),
    Rate(usize, u8),
    Reopen(usize),
    Cancel(usize),
    RecordProblem(usize),
    LinkToProblem(usize, usize),
    RootCause(usize),
    Workaround(usize),
    RaiseChange(usize),
    ChangeThroughCab(usize),
    RejectChange(usize),
    Schedule(usize, DateTime<Utc>),
    Implement(usize),
    Complete(usize),
    Fail(usize),
    Review(usize, ReviewOutcome),
    CloseChange(usize),
    /// A successful change fixes its problem (if any): link it, resolve the problem.
    LinkFix(usize),
}

#[derive(Debug, Clone)]
struct PlannedChange {
    service: usize,
    title: &'static str,
    /// The problem it fixes, if any.
    fixes: Option<usize>,
}

/// The whole plan: what exists and what happens when.
struct Plan {
    incidents: Vec<PlannedIncident>,
    /// Problem index -> service.
    problems: Vec<usize>,
    changes: Vec<PlannedChange>,
    steps: Vec<(DateTime<Utc>, Act)>,
}

/// A local office time on `day` in `timezone`, in UTC (the earlier one across a DST change).
fn local(timezone: Tz, day: NaiveDate, hour: u32, minute: u32) -> Option<DateTime<Utc>> {
    let time = NaiveTime::from_hms_opt(hour, minute, 0)?;
    timezone
        .from_local_datetime(&day.and_time(time))
        .earliest()
        .map(|at| at.with_timezone(&Utc))
}

fn plan(options: Options, start: DateTime<Utc>, end: DateTime<Utc>) -> Plan {
    let mut dice = Dice(0x1ed6_e7de_5c00_0001);
    let mut steps: Vec<(DateTime<Utc>, Act)> = Vec::new();
    let mut incidents = Vec::new();
    let days = u64::try_from((end - start).num_days()).unwrap_or(0).max(1);
    // Incidents: logged in local office hours on working days, spread over the history.
    let mut logged: Vec<(DateTime<Utc>, usize)> = Vec::new();
    for _ in 0..options.incidents {
        let service = dice.index(SERVICES.len());
        let spec = &SERVICES[service];
        // A few land in the last three days, so the queues hold open (and overdue) tickets.
        let offset = if dice.chance(12) {
            days.saturating_sub(1 + dice.below(3))
        } else {
            dice.below(days)
        };
        let mut day = start.date_naive() + Days::new(offset);
        // Weekend tickets are rare: move them to the Friday before.
        while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            day = day - Days::new(1);
        }
        let hour = spec.hours.0
            + u32::try_from(dice.below(u64::from(spec.hours.1 - spec.hours.0))).unwrap_or(0);
        let minute = u32::try_from(dice.below(60)).unwrap_or(0);
        let Some(at) = local(spec.timezone, day, hour, minute) else {
            continue;
        };
        if at <= start || at >= end {
            continue;
        }
        // The first fault recurs: it gets half of the tickets.
        let fault = if dice.chance(50) {
            0
        } else {
            1 + dice.index(2)
        };
        let (impact, urgency) = match dice.below(10) {
            0 => (Impact::High, Urgency::High),
            1 | 2 => (Impact::Medium, Urgency::High),
            3..=6 => (Impact::Medium, Urgency::Medium),
            7 | 8 => (Impact::Low, Urgency::Medium),
            _ => (Impact::Low, Urgency::Low),
        };
        let fate = match dice.below(20) {
            0..=9 => Fate::Smooth,
            10 | 11 => Fate::OnHold,
            12 | 13 => Fate::Escalated,
            14..=16 => Fate::Slow,
            17 | 18 => Fate::Reopened,
            _ => Fate::Cancelled,
        };
        let index = incidents.len();
        incidents.push(PlannedIncident {
            service,
            fault,
            requester: dice.index(3),
            agent: dice.index(2),
            impact,
            urgency,
            tier: if dice.chance(10) {
                CustomerTier::Vip
            } else {
                CustomerTier::Standard
            },
            channel: [
                Channel::Portal,
                Channel::Email,
                Channel::Phone,
                Channel::Chat,
            ][dice.index(4)],
            fate,
        });
        logged.push((at, index));
    }
    logged.sort();
    for (at, index) in &logged {
        let (at, index) = (*at, *index);
        let fate = incidents[index].fate;
        let mut mine: Vec<(DateTime<Utc>, Act)> = Vec::new();
        mine.push((at, Act::Log(index)));
        if fate == Fate::Cancelled {
            mine.push((at + dice.minutes(10, 90), Act::Cancel(index)));
            steps.append(&mut mine);
            continue;
        }
        let slow = fate == Fate::Slow;
        let mut t = at
            + if slow {
                dice.minutes(240, 900)
            } else {
                dice.minutes(3, 45)
            };
        mine.push((t, Act::Acknowledge(index)));
        t += dice.minutes(1, 10);
        mine.push((t, Act::Assign(index)));
        t += dice.minutes(5, 60);
        mine.push((t, Act::StartWork(index)));
        if fate == Fate::OnHold {
            t += dice.minutes(10, 60);
            mine.push((t, Act::AskCustomer(index)));
            t += dice.minutes(120, 1_800);
            mine.push((t, Act::CustomerReplies(index)));
        }
        if fate == Fate::Escalated {
            t += dice.minutes(30, 120);
            mine.push((t, Act::Escalate(index)));
            t += dice.minutes(1_500, 4_000);
        } else if slow {
            t += dice.minutes(1_500, 3_000);
        } else {
            t += dice.minutes(20, 300);
        }
        let code = if incidents[index].fault == 0 {
            ResolutionCode::Workaround
        } else {
            ResolutionCode::Fixed
        };
        mine.push((t, Act::Resolve(index, code)));
        if fate == Fate::Reopened {
            t += dice.minutes(60, 600);
            mine.push((t, Act::Reopen(index)));
            t += dice.minutes(60, 480);
            mine.push((t, Act::Resolve(index, ResolutionCode::Fixed)));
        }
        // Most requesters rate within a day, before the auto-close three days later.
        if dice.chance(75) {
            let score = match fate {
                Fate::Smooth | Fate::OnHold => 4 + u8::from(dice.chance(60)),
                Fate::Escalated | Fate::Reopened => 2 + u8::from(dice.chance(50)),
                Fate::Slow => 1 + u8::from(dice.chance(40)),
                Fate::Cancelled => 3,
            };
            mine.push((t + dice.minutes(15, 1_200), Act::Rate(index, score)));
        }
        // Most tickets of the last few days are still being worked: the queues have a backlog
        // (logged, maybe acknowledged, assigned, in progress), some of it overdue by now.
        if at > end - TimeDelta::days(4) && dice.chance(60) {
            mine.truncate(1 + dice.index(4));
        }
        steps.append(&mut mine);
    }

    // Problems: the recurring fault of each service, recorded after its third ticket.
    let mut problems = Vec::new();
    let mut changes = Vec::new();
    for (service, _) in SERVICES.iter().enumerate() {
        let recurring: Vec<(DateTime<Utc>, usize)> = logged
            .iter()
            .filter(|(_, i)| {
                incidents[*i].service == service
                    && incidents[*i].fault == 0
                    && incidents[*i].fate != Fate::Cancelled
            })
            .copied()
            .collect();
        let Some(&(third, _)) = recurring.get(2) else {
            continue;
        };
        let problem = problems.len();
        problems.push(service);
        let recorded = third + TimeDelta::hours(2);
        steps.push((recorded, Act::RecordProblem(problem)));
        let analysed = recorded + TimeDelta::days(2);
        steps.push((analysed, Act::RootCause(problem)));
        steps.push((analysed + TimeDelta::hours(1), Act::Workaround(problem)));
        // The e-mail problem gets a fix through a change; the others stay known errors.
        let mut fixed = None;
        if service == 0 {
            let change = changes.len();
            changes.push(PlannedChange {
                service,
                title: "Raise the mail gateway's IMAP idle timeout",
                fixes: Some(problem),
            });
            fixed = plan_change(
                &mut steps,
                change,
                analysed + TimeDelta::days(1),
                Outcome::Success,
            );
        }
        // A resolved problem takes no more links.
        for &(at, incident) in &recurring {
            let link_at = recorded.max(at) + TimeDelta::minutes(30);
            if fixed.is_none_or(|fixed| link_at < fixed) {
                steps.push((link_at, Act::LinkToProblem(problem, incident)));
            }
        }
    }
    // Routine changes over the weeks: one per service, one failing, one rejected.
    let routine: [(usize, &str, Outcome); 3] = [
        (1, "Apply the ERP quarterly patch set", Outcome::Fails),
        (
            2,
            "Renew the VPN concentrator certificates",
            Outcome::Success,
        ),
        (
            1,
            "Move ERP reports to the new database server",
            Outcome::Rejected,
        ),
    ];
    for (n, (service, title, outcome)) in routine.into_iter().enumerate() {
        let change = changes.len();
        changes.push(PlannedChange {
            service,
            title,
            fixes: None,
        });
        let week = i64::try_from(n).unwrap_or(0) + 1;
        let raised = start + TimeDelta::days(week * 5) + TimeDelta::hours(9);
        plan_change(&mut steps, change, raised, outcome);
    }
    // Whatever would happen after the end of the history has not happened yet.
    steps.retain(|(at, _)| *at < end);
    steps.sort_by_key(|(at, _)| *at);
    Plan {
        incidents,
        problems,
        changes,
        steps,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    Fails,
    Rejected,
}

/// Plans a change's life from `raised`; returns when a successful change is done (reviewed).
fn plan_change(
    steps: &mut Vec<(DateTime<Utc>, Act)>,
    change: usize,
    raised: DateTime<Utc>,
    outcome: Outcome,
) -> Option<DateTime<Utc>> {
    steps.push((raised, Act::RaiseChange(change)));
    let cab = raised + TimeDelta::hours(26);
    if outcome == Outcome::Rejected {
        steps.push((cab, Act::RejectChange(change)));
        return None;
    }
    steps.push((cab, Act::ChangeThroughCab(change)));
    // Two days later, 20:00 UTC: outside office hours in Europe and Asia.
    let slot = (cab.date_naive() + Days::new(2))
        .and_hms_opt(20, 0, 0)
        .map_or(cab + TimeDelta::days(2), |slot| slot.and_utc());
    steps.push((cab + TimeDelta::hours(1), Act::Schedule(change, slot)));
    steps.push((slot, Act::Implement(change)));
    if outcome == Outcome::Fails {
        steps.push((slot + TimeDelta::minutes(50), Act::Fail(change)));
        steps.push((
            slot + TimeDelta::days(1),
            Act::Review(change, ReviewOutcome::Unsuccessful),
        ));
    } else {
        steps.push((slot + TimeDelta::minutes(45), Act::Complete(change)));
        steps.push((
            slot + TimeDelta::days(1),
            Act::Review(change, ReviewOutcome::Successful),
        ));
        steps.push((
            slot + TimeDelta::days(1) + TimeDelta::minutes(5),
            Act::LinkFix(change),
        ));
    }
    steps.push((
        slot + TimeDelta::days(1) + TimeDelta::minutes(10),
        Act::CloseChange(change),
    ));
    (outcome == Outcome::Success).then_some(slot + TimeDelta::days(1) + TimeDelta::minutes(5))
}

/// The desk on a manual clock with the process managers beside it.
struct Sim {
    desk: Desk<SledStore>,
    clock: Arc<ManualClock>,
    processes: ProcessHandle,
    incidents: Vec<Option<IncidentKey>>,
    problems: Vec<Option<ProblemKey>>,
    changes: Vec<Option<ChangeKey>>,
    /// History steps the deciders refused (counted and reported, not hidden).
    refused: Vec<String>,
}

/// Most clock stops at process-manager deadlines between two steps (a guard, never reached
/// in practice: each stop clears or moves the deadline).
const MAX_STOPS: usize = 100_000;

impl Sim {
    /// Moves the clock forward to `at`, stopping at every process-manager deadline on the way
    /// (so warnings, breaches and auto-closes carry their due times) and waiting each time
    /// until the managers have acted.
    async fn advance(&self, at: DateTime<Utc>) {
        for _ in 0..MAX_STOPS {
            let now = self.clock.now();
            let next = self
                .processes
                .statuses()
                .iter()
                .filter_map(|status| status.next_deadline)
                .min();
            match next {
                Some(next) if next <= at && next > now => {
                    self.clock.set(next);
                    self.processes.settled(next).await;
                }
                _ => break,
            }
        }
        if at > self.clock.now() {
            self.clock.set(at);
        }
        self.processes.settled(self.clock.now()).await;
    }

    fn incident(&self, index: usize) -> Option<IncidentKey> {
        self.incidents.get(index).copied().flatten()
    }

    /// Runs one history step; a refusal by the deciders is recorded, anything else fails.
    async fn step(&mut self, plan: &Plan, act: &Act) -> Result<(), CliError> {
        match self.act(plan, act).await {
            Ok(()) => Ok(()),
            Err(
                error @ (DeskError::InvalidTransition(_)
                | DeskError::Conflict(_)
                | DeskError::Validation(_)
                | DeskError::NotFound(_)
                | DeskError::Forbidden(_)),
            ) => {
                self.refused.push(format!("{act:?}: {error}"));
                Ok(())
            }
            Err(error @ (DeskError::Internal(_) | DeskError::Unavailable(_))) => Err(
                CliError::Command(format!("demo step {act:?} failed: {error}")),
            ),
        }
    }

    async fn act(&mut self, plan: &Plan, act: &Act) -> Result<(), DeskError> {
        let agent_of = |i: usize| {
            let p = &plan.incidents[i];
            person(SERVICES[p.service].agents[p.agent], Role::Agent)
        };
        let requester_of = |i: usize| {
            let p = &plan.incidents[i];
            person(SERVICES[p.service].requesters[p.requester], Role::Requester)
        };
        let change_manager = person(CHANGE_MANAGER, Role::ChangeManager);
        let missing = |what: &str| DeskError::NotFound(format!("{what} was not created"));
        let desk = self.desk.clone();
        match *act {
            Act::Log(i) => {
                let p = &plan.incidents[i];
                let spec = &SERVICES[p.service];
                let (category, title) = spec.faults[p.fault];
                let requester = spec.requesters[p.requester];
                let new = NewIncident {
                    title: title.to_owned(),
                    description: format!("{title}. Reported by {requester} via {:?}.", p.channel),
                    channel: p.channel,
                    requester: id(requester),
                    tier: p.tier,
                    service: id(spec.id),
                    category: id(category),
                    impact: p.impact,
                    urgency: p.urgency,
                };
                // Phone calls are logged by the agent who takes them.
                let actor = match p.channel {
                    Channel::Phone => agent_of(i),
                    Channel::Portal | Channel::Email | Channel::Chat | Channel::Api => {
                        requester_of(i)
                    }
                };
                let (key, _) = desk.log_incident(new, &actor).await?;
                self.incidents[i] = Some(key);
            }
            Act::Acknowledge(i) => {
                let key = self.incident(i).ok_or_else(|| missing("incident"))?;
                desk.acknowledge(key, &agent_of(i)).await?;
            }
            Act::Assign(i) => {
                let key = self.incident(i).ok_or_else(|| missing("incident"))?;
                let p = &plan.incidents[i];
                let spec = &SERVICES[p.service];
                desk.assign(
                    key,
                    Some(id(spec.group)),
                    Some(id(spec.agents[p.agent])),
                    &agent_of(i),
                )
                .await?;
            }
            Act::StartWork(i) => {
                let key = self.incident(i).ok_or_else(|| missing("incident"))?;
                desk.start_work(key, &agent_of(i)).await?;
            }
            Act::AskCustomer(i) => {
                let key = self.incident(i).ok_or_else(|| missing("incident"))?;
                desk.comment(
                    key,
                    "Could you send a screenshot of the error and the time it happened?".to_owned(),
                    Visibility::Public,
                    &agent_of(i),
                )
                .await?;
                desk.put_on_hold(key, HoldReason::AwaitingCustomer, &agent_of(i))
                    .await?;
            }
            Act::CustomerReplies(i) => {
                let key = self.incident(i).ok_or_else(|| missing("incident"))?;
                desk.comment(
                    key,
                    "Screenshot attached; it happened again this morning.".to_owned(),
                    Visibility::Public,
                    &requester_of(i),
                )
                .await?;
                desk.resume(key, &agent_of(i)).await?;
            }
            Act::Escalate(i) => {
                let key = self.incident(i).ok_or_else(|| missing("incident"))?;
                let spec = &SERVICES[plan.incidents[i].service];
                desk.escalate(
                    key,
                    EscalateTo::Group(id(spec.second_line)),
                    "Needs server-side analysis by second line.".to_owned(),
                    &agent_of(i),
                )
                .await?;
            }
            Act::Resolve(i, code) => {
                let key = self.incident(i).ok_or_else(|| missing("incident"))?;
                let notes = match code {
                    ResolutionCode::Workaround => {
                        SERVICES[plan.incidents[i].service].known_error.1.to_owned()
                    }
                    _ => "Fixed; the requester confirmed it works again.".to_owned(),
                };
                desk.resolve(key, code, notes, &agent_of(i)).await?;
            }
            Act::Rate(i, score) => {
                let key = self.incident(i).ok_or_else(|| missing("incident"))?;
                let comment = match score {
                    5 => "Fast and friendly, thank you!",
                    4 => "Good help.",
                    3 => "Solved, but it took a while.",
                    2 => "Too slow, I could not work for a day.",
                    _ => "Nobody answered for ages.",
                };
                desk.rate(key, score, comment.to_owned(), &requester_of(i))
                    .await?;
            }
            Act::Reopen(i) => {
                let key = self.incident(i).ok_or_else(|| missing("incident"))?;
                desk.reopen(
                    key,
                    "It is broken again after the restart.".to_owned(),
                    &requester_of(i),
                )
                .await?;
            }
            Act::Cancel(i) => {
                let key = self.incident(i).ok_or_else(|| missing("incident"))?;
                desk.cancel(
                    key,
                    "Duplicate of an earlier ticket.".to_owned(),
                    &agent_of(i),
                )
                .await?;
            }
            Act::RecordProblem(n) => {
                let spec = &SERVICES[plan.problems[n]];
                let agent = person(spec.agents[0], Role::Agent);
                let (key, _) = desk
                    .record_problem(
                        NewProblem {
                            title: format!("Recurring: {}", spec.faults[0].1),
                            description: "Several users report the same fault every week."
                                .to_owned(),
                            service: id(spec.id),
                            impact: Impact::Medium,
                            urgency: Urgency::Medium,
                        },
                        &agent,
                    )
                    .await?;
                desk.start_investigation(
                    key,
                    id(spec.second_line),
                    Some(id(spec.agents[1])),
                    &agent,
                )
                .await?;
                self.problems[n] = Some(key);
            }
            Act::LinkToProblem(n, i) => {
                let problem = self.problems[n].ok_or_else(|| missing("problem"))?;
                let incident = self.incident(i).ok_or_else(|| missing("incident"))?;
                desk.link_problem_incident(problem, incident, &agent_of(i))
                    .await?;
            }
            Act::RootCause(n) => {
                let spec = &SERVICES[plan.problems[n]];
                let problem = self.problems[n].ok_or_else(|| missing("problem"))?;
                desk.record_root_cause(
                    problem,
                    spec.known_error.0.to_owned(),
                    &person(spec.agents[1], Role::Agent),
                )
                .await?;
            }
            Act::Workaround(n) => {
                let spec = &SERVICES[plan.problems[n]];
                let problem = self.problems[n].ok_or_else(|| missing("problem"))?;
                desk.document_workaround(
                    problem,
                    spec.known_error.1.to_owned(),
                    &person(spec.agents[1], Role::Agent),
                )
                .await?;
            }
            Act::RaiseChange(c) => {
                let planned = &plan.changes[c];
                let spec = &SERVICES[planned.service];
                let (key, _) = desk
                    .raise_change(
                        NewChange {
                            change_type: ChangeType::Normal,
                            title: planned.title.to_owned(),
                            description: format!("{} ({}).", planned.title, spec.name),
                            service: id(spec.id),
                            impact: Impact::Medium,
                            likelihood: Likelihood::Low,
                            implementation_plan: "Apply in the maintenance window; smoke-test \
                                                  with three users."
                                .to_owned(),
                            backout_plan: "Restore the snapshot taken before the change."
                                .to_owned(),
                            requested_by: id(spec.agents[1]),
                        },
                        &change_manager,
                    )
                    .await?;
                desk.submit_change(key, &change_manager).await?;
                self.changes[c] = Some(key);
            }
            Act::ChangeThroughCab(c) | Act::RejectChange(c) => {
                let key = self.changes[c].ok_or_else(|| missing("change"))?;
                desk.assess_change(
                    key,
                    Assessment {
                        impact: Impact::Medium,
                        likelihood: Likelihood::Low,
                        notes: "Tested in staging; backout rehearsed.".to_owned(),
                        cab: CAB.iter().map(|name| id::<UserId>(name)).collect(),
                        required_approvals: 2,
                    },
                    &change_manager,
                )
                .await?;
                if matches!(act, Act::RejectChange(_)) {
                    desk.record_approval(
                        key,
                        id(CAB[0]),
                        Vote::Reject,
                        "The new server is not under monitoring yet.".to_owned(),
                        &change_manager,
                    )
                    .await?;
                    // One rejecting vote may already decide it; reject explicitly otherwise.
                    let record = desk.load_change(key).await?;
                    if !matches!(record.status, itsm_change::Status::Rejected) {
                        desk.reject_change(
                            key,
                            "Not before the server is monitored.".to_owned(),
                            &change_manager,
                        )
                        .await?;
                    }
                } else {
                    for member in CAB {
                        desk.record_approval(
                            key,
                            id(member),
                            Vote::Approve,
                            String::new(),
                            &change_manager,
                        )
                        .await?;
                    }
                }
            }
            Act::Schedule(c, from) => {
                let key = self.changes[c].ok_or_else(|| missing("change"))?;
                desk.schedule_change(key, from, from + TimeDelta::hours(1), &change_manager)
                    .await?;
            }
            Act::Implement(c) => {
                let key = self.changes[c].ok_or_else(|| missing("change"))?;
                desk.start_implementation(key, &change_manager).await?;
            }
            Act::Complete(c) => {
                let key = self.changes[c].ok_or_else(|| missing("change"))?;
                desk.complete_implementation(
                    key,
                    "Done; smoke tests passed.".to_owned(),
                    &change_manager,
                )
                .await?;
            }
            Act::Fail(c) => {
                let key = self.changes[c].ok_or_else(|| missing("change"))?;
                desk.fail_change(
                    key,
                    true,
                    "Patch broke the purchasing module; backed out.".to_owned(),
                    &change_manager,
                )
                .await?;
            }
            Act::Review(c, outcome) => {
                let key = self.changes[c].ok_or_else(|| missing("change"))?;
                desk.review_change(
                    key,
                    outcome,
                    "Reviewed at the weekly CAB.".to_owned(),
                    &change_manager,
                )
                .await?;
            }
            Act::CloseChange(c) => {
                let key = self.changes[c].ok_or_else(|| missing("change"))?;
                desk.close_change(key, &change_manager).await?;
            }
            Act::LinkFix(c) => {
                let key = self.changes[c].ok_or_else(|| missing("change"))?;
                if let Some(n) = plan.changes[c].fixes {
                    let problem = self.problems[n].ok_or_else(|| missing("problem"))?;
                    let agent = person(SERVICES[plan.problems[n]].agents[1], Role::Agent);
                    desk.link_fix_change(problem, key, &agent).await?;
                    desk.resolve_problem(problem, format!("Fixed by {key}."), &agent)
                        .await?;
                }
            }
        }
        Ok(())
    }
}

fn say(step: &str, result: &CommandResult) {
    println!(
        "  {step:<58} -> {} v{} at position {}",
        result.stream, result.version, result.position
    );
}

/// Defines the calendars, services, SLA policies and a freeze window once (on the first run).
async fn define_catalog(
    desk: &Desk<SledStore>,
    now: DateTime<Utc>,
    verbose: bool,
) -> Result<bool, CliError> {
    let catalog = desk.catalog().await.map_err(failed("load the catalog"))?;
    if catalog.service(&id::<ServiceId>(SERVICES[0].id)).is_some() {
        return Ok(false);
    }
    let manager = person(SERVICE_MANAGER, Role::ServiceManager);
    let report = |step: &str, result: &CommandResult| {
        if verbose {
            say(step, result);
        }
    };
    if verbose {
        println!("A service manager defines the catalog:");
    }
    let year = now.year();
    let holidays = [
        (year, 12, 24),
        (year, 12, 25),
        (year, 12, 26),
        (year + 1, 1, 1),
    ]
    .into_iter()
    .filter_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
    .collect::<Vec<_>>();
    let pause_on = BTreeSet::from([HoldReason::AwaitingCustomer]);
    for spec in &SERVICES {
        let calendar = Calendar::office_hours(
            spec.timezone,
            NaiveTime::from_hms_opt(spec.hours.0, 0, 0).unwrap_or_default(),
            NaiveTime::from_hms_opt(spec.hours.1, 0, 0).unwrap_or_default(),
        )
        .and_then(|calendar| calendar.with_holidays(holidays.iter().copied()))
        .map_err(|e| CliError::Command(format!("demo calendar: {e}")))?;
        let step = format!(
            "define calendar {} (Mon-Fri {:02}-{:02} {})",
            spec.calendar, spec.hours.0, spec.hours.1, spec.timezone
        );
        let result = desk
            .define_calendar(id(spec.calendar), calendar, &manager)
            .await
            .map_err(failed(&step))?;
        report(&step, &result);
        let step = format!("define service {}", spec.id);
        let result = desk
            .define_service(
                id(spec.id),
                spec.name.to_owned(),
                id(spec.group),
                Criticality::High,
                &manager,
            )
            .await
            .map_err(failed(&step))?;
        report(&step, &result);
        for tier in [CustomerTier::Standard, CustomerTier::Vip] {
            for (priority, response, resolution) in TARGETS {
                // VIPs get half the standard targets.
                let factor = if tier == CustomerTier::Vip { 2 } else { 1 };
                let targets = SlaTargets::new(
                    TimeDelta::minutes(response / factor),
                    TimeDelta::minutes(resolution / factor),
                    80,
                    pause_on.clone(),
                )
                .map_err(|e| CliError::Command(format!("demo SLA targets: {e}")))?;
                let tier_name = match tier {
                    CustomerTier::Standard => "standard",
                    CustomerTier::Vip => "vip",
                };
                let name = format!(
                    "{}-{}-{tier_name}",
                    spec.id,
                    priority.to_string().to_lowercase()
                );
                let step = format!("define SLA policy {name}");
                let result = desk
                    .define_sla_policy(
                        NewSlaPolicy {
                            policy: id(&name),
                            service: id(spec.id),
                            priority,
                            tier,
                            targets,
                            calendar: id(spec.calendar),
                            ola: BTreeMap::from([
                                (
                                    id::<GroupId>(spec.group),
                                    TimeDelta::minutes(resolution / 2 / factor),
                                ),
                                (
                                    id::<GroupId>(spec.second_line),
                                    TimeDelta::minutes(resolution / factor),
                                ),
                            ]),
                        },
                        &manager,
                    )
                    .await
                    .map_err(failed(&step))?;
                report(&step, &result);
            }
        }
    }
    let freeze_from = (now + TimeDelta::days(10))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let step = "define freeze window quarter-end (global, 10 days from now)";
    let result = desk
        .define_freeze_window(
            id("quarter-end"),
            FreezeScope::Global,
            (freeze_from, freeze_from + TimeDelta::days(7)),
            "Quarter-end closing: no changes.".to_owned(),
            &manager,
        )
        .await
        .map_err(failed(step))?;
    report(step, &result);
    Ok(true)
}

/// Seeds the demo data into `store`: the catalog (once), the history (when there is room for
/// it before now) and the present-day story. With `verbose`, prints the story's steps.
pub async fn seed(store: Arc<SledStore>, options: Options, verbose: bool) -> Result<(), CliError> {
    let head_before = store.head();
    let now = Utc::now();
    let last_recorded = match head_before {
        0 => None,
        head => store
            .read_all(head, 1)
            .await?
            .first()
            .map(|envelope| envelope.metadata.recorded_at),
    };
    // History starts `weeks` ago, or after the ledger's last event (time never goes back).
    let weeks_ago = now - TimeDelta::weeks(i64::from(options.weeks));
    let start = last_recorded.map_or(weeks_ago, |last| {
        weeks_ago.max(last + TimeDelta::minutes(1))
    });
    // The present-day story takes the last two hours, or what is left of them after the
    // ledger's last event (its steps never pass the real now).
    let story_start = last_recorded
        .map_or(now - TimeDelta::hours(2), |last| {
            (now - TimeDelta::hours(2)).max(last + TimeDelta::seconds(1))
        })
        .min(now);
    let history = story_start - start >= TimeDelta::days(2) && options.incidents > 0;

    let clock = Arc::new(ManualClock::new(start.min(story_start)));
    let dyn_clock: Arc<dyn Clock> = Arc::clone(&clock) as Arc<dyn Clock>;
    let bus = CommandBus::new(
        Arc::clone(&store),
        Arc::clone(&dyn_clock),
        Arc::new(UuidV7Ids),
    );
    let processes = ProcessManagers::start(&bus, &store, &dyn_clock, ProcessConfig::default());
    let desk = Desk::with_stream_lookup(bus);
    let mut sim = Sim {
        desk,
        clock,
        processes,
        incidents: Vec::new(),
        problems: Vec::new(),
        changes: Vec::new(),
        refused: Vec::new(),
    };
    sim.advance(sim.clock.now()).await;
    if define_catalog(&sim.desk, now, verbose).await? {
        if !verbose {
            println!("Defined the demo catalog: 3 calendars, 3 services, 30 SLA policies.");
        }
    } else {
        println!("The catalog already defines the demo services and their SLA policies.");
    }

    if history {
        let plan = plan(options, start, story_start);
        println!(
            "Playing {} steps of history from {} to {} on a manual clock: \
             every event is recorded at its past moment.",
            plan.steps.len(),
            start.format("%Y-%m-%d %H:%M UTC"),
            story_start.format("%Y-%m-%d %H:%M UTC"),
        );
        sim.incidents = vec![None; plan.incidents.len()];
        sim.problems = vec![None; plan.problems.len()];
        sim.changes = vec![None; plan.changes.len()];
        for (at, act) in &plan.steps {
            sim.advance(*at).await;
            sim.step(&plan, act).await?;
        }
    } else {
        println!(
            "No room for history: the ledger already has events up to {}; adding only the \
             present-day story.",
            last_recorded.map_or_else(String::new, |at| at
                .format("%Y-%m-%d %H:%M UTC")
                .to_string())
        );
    }

    sim.advance(story_start.max(sim.clock.now())).await;
    story(&sim, verbose).await?;
    // Up to the real present, so SLA timers of the open tickets are where a server would be.
    let end = Utc::now().max(sim.clock.now());
    sim.advance(end).await;

    if !sim.refused.is_empty() {
        println!(
            "{} history steps were refused by the deciders (the desk's rules, not errors):",
            sim.refused.len()
        );
        for refusal in sim.refused.iter().take(10) {
            println!("  {refusal}");
        }
    }
    sim.processes.stop().await;
    summarize(&store, head_before).await
}

/// Counts of what this run wrote, by event type.
async fn summarize(store: &SledStore, head_before: u64) -> Result<(), CliError> {
    let written = store.read_all(head_before + 1, usize::MAX).await?;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for envelope in &written {
        *counts.entry(envelope.event_type.as_str()).or_default() += 1;
    }
    let (first, last) = match (written.first(), written.last()) {
        (Some(first), Some(last)) => (first.metadata.recorded_at, last.metadata.recorded_at),
        _ => return Ok(()),
    };
    println!(
        "\nThis run wrote {} events (positions {}..={}), recorded from {} to {}:",
        written.len(),
        head_before + 1,
        store.head(),
        first.format("%Y-%m-%d %H:%M UTC"),
        last.format("%Y-%m-%d %H:%M UTC"),
    );
    for (event_type, count) in counts {
        println!("  {event_type:<34} {count:>6}");
    }
    Ok(())
}

/// The present-day story: an Outlook incident worked to resolution and rated, a problem
/// behind it with a workaround, and a change scheduled for tomorrow evening.
async fn story(sim: &Sim, verbose: bool) -> Result<(), CliError> {
    let desk = &sim.desk;
    let tell = |step: &str, result: &CommandResult| {
        if verbose {
            say(step, result);
        }
    };
    let minutes = |n: i64| async move {
        sim.advance((sim.clock.now() + TimeDelta::minutes(n)).min(Utc::now()))
            .await;
    };
    if verbose {
        println!("Now: a requester reports an incident and an agent works it:");
    }
    let requester = person("rita.requester", Role::Requester);
    let agent = person("alex.agent", Role::Agent);
    let (key, result) = desk
        .log_incident(
            NewIncident {
                title: "Outlook cannot connect to the mail server".to_owned(),
                description: "Since 9:00 Outlook says 'disconnected'; webmail works.".to_owned(),
                channel: Channel::Portal,
                requester: id("rita.requester"),
                tier: CustomerTier::Standard,
                service: id("email"),
                category: id("email/connectivity"),
                impact: Impact::Medium,
                urgency: Urgency::High,
            },
            &requester,
        )
        .await
        .map_err(failed("log the incident"))?;
    tell(&format!("{key}: requester logs it (P2, email)"), &result);
    minutes(4).await;
    let result = desk
        .acknowledge(key, &agent)
        .await
        .map_err(failed("acknowledge"))?;
    tell(&format!("{key}: agent acknowledges"), &result);
    let result = desk
        .assign(
            key,
            Some(id("service-desk")),
            Some(id("alex.agent")),
            &agent,
        )
        .await
        .map_err(failed("assign"))?;
    tell(
        &format!("{key}: agent assigns it to service-desk / alex.agent"),
        &result,
    );
    let result = desk
        .start_work(key, &agent)
        .await
        .map_err(failed("start work"))?;
    tell(&format!("{key}: agent starts work"), &result);
    minutes(6).await;
    let result = desk
        .comment(
            key,
            "Could you send a screenshot of the error?".to_owned(),
            Visibility::Public,
            &agent,
        )
        .await
        .map_err(failed("comment"))?;
    tell(
        &format!("{key}: agent asks the requester for a screenshot"),
        &result,
    );
    let result = desk
        .put_on_hold(key, HoldReason::AwaitingCustomer, &agent)
        .await
        .map_err(failed("put on hold"))?;
    tell(
        &format!("{key}: agent puts it on hold (awaiting customer)"),
        &result,
    );
    minutes(20).await;
    let result = desk.resume(key, &agent).await.map_err(failed("resume"))?;
    tell(&format!("{key}: agent resumes"), &result);
    minutes(15).await;
    let result = desk
        .resolve(
            key,
            ResolutionCode::Workaround,
            "Re-created the Outlook profile; root cause under investigation.".to_owned(),
            &agent,
        )
        .await
        .map_err(failed("resolve"))?;
    tell(&format!("{key}: agent resolves it"), &result);
    minutes(5).await;
    let result = desk
        .rate(key, 4, "Quick help, thanks.".to_owned(), &requester)
        .await
        .map_err(failed("rate"))?;
    tell(&format!("{key}: requester rates it 4/5"), &result);

    if verbose {
        println!("An agent opens a problem behind it:");
    }
    minutes(10).await;
    let (problem, result) = desk
        .record_problem(
            NewProblem {
                title: "Outlook profiles break after the mail gateway update".to_owned(),
                description: "Several users lose their connection after the update.".to_owned(),
                service: id("email"),
                impact: Impact::Medium,
                urgency: Urgency::Medium,
            },
            &agent,
        )
        .await
        .map_err(failed("record the problem"))?;
    tell(&format!("{problem}: agent records it"), &result);
    let result = desk
        .start_investigation(problem, id("email-l2"), Some(id("alex.agent")), &agent)
        .await
        .map_err(failed("start the investigation"))?;
    tell(&format!("{problem}: investigation starts"), &result);
    let result = desk
        .link_problem_incident(problem, key, &agent)
        .await
        .map_err(failed("link the incident"))?;
    tell(&format!("{problem}: links {key}"), &result);
    minutes(20).await;
    let result = desk
        .record_root_cause(
            problem,
            "The gateway update changed the autodiscover URL.".to_owned(),
            &agent,
        )
        .await
        .map_err(failed("record the root cause"))?;
    tell(&format!("{problem}: records the root cause"), &result);
    let result = desk
        .document_workaround(problem, "Re-create the Outlook profile.".to_owned(), &agent)
        .await
        .map_err(failed("document the workaround"))?;
    tell(
        &format!("{problem}: documents a workaround (known error)"),
        &result,
    );

    if verbose {
        println!("A change fixes it for good:");
    }
    minutes(10).await;
    let change_manager = person(CHANGE_MANAGER, Role::ChangeManager);
    let (change, result) = desk
        .raise_change(
            NewChange {
                change_type: ChangeType::Normal,
                title: "Publish the new autodiscover record".to_owned(),
                description: "Point autodiscover at the updated mail gateway.".to_owned(),
                service: id("email"),
                impact: Impact::Medium,
                likelihood: Likelihood::Low,
                implementation_plan: "Update the DNS record; verify with three test clients."
                    .to_owned(),
                backout_plan: "Restore the previous DNS record.".to_owned(),
                requested_by: id("alex.agent"),
            },
            &change_manager,
        )
        .await
        .map_err(failed("raise the change"))?;
    tell(
        &format!("{change}: change manager raises a normal change"),
        &result,
    );
    let result = desk
        .submit_change(change, &change_manager)
        .await
        .map_err(failed("submit"))?;
    tell(&format!("{change}: submits it"), &result);
    let result = desk
        .assess_change(
            change,
            Assessment {
                impact: Impact::Medium,
                likelihood: Likelihood::Low,
                notes: "DNS change with a tested backout.".to_owned(),
                cab: CAB.iter().map(|name| id::<UserId>(name)).collect(),
                required_approvals: 2,
            },
            &change_manager,
        )
        .await
        .map_err(failed("assess"))?;
    tell(
        &format!("{change}: assesses it: CAB alice + bob, quorum 2"),
        &result,
    );
    for member in CAB {
        let result = desk
            .record_approval(
                change,
                id(member),
                Vote::Approve,
                String::new(),
                &change_manager,
            )
            .await
            .map_err(failed("approve"))?;
        tell(&format!("{change}: records {member}'s approval"), &result);
    }
    // Tomorrow 20:00-21:00 UTC, outside office hours in Berlin.
    let from = (Utc::now().date_naive() + Days::new(1))
        .and_hms_opt(20, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let result = desk
        .schedule_change(change, from, from + TimeDelta::hours(1), &change_manager)
        .await
        .map_err(failed("schedule"))?;
    tell(
        &format!("{change}: schedules it for tomorrow 20:00 UTC"),
        &result,
    );
    Ok(())
}

pub async fn run(store: SledStore, data: &Path, options: Options) -> Result<(), CliError> {
    println!("Ledgerdesk demo on the ledger in {}", data.display());
    let store = Arc::new(store);
    seed(Arc::clone(&store), options, true).await?;
    println!();
    ledger::verify(&store).await?;
    println!(
        "\nHistory events carry past `recorded_at` times (the demo drives the desk with a manual \
         clock through the weeks, ending now)."
    );
    println!(
        "Run `ledgerdesk --data {} events --json` to read the ledger with decoded payloads, or \
         `ledgerdesk --data {} serve` to explore it in GraphiQL.",
        data.display(),
        data.display()
    );
    Ok(())
}
