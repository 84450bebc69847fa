//! `genledger`'s engine: a large, realistic ledger written by the real desk.
//!
//! Every event is decided by the real deciders through `itsm_app::Desk` (catalog lookups, SLA
//! policy and OLA targets put into the commands, encoded, appended with the stream version read,
//! group-committed and hash-chained), on a `ManualClock` moved through past weeks so events carry
//! their past `recorded_at`. Two shortcuts, both allowed by the design:
//!
//! - **No HTTP, many streams at once.** The history is a discrete-event simulation in ticks of
//!   [`TICK_MINUTES`]: every incident with something to do in a tick runs as its own tokio task
//!   (its own acts in order), so the store's group commit batches the appends of hundreds of
//!   incidents into one flush. The clock stands still during a tick and moves only between
//!   ticks, so the ledger's time never goes backwards; an act planned inside a tick is recorded
//!   at the tick's start.
//! - **No process managers.** Their facts are produced by the commands they would send, with
//!   their automation actors: SLA warnings at the clock's warning instant and breaches at its
//!   due instant (`sla-timer`), closes three days after an unreopened resolution
//!   (`auto-close`). A timer is checked against the incident's state when it comes due, as the
//!   real timer does; a started `ledgerdesk serve` finds nothing overdue left to send.
//!
//! The plan is drawn from a fixed-seed generator (the same options give the same story,
//! relative to the end, which is the real "now"). Exactly `open` incidents stay open (new,
//! assigned, in progress or on hold, logged in the last [`OPEN_SPAN_DAYS`] days); the others are
//! resolved (most of them closed and rated) or cancelled, logged early enough that their whole
//! story fits before the end.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use itsm_app::desk::{EscalateTo, NewIncident, NewSlaPolicy};
use itsm_app::process::{AUTO_CLOSE, SLA_TIMER};
use itsm_app::{Clock, CommandBus, Desk, DeskError, ManualClock, ProcessConfig, UuidV7Ids};
use itsm_catalog::Criticality;
use itsm_eventstore::{EventStore, SledStore};
use itsm_incident::{Channel, LoggedIncident, ResolutionCode, Status, Visibility};
use itsm_kernel::{
    Actor, CustomerTier, GroupId, Impact, IncidentKey, Name, Priority, Role, ServiceId, Urgency,
    UserId,
};
use itsm_sla::{Calendar, ClockKind, HoldReason, SlaTargets};
use tokio::task::JoinSet;

use crate::scale::{Dice, ScaleError};

/// Length of one simulation tick: acts planned inside it are recorded at its start.
pub const TICK_MINUTES: i64 = 5;
/// Open incidents are logged within this many days before the end.
pub const OPEN_SPAN_DAYS: i64 = 30;
/// Incidents logged per day of history (sets the history's length).
pub const INCIDENTS_PER_DAY: u64 = 5_000;
/// Closed incidents are logged at least this long before the end, so their story fits.
const SETTLE_DAYS: i64 = 9;
/// States kept by the command bus: the incidents in flight stay cached.
const BUS_CACHE: usize = 60_000;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenOptions {
    pub incidents: u64,
    /// Incidents that stay open (at most `incidents`).
    pub open: u64,
}

