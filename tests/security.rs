//! Token secrets on the real binary, with the most verbose log (`RUST_LOG=trace`): requests with
//! valid, wrong, expired and revoked tokens (HTTP and websocket); expired and revoked ones are
//! refused as UNAUTHENTICATED; afterwards no secret (nor its raw bytes, nor an `Authorization`
//! value) appears in any file of the data directory, in `ledgerdesk export`, or in the server's
//! log. What else covers security is listed in docs/RELIABILITY.md ("Security").

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use itsm_e2e::support::binary::{ledgerdesk, run};
use itsm_e2e::support::{Subscription, error_code, http};
use serde_json::{Value, json};

/// `ledgerdesk serve` with `RUST_LOG=trace`, its stderr in a file (the harness's server logs at
/// info: this test wants everything the server could ever log).
struct TracedServer {
    child: Child,
    address: SocketAddr,
    admin: String,
    log: PathBuf,
}

impl TracedServer {
    fn start(data: &Path, log: PathBuf) -> TracedServer {
        let stderr = std::fs::File::create(&log).expect("the log file");
        let mut child = Command::new(ledgerdesk())
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "trace")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("ledgerdesk starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut admin = None;
        // Reading blocks until serve prints; it prints its address or exits (EOF ends the loop).
        for line in lines.by_ref() {
            let line = line.expect("a line of stdout");
            if let Some(token) = line.trim().strip_prefix("admin token:") {
                admin = Some(token.trim().to_owned());
            }
            if let Some(rest) = line.strip_prefix("listening on http://") {
                let address = rest.trim().trim_end_matches("/graphql").parse();
                std::thread::spawn(move || lines.for_each(drop));
                return TracedServer {
                    child,
                    address: address.expect("the printed address"),
                    admin: admin.expect("a first start prints an admin token"),
                    log,
                };
            }
        }
        let _reaped = child.wait();
        panic!(
            "serve printed no address: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let authorization = format!("Bearer {token}");
        let body = json!({"query": query, "variables": variables}).to_string();
        http::request(
            self.address,
            "POST",
            "/graphql",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &authorization),
            ],
            Some(body.as_bytes()),
        )
        .await
        .expect("the server answers")
        .json()
    }

    async fn issue(&self, name: &str, expires_at: Option<String>) -> String {
        let response = self
            .gql(
                &self.admin,
                "mutation($input: IssueTokenInput!) { issueToken(input: $input) { token } }",
                json!({"input": {"name": name, "user": name, "role": "AGENT",
                                 "expiresAt": expires_at}}),
            )
            .await;
        response["data"]["issueToken"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("issueToken: {response}"))
            .to_owned()
    }

    async fn me(&self, token: &str) -> Value {
        self.gql(token, "{ me { user } }", json!({})).await
    }

    fn stop(&mut self) {
        let _killed = self.child.kill();
        let _reaped = self.child.wait();
    }
}

