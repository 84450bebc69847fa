//! Generated hostile requests against the real GraphQL endpoint (`tests/hostile.rs` has the
//! hand-written ones): random bytes, token soup and unbalanced braces, huge strings, deep
//! nesting, unknown enum values, wrongly typed variables, invalid ticket keys and transitions
//! the incident's state forbids. Every response must be a refusal with the code its category
//! allows, the ledger head must not move, and the server keeps serving (checked every batch).
//!
//! One server per test; `PROPTEST_CASES` sets the number of cases (300 by default, `make fuzz`
//! runs thousands).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use itsm_e2e::support::{Desk, Role, email_service_with_an_incident, error_code, http};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

/// One generated request and the codes it may be refused with.
#[derive(Debug, Clone)]
enum Case {
    /// Any body, sent as JSON: refused at the transport (400 or 413).
    RawBody(Vec<u8>),
    /// A document (with variables) sent as proper GraphQL-over-HTTP JSON.
    Document {
        category: &'static str,
        query: String,
        variables: Value,
        role: Role,
        codes: &'static [&'static str],
        /// A well-formed read (token soup may produce one): answered without errors is fine.
        may_succeed: bool,
    },
}

const LOG_INCIDENT: &str =
    "mutation($input: LogIncidentInput!) { logIncident(input: $input) { position } }";

fn valid_input() -> Value {
    json!({"title": "t", "description": "d", "service": "email", "category": "c",
           "impact": "MEDIUM", "urgency": "MEDIUM"})
}

fn document(
    category: &'static str,
    query: String,
    variables: Value,
    codes: &'static [&'static str],
) -> Case {
    Case::Document {
        category,
        query,
        variables,
        role: Role::Agent,
        codes,
        may_succeed: false,
    }
}

fn raw_bodies() -> impl Strategy<Value = Case> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2048),
        // JSON that is no GraphQL request.
        prop_oneof![
            Just(b"[]".to_vec()),
            Just(b"null".to_vec()),
            any::<i64>().prop_map(|n| n.to_string().into_bytes()),
            "[a-z]{0,12}".prop_map(|s| format!("{{\"{s}\": 1}}").into_bytes()),
            "\\PC{0,40}".prop_map(|s| format!("{{\"query\": {s:?}").into_bytes()),
        ],
    ]
    .prop_map(Case::RawBody)
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    "!",
    "$x",
    "...",
    "@skip",
    "query",
    "mutation",
    "subscription",
    "fragment",
    "on",
    "me",
    "user",
    "incident",
    "incidents",
    "key",
    "\"INC-1\"",
    "logIncident",
    "input",
    "first",
    "100",
    "-1",
    "null",
    "true",
    "__typename",
    "__schema",
    "nodes",
    ",",
    "\"",
    "#",
    "\u{0}",
    "\u{feff}",
    "é",
    "🎫",
];

fn token_soup() -> impl Strategy<Value = Case> {
    proptest::collection::vec(proptest::sample::select(TOKENS), 1..60).prop_map(|tokens| {
        Case::Document {
            category: "token soup",
            query: tokens.join(" "),
            variables: json!({}),
            role: Role::Agent,
            codes: &["VALIDATION", "LIMIT_EXCEEDED", "NOT_FOUND", "FORBIDDEN"],
            may_succeed: true,
        }
    })
}

fn unbalanced() -> impl Strategy<Value = Case> {
    (0_usize..40, 0_usize..40)
        .prop_filter("unbalanced", |(open, close)| open != close)
        .prop_map(|(open, close)| {
            let query = format!("{} me {{ user {}", "{".repeat(open), "}".repeat(close));
            document("unbalanced braces", query, json!({}), &["VALIDATION"])
        })
}

fn huge_strings() -> impl Strategy<Value = Case> {
    // Each field just over its limit or far beyond it (titles allow 200 characters,
    // descriptions 10 000, ids 128), or a body over the 1 MiB limit.
    let over = prop_oneof![
        (201_usize..5_000).prop_map(|n| ("title", n)),
        (10_001_usize..40_000).prop_map(|n| ("description", n)),
        (129_usize..5_000).prop_map(|n| ("category", n)),
        (129_usize..5_000).prop_map(|n| ("service", n)),
        (
            1_048_577_usize..1_300_000,
            proptest::sample::select(&["title", "description", "category", "service"][..]),
        )
            .prop_map(|(n, field)| (field, n)),
    ];
    (over, proptest::sample::select(&["x", "é", "🎫"][..])).prop_map(|((field, chars), unit)| {
        let mut input = valid_input();
        input[field] = json!(unit.repeat(chars));
        document(
            "huge string",
            LOG_INCIDENT.to_owned(),
            json!({"input": input}),
            &["VALIDATION", "LIMIT_EXCEEDED", "NOT_FOUND"],
        )
    })
}

