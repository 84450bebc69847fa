//! The queries through the router: tickets and lists, queues, SLA, catalog, change calendar
//! and the ledger, each with its typical refusal.

mod support;

use chrono::{TimeDelta, TimeZone, Utc};
use itsm_app::Clock;
use itsm_app::desk::{NewChange, NewIncident, NewProblem};
use itsm_catalog::FreezeScope;
use itsm_change::{ChangeType, Likelihood};
use itsm_incident::{Channel, Visibility};
use itsm_kernel::{CustomerTier, Impact, IncidentKey, Role, Urgency, UserId};
use serde_json::{Value, json};
use support::{TestDesk, actor, error_code, user};

fn incident(requester: UserId, impact: Impact, urgency: Urgency) -> NewIncident {
    NewIncident {
        title: "Outlook cannot connect".to_owned(),
        description: "Since 9:00.".to_owned(),
        channel: Channel::Portal,
        requester,
        tier: CustomerTier::Standard,
        service: "email".parse().expect("id"),
        category: "email".parse().expect("name"),
        impact,
        urgency,
    }
}

/// Logs an incident for `requester` as an agent; returns its key and position.
async fn log(desk: &TestDesk, requester: UserId, impact: Impact) -> (IncidentKey, String) {
    let (key, result) = desk
        .state
        .desk
        .log_incident(
            incident(requester, impact, Urgency::Medium),
            &actor(Role::Agent),
        )
        .await
        .expect("logged");
    (key, result.position.to_string())
}

fn change(requested_by: UserId) -> NewChange {
    NewChange {
        change_type: ChangeType::Standard {
            template: "patch".parse().expect("name"),
        },
        title: "Patch the mail relay".to_owned(),
        description: "Monthly patches".to_owned(),
        service: "email".parse().expect("id"),
        impact: Impact::Low,
        likelihood: Likelihood::Low,
        implementation_plan: "apt upgrade".to_owned(),
        backout_plan: "snapshot".to_owned(),
        requested_by,
    }
}

