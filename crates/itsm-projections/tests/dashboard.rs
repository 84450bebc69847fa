//! The SLA dashboard against hand-computed answers, in Europe/Berlin across the spring-forward
//! night of 2026-03-29 (02:00 CET becomes 03:00 CEST at 01:00 UTC).

mod support;

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use itsm_incident::{IncidentCommand, ResolutionCode};
use itsm_projections::ReadModels;
use itsm_projections::dashboard::{DashboardFilter, GroupBy, GroupKey, Period};
use itsm_sla::ClockKind;
use support::*;

fn utc(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, minute, 0)
        .single()
        .expect("valid time")
}

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, day).expect("valid date")
}

fn resolve(ledger: &mut Ledger, key: u64, by: &str, at: DateTime<Utc>) {
    ledger.ok_incident(
        key,
        IncidentCommand::Resolve {
            code: ResolutionCode::Fixed,
            notes: "fixed".to_owned(),
        },
        &agent(by),
        at,
    );
}

fn rate(ledger: &mut Ledger, key: u64, score: u8, at: DateTime<Utc>) {
    ledger.ok_incident(
        key,
        IncidentCommand::Rate {
            score,
            comment: String::new(),
        },
        &requester("alice"),
        at,
    );
}

/// #1 logged Sat 23:30 CET, #3 Sun 01:30 CET, #2 Sun 03:30 CEST (two hours of UTC apart from #3
/// but only one real hour, as 02:00-03:00 does not exist that night).
fn history() -> Ledger {
    let mut ledger = Ledger::new();
    let minutes = TimeDelta::minutes;
    let log_at = |ledger: &mut Ledger, key: u64, at: DateTime<Utc>| {
        let mut command = log(key);
        command.sla = sla_on(60, 480, berlin_always_open());
        ledger.ok_incident(
            key,
            IncidentCommand::Log(Box::new(command)),
            &agent("bob"),
            at,
        );
    };
    let one = utc(28, 22, 30);
    log_at(&mut ledger, 1, one);
    ledger.ok_incident(
        1,
        IncidentCommand::Acknowledge,
        &agent("bob"),
        one + minutes(20),
    );
    resolve(&mut ledger, 1, "bob", one + minutes(300));
    rate(&mut ledger, 1, 2, one + minutes(305));
    ledger.ok_incident(
        1,
        IncidentCommand::Reopen {
            reason: "not fixed".to_owned(),
        },
        &requester("alice"),
        one + minutes(310),
    );
    resolve(&mut ledger, 1, "bob", one + minutes(330));
    rate(&mut ledger, 1, 5, one + minutes(335));

    let three = utc(29, 0, 30);
    log_at(&mut ledger, 3, three);

    let two = utc(29, 1, 30);
    log_at(&mut ledger, 2, two);
    ledger.ok_incident(
        2,
        IncidentCommand::RecordSlaBreach {
            clock: ClockKind::FirstResponse,
            due: two + minutes(60),
        },
        &timer(),
        two + minutes(60),
    );
    ledger.ok_incident(
        2,
        IncidentCommand::Acknowledge,
        &agent("carol"),
        two + minutes(90),
    );
    resolve(&mut ledger, 2, "carol", two + minutes(120));
    rate(&mut ledger, 2, 3, two + minutes(125));
    ledger
}

fn models() -> ReadModels {
    let mut models = ReadModels::new();
    for envelope in &history().envelopes {
        models.apply_envelope(envelope).expect("decodes");
    }
    models
}

fn weekend() -> Period {
    Period {
        from: date(27),
        to: date(30),
    }
}