/// What was generated.
#[derive(Debug, Clone, PartialEq)]
pub struct GenReport {
    pub incidents: u64,
    pub open: u64,
    /// Ledger head after the run.
    pub events: u64,
    /// Events written by this run.
    pub written: u64,
    /// Commands the deciders refused (counted, not fatal: the desk's rules, not errors).
    pub refused: u64,
    /// SLA warnings and breaches recorded, closes by the auto-close.
    pub warnings: u64,
    pub breaches: u64,
    pub auto_closed: u64,
    pub ticks: u64,
    pub elapsed: Duration,
    pub first: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// One service of the catalog: its calendar's zone and office hours, and its two groups.
struct ServiceSpec {
    id: &'static str,
    timezone: Tz,
    hours: (u32, u32),
    faults: [&'static str; 3],
}

const SERVICES: [ServiceSpec; 6] = [
    ServiceSpec {
        id: "email",
        timezone: chrono_tz::Europe::Berlin,
        hours: (8, 18),
        faults: [
            "Outlook disconnects",
            "Mails bounce",
            "Shared calendar stale",
        ],
    },
    ServiceSpec {
        id: "erp",
        timezone: chrono_tz::America::New_York,
        hours: (9, 17),
        faults: ["ERP login fails", "Report times out", "Orders print blank"],
    },
    ServiceSpec {
        id: "vpn",
        timezone: chrono_tz::Asia::Tokyo,
        hours: (9, 18),
        faults: ["Tunnel drops", "MFA prompt missing", "Intranet unreachable"],
    },
    ServiceSpec {
        id: "hr-portal",
        timezone: chrono_tz::Europe::London,
        hours: (9, 17),
        faults: ["Payslip missing", "Leave request stuck", "Portal slow"],
    },
    ServiceSpec {
        id: "crm",
        timezone: chrono_tz::America::Sao_Paulo,
        hours: (8, 17),
        faults: [
            "Contacts not syncing",
            "Quote PDF empty",
            "Pipeline view errors",
        ],
    },
    ServiceSpec {
        id: "wifi",
        timezone: chrono_tz::Australia::Sydney,
        hours: (8, 17),
        faults: [
            "No signal in room",
            "Captive portal loops",
            "Slow on floor 3",
        ],
    },
];

/// Agents per group, requesters in all.
const AGENTS_PER_GROUP: u64 = 20;
const REQUESTERS: u64 = 50_000;

/// Response and resolution targets in minutes (business time) per priority.
const TARGETS: [(Priority, i64, i64); 5] = [
    (Priority::P1, 15, 4 * 60),
    (Priority::P2, 60, 8 * 60),
    (Priority::P3, 4 * 60, 3 * 8 * 60),
    (Priority::P4, 8 * 60, 5 * 8 * 60),
    (Priority::P5, 2 * 8 * 60, 10 * 8 * 60),
];

fn parse<T: std::str::FromStr>(text: &str) -> Result<T, ScaleError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e: T::Err| ScaleError::Plan(format!("bad id {text:?}: {e}")))
}

/// [`parse`] for the desk's error type.
fn desk_id<T: std::str::FromStr>(text: &str) -> Result<T, DeskError>
where
    T::Err: std::fmt::Display,
{
    parse(text).map_err(|e| DeskError::Validation(e.to_string()))
}

fn first_line(service: usize) -> String {
    format!("{}-desk", SERVICES[service].id)
}

fn second_line(service: usize) -> String {
    format!("{}-l2", SERVICES[service].id)
}

fn agent_name(group: &str, n: u64) -> String {
    format!("{group}.agent{:02}", n % AGENTS_PER_GROUP)
}

/// What happens to one incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Smooth,
    OnHold,
    Escalated,
    Slow,
    Reopened,
    Cancelled,
}

/// One act of an incident's story.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Log,
    Acknowledge,
    Assign,
    StartWork,
    AskCustomer,
    CustomerReplies,
    Resume,
    Escalate,
    AssignSecondLine,
    Resolve(ResolutionCode),
    Reopen,
    Rate(u8),
    Cancel,
}

/// One incident's plan: who, what, and its acts as minutes after the history's start.
#[derive(Debug, Clone)]
struct Planned {
    service: u8,
    fault: u8,
    impact: Impact,
    urgency: Urgency,
    tier: CustomerTier,
    channel: Channel,
    requester: u32,
    agent: u8,
    acts: Vec<(u32, Act)>,
}