fn deep_nesting() -> impl Strategy<Value = Case> {
    prop_oneof![
        (13_usize..400).prop_map(|depth| {
            let query = format!(
                "{{ __schema {{ types {{ fields {{ type {} name {} }} }} }} }}",
                "{ ofType ".repeat(depth),
                "}".repeat(depth)
            );
            document(
                "deep selection",
                query,
                json!({}),
                &["LIMIT_EXCEEDED", "VALIDATION"],
            )
        }),
        (1_usize..2_000).prop_map(|depth| {
            // Nested lists where a string belongs.
            let mut value = json!("t");
            for _ in 0..depth.min(120) {
                value = json!([value]);
            }
            let mut input = valid_input();
            input["title"] = value;
            document(
                "deep variable",
                LOG_INCIDENT.to_owned(),
                json!({"input": input}),
                &["VALIDATION"],
            )
        }),
    ]
}

fn unknown_enums() -> impl Strategy<Value = Case> {
    (
        "[A-Z_]{1,30}|[a-z]{1,10}|\\PC{1,10}",
        proptest::sample::select(&["impact", "urgency"][..]),
    )
        .prop_filter("not a real value", |(value, _)| {
            !["LOW", "MEDIUM", "HIGH"].contains(&value.as_str())
        })
        .prop_map(|(value, field)| {
            let mut input = valid_input();
            input[field] = json!(value);
            document(
                "unknown enum",
                LOG_INCIDENT.to_owned(),
                json!({"input": input}),
                &["VALIDATION"],
            )
        })
}

fn wrong_types() -> impl Strategy<Value = Case> {
    let not_a_string = prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        any::<bool>().prop_map(|b| json!(b)),
        Just(Value::Null),
        Just(json!([])),
        Just(json!({"a": 1})),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
    ];
    (
        not_a_string,
        proptest::sample::select(&["title", "description", "service", "impact", "category"][..]),
    )
        .prop_map(|(value, field)| {
            let mut input = valid_input();
            input[field] = value;
            document(
                "wrong type",
                LOG_INCIDENT.to_owned(),
                json!({"input": input}),
                &["VALIDATION"],
            )
        })
}

fn invalid_keys() -> impl Strategy<Value = Case> {
    let key = prop_oneof![
        Just("INC-0".to_owned()),
        Just("INC--1".to_owned()),
        Just("INC-99999999999999999999".to_owned()),
        Just("INC-18446744073709551616".to_owned()),
        Just("INC-".to_owned()),
        Just("inc-1".to_owned()),
        Just("INC-1.5".to_owned()),
        Just("INC- 1".to_owned()),
        Just("INC-١".to_owned()),
        Just("ＩＮＣ-1".to_owned()),
        // Spellings of the open incident INC-1 that are not its key.
        Just("INC-01".to_owned()),
        Just("INC-+1".to_owned()),
        Just(" INC-1".to_owned()),
        Just("INC-1 ".to_owned()),
        Just("INC-1\n".to_owned()),
        Just(String::new()),
        "INC-[1-9][0-9]{6,29}",
        "(PRB|CHG|INC)-\\PC{1,12}",
        "\\PC{0,30}",
    ];
    let operation = proptest::sample::select(
        &[
            "mutation($key: ID!) { acknowledgeIncident(input: {key: $key}) { position } }",
            "mutation($key: ID!) { resumeIncident(input: {key: $key}) { position } }",
            "mutation($key: ID!) { cancelIncident(input: {key: $key, reason: \"r\"}) { position } }",
            "query($key: ID!) { incident(key: $key) { key } }",
        ][..],
    );
    (key, operation).prop_map(|(key, operation)| {
        document(
            "invalid key",
            operation.to_owned(),
            json!({"key": key}),
            &["VALIDATION", "NOT_FOUND"],
        )
    })
}

/// The desk's incidents: the open one (New) and a cancelled one.
#[derive(Debug, Clone)]
struct Targets {
    open: String,
    cancelled: String,
}

