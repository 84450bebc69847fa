//! Catalog mutations through the router: each one's success path and its typical refusal, and
//! what the catalog holds afterwards.

mod support;

use chrono::{NaiveDate, NaiveTime, TimeDelta, Weekday};
use itsm_catalog::{Criticality, FreezeScope, ServiceStatus};
use itsm_kernel::{CustomerTier, GroupId, Name, Priority, Role, ServiceId};
use itsm_sla::HoldReason;
use serde_json::{Value, json};
use support::{TestDesk, error_code};

/// Every entry a catalog payload can carry.
const PAYLOAD: &str = "position \
    service { id name owner criticality active } \
    calendar { name revision timezone workingHours { day start end } holidays } \
    slaPolicy { name revision firstResponseMinutes resolutionMinutes warningPercent pauseOn calendar ola { group minutes } } \
    freezeWindow { name service from to cancelled }";

/// Runs `op(input: $input)` with an `input` of GraphQL type `input_type` as `role`.
async fn call(desk: &TestDesk, role: Role, op: &str, input_type: &str, input: Value) -> Value {
    let query =
        format!("mutation($input: {input_type}!) {{ {op}(input: $input) {{ {PAYLOAD} }} }}");
    desk.gql(role, &query, json!({ "input": input })).await
}

/// Asserts that `op` succeeded with a position and returns its payload.
fn ok<'a>(response: &'a Value, op: &str) -> &'a Value {
    assert_eq!(response["errors"], Value::Null, "{op}: {response}");
    let payload = &response["data"][op];
    assert!(
        payload["position"].as_str().is_some(),
        "{op} answers a position: {response}"
    );
    payload
}

/// The entries a payload carries besides `position`.
fn entries(payload: &Value) -> Vec<&str> {
    ["service", "calendar", "slaPolicy", "freezeWindow"]
        .into_iter()
        .filter(|entry| !payload[*entry].is_null())
        .collect()
}

/// Asserts that `op` is refused with `code`.
async fn refused(
    desk: &TestDesk,
    role: Role,
    op: &str,
    input_type: &str,
    input: Value,
    code: &str,
) {
    let response = call(desk, role, op, input_type, input).await;
    assert_eq!(
        error_code(&response),
        Some(code),
        "{op} as {role}: {response}"
    );
}

fn name(text: &str) -> Name {
    text.parse().expect("name")
}

fn service_id(text: &str) -> ServiceId {
    text.parse().expect("id")
}