/// Something to do for one incident at a tick.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    /// The incident's act number `n`.
    Act(u16),
    /// The SLA timer: a warning (`false`) or breach (`true`) of `clock` for deadline `due`.
    Timer {
        breach: bool,
        clock: ClockKind,
        due: DateTime<Utc>,
    },
    /// The auto-close, for the resolution at this instant.
    AutoClose(DateTime<Utc>),
}

type Entry = Reverse<(u64, u32, Due)>;

fn minutes(dice: &mut Dice, from: u32, to: u32) -> u32 {
    from + u32::try_from(dice.below(u64::from(to - from) + 1)).unwrap_or(0)
}

/// The acts of a story starting `at` (minutes after the start); `keep` cuts it for an open
/// incident (the number of acts kept, all before the resolution).
fn story(dice: &mut Dice, fate: Fate, at: u32, fault: u8) -> Vec<(u32, Act)> {
    let mut acts = vec![(at, Act::Log)];
    if fate == Fate::Cancelled {
        acts.push((at + minutes(dice, 10, 90), Act::Cancel));
        return acts;
    }
    let slow = fate == Fate::Slow;
    let mut t = at
        + if slow {
            minutes(dice, 240, 900)
        } else {
            minutes(dice, 3, 45)
        };
    acts.push((t, Act::Acknowledge));
    t += minutes(dice, 1, 10);
    acts.push((t, Act::Assign));
    t += minutes(dice, 5, 60);
    acts.push((t, Act::StartWork));
    if fate == Fate::OnHold {
        t += minutes(dice, 10, 60);
        acts.push((t, Act::AskCustomer));
        t += minutes(dice, 120, 1_800);
        acts.push((t, Act::CustomerReplies));
        t += minutes(dice, 5, 60);
        acts.push((t, Act::Resume));
    }
    if fate == Fate::Escalated {
        t += minutes(dice, 30, 120);
        acts.push((t, Act::Escalate));
        t += minutes(dice, 10, 60);
        acts.push((t, Act::AssignSecondLine));
        t += minutes(dice, 1_500, 4_000);
    } else if slow {
        t += minutes(dice, 1_500, 3_000);
    } else {
        t += minutes(dice, 20, 300);
    }
    let code = if fault == 0 {
        ResolutionCode::Workaround
    } else {
        ResolutionCode::Fixed
    };
    acts.push((t, Act::Resolve(code)));
    if fate == Fate::Reopened {
        t += minutes(dice, 60, 600);
        acts.push((t, Act::Reopen));
        t += minutes(dice, 60, 480);
        acts.push((t, Act::Resolve(ResolutionCode::Fixed)));
    }
    if dice.chance(75) {
        let score = match fate {
            Fate::Smooth | Fate::OnHold => 4 + u8::from(dice.chance(60)),
            Fate::Escalated | Fate::Reopened => 2 + u8::from(dice.chance(50)),
            Fate::Slow | Fate::Cancelled => 1 + u8::from(dice.chance(40)),
        };
        acts.push((t + minutes(dice, 15, 1_200), Act::Rate(score)));
    }
    acts
}

/// Cuts an open incident's story before its resolution: new, assigned, in progress or on hold.
fn keep_open(dice: &mut Dice, acts: &mut Vec<(u32, Act)>) {
    let before_resolve = acts
        .iter()
        .position(|(_, act)| matches!(act, Act::Resolve(_)))
        .unwrap_or(acts.len());
    // Stop right after an act that leaves the incident open (log, ack, assign, start, ask).
    let stops: Vec<usize> = acts[..before_resolve]
        .iter()
        .enumerate()
        .filter(|(_, (_, act))| {
            matches!(
                act,
                Act::Log | Act::Assign | Act::StartWork | Act::AskCustomer | Act::AssignSecondLine
            )
        })
        .map(|(i, _)| i + 1)
        .collect();
    let keep = stops.get(dice.index(stops.len())).copied().unwrap_or(1);
    acts.truncate(keep);
}