fn invalid_transitions(targets: &Targets) -> impl Strategy<Value = Case> {
    let on_open: &[(&str, Value, Role)] = &[
        ("resumeIncident", json!({}), Role::Agent),
        ("closeIncident", json!({}), Role::Agent),
        ("rateIncident", json!({"score": 5}), Role::Requester),
        ("reopenIncident", json!({"reason": "r"}), Role::Agent),
    ];
    let on_cancelled: &[(&str, Value, Role)] = &[
        ("acknowledgeIncident", json!({}), Role::Agent),
        ("resumeIncident", json!({}), Role::Agent),
        ("closeIncident", json!({}), Role::Agent),
        ("cancelIncident", json!({"reason": "again"}), Role::Agent),
        (
            "resolveIncident",
            json!({"code": "FIXED", "notes": "n"}),
            Role::Agent,
        ),
        (
            "commentOnIncident",
            json!({"text": "hello", "visibility": "PUBLIC"}),
            Role::Agent,
        ),
        ("reopenIncident", json!({"reason": "r"}), Role::Agent),
    ];
    let cases: Vec<(String, String, Value, Role)> = on_open
        .iter()
        .map(|(op, extra, role)| (targets.open.clone(), (*op).to_owned(), extra.clone(), *role))
        .chain(on_cancelled.iter().map(|(op, extra, role)| {
            (
                targets.cancelled.clone(),
                (*op).to_owned(),
                extra.clone(),
                *role,
            )
        }))
        .collect();
    proptest::sample::select(cases).prop_map(|(key, operation, extra, role)| {
        let mut input = extra;
        input["key"] = json!(key);
        let input_type = itsm_e2e::support::input_type(&operation);
        Case::Document {
            category: "invalid transition",
            query: format!(
                "mutation($input: {input_type}!) {{ {operation}(input: $input) {{ position }} }}"
            ),
            variables: json!({"input": input}),
            role,
            codes: &["INVALID_TRANSITION", "CONFLICT", "FORBIDDEN"],
            may_succeed: false,
        }
    })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(300)
}

/// A desk with generous rate limits (the fuzzer is one token sending thousands of requests).
async fn desk() -> (Desk, Targets) {
    let desk = Desk::start_with(&["--rate-per-second", "100000", "--rate-burst", "100000"]).await;
    let open =
        email_service_with_an_incident(&desk, ("weekdays", "UTC", "00:00", "24:00"), (240, 960))
            .await;
    let logged = desk
        .mutate(
            Role::Requester,
            "logIncident",
            valid_input(),
            "incident { key }",
        )
        .await;
    let cancelled = logged["incident"]["key"]
        .as_str()
        .expect("a key")
        .to_owned();
    desk.mutate(
        Role::Agent,
        "cancelIncident",
        json!({"key": cancelled, "reason": "a duplicate"}),
        "position",
    )
    .await;
    (desk, Targets { open, cancelled })
}

/// Sends one case; checks its refusal. Returns the code seen (or "ok").
async fn send(desk: &Desk, case: &Case) -> Result<String, TestCaseError> {
    let (body, role, codes, may_succeed, what) = match case {
        Case::RawBody(bytes) => (
            bytes.clone(),
            Role::Agent,
            &["VALIDATION", "LIMIT_EXCEEDED"][..],
            false,
            "raw body",
        ),
        Case::Document {
            category,
            query,
            variables,
            role,
            codes,
            may_succeed,
        } => (
            json!({"query": query, "variables": variables})
                .to_string()
                .into_bytes(),
            *role,
            *codes,
            *may_succeed,
            *category,
        ),
    };
    let authorization = format!("Bearer {}", desk.token(role));
    let response = http::request(
        desk.address(),
        "POST",
        "/graphql",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &authorization),
        ],
        Some(&body),
    )
    .await
    .map_err(|error| TestCaseError::fail(format!("{what}: the server did not answer: {error}")))?;
    let json: Value = serde_json::from_slice(&response.body).map_err(|error| {
        TestCaseError::fail(format!(
            "{what}: status {} with a body that is not JSON ({error}): {}",
            response.status,
            response.text()
        ))
    })?;
    if json.get("errors").is_none() && response.status == 200 {
        if may_succeed {
            return Ok("ok".to_owned());
        }
        // A read answers a ticket that does not exist with null: that is its NOT_FOUND.
        let all_null = json["data"]
            .as_object()
            .is_some_and(|data| data.values().all(Value::is_null));
        if all_null && codes.contains(&"NOT_FOUND") {
            return Ok("null".to_owned());
        }
    }
    let code = error_code(&json).ok_or_else(|| {
        TestCaseError::fail(format!("{what}: a response without an error code: {json}"))
    })?;
    prop_assert!(
        codes.contains(&code.as_str()),
        "{}: code {} not in {:?}: {}",
        what,
        code,
        codes,
        json
    );
    prop_assert!(
        json["data"].is_null()
            || json["data"]
                .as_object()
                .is_some_and(|d| d.values().all(Value::is_null)),
        "{}: refused but answered data: {}",
        what,
        json
    );
    let status_ok = match response.status {
        200 => !matches!(case, Case::RawBody(_)),
        400 => code == "VALIDATION",
        413 => code == "LIMIT_EXCEEDED",
        _ => false,
    };
    prop_assert!(
        status_ok,
        "{}: status {} with code {}",
        what,
        response.status,
        code
    );
    Ok(code)
}

