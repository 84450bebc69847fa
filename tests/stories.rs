//! Whole stories over HTTP and websocket against the real `ledgerdesk serve` (system clock):
//! the service manager's catalog, an incident from report to rating, an SLA alert on the
//! subscription, a problem becoming a known error, a normal change through CAB, freeze window,
//! schedule, implementation and review, and an auditor's checks. One server per test.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use itsm_e2e::support::{
    Desk, Role, WAIT, always_calendar_and_email_service, error_code, position,
};
use serde_json::{Value, json};

const INCIDENT: &str = "key status holdReason priority assignedGroup assignedAgent escalationLevel \
                        problems ratings { score by } position";

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The service manager's catalog: a 24x7 calendar, the `email` service, a relaxed policy for
/// P3 and a one-minute policy (warning at 1%) for P1, both for standard customers.
async fn catalog(desk: &Desk) {
    let sm = Role::ServiceManager;
    always_calendar_and_email_service(desk).await;
    let mut last = Value::Null;
    for (policy, priority, first, resolution, warning) in [
        ("email-p3", "P3", 240, 960, 80),
        ("email-p1", "P1", 1, 1, 1),
    ] {
        last = desk
            .mutate(
                sm,
                "defineSlaPolicy",
                json!({
                    "policy": policy, "service": "email", "priority": priority, "tier": "STANDARD",
                    "calendar": "always",
                    "targets": {
                        "firstResponseMinutes": first, "resolutionMinutes": resolution,
                        "warningPercent": warning, "pauseOn": ["AWAITING_CUSTOMER"],
                    },
                }),
                "position",
            )
            .await;
    }
    let policies = desk
        .ok(
            sm,
            "query($atLeast: Position) { slaPolicies(atLeast: $atLeast) { name calendar } }",
            json!({"atLeast": last["position"]}),
        )
        .await;
    assert_eq!(
        policies["slaPolicies"].as_array().map(Vec::len),
        Some(2),
        "{policies}"
    );
}

/// The requester reports a P3 (medium x medium) or P1 (high x high) e-mail incident.
async fn log_incident(desk: &Desk, title: &str, level: &str) -> (String, u64) {
    let payload = desk
        .mutate(
            Role::Requester,
            "logIncident",
            json!({
                "title": title, "description": "Outlook shows an empty inbox",
                "service": "email", "category": "mailbox",
                "impact": level, "urgency": level, "channel": "PORTAL",
            }),
            &format!("incident {{ {INCIDENT} }} position"),
        )
        .await;
    let key = payload["incident"]["key"]
        .as_str()
        .expect("a key")
        .to_owned();
    (key, position(&payload["position"]))
}