fn office_hours(timezone: &str) -> Value {
    let days = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"];
    json!({
        "timezone": timezone,
        "workingHours": days
            .iter()
            .map(|day| json!({ "day": day, "start": "09:00", "end": "17:00" }))
            .collect::<Vec<_>>(),
        "holidays": ["2026-12-25"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_manager_defines_and_revises_calendars() {
    let desk = TestDesk::new().await;

    // defineCalendar: bad input is refused before it reaches the catalog.
    let mut mars = office_hours("Mars/Olympus_Mons");
    refused(
        &desk,
        Role::ServiceManager,
        "defineCalendar",
        "DefineCalendarInput",
        json!({ "name": "berlin", "calendar": mars.clone() }),
        "VALIDATION",
    )
    .await;
    mars["timezone"] = json!("Europe/Berlin");
    mars["workingHours"][0]["end"] = json!("25:00");
    refused(
        &desk,
        Role::ServiceManager,
        "defineCalendar",
        "DefineCalendarInput",
        json!({ "name": "berlin", "calendar": mars.clone() }),
        "VALIDATION",
    )
    .await;
    mars["workingHours"][0]["end"] = json!("08:00");
    refused(
        &desk,
        Role::ServiceManager,
        "defineCalendar",
        "DefineCalendarInput",
        json!({ "name": "berlin", "calendar": mars.clone() }),
        "VALIDATION",
    )
    .await;
    mars["workingHours"] = json!([]);
    refused(
        &desk,
        Role::ServiceManager,
        "defineCalendar",
        "DefineCalendarInput",
        json!({ "name": "berlin", "calendar": mars }),
        "VALIDATION",
    )
    .await;
    let mut bad_holiday = office_hours("Europe/Berlin");
    bad_holiday["holidays"] = json!(["25.12.2026"]);
    refused(
        &desk,
        Role::ServiceManager,
        "defineCalendar",
        "DefineCalendarInput",
        json!({ "name": "berlin", "calendar": bad_holiday }),
        "VALIDATION",
    )
    .await;
    refused(
        &desk,
        Role::Agent,
        "defineCalendar",
        "DefineCalendarInput",
        json!({ "name": "berlin", "calendar": office_hours("Europe/Berlin") }),
        "FORBIDDEN",
    )
    .await;

    let defined = call(
        &desk,
        Role::ServiceManager,
        "defineCalendar",
        "DefineCalendarInput",
        json!({ "name": "berlin", "calendar": office_hours("Europe/Berlin") }),
    )
    .await;
    let payload = ok(&defined, "defineCalendar");
    assert_eq!(entries(payload), ["calendar"]);
    assert_eq!(payload["calendar"]["revision"], 1);
    assert_eq!(payload["calendar"]["timezone"], "Europe/Berlin");
    assert_eq!(payload["calendar"]["holidays"], json!(["2026-12-25"]));
    assert_eq!(
        payload["calendar"]["workingHours"].as_array().map(Vec::len),
        Some(5)
    );
    refused(
        &desk,
        Role::ServiceManager,
        "defineCalendar",
        "DefineCalendarInput",
        json!({ "name": "berlin", "calendar": office_hours("Europe/Berlin") }),
        "CONFLICT",
    )
    .await;

    // reviseCalendar: Saturday morning too, and a late shift until midnight on Friday.
    let mut revised = office_hours("Europe/Berlin");
    revised["workingHours"]
        .as_array_mut()
        .expect("hours")
        .extend([
            json!({ "day": "SATURDAY", "start": "09:00", "end": "12:00" }),
            json!({ "day": "FRIDAY", "start": "18:00", "end": "24:00" }),
        ]);
    refused(
        &desk,
        Role::ServiceManager,
        "reviseCalendar",
        "ReviseCalendarInput",
        json!({ "name": "hamburg", "calendar": revised.clone() }),
        "NOT_FOUND",
    )
    .await;
    refused(
        &desk,
        Role::ChangeManager,
        "reviseCalendar",
        "ReviseCalendarInput",
        json!({ "name": "berlin", "calendar": revised.clone() }),
        "FORBIDDEN",
    )
    .await;
    let revision = call(
        &desk,
        Role::ServiceManager,
        "reviseCalendar",
        "ReviseCalendarInput",
        json!({ "name": "berlin", "calendar": revised }),
    )
    .await;
    let payload = ok(&revision, "reviseCalendar");
    assert_eq!(entries(payload), ["calendar"]);
    assert_eq!(payload["calendar"]["revision"], 2);
    assert_eq!(
        payload["calendar"]["workingHours"].as_array().map(Vec::len),
        Some(7)
    );

    let catalog = desk.state.desk.catalog().await.expect("catalog");
    let berlin = catalog.calendar(&name("berlin")).expect("calendar");
    assert_eq!(berlin.current.revision, 2);
    let calendar = &berlin.current.calendar;
    assert_eq!(calendar.timezone(), chrono_tz::Europe::Berlin);
    assert!(calendar.is_holiday(NaiveDate::from_ymd_opt(2026, 12, 25).expect("date")));
    assert_eq!(calendar.week().day(Weekday::Sat).len(), 1);
    assert_eq!(calendar.week().day(Weekday::Sun).len(), 0);
    let friday = calendar.week().day(Weekday::Fri);
    assert_eq!(friday.len(), 2);
    assert!(friday[1].ends_at_midnight());
    assert_eq!(
        friday[0].start(),
        NaiveTime::from_hms_opt(9, 0, 0).expect("time")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_manager_revises_and_retires_a_service() {
    let desk = TestDesk::new().await.with_catalog().await;
    let vpn = json!({ "service": "vpn", "name": "Remote access", "owner": "network", "criticality": "HIGH" });
    let define_service_1 = call(
        &desk,
        Role::ServiceManager,
        "defineService",
        "DefineServiceInput",
        vpn.clone(),
    )
    .await;
    let define_service_1 = ok(&define_service_1, "defineService");
    assert_eq!(entries(define_service_1), ["service"]);
    assert_eq!(define_service_1["service"]["id"], "vpn");
    assert_eq!(define_service_1["service"]["active"], true);

    // reviseService
    refused(
        &desk,
        Role::ServiceManager,
        "reviseService",
        "ReviseServiceInput",
        vpn.clone(),
        "CONFLICT",
    )
    .await;
    let mut unknown = vpn.clone();
    unknown["service"] = json!("fax");
    refused(
        &desk,
        Role::ServiceManager,
        "reviseService",
        "ReviseServiceInput",
        unknown,
        "NOT_FOUND",
    )
    .await;
    refused(
        &desk,
        Role::Agent,
        "reviseService",
        "ReviseServiceInput",
        vpn.clone(),
        "FORBIDDEN",
    )
    .await;
    let mut revised = vpn;
    revised["criticality"] = json!("CRITICAL");
    revised["owner"] = json!("network-tier-2");
    let revise_service_1 = call(
        &desk,
        Role::ServiceManager,
        "reviseService",
        "ReviseServiceInput",
        revised.clone(),
    )
    .await;
    let revise_service_1 = ok(&revise_service_1, "reviseService");
    assert_eq!(entries(revise_service_1), ["service"]);
    assert_eq!(revise_service_1["service"]["criticality"], "CRITICAL");
    assert_eq!(revise_service_1["service"]["owner"], "network-tier-2");
    let catalog = desk.state.desk.catalog().await.expect("catalog");
    let service = catalog.service(&service_id("vpn")).expect("service");
    assert_eq!(service.criticality, Criticality::Critical);
    assert_eq!(
        service.owner,
        "network-tier-2".parse::<GroupId>().expect("id")
    );

    // retireService
    refused(
        &desk,
        Role::ServiceManager,
        "retireService",
        "RetireServiceInput",
        json!({ "service": "fax", "reason": "gone" }),
        "NOT_FOUND",
    )
    .await;
    refused(
        &desk,
        Role::ChangeManager,
        "retireService",
        "RetireServiceInput",
        json!({ "service": "vpn", "reason": "replaced" }),
        "FORBIDDEN",
    )
    .await;
    let retire_service_1 = call(
        &desk,
        Role::ServiceManager,
        "retireService",
        "RetireServiceInput",
        json!({ "service": "vpn", "reason": "replaced by zero trust" }),
    )
    .await;
    let retire_service_1 = ok(&retire_service_1, "retireService");
    assert_eq!(entries(retire_service_1), ["service"]);
    assert_eq!(retire_service_1["service"]["active"], false);
    let catalog = desk.state.desk.catalog().await.expect("catalog");
    assert_eq!(
        catalog.service(&service_id("vpn")).expect("service").status,
        ServiceStatus::Retired
    );
    refused(
        &desk,
        Role::ServiceManager,
        "retireService",
        "RetireServiceInput",
        json!({ "service": "vpn", "reason": "again" }),
        "INVALID_TRANSITION",
    )
    .await;
    refused(
        &desk,
        Role::ServiceManager,
        "reviseService",
        "ReviseServiceInput",
        revised,
        "INVALID_TRANSITION",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_manager_defines_and_revises_sla_policies() {
    let desk = TestDesk::new().await.with_catalog().await;
    let policy = json!({
        "policy": "email-p1-vip",
        "service": "email",
        "priority": "P1",
        "tier": "VIP",
        "targets": {
            "firstResponseMinutes": 15,
            "resolutionMinutes": 240,
            "warningPercent": 75,
            "pauseOn": ["AWAITING_CUSTOMER", "AWAITING_VENDOR"],
        },
        "calendar": "24x7",
        "ola": [{ "group": "mail-team", "minutes": 120 }],
    });

    // defineSlaPolicy: refusals first.
    let mut backwards = policy.clone();
    backwards["targets"]["resolutionMinutes"] = json!(10);
    refused(
        &desk,
        Role::ServiceManager,
        "defineSlaPolicy",
        "DefineSlaPolicyInput",
        backwards,
        "VALIDATION",
    )
    .await;
    let mut warning = policy.clone();
    warning["targets"]["warningPercent"] = json!(300);
    refused(
        &desk,
        Role::ServiceManager,
        "defineSlaPolicy",
        "DefineSlaPolicyInput",
        warning,
        "VALIDATION",
    )
    .await;
    let mut twice = policy.clone();
    twice["ola"] =
        json!([{ "group": "mail-team", "minutes": 60 }, { "group": "mail-team", "minutes": 90 }]);
    refused(
        &desk,
        Role::ServiceManager,
        "defineSlaPolicy",
        "DefineSlaPolicyInput",
        twice,
        "VALIDATION",
    )
    .await;
    let mut no_calendar = policy.clone();
    no_calendar["calendar"] = json!("mars");
    refused(
        &desk,
        Role::ServiceManager,
        "defineSlaPolicy",
        "DefineSlaPolicyInput",
        no_calendar,
        "NOT_FOUND",
    )
    .await;
    let mut taken = policy.clone();
    taken["tier"] = json!("STANDARD");
    refused(
        &desk,
        Role::ServiceManager,
        "defineSlaPolicy",
        "DefineSlaPolicyInput",
        taken,
        "CONFLICT",
    )
    .await;
    refused(
        &desk,
        Role::Agent,
        "defineSlaPolicy",
        "DefineSlaPolicyInput",
        policy.clone(),
        "FORBIDDEN",
    )
    .await;

    let define_sla_policy_1 = call(
        &desk,
        Role::ServiceManager,
        "defineSlaPolicy",
        "DefineSlaPolicyInput",
        policy,
    )
    .await;
    let define_sla_policy_1 = ok(&define_sla_policy_1, "defineSlaPolicy");
    assert_eq!(entries(define_sla_policy_1), ["slaPolicy"]);
    let payload = &define_sla_policy_1["slaPolicy"];
    assert_eq!(payload["name"], "email-p1-vip");
    assert_eq!(payload["revision"], 1);
    assert_eq!(
        (
            &payload["firstResponseMinutes"],
            &payload["resolutionMinutes"],
            &payload["warningPercent"]
        ),
        (&json!(15), &json!(240), &json!(75))
    );
    assert_eq!(
        payload["pauseOn"],
        json!(["AWAITING_CUSTOMER", "AWAITING_VENDOR"])
    );
    assert_eq!(
        payload["ola"],
        json!([{ "group": "mail-team", "minutes": 120 }])
    );
    let catalog = desk.state.desk.catalog().await.expect("catalog");
    let defined = catalog.policy(&name("email-p1-vip")).expect("policy");
    assert_eq!(
        (defined.priority, defined.tier),
        (Priority::P1, CustomerTier::Vip)
    );
    assert_eq!(
        defined.current.targets.first_response(),
        TimeDelta::minutes(15)
    );
    assert_eq!(defined.current.targets.warning_percent(), 75);
    assert!(
        defined
            .current
            .targets
            .pauses_on(HoldReason::AwaitingVendor)
    );
    assert_eq!(
        defined
            .current
            .ola
            .get(&"mail-team".parse::<GroupId>().expect("id")),
        Some(&TimeDelta::minutes(120))
    );

    // reviseSlaPolicy
    let revision = json!({
        "policy": "email-p1-vip",
        "targets": { "firstResponseMinutes": 10, "resolutionMinutes": 120, "warningPercent": 80 },
        "calendar": "24x7",
    });
    let mut unknown = revision.clone();
    unknown["policy"] = json!("fax-p1");
    refused(
        &desk,
        Role::ServiceManager,
        "reviseSlaPolicy",
        "ReviseSlaPolicyInput",
        unknown,
        "NOT_FOUND",
    )
    .await;
    let mut zero = revision.clone();
    zero["targets"]["firstResponseMinutes"] = json!(0);
    refused(
        &desk,
        Role::ServiceManager,
        "reviseSlaPolicy",
        "ReviseSlaPolicyInput",
        zero,
        "VALIDATION",
    )
    .await;
    refused(
        &desk,
        Role::Auditor,
        "reviseSlaPolicy",
        "ReviseSlaPolicyInput",
        revision.clone(),
        "FORBIDDEN",
    )
    .await;
    let revise_sla_policy_1 = call(
        &desk,
        Role::ServiceManager,
        "reviseSlaPolicy",
        "ReviseSlaPolicyInput",
        revision,
    )
    .await;
    let revise_sla_policy_1 = ok(&revise_sla_policy_1, "reviseSlaPolicy");
    assert_eq!(entries(revise_sla_policy_1), ["slaPolicy"]);
    assert_eq!(revise_sla_policy_1["slaPolicy"]["revision"], 2);
    assert_eq!(revise_sla_policy_1["slaPolicy"]["resolutionMinutes"], 120);
    let catalog = desk.state.desk.catalog().await.expect("catalog");
    let revised = catalog.policy(&name("email-p1-vip")).expect("policy");
    assert_eq!(revised.current.revision, 2);
    assert_eq!(
        revised.current.targets.resolution(),
        TimeDelta::minutes(120)
    );
    assert!(revised.current.targets.pause_on().is_empty());
    assert!(revised.current.ola.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freeze_windows_are_defined_and_cancelled_by_service_and_change_managers() {
    let desk = TestDesk::new().await.with_catalog().await;
    let window = json!({
        "window": "year-end",
        "from": "2026-12-20T00:00:00Z",
        "to": "2027-01-02T00:00:00+01:00",
        "reason": "Year-end closing",
    });

    // defineFreezeWindow
    let mut garbled = window.clone();
    garbled["from"] = json!("20.12.2026");
    refused(
        &desk,
        Role::ChangeManager,
        "defineFreezeWindow",
        "DefineFreezeWindowInput",
        garbled,
        "VALIDATION",
    )
    .await;
    let mut backwards = window.clone();
    backwards["to"] = json!("2026-12-01T00:00:00Z");
    refused(
        &desk,
        Role::ChangeManager,
        "defineFreezeWindow",
        "DefineFreezeWindowInput",
        backwards,
        "VALIDATION",
    )
    .await;
    refused(
        &desk,
        Role::Agent,
        "defineFreezeWindow",
        "DefineFreezeWindowInput",
        window.clone(),
        "FORBIDDEN",
    )
    .await;
    let define_freeze_window_1 = call(
        &desk,
        Role::ChangeManager,
        "defineFreezeWindow",
        "DefineFreezeWindowInput",
        window.clone(),
    )
    .await;
    let define_freeze_window_1 = ok(&define_freeze_window_1, "defineFreezeWindow");
    assert_eq!(entries(define_freeze_window_1), ["freezeWindow"]);
    assert_eq!(
        define_freeze_window_1["freezeWindow"]["service"],
        Value::Null
    );
    assert_eq!(
        define_freeze_window_1["freezeWindow"]["to"],
        "2027-01-01T23:00:00+00:00"
    );
    refused(
        &desk,
        Role::ChangeManager,
        "defineFreezeWindow",
        "DefineFreezeWindowInput",
        window,
        "CONFLICT",
    )
    .await;
    let scoped = json!({
        "window": "mail-migration",
        "service": "email",
        "from": "2026-02-01T00:00:00Z",
        "to": "2026-02-02T00:00:00Z",
        "reason": "Mailbox migration",
    });
    let define_freeze_window_2 = call(
        &desk,
        Role::ServiceManager,
        "defineFreezeWindow",
        "DefineFreezeWindowInput",
        scoped,
    )
    .await;
    let define_freeze_window_2 = ok(&define_freeze_window_2, "defineFreezeWindow");
    assert_eq!(define_freeze_window_2["freezeWindow"]["service"], "email");
    let catalog = desk.state.desk.catalog().await.expect("catalog");
    let year_end = catalog.freeze_window(&name("year-end")).expect("window");
    assert_eq!(year_end.scope, FreezeScope::Global);
    assert_eq!(year_end.to.to_rfc3339(), "2027-01-01T23:00:00+00:00");
    assert_eq!(
        catalog
            .freeze_window(&name("mail-migration"))
            .expect("window")
            .scope,
        FreezeScope::Service(service_id("email"))
    );

    // cancelFreezeWindow
    refused(
        &desk,
        Role::ChangeManager,
        "cancelFreezeWindow",
        "CancelFreezeWindowInput",
        json!({ "window": "easter", "reason": "r" }),
        "NOT_FOUND",
    )
    .await;
    refused(
        &desk,
        Role::Requester,
        "cancelFreezeWindow",
        "CancelFreezeWindowInput",
        json!({ "window": "year-end", "reason": "r" }),
        "FORBIDDEN",
    )
    .await;
    let cancel_freeze_window_1 = call(
        &desk,
        Role::ChangeManager,
        "cancelFreezeWindow",
        "CancelFreezeWindowInput",
        json!({ "window": "year-end", "reason": "Closing moved to January" }),
    )
    .await;
    let cancel_freeze_window_1 = ok(&cancel_freeze_window_1, "cancelFreezeWindow");
    assert_eq!(entries(cancel_freeze_window_1), ["freezeWindow"]);
    assert_eq!(cancel_freeze_window_1["freezeWindow"]["cancelled"], true);
    let catalog = desk.state.desk.catalog().await.expect("catalog");
    assert!(
        catalog
            .freeze_window(&name("year-end"))
            .expect("window")
            .cancelled
            .is_some()
    );
    refused(
        &desk,
        Role::ChangeManager,
        "cancelFreezeWindow",
        "CancelFreezeWindowInput",
        json!({ "window": "year-end", "reason": "again" }),
        "INVALID_TRANSITION",
    )
    .await;
}