#[test]
fn generated_hostile_requests_are_refused_with_their_codes_and_write_nothing() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let (desk, targets) = runtime.block_on(desk());
    let head = runtime.block_on(desk.ledger_head());
    let strategy = prop_oneof![
        raw_bodies(),
        token_soup(),
        unbalanced(),
        huge_strings(),
        deep_nesting(),
        unknown_enums(),
        wrong_types(),
        invalid_keys(),
        invalid_transitions(&targets),
    ];
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        // No shrinking: a case that wrote to the ledger moved the head, so every smaller case
        // would fail too and hide the real one. The first failing case is reported as sent.
        max_shrink_iters: 0,
        ..Config::default()
    };
    let seen = Mutex::new(std::collections::BTreeMap::<String, u32>::new());
    let tried = AtomicU32::new(0);
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |case| {
        runtime.block_on(async {
            let code = send(&desk, &case).await?;
            let after = desk.ledger_head().await;
            prop_assert_eq!(after, head, "{:?} wrote to the ledger", case);
            let tried = tried.fetch_add(1, Ordering::Relaxed) + 1;
            if tried.is_multiple_of(50) {
                // The server keeps serving real requests.
                let me = desk.ok(Role::Auditor, "{ me { user } }", json!({})).await;
                prop_assert_eq!(me["me"]["user"].as_str(), Some(Role::Auditor.user()));
            }
            *seen.lock().expect("the tally").entry(code).or_default() += 1;
            Ok(())
        })
    });
    let log = desk.server.log();
    if let Err(failure) = result {
        panic!("{failure}\nserver log:\n{log}");
    }
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
    let tally = seen.into_inner().expect("the tally");
    let total: u32 = tally.values().sum();
    assert_eq!(total, cases(), "every case was sent: {tally:?}");
    // A suite that refuses nothing proves nothing.
    assert!(tally.keys().any(|code| code != "ok"), "{tally:?}");
    eprintln!("fuzz: {total} cases, codes seen: {tally:?}");
}

/// The finding the generator made, pinned: `INC-01` named `INC-1`. Only the canonical spelling
/// of a key is a key, in queries, mutations and subscriptions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_key_is_only_its_canonical_spelling() {
    let desk = Desk::start().await;
    let key =
        email_service_with_an_incident(&desk, ("weekdays", "UTC", "00:00", "24:00"), (240, 960))
            .await;
    let head = desk.ledger_head().await;
    let padded = key.replacen('-', "-0", 1);
    let acknowledged = desk
        .gql(
            Role::Agent,
            "mutation($key: ID!) { acknowledgeIncident(input: {key: $key}) { position } }",
            json!({"key": padded}),
        )
        .await;
    assert_eq!(
        error_code(&acknowledged).as_deref(),
        Some("VALIDATION"),
        "{acknowledged}"
    );
    let read = desk
        .gql(
            Role::Agent,
            "query($key: ID!) { incident(key: $key) { key } }",
            json!({"key": padded}),
        )
        .await;
    assert_eq!(error_code(&read).as_deref(), Some("VALIDATION"), "{read}");
    let mut events = desk
        .subscribe(
            Role::Agent,
            "subscription($key: ID!) { ticketEvents(key: $key, fromPosition: \"1\") { eventType } }",
            json!({"key": padded}),
        )
        .await;
    let event = events.next(itsm_e2e::support::WAIT).await;
    events.close().await;
    let errors = match &event {
        Some(itsm_e2e::support::Event::Next(payload)) if payload["data"].is_null() => {
            payload["errors"].clone()
        }
        Some(itsm_e2e::support::Event::Error(errors)) => errors.clone(),
        other => panic!("{padded} was followed: {other:?}"),
    };
    assert_eq!(
        errors[0]["extensions"]["code"].as_str(),
        Some("VALIDATION"),
        "{errors}"
    );
    assert_eq!(desk.ledger_head().await, head, "nothing was written");
    // The canonical key still works.
    let canonical = desk
        .ok(
            Role::Agent,
            "query($key: ID!) { incident(key: $key) { key } }",
            json!({"key": key}),
        )
        .await;
    assert_eq!(canonical["incident"]["key"].as_str(), Some(key.as_str()));
}