async fn incident(desk: &Desk, role: Role, key: &str, at_least: u64) -> Value {
    let data = desk
        .ok(
            role,
            &format!(
                "query($key: ID!, $atLeast: Position) {{ incident(key: $key, atLeast: $atLeast) {{ {INCIDENT} timeline {{ eventType actor }} }} }}"
            ),
            json!({"key": key, "atLeast": at_least.to_string()}),
        )
        .await;
    data["incident"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_goes_from_report_through_escalation_and_hold_to_a_rating() {
    let desk = Desk::start().await;
    catalog(&desk).await;
    let (key, logged_at) = log_incident(&desk, "Inbox is empty", "MEDIUM").await;
    assert!(key.starts_with("INC-"), "{key}");

    // The requester sees it at once (read-your-writes) with its priority.
    let seen = incident(&desk, Role::Requester, &key, logged_at).await;
    assert_eq!(
        (seen["status"].as_str(), seen["priority"].as_str()),
        (Some("New"), Some("P3"))
    );

    let agent = Role::Agent;
    let k = json!({"key": key});
    let selection = &format!("incident {{ {INCIDENT} }} position");
    desk.mutate(agent, "acknowledgeIncident", k.clone(), selection)
        .await;
    desk.mutate(
        agent,
        "assignIncident",
        json!({"key": key, "group": "service-desk", "agent": "alex"}),
        selection,
    )
    .await;
    desk.mutate(agent, "startWorkOnIncident", k.clone(), selection)
        .await;
    let escalated = desk
        .mutate(
            agent,
            "escalateIncident",
            json!({"key": key, "to": {"group": "messaging"}, "reason": "mailbox store fault"}),
            selection,
        )
        .await;
    assert_eq!(
        escalated["incident"]["assignedGroup"].as_str(),
        Some("messaging")
    );
    // The next tier's group takes it over and works it.
    if escalated["incident"]["assignedAgent"].is_null() {
        desk.mutate(
            agent,
            "assignIncident",
            json!({"key": key, "agent": "alex"}),
            selection,
        )
        .await;
    }
    desk.mutate(agent, "startWorkOnIncident", k.clone(), selection)
        .await;
    let held = desk
        .mutate(
            agent,
            "putIncidentOnHold",
            json!({"key": key, "reason": "AWAITING_CUSTOMER"}),
            selection,
        )
        .await;
    assert_eq!(
        held["incident"]["holdReason"].as_str(),
        Some("AWAITING_CUSTOMER")
    );
    // Rating is the requester's own business.
    assert_eq!(
        desk.refused(agent, "rateIncident", json!({"key": key, "score": 5}))
            .await,
        "FORBIDDEN",
        "agents do not rate"
    );
    desk.mutate(agent, "resumeIncident", k.clone(), selection)
        .await;
    let resolved = desk
        .mutate(
            agent,
            "resolveIncident",
            json!({"key": key, "code": "FIXED", "notes": "store remounted"}),
            selection,
        )
        .await;
    assert_eq!(resolved["incident"]["status"].as_str(), Some("Resolved"));

    // The requester rates it and confirms the resolution.
    desk.mutate(
        Role::Requester,
        "rateIncident",
        json!({"key": key, "score": 5, "comment": "quick, thanks"}),
        selection,
    )
    .await;
    // Rating twice is a conflict, not a second rating.
    assert_eq!(
        desk.refused(
            Role::Requester,
            "rateIncident",
            json!({"key": key, "score": 1})
        )
        .await,
        "CONFLICT"
    );

    let closed = desk
        .mutate(Role::Requester, "closeIncident", k.clone(), "position")
        .await;
    let done = incident(&desk, Role::Requester, &key, position(&closed["position"])).await;
    assert_eq!(done["status"].as_str(), Some("Closed"), "{done}");
    assert_eq!(
        done["ratings"],
        json!([{"score": 5, "by": "rita (requester)"}])
    );
    assert_eq!(done["escalationLevel"].as_i64(), Some(1), "{done}");
    let types: Vec<&str> = done["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter_map(|item| item["eventType"].as_str())
        .collect();
    for expected in [
        "IncidentLogged",
        "IncidentAcknowledged",
        "IncidentAssigned",
        "IncidentWorkStarted",
        "IncidentEscalatedFunctionally",
        "IncidentPutOnHold",
        "IncidentResumed",
        "IncidentResolved",
        "IncidentRated",
        "IncidentClosed",
    ] {
        assert!(
            types.contains(&expected),
            "{expected} missing from {types:?}"
        );
    }

    // The agent's queue no longer holds it; the requester cannot see someone else's ticket.
    let other = desk
        .mutate(
            agent,
            "logIncident",
            json!({"title": "Printer", "description": "jammed", "service": "email",
                   "category": "other", "impact": "MEDIUM", "urgency": "MEDIUM"}),
            "incident { key } position",
        )
        .await;
    let response = desk
        .gql(
            Role::Requester,
            "query($key: ID!) { incident(key: $key) { key } }",
            json!({"key": other["incident"]["key"]}),
        )
        .await;
    assert!(
        response["data"]["incident"].is_null()
            || error_code(&response).as_deref() == Some("NOT_FOUND"),
        "a requester must not see another's incident: {response}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_sla_raises_its_alert_on_the_subscription() {
    let desk = Desk::start().await;
    catalog(&desk).await;
    let from = desk.ledger_head().await + 1;
    let mut alerts = desk
        .subscribe(
            Role::Agent,
            "subscription($from: Position) { slaAlerts(fromPosition: $from) { incident alert clock due position } }",
            json!({"from": from.to_string()}),
        )
        .await;
    // P1 on the one-minute policy with its warning at 1%: the SLA timer (system clock) raises
    // the warning 0.6 s after the report; the breach follows after a minute (see the ignored
    // test below).
    let (key, _) = log_incident(&desk, "Nobody can send mail", "HIGH").await;
    let alert = alerts
        .wait_for(WAIT, |data| data["slaAlerts"]["incident"] == key.as_str())
        .await;
    assert_eq!(
        alert["slaAlerts"]["alert"].as_str(),
        Some("WARNING"),
        "{alert}"
    );
    let clock = desk
        .ok(
            Role::Agent,
            "query($key: ID!, $clock: ClockName!, $atLeast: Position) { explainClock(incident: $key, clock: $clock, atLeast: $atLeast) { status warned targetSeconds } }",
            // The clock the alert names (both clocks warn at 0.6 s; either may come first).
            json!({"key": key, "clock": alert["slaAlerts"]["clock"],
                   "atLeast": alert["slaAlerts"]["position"]}),
        )
        .await;
    assert_eq!(clock["explainClock"]["warned"], json!(true), "{clock}");
    assert_eq!(clock["explainClock"]["targetSeconds"], json!(60), "{clock}");
    alerts.close().await;
}

/// Takes a minute of real time (the shortest SLA target the API takes is one minute); it waits
/// on the subscription for the breach, never on a timer of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_minute_sla_breaches_and_the_alert_arrives() {
    let desk = Desk::start().await;
    catalog(&desk).await;
    let from = desk.ledger_head().await + 1;
    let mut alerts = desk
        .subscribe(
            Role::ServiceManager,
            "subscription($from: Position) { slaAlerts(fromPosition: $from) { incident alert clock } }",
            json!({"from": from.to_string()}),
        )
        .await;
    let (key, _) = log_incident(&desk, "Nobody can send mail", "HIGH").await;
    let breach = alerts
        .wait_for(Duration::from_mins(2), |data| {
            data["slaAlerts"]["incident"] == key.as_str() && data["slaAlerts"]["alert"] == "BREACH"
        })
        .await;
    assert!(
        ["FIRST_RESPONSE", "RESOLUTION"]
            .contains(&breach["slaAlerts"]["clock"].as_str().unwrap_or_default()),
        "{breach}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_problem_becomes_a_known_error_and_the_linked_incident_shows_it() {
    let desk = Desk::start().await;
    catalog(&desk).await;
    let (incident_key, _) = log_incident(&desk, "Inbox is empty", "MEDIUM").await;
    let agent = Role::Agent;
    let selection = "problem { key status linkedIncidents workaround } position";
    let recorded = desk
        .mutate(
            agent,
            "recordProblem",
            json!({"title": "Mailbox store unmounts", "description": "several empty inboxes",
                   "service": "email", "impact": "MEDIUM", "urgency": "MEDIUM"}),
            selection,
        )
        .await;
    let key = recorded["problem"]["key"]
        .as_str()
        .expect("a key")
        .to_owned();
    assert!(key.starts_with("PRB-"), "{key}");
    desk.mutate(
        agent,
        "startProblemInvestigation",
        json!({"key": key, "group": "messaging", "assignee": "alex"}),
        selection,
    )
    .await;
    let linked = desk
        .mutate(
            agent,
            "linkProblemIncident",
            json!({"key": key, "incident": incident_key}),
            selection,
        )
        .await;
    assert_eq!(linked["problem"]["linkedIncidents"], json!([incident_key]));
    desk.mutate(
        agent,
        "recordRootCause",
        json!({"key": key, "rootCause": "the store's disk fills up overnight"}),
        selection,
    )
    .await;

    // Follow the incident before the workaround: the problem follow-up (a process manager)
    // notes the known error on it.
    let from = desk.ledger_head().await + 1;
    let mut events = desk
        .subscribe(
            agent,
            "subscription($key: ID!, $from: Position) { ticketEvents(key: $key, fromPosition: $from) { eventType actor position } }",
            json!({"key": incident_key, "from": from.to_string()}),
        )
        .await;
    let known = desk
        .mutate(
            agent,
            "documentWorkaround",
            json!({"key": key, "workaround": "remount the store and free disk space"}),
            selection,
        )
        .await;
    assert_eq!(
        known["problem"]["status"].as_str(),
        Some("KnownError"),
        "{known}"
    );

    let noted = events
        .wait_for(WAIT, |data| {
            data["ticketEvents"]["eventType"] == "IncidentProblemUpdateNoted"
        })
        .await;
    let errors = desk
        .ok(
            agent,
            "query($atLeast: Position) { knownErrors(search: \"store\", atLeast: $atLeast) { key workaround linkedIncidents } }",
            json!({"atLeast": known["position"]}),
        )
        .await;
    assert_eq!(
        errors["knownErrors"][0]["key"].as_str(),
        Some(key.as_str()),
        "{errors}"
    );
    assert_eq!(
        errors["knownErrors"][0]["linkedIncidents"],
        json!([incident_key])
    );

    let seen = incident(
        &desk,
        Role::Requester,
        &incident_key,
        position(&noted["ticketEvents"]["position"]),
    )
    .await;
    assert_eq!(seen["problems"], json!([key]), "{seen}");
    let types: Vec<&str> = seen["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter_map(|item| item["eventType"].as_str())
        .collect();
    assert!(types.contains(&"IncidentProblemUpdateNoted"), "{types:?}");
    events.close().await;
}

/// Retries `startChangeImplementation` until the slot has begun (the server's system clock),
/// within a deadline; before that the refusal must be `INVALID_TRANSITION`.
async fn start_when_the_slot_begins(desk: &Desk, key: &str, slot: DateTime<Utc>) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let response = desk
            .gql(
                Role::ChangeManager,
                "mutation($input: ChangeKeyInput!) { startChangeImplementation(input: $input) { change { status } position } }",
                json!({"input": {"key": key}}),
            )
            .await;
        if response.get("errors").is_none() {
            return response["data"]["startChangeImplementation"].clone();
        }
        assert_eq!(
            error_code(&response).as_deref(),
            Some("INVALID_TRANSITION"),
            "{response}"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot from {slot} never began: {response}"
        );
        // Waiting for wall-clock time to pass, not for another task: the slot start is a fact.
        let until = (slot - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(until.max(Duration::from_millis(100))).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_change_passes_cab_avoids_the_freeze_and_is_implemented_and_reviewed() {
    let desk = Desk::start().await;
    catalog(&desk).await;
    let cm = Role::ChangeManager;
    let now = Utc::now();
    let freeze_from = now + TimeDelta::hours(2);
    let freeze_to = now + TimeDelta::hours(4);
    desk.mutate(
        cm,
        "defineFreezeWindow",
        json!({"window": "quarter-end", "service": "email", "from": rfc3339(freeze_from),
               "to": rfc3339(freeze_to), "reason": "quarter-end closing"}),
        "position",
    )
    .await;

    let selection = "change { key status risk votes { approver vote } scheduledFrom } position";
    let raised = desk
        .mutate(
            cm,
            "raiseChange",
            json!({"kind": "NORMAL", "title": "Grow the mailbox store", "description": "add a disk",
                   "service": "email", "impact": "MEDIUM", "likelihood": "LOW",
                   "implementationPlan": "attach disk, extend volume", "backoutPlan": "detach disk"}),
            selection,
        )
        .await;
    let key = raised["change"]["key"].as_str().expect("a key").to_owned();
    assert_eq!(raised["change"]["status"].as_str(), Some("Draft"));
    let k = json!({"key": key});
    desk.mutate(cm, "submitChange", k.clone(), selection).await;
    desk.mutate(
        cm,
        "assessChange",
        json!({"key": key, "impact": "MEDIUM", "likelihood": "LOW", "notes": "routine",
               "cab": ["dana", "erik"], "requiredApprovals": 2}),
        selection,
    )
    .await;
    // Scheduling before the CAB authorized it is not allowed.
    let slot_start = rfc3339(now + TimeDelta::minutes(10));
    let slot_end = rfc3339(now + TimeDelta::minutes(40));
    assert_eq!(
        desk.refused(
            cm,
            "scheduleChange",
            json!({"key": key, "from": slot_start, "to": slot_end})
        )
        .await,
        "INVALID_TRANSITION"
    );
    let first = desk
        .mutate(
            cm,
            "approveChange",
            json!({"key": key, "approver": "dana"}),
            selection,
        )
        .await;
    assert_eq!(
        first["change"]["status"].as_str(),
        Some("Assessed"),
        "one of two votes"
    );
    assert_eq!(
        desk.refused(cm, "approveChange", json!({"key": key, "approver": "dana"}))
            .await,
        "CONFLICT",
        "a second vote of the same member"
    );

    let authorized = desk
        .mutate(
            cm,
            "approveChange",
            json!({"key": key, "approver": "erik"}),
            selection,
        )
        .await;
    assert_eq!(
        authorized["change"]["status"].as_str(),
        Some("Authorized"),
        "{authorized}"
    );
    // Inside the freeze window: refused.
    assert_eq!(
        desk.refused(
            cm,
            "scheduleChange",
            json!({"key": key, "from": rfc3339(freeze_from + TimeDelta::minutes(30)),
                   "to": rfc3339(freeze_from + TimeDelta::minutes(90))}),
        )
        .await,
        "INVALID_TRANSITION"
    );
    // A slot a few seconds ahead, well before the freeze.
    // Four seconds leave the request time to arrive before the slot starts (a slot in the past
    // is refused), and keep the test short.
    let slot = (Utc::now() + TimeDelta::seconds(4))
        .to_rfc3339_opts(SecondsFormat::Secs, true)
        .parse::<DateTime<Utc>>()
        .expect("an RFC 3339 instant");
    let scheduled = desk
        .mutate(
            cm,
            "scheduleChange",
            json!({"key": key, "from": rfc3339(slot), "to": rfc3339(slot + TimeDelta::minutes(30))}),
            selection,
        )
        .await;
    assert_eq!(scheduled["change"]["status"].as_str(), Some("Scheduled"));
    let calendar = desk
        .ok(
            cm,
            "query($from: String!, $to: String!, $atLeast: Position) { changeCalendar(from: $from, to: $to, atLeast: $atLeast) { changes { key status } freezeWindows { name } } }",
            json!({"from": rfc3339(now), "to": rfc3339(freeze_to), "atLeast": scheduled["position"]}),
        )
        .await;
    assert_eq!(
        calendar["changeCalendar"]["changes"][0]["key"].as_str(),
        Some(key.as_str()),
        "{calendar}"
    );
    assert_eq!(
        calendar["changeCalendar"]["freezeWindows"][0]["name"].as_str(),
        Some("quarter-end")
    );

    // Before the slot starts, implementation may not begin.
    assert_eq!(
        desk.refused(cm, "startChangeImplementation", k.clone())
            .await,
        "INVALID_TRANSITION"
    );
    let started = start_when_the_slot_begins(&desk, &key, slot).await;
    assert_eq!(started["change"]["status"].as_str(), Some("Implementing"));
    desk.mutate(
        cm,
        "completeChangeImplementation",
        json!({"key": key, "notes": "disk attached, volume grown"}),
        selection,
    )
    .await;
    desk.mutate(
        cm,
        "reviewChange",
        json!({"key": key, "outcome": "SUCCESSFUL", "notes": "no incidents since"}),
        selection,
    )
    .await;
    let closed = desk.mutate(cm, "closeChange", k.clone(), selection).await;
    assert_eq!(
        closed["change"]["status"].as_str(),
        Some("Closed"),
        "{closed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_verifies_the_chain_reads_the_feed_and_looks_into_the_past() {
    let desk = Desk::start().await;
    catalog(&desk).await;
    let (key, logged) = log_incident(&desk, "Inbox is empty", "MEDIUM").await;
    let agent = Role::Agent;
    desk.mutate(
        agent,
        "acknowledgeIncident",
        json!({"key": key}),
        "position",
    )
    .await;
    let resolved = desk
        .mutate(
            agent,
            "resolveIncident",
            json!({"key": key, "code": "USER_ERROR", "notes": "wrong folder"}),
            "position",
        )
        .await;
    let (_, second) = log_incident(&desk, "Calendar missing", "MEDIUM").await;
    let head = desk.ledger_head().await;
    assert!(head >= second, "head {head} before the last write {second}");

    let auditor = Role::Auditor;
    let verified = desk
        .ok(
            auditor,
            "{ verifyLedger { ok events firstBadPosition problems { defect } } }",
            json!({}),
        )
        .await;
    assert_eq!(verified["verifyLedger"]["ok"], json!(true), "{verified}");
    assert!(position(&verified["verifyLedger"]["events"]) >= head);

    // The ledger read page by page, chained by hashes.
    let events = desk
        .ok(
            auditor,
            "{ events(fromPosition: \"1\", first: 5) { position eventType actor hash prevHash } }",
            json!({}),
        )
        .await;
    let events = events["events"].as_array().expect("events").clone();
    assert_eq!(events.len(), 5);
    for pair in events.windows(2) {
        assert_eq!(pair[1]["prevHash"], pair[0]["hash"], "the chain links");
        assert_eq!(
            position(&pair[1]["position"]),
            position(&pair[0]["position"]) + 1
        );
    }
    // The live feed replays from position 1 and goes on with new events.
    let mut feed = desk
        .subscribe(
            auditor,
            "subscription { eventFeed(fromPosition: \"1\") { position eventType hash } }",
            json!({}),
        )
        .await;
    let first = feed.next_data(WAIT).await;
    assert_eq!(first["eventFeed"]["position"].as_str(), Some("1"));
    assert_eq!(first["eventFeed"]["hash"], events[0]["hash"]);
    let latest = feed
        .wait_for(WAIT, |data| {
            position(&data["eventFeed"]["position"]) == head
        })
        .await;
    assert!(latest["eventFeed"]["eventType"].is_string());
    feed.close().await;
    // The auditor writes nothing.
    assert_eq!(
        desk.refused(auditor, "acknowledgeIncident", json!({"key": key}))
            .await,
        "FORBIDDEN"
    );

    // The ticket as it was right after it was logged, and now.
    let past = desk
        .ok(
            auditor,
            "query($key: ID!, $asOf: Position) { incident(key: $key, asOf: $asOf) { status position } }",
            json!({"key": key, "asOf": logged.to_string()}),
        )
        .await;
    assert_eq!(past["incident"]["status"].as_str(), Some("New"), "{past}");
    let present = incident(&desk, auditor, &key, position(&resolved["position"])).await;
    assert_eq!(present["status"].as_str(), Some("Resolved"));

    // The dashboard before the second incident was logged (its command wrote several events,
    // so take the resolution's position) counts one incident; now two.
    let today = Utc::now().date_naive();
    // A day either side, so a run across midnight counts the same incidents.
    let period = json!({"from": (today - TimeDelta::days(1)).to_string(), "to": (today + TimeDelta::days(2)).to_string()});
    let dashboard = "query($period: PeriodInput!, $asOf: Position, $atLeast: Position) { slaDashboard(period: $period, asOf: $asOf, atLeast: $atLeast) { rows { volume resolved } position } }";
    let before = desk
        .ok(
            auditor,
            dashboard,
            json!({"period": period, "asOf": resolved["position"]}),
        )
        .await;
    let now = desk
        .ok(
            auditor,
            dashboard,
            json!({"period": period, "atLeast": head.to_string()}),
        )
        .await;
    let volume = |data: &Value| data["slaDashboard"]["rows"][0]["volume"].as_i64();
    assert_eq!(volume(&before), Some(1), "{before}");
    assert_eq!(volume(&now), Some(2), "{now}");
    assert_eq!(
        before["slaDashboard"]["rows"][0]["resolved"].as_i64(),
        Some(1)
    );

    // The audit log names who did what (actors as the ledger records them).
    let audit = desk
        .ok(
            auditor,
            "{ audit(filter: {actor: \"user:alex:agent\"}, first: 10) { nodes { eventType actor } } }",
            json!({}),
        )
        .await;
    let nodes = audit["audit"]["nodes"].as_array().expect("audit nodes");
    assert!(
        nodes
            .iter()
            .any(|node| node["eventType"] == "IncidentResolved"),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_tokens_and_read_models_survive_a_kill_and_a_restart() {
    let mut desk = Desk::start().await;
    catalog(&desk).await;
    let (key, _) = log_incident(&desk, "Inbox is empty", "MEDIUM").await;
    let acknowledged = desk
        .mutate(
            Role::Agent,
            "acknowledgeIncident",
            json!({"key": key}),
            "incident { acknowledgedAt } position",
        )
        .await;
    let before = incident(
        &desk,
        Role::Agent,
        &key,
        position(&acknowledged["position"]),
    )
    .await;
    let head = desk.ledger_head().await;

    // SIGKILL: no graceful shutdown. Every acknowledged write was flushed before its answer.
    desk.server.kill_and_restart();
    assert_eq!(desk.ledger_head().await, head, "the ledger after a restart");
    // The same tokens (hashes in the ledger) still work, and the read models caught up.
    let after = incident(&desk, Role::Agent, &key, head).await;
    assert_eq!(after["status"], before["status"]);
    assert_eq!(after["position"], before["position"]);
    let verified = desk
        .ok(Role::Auditor, "{ verifyLedger { ok events } }", json!({}))
        .await;
    assert_eq!(verified["verifyLedger"]["ok"], json!(true), "{verified}");
    assert_eq!(position(&verified["verifyLedger"]["events"]), head);
    // New writes go on from the head.
    let (next, logged) = log_incident(&desk, "Calendar missing", "MEDIUM").await;
    assert_ne!(next, key);
    assert!(logged > head, "position {logged} after head {head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_watches_the_queue_live_and_the_server_reports_health_and_metrics() {
    let desk = Desk::start().await;
    catalog(&desk).await;
    let mut queue = desk
        .subscribe(
            Role::Agent,
            "subscription { queueChanged(group: \"service-desk\", first: 5) { group incident eventType open items { key priority } } }",
            json!({}),
        )
        .await;
    let (key, _) = log_incident(&desk, "Inbox is empty", "MEDIUM").await;
    desk.mutate(
        Role::Agent,
        "assignIncident",
        json!({"key": key, "group": "service-desk"}),
        "position",
    )
    .await;
    let change = queue
        .wait_for(WAIT, |data| {
            data["queueChanged"]["incident"] == key.as_str()
        })
        .await;
    assert_eq!(change["queueChanged"]["open"].as_i64(), Some(1), "{change}");
    assert_eq!(
        change["queueChanged"]["items"][0]["key"].as_str(),
        Some(key.as_str())
    );
    queue.close().await;
    let counts = desk
        .ok(Role::Agent, "{ queueCounts { group open } }", json!({}))
        .await;
    assert!(
        counts["queueCounts"]
            .as_array()
            .expect("counts")
            .iter()
            .any(|count| count["group"] == "service-desk" && count["open"] == 1),
        "{counts}"
    );

    let health = itsm_e2e::support::http::request(desk.address(), "GET", "/healthz", &[], None)
        .await
        .expect("GET /healthz");
    assert_eq!(health.json()["status"].as_str(), Some("ok"));
    let metrics = itsm_e2e::support::http::request(desk.address(), "GET", "/metrics", &[], None)
        .await
        .expect("GET /metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/plain")),
        "Prometheus text: {:?}",
        metrics.headers
    );
    let text = metrics.text();
    assert!(!text.contains("Bearer"), "no secrets in metrics");
    assert!(
        text.lines()
            .any(|line| !line.starts_with('#') && line.contains("mutation")),
        "mutations are counted: {text}"
    );
    let graphiql = itsm_e2e::support::http::request(desk.address(), "GET", "/graphql", &[], None)
        .await
        .expect("GET /graphql");
    assert_eq!(graphiql.status, 200);
    assert!(graphiql.text().to_lowercase().contains("graphiql"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_notes_stay_internal_and_requesters_comment_publicly_only() {
    let desk = Desk::start().await;
    catalog(&desk).await;
    let (key, _) = log_incident(&desk, "Inbox is empty", "MEDIUM").await;
    desk.mutate(
        Role::Requester,
        "commentOnIncident",
        json!({"key": key, "text": "it is urgent for me"}),
        "position",
    )
    .await;
    assert_eq!(
        desk.refused(
            Role::Requester,
            "commentOnIncident",
            json!({"key": key, "text": "psst", "visibility": "INTERNAL"}),
        )
        .await,
        "FORBIDDEN"
    );
    let noted = desk
        .mutate(
            Role::Agent,
            "commentOnIncident",
            json!({"key": key, "text": "user has 3 mailboxes", "visibility": "INTERNAL"}),
            "position",
        )
        .await;
    let read = "query($key: ID!, $atLeast: Position) { incident(key: $key, atLeast: $atLeast) { comments { text visibility by } timeline { eventType summary } } }";
    let vars = json!({"key": key, "atLeast": noted["position"]});
    let agent_view = desk.ok(Role::Agent, read, vars.clone()).await;
    let requester_view = desk.ok(Role::Requester, read, vars).await;
    let texts = |view: &Value| -> Vec<String> {
        view["incident"]["comments"]
            .as_array()
            .expect("comments")
            .iter()
            .filter_map(|c| c["text"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(
        texts(&agent_view),
        ["it is urgent for me", "user has 3 mailboxes"]
    );
    assert_eq!(texts(&requester_view), ["it is urgent for me"]);
    assert!(
        !requester_view.to_string().contains("3 mailboxes"),
        "the internal note leaks through the timeline: {requester_view}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_change_may_be_scheduled_in_a_freeze_and_overlaps_are_collisions() {
    let desk = Desk::start().await;
    catalog(&desk).await;
    let cm = Role::ChangeManager;
    let now = Utc::now();
    let freeze_from = now + TimeDelta::hours(1);
    desk.mutate(
        cm,
        "defineFreezeWindow",
        json!({"window": "all-hands", "from": rfc3339(freeze_from),
               "to": rfc3339(freeze_from + TimeDelta::hours(3)), "reason": "company event"}),
        "position",
    )
    .await;
    let slot = json!({"from": rfc3339(freeze_from + TimeDelta::minutes(30)),
                      "to": rfc3339(freeze_from + TimeDelta::minutes(90))});
    let mut keys = Vec::new();
    for title in ["Patch the mail relay", "Rotate the relay certificate"] {
        let raised = desk
            .mutate(
                cm,
                "raiseChange",
                json!({"kind": "EMERGENCY", "title": title, "description": "zero-day",
                       "service": "email", "impact": "HIGH", "likelihood": "MEDIUM",
                       "implementationPlan": "apply", "backoutPlan": "revert"}),
                "change { key }",
            )
            .await;
        let key = raised["change"]["key"].as_str().expect("a key").to_owned();
        desk.mutate(cm, "submitChange", json!({"key": key}), "position")
            .await;
        desk.mutate(
            cm,
            "assessChange",
            json!({"key": key, "impact": "HIGH", "likelihood": "MEDIUM", "notes": "ECAB",
                   "cab": ["dana"], "requiredApprovals": 1}),
            "position",
        )
        .await;
        desk.mutate(
            cm,
            "approveChange",
            json!({"key": key, "approver": "dana"}),
            "position",
        )
        .await;
        let mut input = slot.clone();
        input["key"] = json!(key);
        let scheduled = desk
            .mutate(cm, "scheduleChange", input, "change { status } position")
            .await;
        assert_eq!(
            scheduled["change"]["status"].as_str(),
            Some("Scheduled"),
            "an emergency change inside the freeze: {scheduled}"
        );
        keys.push((key, position(&scheduled["position"])));
    }
    let (_, last) = keys.last().cloned().expect("two changes");
    let calendar = desk
        .ok(
            Role::Auditor,
            "query($from: String!, $to: String!, $atLeast: Position) { changeCalendar(from: $from, to: $to, atLeast: $atLeast) { changes { key } freezeWindows { name } collisions { service first second } } }",
            json!({"from": rfc3339(now), "to": rfc3339(now + TimeDelta::hours(6)),
                   "atLeast": last.to_string()}),
        )
        .await;
    let collisions = calendar["changeCalendar"]["collisions"]
        .as_array()
        .expect("collisions");
    assert_eq!(collisions.len(), 1, "{calendar}");
    let pair = [
        collisions[0]["first"].as_str().unwrap_or_default(),
        collisions[0]["second"].as_str().unwrap_or_default(),
    ];
    assert!(
        pair.contains(&keys[0].0.as_str()) && pair.contains(&keys[1].0.as_str()),
        "{calendar}"
    );
    assert_eq!(collisions[0]["service"].as_str(), Some("email"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_manager_reads_the_demo_history_and_asks_what_if() {
    let desk = Desk::start_with(&["--demo"]).await;
    let sm = Role::ServiceManager;
    // The demo was seeded before the server listened; wait for the read models to reach it.
    // (Top-level fields resolve concurrently: each read-model field gets its own atLeast.)
    let seeded = desk.ledger_head().await.to_string();
    let catalog = desk
        .ok(
            sm,
            "query($atLeast: Position) { services(atLeast: $atLeast) { id active } calendars(atLeast: $atLeast) { name } me { ledgerHead } }",
            json!({"atLeast": seeded}),
        )
        .await;
    assert!(
        !catalog["services"].as_array().expect("services").is_empty(),
        "{catalog}"
    );
    let head = position(&catalog["me"]["ledgerHead"]);
    assert!(head > 100, "the demo seeded a history: head {head}");
    let calendar = catalog["calendars"][0]["name"]
        .as_str()
        .expect("a demo calendar")
        .to_owned();

    let today = Utc::now().date_naive();
    let dashboard = desk
        .ok(
            sm,
            "query($period: PeriodInput!, $atLeast: Position) { slaDashboard(period: $period, groupBy: SERVICE, atLeast: $atLeast) { rows { key volume resolved resolution { met breached } } backlog { date open } } }",
            json!({"period": {"from": (today - TimeDelta::days(120)).to_string(),
                              "to": (today + TimeDelta::days(1)).to_string()},
                   "atLeast": head.to_string()}),
        )
        .await;
    let rows = dashboard["slaDashboard"]["rows"].as_array().expect("rows");
    let volume: i64 = rows.iter().filter_map(|row| row["volume"].as_i64()).sum();
    assert!(volume > 0, "the history counts incidents: {dashboard}");

    // One write of the service manager's own, to tell the what-if's (none) from it.
    desk.mutate(
        sm,
        "defineCalendar",
        json!({"name": "e2e-weekends", "calendar": {"timezone": "UTC", "workingHours": [
            {"day": "SATURDAY", "start": "10:00", "end": "14:00"}]}}),
        "position",
    )
    .await;
    // What if every resolution had to happen within one business minute?
    let now = Utc::now();
    let what_if = desk
        .ok(
            sm,
            "query($input: SlaWhatIfInput!) { slaWhatIf(input: $input) { incidents actualMet actualBreached proposedMet proposedBreached } }",
            json!({"input": {
                "calendar": calendar,
                "from": rfc3339(now - TimeDelta::days(120)),
                "to": rfc3339(now),
                "targets": {"firstResponseMinutes": 1, "resolutionMinutes": 1, "warningPercent": 80},
            }}),
        )
        .await;
    let report = &what_if["slaWhatIf"];
    assert!(report["incidents"].as_i64() > Some(0), "{what_if}");
    assert!(
        report["proposedBreached"].as_i64() >= report["actualBreached"].as_i64(),
        "a one-minute target breaches at least as often: {what_if}"
    );
    // The what-if writes nothing: the service manager's only event is the calendar (the SLA
    // timer may append to the demo's open incidents meanwhile, so the head is no measure).
    let audit = desk
        .ok(
            Role::Auditor,
            "{ audit(filter: {actor: \"user:sam:service_manager\"}, first: 5) { nodes { eventType } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        audit["audit"]["nodes"],
        json!([{"eventType": "CalendarDefined"}]),
        "{audit}"
    );
}