#[test]
fn totals_over_the_weekend_match_the_hand_computed_figures() {
    let models = models();
    let rows = models
        .dashboard
        .report(weekend(), GroupBy::Nothing, &DashboardFilter::default());
    assert_eq!(rows.len(), 1);
    let stats = &rows[0].stats;
    assert_eq!(rows[0].key, GroupKey::All);
    assert_eq!(stats.volume, 3);
    // Resolutions: #1 twice (300 and 330 min after logging), #2 once (120 min).
    assert_eq!(stats.resolved, 3);
    assert_eq!(stats.reopened, 1);
    // MTTA: (20 + 90) / 2 minutes = 3 300 s; max 90 min.
    assert_eq!(stats.mtta_secs, Some(3_300.0));
    assert_eq!(stats.max_first_response_secs, Some(5_400));
    // MTTR: (18 000 + 19 800 + 7 200) / 3 = 15 000 s; max 19 800.
    assert_eq!(stats.mttr_secs, Some(15_000.0));
    assert_eq!(stats.max_resolution_secs, Some(19_800));
    // First response: #1 met, #2 breached. Resolution: both runs of #1 and #2 met.
    assert_eq!(stats.first_response.met, 1);
    assert_eq!(stats.first_response.breached, 1);
    assert_eq!(stats.first_response.met_percent, Some(50.0));
    assert_eq!(stats.first_response.breached_percent, Some(50.0));
    assert_eq!(stats.resolution.met, 3);
    assert_eq!(stats.resolution.breached, 0);
    assert_eq!(stats.resolution.met_percent, Some(100.0));
    // CSAT: latest rating per incident, #1's 2 replaced by its 5; #2 rated 3.
    assert_eq!(stats.csat_average, Some(4.0));
    assert_eq!(stats.csat_distribution, [0, 0, 1, 0, 1]);
    // Volume by local hour: 23 (Saturday), 01 and 03 (Sunday; 02 does not exist that night).
    let mut hours = [0u64; 24];
    hours[23] = 1;
    hours[1] = 1;
    hours[3] = 1;
    assert_eq!(stats.volume_by_hour, hours);
    // Saturday 1, Sunday 2 (Monday first).
    assert_eq!(stats.volume_by_weekday, [0, 0, 0, 0, 0, 1, 2]);
}

#[test]
fn days_are_local_dates_and_weeks_start_on_monday() {
    let models = models();
    let by_day = models
        .dashboard
        .report(weekend(), GroupBy::Day, &DashboardFilter::default());
    let volumes: Vec<(GroupKey, u64)> = by_day
        .iter()
        .map(|row| (row.key.clone(), row.stats.volume))
        .collect();
    // 22:30 UTC on the 28th is still the 28th in Berlin; 00:30 UTC on the 29th is the 29th.
    assert_eq!(
        volumes,
        vec![(GroupKey::Day(date(28)), 1), (GroupKey::Day(date(29)), 2)]
    );
    let by_week = models
        .dashboard
        .report(weekend(), GroupBy::Week, &DashboardFilter::default());
    assert_eq!(by_week.len(), 1);
    assert_eq!(by_week[0].key, GroupKey::Week(date(23)));
    assert_eq!(by_week[0].stats.volume, 3);
    // A period that ends before Sunday sees only Saturday.
    let saturday = models.dashboard.report(
        Period {
            from: date(28),
            to: date(29),
        },
        GroupBy::Nothing,
        &DashboardFilter::default(),
    );
    assert_eq!(saturday[0].stats.volume, 1);
}

#[test]
fn backlog_is_the_open_count_at_the_end_of_each_local_day() {
    let models = models();
    let backlog = models
        .dashboard
        .backlog(weekend(), &DashboardFilter::default());
    // Friday nothing; Saturday #1 open; Sunday #1 and #2 resolved, #3 open.
    assert_eq!(backlog, vec![(date(27), 0), (date(28), 1), (date(29), 1)]);
}

#[test]
fn agents_get_resolutions_and_the_reopens_of_what_they_resolved() {
    let models = models();
    let agents = models.dashboard.agents(weekend());
    let rows: Vec<(String, u64, u64, Option<f64>)> = agents
        .into_iter()
        .map(|row| {
            (
                row.agent.to_string(),
                row.resolved,
                row.reopened,
                row.reopen_rate,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("bob".to_owned(), 2, 1, Some(0.5)),
            ("carol".to_owned(), 1, 0, Some(0.0)),
        ]
    );
}

#[test]
fn filters_and_grouping_by_priority_and_service() {
    let models = models();
    let by_priority =
        models
            .dashboard
            .report(weekend(), GroupBy::Priority, &DashboardFilter::default());
    assert_eq!(by_priority.len(), 1);
    assert_eq!(
        by_priority[0].key,
        GroupKey::Priority(itsm_kernel::Priority::P3)
    );
    let none = models.dashboard.report(
        weekend(),
        GroupBy::Service,
        &DashboardFilter {
            service: Some(service("email")),
            ..DashboardFilter::default()
        },
    );
    assert!(none.is_empty());
    let vpn = models.dashboard.report(
        weekend(),
        GroupBy::Service,
        &DashboardFilter {
            service: Some(service("vpn")),
            group: Some(None),
            ..DashboardFilter::default()
        },
    );
    assert_eq!(vpn.len(), 1);
    assert_eq!(vpn[0].key, GroupKey::Service(service("vpn")));
    assert_eq!(vpn[0].stats.volume, 3);
}