fn plan(options: GenOptions, days: i64) -> Vec<Planned> {
    let mut dice = Dice(0x5ca1_e000_1ed6_e7de);
    let total_minutes = u32::try_from(days * 24 * 60).unwrap_or(u32::MAX);
    let settle = u32::try_from(SETTLE_DAYS * 24 * 60).unwrap_or(0);
    let open_span = u32::try_from(OPEN_SPAN_DAYS.min(days) * 24 * 60).unwrap_or(0);
    let open = options.open.min(options.incidents);
    let closed_until = total_minutes.saturating_sub(settle).max(1);
    let mut planned = Vec::new();
    for n in 0..options.incidents {
        let service = dice.index(SERVICES.len());
        let stays_open = n < open;
        // Logged in local office hours; the closed ones early enough to finish.
        let day_span = if stays_open {
            (total_minutes - open_span, total_minutes.saturating_sub(60))
        } else {
            (0, closed_until)
        };
        let raw = minutes(&mut dice, day_span.0, day_span.1.max(day_span.0));
        let at = office_minute(raw, service, total_minutes);
        let fault = if dice.chance(50) {
            0
        } else {
            1 + u8::try_from(dice.below(2)).unwrap_or(0)
        };
        let (impact, urgency) = match dice.below(10) {
            0 => (Impact::High, Urgency::High),
            1 | 2 => (Impact::Medium, Urgency::High),
            3..=6 => (Impact::Medium, Urgency::Medium),
            7 | 8 => (Impact::Low, Urgency::Medium),
            _ => (Impact::Low, Urgency::Low),
        };
        let fate = match dice.below(20) {
            0..=8 => Fate::Smooth,
            9..=11 => Fate::OnHold,
            12 | 13 => Fate::Escalated,
            14..=15 => Fate::Slow,
            16 | 17 => Fate::Reopened,
            _ if stays_open => Fate::Smooth,
            _ => Fate::Cancelled,
        };
        let mut acts = story(&mut dice, fate, at, fault);
        if stays_open {
            keep_open(&mut dice, &mut acts);
        }
        // Nothing is planned past the end (an open incident's last acts may be cut by it).
        acts.retain(|(t, _)| *t < total_minutes);
        planned.push(Planned {
            service: u8::try_from(service).unwrap_or(0),
            fault,
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
            requester: u32::try_from(dice.below(REQUESTERS)).unwrap_or(0),
            agent: u8::try_from(dice.below(AGENTS_PER_GROUP)).unwrap_or(0),
            acts,
        });
    }
    planned
}

/// Moves a minute of the history into the service's office hours of that day (roughly: by the
/// zone's standard offset), so tickets arrive when people work.
fn office_minute(raw: u32, service: usize, total: u32) -> u32 {
    let spec = &SERVICES[service];
    let offset_hours: i64 = match spec.id {
        "email" => 1,
        "erp" => -5,
        "vpn" => 9,
        "crm" => -3,
        "wifi" => 10,
        _ => 0,
    };
    let day = i64::from(raw / (24 * 60));
    let span = i64::from(spec.hours.1 - spec.hours.0) * 60;
    let within = i64::from(raw % (24 * 60)) * span / (24 * 60);
    let local = i64::from(spec.hours.0) * 60 + within - offset_hours * 60;
    let minute = (day * 24 * 60 + local).clamp(0, i64::from(total.saturating_sub(60)));
    u32::try_from(minute).unwrap_or(0)
}