impl Drop for TracedServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn assert_unauthenticated(response: &Value, what: &str) {
    assert_eq!(
        error_code(response).as_deref(),
        Some("UNAUTHENTICATED"),
        "{what}: {response}"
    );
    assert!(response["data"].is_null(), "{what}: {response}");
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read a directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn hex_bytes(secret: &str) -> Option<Vec<u8>> {
    (0..secret.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(secret.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Panics if `haystack` holds a secret as text or as the raw bytes its hex spells.
fn assert_holds_no_secret(haystack: &[u8], secrets: &[(&str, &str)], place: &str) {
    for (name, secret) in secrets {
        let needles = [Some(secret.as_bytes().to_vec()), hex_bytes(secret)];
        for needle in needles.iter().flatten() {
            assert!(
                !haystack
                    .windows(needle.len())
                    .any(|w| w == needle.as_slice()),
                "the {name} token's secret appears in {place}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_secrets_are_never_stored_logged_or_exported_and_stale_tokens_are_refused() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let data = root.path().join("ledger");
    let mut server = TracedServer::start(&data, root.path().join("server.log"));

    let agent = server.issue("sec-agent", None).await;
    let revoked = server.issue("sec-revoked", None).await;
    let expires_at = (chrono::Utc::now() + chrono::Duration::seconds(3)).to_rfc3339();
    let expiring = server.issue("sec-expiring", Some(expires_at)).await;
    // A wrong token: a valid one with its last character changed.
    let mut near_miss = agent.clone();
    let last = near_miss.pop().expect("a non-empty secret");
    near_miss.push(if last == '0' { '1' } else { '0' });
    let forged = "0".repeat(64);

    // Valid tokens work, on HTTP and websocket.
    for (what, token) in [
        ("agent", &agent),
        ("revoked", &revoked),
        ("expiring", &expiring),
    ] {
        let me = server.me(token).await;
        assert_eq!(
            me["data"]["me"]["user"].as_str(),
            Some(format!("sec-{what}").as_str())
        );
    }
    let feed = Subscription::start(
        server.address,
        &agent,
        "subscription { slaAlerts { alert } }",
        json!({}),
    )
    .await
    .expect("a valid token subscribes");
    feed.close().await;

    // Wrong ones never do.
    for (what, token) in [("near miss", &near_miss), ("forged", &forged)] {
        assert_unauthenticated(&server.me(token).await, what);
        let refused = Subscription::start(
            server.address,
            token,
            "subscription { slaAlerts { alert } }",
            json!({}),
        )
        .await;
        assert!(refused.is_err(), "{what}: subscribed");
    }

    // Revoked: refused from the next request on.
    let revoke = server
        .gql(
            &server.admin,
            "mutation { revokeToken(input: {name: \"sec-revoked\", reason: \"left\"}) { position } }",
            json!({}),
        )
        .await;
    assert!(revoke.get("errors").is_none(), "{revoke}");
    assert_unauthenticated(&server.me(&revoked).await, "revoked");
    let refused = Subscription::start(
        server.address,
        &revoked,
        "subscription { slaAlerts { alert } }",
        json!({}),
    )
    .await;
    assert!(refused.is_err(), "a revoked token subscribed");

    // Expired: refused once its time passed (polled, bounded).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let me = server.me(&expiring).await;
        if error_code(&me).is_some() {
            assert_unauthenticated(&me, "expired");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the expired token still works: {me}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let refused = Subscription::start(
        server.address,
        &expiring,
        "subscription { slaAlerts { alert } }",
        json!({}),
    )
    .await;
    assert!(refused.is_err(), "an expired token subscribed");
    assert_eq!(
        server.me(&agent).await["data"]["me"]["user"].as_str(),
        Some("sec-agent"),
        "the valid token still works"
    );

    server.stop();
    let secrets = [
        ("admin", server.admin.as_str()),
        ("agent", agent.as_str()),
        ("revoked", revoked.as_str()),
        ("expiring", expiring.as_str()),
        ("near-miss", near_miss.as_str()),
    ];
    let log = std::fs::read(&server.log).expect("the server log");
    assert!(
        log.len() > 1000,
        "the trace log is suspiciously short: {}",
        String::from_utf8_lossy(&log)
    );
    assert_holds_no_secret(&log, &secrets, "the server log");
    let text = String::from_utf8_lossy(&log).to_lowercase();
    assert!(
        !text.contains("bearer"),
        "an Authorization value appears in the server log"
    );
    let stored = files(&data);
    assert!(stored.len() >= 3, "{stored:?}");
    for file in &stored {
        let bytes = std::fs::read(file).expect("a data file");
        assert_holds_no_secret(&bytes, &secrets, &file.display().to_string());
    }
    let export = root.path().join("export.jsonl");
    let exported = run(&[
        "--data".as_ref(),
        data.as_os_str(),
        "export".as_ref(),
        "--out".as_ref(),
        export.as_os_str(),
    ]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let lines = std::fs::read(&export).expect("the export");
    assert!(
        String::from_utf8_lossy(&lines).contains("TokenIssued"),
        "the export holds the token events (by hash)"
    );
    assert_holds_no_secret(&lines, &secrets, "the export");
}
