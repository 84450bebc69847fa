//! Read-model figures: memory per open incident in the in-memory read models, and the cost of
//! a queue's first page from the order index against scoring and sorting the whole queue.
//!
//! The ledger is generated with the real incident decider (log, acknowledge, assign: every
//! incident stays open with running clocks) and fed envelope by envelope into a fresh
//! `ReadModels`, the way the projection runner does; each envelope is dropped once applied, so
//! the resident-memory growth is the read models' (plus allocator slack, which makes the figure
//! an over-estimate, never an under-estimate).

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use itsm_eventstore::{Envelope, Hash, Metadata, StreamId, codec};
use itsm_incident::{Channel, Incident, IncidentCommand, LogIncident, Visibility};
use itsm_kernel::{
    Actor, Context, CustomerTier, Decider, GroupId, Impact, IncidentKey, Name, PersistedEvent,
    Role, ServiceId, Urgency, UserId,
};
use itsm_projections::ReadModels;
use itsm_sla::{AppliedSla, Calendar, HoldReason, SlaTargets};

use crate::Figure;

/// The target for the read models' memory per open incident.
pub const TARGET_BYTES_PER_OPEN_TICKET: f64 = 1024.0;

/// Resident set size of this process, from `/proc/self/status` (Linux).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn id<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    text.parse().expect("generated ids are valid")
}

fn sla(calendar: &Calendar) -> AppliedSla {
    let targets = SlaTargets::new(
        TimeDelta::hours(4),
        TimeDelta::hours(24),
        80,
        BTreeSet::from([HoldReason::AwaitingCustomer]),
    )
    .expect("valid targets");
    AppliedSla::new(
        id("standard"),
        1,
        targets,
        id("office"),
        calendar.clone(),
        Some(TimeDelta::hours(12)),
    )
    .expect("valid SLA")
}

/// When the first generated incident is logged (one more every 23 s).
fn generated_from() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0)
        .single()
        .expect("date")
}

/// Feeds `open` open incidents into fresh read models; returns them with the number of
/// envelopes applied.
pub fn open_incidents(open: u64) -> (ReadModels, u64) {
    let start = generated_from();
    let calendar = Calendar::office_hours(
        chrono_tz::Europe::Berlin,
        chrono::NaiveTime::from_hms_opt(8, 0, 0).expect("time"),
        chrono::NaiveTime::from_hms_opt(18, 0, 0).expect("time"),
    )
    .expect("calendar");
    let applied = sla(&calendar);
    let impacts = [Impact::High, Impact::Medium, Impact::Low];
    let urgencies = [Urgency::High, Urgency::Medium, Urgency::Low];
    let mut models = ReadModels::new();
    let mut position = 0;
    for n in 1..=open {
        let key = IncidentKey::new(n);
        let at = start + TimeDelta::seconds(i64::try_from(n * 23).unwrap_or(i64::MAX));
        let requester = Actor::user(id(&format!("user{}", n % 5_000)), Role::Requester);
        let agent_id: UserId = id(&format!("agent{}", n % 200));
        let agent = Actor::user(agent_id.clone(), Role::Agent);
        let group: GroupId = id(&format!("group{}", n % 20));
        let service: ServiceId = id(&format!("service{}", n % 10));
        let commands = [
            (
                requester.clone(),
                IncidentCommand::Log(Box::new(LogIncident {
                    key,
                    title: format!("Printer on floor {} does not print", n % 12),
                    description: "The queue shows jobs, nothing comes out.".to_owned(),
                    channel: Channel::Portal,
                    requester: requester.user_id().cloned().expect("a user"),
                    tier: CustomerTier::Standard,
                    service,
                    category: id::<Name>("hardware/printer"),
                    impact: impacts[usize::try_from(n % 3).unwrap_or(0)],
                    urgency: urgencies[usize::try_from(n / 3 % 3).unwrap_or(0)],
                    sla: applied.clone(),
                })),
            ),
            (agent.clone(), IncidentCommand::Acknowledge),
            (
                agent.clone(),
                IncidentCommand::Assign {
                    group: Some(group),
                    agent: Some(agent_id),
                    ola: Some(TimeDelta::hours(12)),
                },
            ),
        ];
        // One in ten requesters has replied and waits for an answer (ranked apart in queues).
        let waiting = (n % 10 == 0).then(|| {
            (
                requester.clone(),
                IncidentCommand::Comment {
                    text: "Any news?".to_owned(),
                    visibility: Visibility::Public,
                },
            )
        });
        let mut state = <Incident as Decider>::State::default();
        let mut version = 0;
        for (actor, command) in commands.into_iter().chain(waiting) {
            let context = Context::new(actor.clone(), at);
            let events = Incident::decide(&state, &command, &context).expect("accepted");
            for event in &events {
                position += 1;
                version += 1;
                let envelope = Envelope {
                    position,
                    stream_id: StreamId::new(format!("incident-{n}")).expect("stream"),
                    version,
                    event_type: event.event_type().to_owned(),
                    schema_version: event.schema_version(),
                    payload: codec::encode(event).expect("encodes"),
                    metadata: Metadata::new(itsm_app::actor_label(&actor), at),
                    prev_hash: Hash::GENESIS,
                    hash: Hash::GENESIS,
                };
                // A payload that decodes is the only kind generated here.
                let _ = models.apply_envelope(&envelope);
                state = Incident::evolve(state, event);
            }
        }
    }
    (models, position)
}