fn ok(response: &Value) -> &Value {
    assert_eq!(response["errors"], Value::Null, "{response}");
    &response["data"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_shows_its_clocks_comments_and_past_states() {
    let desk = TestDesk::new().await.with_catalog().await;
    let (key, logged_at) = log(&desk, user(Role::Requester), Impact::Medium).await;
    let before_comments = desk.clock.now();
    desk.clock.advance(TimeDelta::minutes(5));
    let agent = actor(Role::Agent);
    desk.state
        .desk
        .comment(
            key,
            "Checked the logs".to_owned(),
            Visibility::Internal,
            &agent,
        )
        .await
        .expect("internal note");
    let last = desk
        .state
        .desk
        .comment(key, "Please restart".to_owned(), Visibility::Public, &agent)
        .await
        .expect("public comment")
        .position
        .to_string();
    let query = r#"query($at: Position, $asOf: Position, $time: String) {
      incident(key: "INC-1", atLeast: $at, asOf: $asOf, asOfTime: $time) {
        key status priority description channel impact loggedAt
        comments { text visibility }
        timeline { eventType summary }
        clocks { clock status due policy steps { step due targetSeconds } }
      }
    }"#;
    let as_requester = desk
        .gql(Role::Requester, query, json!({ "at": last }))
        .await;
    let seen = &ok(&as_requester)["incident"];
    assert_eq!(
        seen["comments"],
        json!([{ "text": "Please restart", "visibility": "PUBLIC" }])
    );
    assert!(
        seen["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .all(|entry| !entry["summary"].as_str().unwrap_or("").contains("internal")),
        "{seen}"
    );
    let clocks = seen["clocks"].as_array().expect("clocks");
    let first_response = clocks
        .iter()
        .find(|c| c["clock"] == "FIRST_RESPONSE")
        .expect("a first-response clock");
    assert_eq!(first_response["status"], "RUNNING");
    assert_eq!(first_response["steps"][0]["step"], "STARTED");
    assert_eq!(first_response["steps"][0]["targetSeconds"], 3_600);
    assert_eq!(first_response["due"], "2026-01-05T10:00:00+00:00");

    let as_agent = desk.gql(Role::Agent, query, json!({})).await;
    assert_eq!(
        ok(&as_agent)["incident"]["comments"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // As it was: by position (just logged) and by time (before the comments).
    let by_position = desk
        .gql(Role::Agent, query, json!({ "asOf": logged_at }))
        .await;
    assert_eq!(ok(&by_position)["incident"]["comments"], json!([]));
    let by_time = desk
        .gql(
            Role::Agent,
            query,
            json!({ "time": before_comments.to_rfc3339() }),
        )
        .await;
    assert_eq!(ok(&by_time)["incident"]["comments"], json!([]));
    let both = desk
        .gql(
            Role::Agent,
            query,
            json!({ "asOf": logged_at, "time": before_comments.to_rfc3339() }),
        )
        .await;
    assert_eq!(error_code(&both), Some("VALIDATION"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_are_listed_in_pages_and_requesters_see_their_own() {
    let desk = TestDesk::new().await.with_catalog().await;
    log(&desk, user(Role::Requester), Impact::Medium).await;
    log(&desk, "someone.else".parse().expect("id"), Impact::High).await;
    let (_, last) = log(&desk, user(Role::Requester), Impact::Low).await;
    let query = r"query($first: Int, $after: String, $at: Position, $filter: IncidentFilter) {
      incidents(first: $first, after: $after, atLeast: $at, filter: $filter) {
        edges { cursor node { key requester priority } }
        pageInfo { hasNextPage endCursor }
      }
    }";
    let page = desk
        .gql(Role::Agent, query, json!({ "first": 2, "at": last }))
        .await;
    let page = &ok(&page)["incidents"];
    let keys: Vec<&str> = page["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["key"].as_str())
        .collect();
    assert_eq!(keys, ["INC-1", "INC-2"]);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let next = desk
        .gql(
            Role::Agent,
            query,
            json!({ "first": 2, "after": page["pageInfo"]["endCursor"] }),
        )
        .await;
    let next = &ok(&next)["incidents"];
    assert_eq!(next["edges"][0]["node"]["key"], "INC-3");
    assert_eq!(next["pageInfo"]["hasNextPage"], false);

    let own = desk.gql(Role::Requester, query, json!({})).await;
    let own: Vec<&str> = ok(&own)["incidents"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["key"].as_str())
        .collect();
    assert_eq!(own, ["INC-1", "INC-3"]);

    let high = desk
        .gql(
            Role::Agent,
            query,
            json!({ "filter": { "priority": "P2" } }),
        )
        .await;
    let high = &ok(&high)["incidents"]["edges"];
    assert_eq!(high.as_array().map(Vec::len), Some(1), "{high}");
    assert_eq!(high[0]["node"]["key"], "INC-2");

    // A cancelled incident has left the queues; the list still finds it.
    let cancelled = desk
        .state
        .desk
        .cancel(
            IncidentKey::new(2),
            "duplicate".to_owned(),
            &actor(Role::Agent),
        )
        .await
        .expect("cancelled")
        .position
        .to_string();
    let gone = desk
        .gql(
            Role::Agent,
            query,
            json!({ "at": cancelled, "filter": { "status": "CANCELLED" } }),
        )
        .await;
    let gone = &ok(&gone)["incidents"]["edges"];
    assert_eq!(gone.as_array().map(Vec::len), Some(1), "{gone}");
    assert_eq!(gone[0]["node"]["key"], "INC-2");

    let too_many = desk
        .gql(Role::Agent, query, json!({ "first": 10_000 }))
        .await;
    assert_eq!(error_code(&too_many), Some("LIMIT_EXCEEDED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_rank_by_score_and_show_past_states() {
    let desk = TestDesk::new().await.with_catalog().await;
    let (low, before_assignment) = log(&desk, user(Role::Requester), Impact::Low).await;
    let (high, _) = log(&desk, user(Role::Requester), Impact::High).await;
    let agent = actor(Role::Agent);
    desk.clock.advance(TimeDelta::minutes(10));
    let mut last = String::new();
    for key in [low, high] {
        last = desk
            .state
            .desk
            .assign(key, Some("network".parse().expect("id")), None, &agent)
            .await
            .expect("assigned")
            .position
            .to_string();
    }
    let query = r#"query($at: Position, $asOf: Position, $time: String) {
      queue(group: "network", atLeast: $at, asOf: $asOf, asOfTime: $time) {
        totalCount
        edges { cursor node { key priority score atRisk breached } }
        pageInfo { hasNextPage }
      }
    }"#;
    let queue = desk.gql(Role::Agent, query, json!({ "at": last })).await;
    let queue = &ok(&queue)["queue"];
    assert_eq!(queue["totalCount"], 2);
    // The P2 (impact high, urgency medium) is due sooner and outranks the P4.
    assert_eq!(queue["edges"][0]["node"]["key"], "INC-2");
    assert_eq!(queue["edges"][1]["node"]["key"], "INC-1");

    let past = desk
        .gql(Role::Agent, query, json!({ "asOf": before_assignment }))
        .await;
    assert_eq!(ok(&past)["queue"]["totalCount"], 0);
    let at_five = desk
        .gql(
            Role::Agent,
            query,
            json!({ "time": "2026-01-05T09:05:00Z" }),
        )
        .await;
    assert_eq!(ok(&at_five)["queue"]["totalCount"], 0);
    let at_ten = desk
        .gql(
            Role::Agent,
            query,
            json!({ "time": "2026-01-05T09:10:00Z" }),
        )
        .await;
    assert_eq!(ok(&at_ten)["queue"]["totalCount"], 2);

    let counts = desk
        .gql(
            Role::Auditor,
            "{ queueCounts { group unassigned open } }",
            json!({}),
        )
        .await;
    let counts = ok(&counts)["queueCounts"]
        .as_array()
        .expect("counts")
        .clone();
    assert!(counts.contains(&json!({ "group": "network", "unassigned": false, "open": 2 })));
    assert!(counts.contains(&json!({ "group": null, "unassigned": true, "open": 0 })));

    let too_many = desk
        .gql(
            Role::Agent,
            r#"{ queue(group: "network", first: 201) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&too_many), Some("LIMIT_EXCEEDED"));
    let two_queues = desk
        .gql(
            Role::Agent,
            r#"{ queue(group: "network", unassigned: true) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&two_queues), Some("VALIDATION"));
    assert_eq!(
        error_code(&desk.gql(Role::Requester, query, json!({})).await),
        Some("FORBIDDEN")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_dashboard_explain_clock_and_what_if() {
    let desk = TestDesk::new().await.with_catalog().await;
    let (key, _) = log(&desk, user(Role::Requester), Impact::Medium).await;
    log(&desk, user(Role::Requester), Impact::Low).await;
    desk.clock.advance(TimeDelta::minutes(30));
    let acked = desk
        .state
        .desk
        .acknowledge(key, &actor(Role::Agent))
        .await
        .expect("acknowledged")
        .position
        .to_string();

    let dashboard = r#"query($at: Position) {
      slaDashboard(period: { from: "2026-01-05", to: "2026-01-06" }, groupBy: PRIORITY, atLeast: $at) {
        rows { key volume mttaSeconds firstResponse { met breached } }
        backlog { date open }
      }
    }"#;
    let report = desk
        .gql(Role::ServiceManager, dashboard, json!({ "at": acked }))
        .await;
    let report = &ok(&report)["slaDashboard"];
    let rows = report["rows"].as_array().expect("rows");
    assert_eq!(
        rows.iter().map(|r| &r["volume"]).collect::<Vec<_>>(),
        [&json!(1), &json!(1)]
    );
    let p3 = rows.iter().find(|r| r["key"] == "P3").expect("a P3 row");
    assert_eq!(p3["mttaSeconds"], 1_800.0);
    assert_eq!(p3["firstResponse"]["met"], 1);
    assert_eq!(
        report["backlog"],
        json!([{ "date": "2026-01-05", "open": 2 }])
    );
    assert_eq!(
        error_code(&desk.gql(Role::Agent, dashboard, json!({})).await),
        Some("FORBIDDEN")
    );
    // Before the acknowledgement nothing had been met yet.
    let before = desk
        .gql(
            Role::Auditor,
            r#"query($asOf: Position) {
              slaDashboard(period: { from: "2026-01-05", to: "2026-01-06" }, asOf: $asOf) {
                rows { volume firstResponse { met } }
              }
            }"#,
            json!({ "asOf": (acked.parse::<u64>().expect("a position") - 1).to_string() }),
        )
        .await;
    assert_eq!(
        ok(&before)["slaDashboard"]["rows"],
        json!([{ "volume": 2, "firstResponse": { "met": 0 } }])
    );

    let explain = r"query($key: ID!) {
      explainClock(incident: $key, clock: FIRST_RESPONSE) { status steps { step elapsedSeconds } }
    }";
    let clock = desk
        .gql(Role::Requester, explain, json!({ "key": "INC-1" }))
        .await;
    let clock = &ok(&clock)["explainClock"];
    assert_eq!(clock["status"], "MET");
    assert_eq!(
        clock["steps"][1],
        json!({ "step": "MET", "elapsedSeconds": 1_800 })
    );
    // Someone else's incident does not exist for a requester.
    log(&desk, "someone.else".parse().expect("id"), Impact::Low).await;
    let foreign = desk
        .gql(Role::Requester, explain, json!({ "key": "INC-3" }))
        .await;
    assert_eq!(error_code(&foreign), Some("NOT_FOUND"));

    // A 10-minute first-response target would have failed the 30-minute acknowledgement.
    let what_if = r#"query($calendar: String!) {
      slaWhatIf(input: {
        targets: { firstResponseMinutes: 10, resolutionMinutes: 600, warningPercent: 80 },
        calendar: $calendar, from: "2026-01-05T00:00:00Z", to: "2026-01-06T00:00:00Z",
        priority: P3
      }) {
        incidents
        firstResponse { actualMet proposedMet proposedBreached }
        details { key firstResponse { actual proposed proposedDue } }
      }
    }"#;
    let answer = desk
        .gql(Role::ServiceManager, what_if, json!({ "calendar": "24x7" }))
        .await;
    let answer = &ok(&answer)["slaWhatIf"];
    assert_eq!(answer["incidents"], 1);
    assert_eq!(
        answer["firstResponse"],
        json!({ "actualMet": 1, "proposedMet": 0, "proposedBreached": 1 })
    );
    assert_eq!(
        answer["details"][0],
        json!({ "key": "INC-1", "firstResponse": {
            "actual": "MET", "proposed": "BREACHED", "proposedDue": "2026-01-05T09:10:00+00:00"
        } })
    );
    let unknown = desk
        .gql(Role::ServiceManager, what_if, json!({ "calendar": "moon" }))
        .await;
    assert_eq!(error_code(&unknown), Some("NOT_FOUND"));
    assert_eq!(
        error_code(
            &desk
                .gql(Role::Agent, what_if, json!({ "calendar": "24x7" }))
                .await
        ),
        Some("FORBIDDEN")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problems_and_the_known_error_database() {
    let desk = TestDesk::new().await.with_catalog().await;
    let agent = actor(Role::Agent);
    let (key, _) = desk
        .state
        .desk
        .record_problem(
            NewProblem {
                title: "Mail server drops IMAP sessions".to_owned(),
                description: "Several incidents".to_owned(),
                service: "email".parse().expect("id"),
                impact: Impact::High,
                urgency: Urgency::Medium,
            },
            &agent,
        )
        .await
        .expect("recorded");
    desk.state
        .desk
        .start_investigation(key, "service-desk".parse().expect("id"), None, &agent)
        .await
        .expect("investigating");
    let last = desk
        .state
        .desk
        .document_workaround(key, "Reconnect with a fresh profile".to_owned(), &agent)
        .await
        .expect("workaround")
        .position
        .to_string();
    let query = r#"query($at: Position) {
      problems(atLeast: $at) { edges { node { key status workaround } } }
      problem(key: "PRB-1") { title timeline { eventType } }
      knownErrors(search: "imap PROFILE", atLeast: $at) { key workaround }
    }"#;
    // Top-level fields run concurrently: each read of a read model waits on its own.
    let answer = desk.gql(Role::Agent, query, json!({ "at": last })).await;
    let data = ok(&answer);
    assert_eq!(
        data["problems"]["edges"][0]["node"],
        json!({ "key": "PRB-1", "status": "KnownError", "workaround": "Reconnect with a fresh profile" })
    );
    assert_eq!(
        data["problem"]["timeline"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(data["knownErrors"][0]["key"], "PRB-1");
    let by_status = r"query($status: ProblemStatusFilter) {
      problems(filter: { status: $status }) { edges { node { key } } }
    }";
    let known = desk
        .gql(Role::Agent, by_status, json!({ "status": "KNOWN_ERROR" }))
        .await;
    assert_eq!(ok(&known)["problems"]["edges"][0]["node"]["key"], "PRB-1");
    let logged = desk
        .gql(Role::Agent, by_status, json!({ "status": "LOGGED" }))
        .await;
    assert_eq!(ok(&logged)["problems"]["edges"], json!([]));
    let none = desk
        .gql(
            Role::Agent,
            r#"{ knownErrors(search: "printer") { key } }"#,
            json!({}),
        )
        .await;
    assert_eq!(ok(&none)["knownErrors"], json!([]));
    assert_eq!(
        error_code(&desk.gql(Role::Requester, query, json!({})).await),
        Some("FORBIDDEN")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_and_the_change_calendar_with_freezes() {
    let desk = TestDesk::new().await.with_catalog().await;
    let requester = actor(Role::Requester);
    let manager = actor(Role::ChangeManager);
    let (key, _) = desk
        .state
        .desk
        .raise_change(change(user(Role::Requester)), &requester)
        .await
        .expect("raised");
    desk.state
        .desk
        .submit_change(key, &requester)
        .await
        .expect("submitted");
    let day = |d: u32, h: u32| {
        Utc.with_ymd_and_hms(2026, 1, d, h, 0, 0)
            .single()
            .expect("time")
    };
    desk.state
        .desk
        .define_freeze_window(
            "year-end".parse().expect("name"),
            FreezeScope::Global,
            (day(20, 0), day(21, 0)),
            "closing".to_owned(),
            &actor(Role::ServiceManager),
        )
        .await
        .expect("freeze");
    let last = desk
        .state
        .desk
        .schedule_change(key, day(10, 22), day(10, 23), &manager)
        .await
        .expect("scheduled")
        .position
        .to_string();
    let query = r#"query($at: Position) {
      changeCalendar(from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z", atLeast: $at) {
        changes { key status from }
        freezeWindows { name service }
        collisions { first }
      }
    }"#;
    let calendar = desk
        .gql(Role::ChangeManager, query, json!({ "at": last }))
        .await;
    assert_eq!(
        ok(&calendar)["changeCalendar"],
        json!({
            "changes": [{ "key": "CHG-1", "status": "Scheduled", "from": "2026-01-10T22:00:00+00:00" }],
            "freezeWindows": [{ "name": "year-end", "service": null }],
            "collisions": []
        })
    );
    assert_eq!(
        error_code(&desk.gql(Role::Requester, query, json!({})).await),
        Some("FORBIDDEN")
    );

    // A change someone else requested.
    let mut theirs = change(user(Role::Agent));
    theirs.title = "Rotate certificates".to_owned();
    let raised = desk
        .state
        .desk
        .raise_change(theirs, &actor(Role::Agent))
        .await
        .expect("raised")
        .1
        .position
        .to_string();
    let lists = r#"{
      changes(filter: { status: SCHEDULED }) { edges { node { key requestedBy } } }
      change(key: "CHG-1") { status }
    }"#;
    let own = desk.gql(Role::Requester, lists, json!({})).await;
    assert_eq!(ok(&own)["changes"]["edges"][0]["node"]["key"], "CHG-1");
    assert_eq!(ok(&own)["change"]["status"], "Scheduled");
    let others = desk.gql(Role::Agent, lists, json!({})).await;
    assert_eq!(ok(&others)["change"]["status"], "Scheduled");
    // The other change exists for the desk, not for the requester.
    let all = r#"query($at: Position) {
      changes(atLeast: $at) { edges { node { key } } }
      change(key: "CHG-2") { key }
    }"#;
    let staff = desk
        .gql(Role::ChangeManager, all, json!({ "at": raised }))
        .await;
    assert_eq!(
        ok(&staff)["changes"]["edges"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(ok(&staff)["change"]["key"], "CHG-2");
    let requester_view = desk
        .gql(Role::Requester, all, json!({ "at": raised }))
        .await;
    assert_eq!(
        ok(&requester_view)["changes"]["edges"],
        json!([{ "node": { "key": "CHG-1" } }])
    );
    assert_eq!(ok(&requester_view)["change"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_is_readable_by_whom_it_concerns() {
    let desk = TestDesk::new().await.with_catalog().await;
    let services = desk
        .gql(
            Role::Requester,
            "{ services { id owner active } }",
            json!({}),
        )
        .await;
    assert_eq!(
        ok(&services)["services"],
        json!([{ "id": "email", "owner": "service-desk", "active": true }])
    );
    let query = "{ calendars { name timezone workingHours { day start end } } slaPolicies { name priority firstResponseMinutes resolutionMinutes pauseOn calendar } }";
    let catalog = desk.gql(Role::ServiceManager, query, json!({})).await;
    let data = ok(&catalog);
    assert_eq!(data["calendars"][0]["name"], "24x7");
    assert_eq!(data["calendars"][0]["timezone"], "UTC");
    assert_eq!(
        data["calendars"][0]["workingHours"]
            .as_array()
            .map(Vec::len),
        Some(7)
    );
    assert_eq!(data["slaPolicies"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        data["slaPolicies"][0],
        json!({ "name": "email-1", "priority": "P1", "firstResponseMinutes": 60,
                "resolutionMinutes": 480, "pauseOn": ["AWAITING_CUSTOMER"], "calendar": "24x7" })
    );
    assert_eq!(
        error_code(&desk.gql(Role::Requester, query, json!({})).await),
        Some("FORBIDDEN")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditors_read_and_verify_the_ledger() {
    let desk = TestDesk::new().await.with_catalog().await;
    let (_, last) = log(&desk, user(Role::Requester), Impact::Medium).await;
    let events = desk
        .gql(
            Role::Auditor,
            r#"{ events(stream: "incident-1", first: 1) { position stream version eventType actor hash prevHash payload } }"#,
            json!({}),
        )
        .await;
    let event = &ok(&events)["events"][0];
    assert_eq!(event["stream"], "incident-1");
    assert_eq!(event["version"], "1");
    assert_eq!(event["eventType"], "IncidentLogged");
    let payload: Value =
        serde_json::from_str(event["payload"].as_str().expect("a payload")).expect("JSON");
    assert_eq!(
        payload["Logged"]["title"], "Outlook cannot connect",
        "{payload}"
    );
    assert_ne!(event["hash"], event["prevHash"]);

    let all = desk
        .gql(
            Role::Auditor,
            r#"{ events(fromPosition: "2", first: 2) { position } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        ok(&all)["events"],
        json!([{ "position": "2" }, { "position": "3" }])
    );

    let audit = r#"query($at: Position) {
      audit(filter: { eventType: "IncidentLogged", stream: INCIDENT }, first: 5, atLeast: $at) {
        edges { node { position stream actor summary } }
        pageInfo { hasNextPage }
      }
    }"#;
    let trail = desk.gql(Role::Auditor, audit, json!({ "at": last })).await;
    let trail = &ok(&trail)["audit"];
    assert_eq!(trail["edges"].as_array().map(Vec::len), Some(1));
    assert_eq!(trail["edges"][0]["node"]["stream"], "incident-1");
    assert_eq!(trail["pageInfo"]["hasNextPage"], false);

    let verified = desk
        .gql(
            Role::Auditor,
            "{ verifyLedger { ok events firstBadPosition problems { position } } }",
            json!({}),
        )
        .await;
    let verified = &ok(&verified)["verifyLedger"];
    assert_eq!(verified["ok"], true);
    let walked: u64 = verified["events"]
        .as_str()
        .expect("a count")
        .parse()
        .expect("a number");
    assert!(
        walked >= last.parse::<u64>().expect("a position"),
        "{verified}"
    );
    assert_eq!(verified["firstBadPosition"], Value::Null);
    for query in [
        "{ verifyLedger { ok } }",
        "{ events { position } }",
        "{ audit { edges { cursor } } }",
    ] {
        assert_eq!(
            error_code(&desk.gql(Role::Agent, query, json!({})).await),
            Some("FORBIDDEN"),
            "{query}"
        );
    }
}