/// Defines the catalog: a calendar, a service and ten SLA policies (5 priorities x 2 tiers,
/// with OLA targets for both groups) per service.
async fn define_catalog(desk: &Desk<SledStore>, end: DateTime<Utc>) -> Result<(), ScaleError> {
    let manager = Actor::user(parse("sam.manager")?, Role::ServiceManager);
    let catalog = desk.catalog().await?;
    if catalog
        .service(&parse::<ServiceId>(SERVICES[0].id)?)
        .is_some()
    {
        return Ok(());
    }
    let holidays: Vec<NaiveDate> = [(12, 24), (12, 25), (12, 26), (1, 1)]
        .into_iter()
        .flat_map(|(m, d)| {
            let year = chrono::Datelike::year(&end);
            [year - 1, year].map(|y| NaiveDate::from_ymd_opt(y, m, d))
        })
        .flatten()
        .collect();
    let pause_on = BTreeSet::from([HoldReason::AwaitingCustomer]);
    for (service, spec) in SERVICES.iter().enumerate() {
        let hours = |h| NaiveTime::from_hms_opt(h, 0, 0).ok_or(ScaleError::Plan("hour".into()));
        let calendar =
            Calendar::office_hours(spec.timezone, hours(spec.hours.0)?, hours(spec.hours.1)?)
                .and_then(|calendar| calendar.with_holidays(holidays.iter().copied()))
                .map_err(|e| ScaleError::Plan(format!("calendar: {e}")))?;
        let calendar_name = format!("{}-office", spec.id);
        desk.define_calendar(parse(&calendar_name)?, calendar, &manager)
            .await?;
        desk.define_service(
            parse(spec.id)?,
            format!("The {} service", spec.id),
            parse(&first_line(service))?,
            Criticality::High,
            &manager,
        )
        .await?;
        for tier in [CustomerTier::Standard, CustomerTier::Vip] {
            for (priority, response, resolution) in TARGETS {
                let factor = if tier == CustomerTier::Vip { 2 } else { 1 };
                let targets = SlaTargets::new(
                    TimeDelta::minutes(response / factor),
                    TimeDelta::minutes(resolution / factor),
                    80,
                    pause_on.clone(),
                )
                .map_err(|e| ScaleError::Plan(format!("targets: {e}")))?;
                let tier_name = match tier {
                    CustomerTier::Standard => "standard",
                    CustomerTier::Vip => "vip",
                };
                desk.define_sla_policy(
                    NewSlaPolicy {
                        policy: parse(&format!("{}-{priority}-{tier_name}", spec.id))?,
                        service: parse(spec.id)?,
                        priority,
                        tier,
                        targets,
                        calendar: parse(&calendar_name)?,
                        ola: BTreeMap::from([
                            (
                                parse::<GroupId>(&first_line(service))?,
                                TimeDelta::minutes(resolution / 2 / factor),
                            ),
                            (
                                parse::<GroupId>(&second_line(service))?,
                                TimeDelta::minutes(resolution / factor),
                            ),
                        ]),
                    },
                    &manager,
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// Shared, read-only during a run.
struct World {
    desk: Desk<SledStore>,
    plans: Vec<Planned>,
    start: DateTime<Utc>,
    close_after: TimeDelta,
    sla_timer: Actor,
    auto_close: Actor,
}

/// What one incident's task did in a tick, and what it wants next.
#[derive(Default)]
struct Outcome {
    key: Option<IncidentKey>,
    next: Vec<(DateTime<Utc>, Due)>,
    refused: u64,
    warnings: u64,
    breaches: u64,
    auto_closed: u64,
}

fn at_minute(start: DateTime<Utc>, minute: u32) -> DateTime<Utc> {
    start + TimeDelta::minutes(i64::from(minute))
}

fn tick_of(start: DateTime<Utc>, at: DateTime<Utc>) -> u64 {
    // Rounded up: a fact is never recorded before its instant.
    let seconds = (at - start).num_seconds().max(0);
    let tick = TICK_MINUTES * 60;
    u64::try_from((seconds + tick - 1) / tick).unwrap_or(0)
}

impl World {
    async fn act(
        &self,
        index: usize,
        key: Option<IncidentKey>,
        act: Act,
    ) -> Result<Option<IncidentKey>, DeskError> {
        let plan = &self.plans[index];
        let service = usize::from(plan.service);
        let spec = &SERVICES[service];
        let requester_id: UserId = parse(&format!("user{:05}", plan.requester))
            .map_err(|e| DeskError::Validation(e.to_string()))?;
        let requester = Actor::user(requester_id.clone(), Role::Requester);
        let group = first_line(service);
        let agent_id: UserId = parse(&agent_name(&group, u64::from(plan.agent)))
            .map_err(|e| DeskError::Validation(e.to_string()))?;
        let agent = Actor::user(agent_id.clone(), Role::Agent);
        let Some(key) = key else {
            if act != Act::Log {
                return Err(DeskError::NotFound(
                    "the incident was never logged".to_owned(),
                ));
            }
            let (key, _) = self
                .desk
                .log_incident(
                    NewIncident {
                        title: spec.faults[usize::from(plan.fault)].to_owned(),
                        description: "Reported by the requester; details in the first comment."
                            .to_owned(),
                        channel: plan.channel,
                        requester: requester_id,
                        tier: plan.tier,
                        service: parse(spec.id)
                            .map_err(|e| DeskError::Validation(e.to_string()))?,
                        category: parse::<Name>(&format!("{}/fault{}", spec.id, plan.fault))
                            .map_err(|e| DeskError::Validation(e.to_string()))?,
                        impact: plan.impact,
                        urgency: plan.urgency,
                    },
                    &requester,
                )
                .await?;
            return Ok(Some(key));
        };
        match act {
            Act::Log => {}
            Act::Acknowledge => {
                self.desk.acknowledge(key, &agent).await?;
            }
            Act::Assign => {
                self.desk
                    .assign(key, Some(desk_id(&group)?), Some(agent_id), &agent)
                    .await?;
            }
            Act::StartWork => {
                self.desk.start_work(key, &agent).await?;
            }
            Act::AskCustomer => {
                self.desk
                    .comment(
                        key,
                        "Could you send a screenshot of the error?".to_owned(),
                        Visibility::Public,
                        &agent,
                    )
                    .await?;
                self.desk
                    .put_on_hold(key, HoldReason::AwaitingCustomer, &agent)
                    .await?;
            }
            Act::CustomerReplies => {
                self.desk
                    .comment(
                        key,
                        "Here it is; it happens every morning.".to_owned(),
                        Visibility::Public,
                        &requester,
                    )
                    .await?;
            }
            Act::Resume => {
                self.desk.resume(key, &agent).await?;
            }
            Act::Escalate => {
                self.desk
                    .escalate(
                        key,
                        EscalateTo::Group(desk_id(&second_line(service))?),
                        "Needs second line.".to_owned(),
                        &agent,
                    )
                    .await?;
            }
            Act::AssignSecondLine => {
                let l2 = second_line(service);
                let l2_agent = Actor::user(
                    desk_id(&agent_name(&l2, u64::from(plan.agent)))?,
                    Role::Agent,
                );
                self.desk
                    .assign(
                        key,
                        Some(desk_id(&l2)?),
                        Some(desk_id(&agent_name(&l2, u64::from(plan.agent)))?),
                        &l2_agent,
                    )
                    .await?;
            }
            Act::Resolve(code) => {
                self.desk
                    .resolve(key, code, "Fixed; details in the notes.".to_owned(), &agent)
                    .await?;
            }
            Act::Reopen => {
                self.desk
                    .reopen(key, "It happens again.".to_owned(), &requester)
                    .await?;
            }
            Act::Rate(score) => {
                self.desk
                    .rate(key, score, "Thanks.".to_owned(), &requester)
                    .await?;
            }
            Act::Cancel => {
                self.desk
                    .cancel(key, "Duplicate of an open ticket.".to_owned(), &agent)
                    .await?;
            }
        }
        Ok(Some(key))
    }

    /// The SLA timer's and the auto-close's next instants for this incident's state.
    fn follow_ups(&self, incident: &LoggedIncident, next: &mut Vec<(DateTime<Utc>, Due)>) {
        for clock in &incident.clocks {
            if !clock.is_running() || clock.breached {
                continue;
            }
            let Some(due) = clock.due() else { continue };
            if clock.warned_for != Some(due)
                && let Some(warning_at) = clock.clock.warning_at()
            {
                next.push((
                    warning_at,
                    Due::Timer {
                        breach: false,
                        clock: clock.kind().clone(),
                        due,
                    },
                ));
            }
            next.push((
                due,
                Due::Timer {
                    breach: true,
                    clock: clock.kind().clone(),
                    due,
                },
            ));
        }
        if incident.status == Status::Resolved
            && let Some(resolution) = &incident.resolution
        {
            next.push((
                resolution.at + self.close_after,
                Due::AutoClose(resolution.at),
            ));
        }
    }

    /// A due timer or auto-close, checked against the state as the real process managers do.
    async fn automation(&self, key: IncidentKey, due: &Due, outcome: &mut Outcome) {
        let Ok(incident) = self.desk.load_incident(key).await else {
            outcome.refused += 1;
            return;
        };
        let result = match due {
            Due::Act(_) => return,
            Due::Timer { breach, clock, due } => {
                let Some(state) = incident.clock(clock) else {
                    return;
                };
                let current = state.is_running() && !state.breached && state.due() == Some(*due);
                if !current || (!breach && state.warned_for == Some(*due)) {
                    return;
                }
                if *breach {
                    outcome.breaches += 1;
                    self.desk
                        .record_sla_breach(key, clock.clone(), *due, &self.sla_timer)
                        .await
                } else {
                    outcome.warnings += 1;
                    self.desk
                        .record_sla_warning(key, clock.clone(), *due, &self.sla_timer)
                        .await
                }
            }
            Due::AutoClose(resolved_at) => {
                let current = incident.status == Status::Resolved
                    && incident.resolution.as_ref().map(|r| r.at) == Some(*resolved_at);
                if !current {
                    return;
                }
                outcome.auto_closed += 1;
                self.desk.close(key, &self.auto_close).await
            }
        };
        if result.is_err() {
            outcome.refused += 1;
        }
    }

    /// One incident's work in one tick, in order.
    async fn run(
        self: Arc<Self>,
        index: usize,
        mut key: Option<IncidentKey>,
        dues: Vec<Due>,
    ) -> (usize, Outcome) {
        let mut outcome = Outcome::default();
        let mut acted = false;
        for due in dues {
            match due {
                Due::Act(n) => {
                    let Some(&(_, act)) = self.plans[index].acts.get(usize::from(n)) else {
                        continue;
                    };
                    match self.act(index, key, act).await {
                        Ok(logged) => key = logged,
                        Err(_refused) => outcome.refused += 1,
                    }
                    acted = true;
                    if let Some(&(minute, _)) = self.plans[index].acts.get(usize::from(n) + 1) {
                        outcome
                            .next
                            .push((at_minute(self.start, minute), Due::Act(n + 1)));
                    }
                }
                other => {
                    if let Some(key) = key {
                        self.automation(key, &other, &mut outcome).await;
                        acted = true;
                    }
                }
            }
        }
        if acted
            && let Some(key) = key
            && let Ok(incident) = self.desk.load_incident(key).await
        {
            self.follow_ups(&incident, &mut outcome.next);
        }
        outcome.key = key;
        (index, outcome)
    }
}

/// Writes the catalog and the incidents' histories into `store`, ending at `end`.
pub async fn generate(
    store: Arc<SledStore>,
    options: GenOptions,
    end: DateTime<Utc>,
    progress: bool,
) -> Result<GenReport, ScaleError> {
    let started = Instant::now();
    let head_before = store.head();
    let days = i64::try_from(options.incidents.div_ceil(INCIDENTS_PER_DAY))
        .unwrap_or(i64::MAX)
        .clamp(SETTLE_DAYS + OPEN_SPAN_DAYS, 3_650);
    let start = end - TimeDelta::days(days);
    let clock = Arc::new(ManualClock::new(start - TimeDelta::hours(1)));
    let dyn_clock: Arc<dyn Clock> = Arc::clone(&clock) as Arc<dyn Clock>;
    let bus = CommandBus::new(Arc::clone(&store), dyn_clock, Arc::new(UuidV7Ids))
        .with_cache_capacity(BUS_CACHE);
    let desk = Desk::with_stream_lookup(bus);
    define_catalog(&desk, end).await?;

    let plans = plan(options, days);
    let world = Arc::new(World {
        desk,
        plans,
        start,
        close_after: ProcessConfig::default().auto_close_after,
        sla_timer: Actor::automation(SLA_TIMER),
        auto_close: Actor::automation(AUTO_CLOSE),
    });
    let end_tick = tick_of(start, end);
    let mut keys: Vec<Option<IncidentKey>> = vec![None; world.plans.len()];
    let mut queue: BinaryHeap<Entry> = world
        .plans
        .iter()
        .enumerate()
        .filter_map(|(i, plan)| {
            let (minute, _) = plan.acts.first()?;
            Some(Reverse((
                tick_of(start, at_minute(start, *minute)),
                u32::try_from(i).ok()?,
                Due::Act(0),
            )))
        })
        .collect();
    let mut report = GenReport {
        incidents: options.incidents,
        open: options.open.min(options.incidents),
        events: 0,
        written: 0,
        refused: 0,
        warnings: 0,
        breaches: 0,
        auto_closed: 0,
        ticks: 0,
        elapsed: Duration::ZERO,
        first: start,
        end,
    };
    let mut last_print = Instant::now();
    while let Some(Reverse((tick, _, _))) = queue.peek() {
        let tick = *tick;
        if tick >= end_tick {
            break;
        }
        clock.set(start + TimeDelta::minutes(TICK_MINUTES * i64::try_from(tick).unwrap_or(0)));
        let mut work: HashMap<u32, Vec<Due>> = HashMap::new();
        while let Some(Reverse((t, _, _))) = queue.peek()
            && *t == tick
        {
            let Some(Reverse((_, index, due))) = queue.pop() else {
                break;
            };
            work.entry(index).or_default().push(due);
        }
        let mut tasks = JoinSet::new();
        for (index, mut dues) in work {
            dues.sort();
            dues.dedup();
            let i = usize::try_from(index).unwrap_or(usize::MAX);
            let key = keys.get(i).copied().flatten();
            tasks.spawn(Arc::clone(&world).run(i, key, dues));
        }
        while let Some(done) = tasks.join_next().await {
            let (index, outcome) = done.map_err(|e| ScaleError::Plan(format!("task: {e}")))?;
            if let Some(slot) = keys.get_mut(index) {
                *slot = outcome.key;
            }
            report.refused += outcome.refused;
            report.warnings += outcome.warnings;
            report.breaches += outcome.breaches;
            report.auto_closed += outcome.auto_closed;
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            for (at, due) in outcome.next {
                let next_tick = tick_of(start, at).max(tick + 1);
                if next_tick < end_tick {
                    queue.push(Reverse((next_tick, index, due)));
                }
            }
        }
        report.ticks += 1;
        if progress && last_print.elapsed() >= Duration::from_secs(10) {
            last_print = Instant::now();
            eprintln!(
                "genledger: {} events, day {} of {days}, {:.0?} so far",
                store.head(),
                tick * u64::try_from(TICK_MINUTES).unwrap_or(1) / (24 * 60),
                started.elapsed()
            );
        }
    }
    clock.set(end);
    report.events = store.head();
    report.written = report.events - head_before;
    report.elapsed = started.elapsed();
    Ok(report)
}