/// Rounds timed per way of listing (the median is reported).
const QUEUE_ROUNDS: usize = 101;

/// The first page (20 items) of the busiest group's queue in `models`, at `now`: walked from the
/// order index (`Queues::queue`, what the server answers) against scoring and sorting the whole
/// group (`Queues::queue_by_scan`, what it did before), median of [`QUEUE_ROUNDS`] each,
/// alternating, in microseconds. Both must give the same page.
pub fn queue_figures(models: &ReadModels, now: DateTime<Utc>) -> Vec<Figure> {
    use itsm_projections::queues::{QueueFilter, QueueSelector};
    use std::time::Instant;
    let queues = &models.queues;
    let busiest = queues
        .counts(now)
        .into_iter()
        .filter(|count| matches!(count.selector, QueueSelector::Group(_)))
        .max_by_key(|count| count.open)
        .map(|count| count.selector);
    let Some(selector) = busiest else {
        return Vec::new();
    };
    let filter = QueueFilter::default();
    let indexed = queues.queue(&selector, &filter, now, None, 20);
    let scanned = queues.queue_by_scan(&selector, &filter, now, None, 20);
    assert_eq!(
        indexed, scanned,
        "the index and the scan list the same page"
    );
    let (mut index_us, mut scan_us) = (Vec::new(), Vec::new());
    for _ in 0..QUEUE_ROUNDS {
        let started = Instant::now();
        std::hint::black_box(queues.queue(&selector, &filter, now, None, 20));
        index_us.push(started.elapsed().as_secs_f64() * 1e6);
        let started = Instant::now();
        std::hint::black_box(queues.queue_by_scan(&selector, &filter, now, None, 20));
        scan_us.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let median = |mut times: Vec<f64>| {
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    vec![Figure::new(
        "queue_first_page_index_vs_scan",
        "us",
        median(index_us),
        median(scan_us),
    )]
}

/// Memory figures at `open` open incidents, then the queue figure on the same models.
pub fn memory_figures(open: u64) -> Vec<Figure> {
    let before = resident_bytes().unwrap_or(0);
    let (models, _envelopes) = open_incidents(open);
    let after = resident_bytes().unwrap_or(0);
    #[allow(clippy::cast_precision_loss, reason = "byte counts far below 2^52")]
    let per = |bytes: u64| bytes as f64 / open as f64;
    #[allow(clippy::cast_precision_loss, reason = "byte counts far below 2^52")]
    let estimate = models.approximate_heap_bytes() as f64 / open as f64;
    let snapshot = models
        .encode_snapshot()
        .map_or(0, |bytes| bytes.len() as u64);
    assert_eq!(
        models.queues.open_count() as u64,
        open,
        "every generated incident is open"
    );
    let last_logged = TimeDelta::seconds(i64::try_from(open * 23).unwrap_or(i64::MAX));
    let now = generated_from() + last_logged + TimeDelta::hours(1);
    let mut figures = vec![
        Figure::new(
            "memory_per_open_ticket",
            "bytes",
            per(after.saturating_sub(before)),
            TARGET_BYTES_PER_OPEN_TICKET,
        ),
        Figure::new(
            "memory_per_open_ticket_heap_estimate",
            "bytes",
            estimate,
            TARGET_BYTES_PER_OPEN_TICKET,
        ),
        Figure::new(
            "snapshot_bytes_per_open_ticket",
            "bytes",
            per(snapshot),
            TARGET_BYTES_PER_OPEN_TICKET,
        ),
    ];
    figures.extend(queue_figures(&models, now));
    figures
}
