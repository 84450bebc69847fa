//! `ledgerdesk serve` as an operator runs it: the real binary on a free port, spoken to over
//! HTTP, stopped with SIGTERM. Readiness is read from the child's stdout, never waited for.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};

fn ledgerdesk(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ledgerdesk"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("LEDGERDESK_DATA")
        .output()
        .expect("the binary runs")
}

/// A running server: the child, its stdout, the bound address and the printed admin token.
struct Server {
    child: Child,
    stdout: BufReader<ChildStdout>,
    address: String,
    token: Option<String>,
    seen: Vec<String>,
}

impl Server {
    /// Starts `serve` on port 0 and reads stdout until it prints the address it listens on.
    fn start(data: &Path, log: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ledgerdesk"))
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("LEDGERDESK_DATA")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(File::create(log).expect("log file"))
            .spawn()
            .expect("the binary starts");
        let Some(stdout) = child.stdout.take() else {
            let _killed = child.kill();
            let _reaped = child.wait();
            panic!("stdout is piped");
        };
        let mut stdout = BufReader::new(stdout);
        match read_until_listening(&mut stdout) {
            Ok((address, token, seen)) => Server {
                child,
                stdout,
                address,
                token,
                seen,
            },
            Err(seen) => {
                let _killed = child.kill();
                let _reaped = child.wait();
                panic!(
                    "serve did not start; stdout: {seen:?}; log: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
        }
    }

    /// Sends SIGTERM and returns the exit status and the rest of stdout.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let mut rest = String::new();
        self.stdout
            .read_to_string(&mut rest)
            .expect("stdout is readable");
        let status = self.child.wait().expect("the server exits");
        (status, rest)
    }
}

/// Reads the server's stdout up to `listening on http://ADDR/graphql`: the address, the admin
/// token if one was printed, and the lines seen; `Err(lines)` if stdout ended first.
fn read_until_listening(
    stdout: &mut BufReader<ChildStdout>,
) -> Result<(String, Option<String>, Vec<String>), Vec<String>> {
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            return Err(seen);
        }
        let line = line.trim_end().to_owned();
        if let Some(secret) = line.trim().strip_prefix("admin token: ") {
            token = Some(secret.to_owned());
        }
        let address = line
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.strip_suffix("/graphql"))
            .map(str::to_owned);
        seen.push(line);
        if let Some(address) = address {
            return Ok((address, token, seen));
        }
    }
}

/// One HTTP/1.1 request; returns the status code and the body.
fn http(address: &str, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("the server accepts connections");
    stream.write_all(request.as_bytes()).expect("request sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn get(address: &str, path: &str) -> (u16, String) {
    http(
        address,
        &format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"),
    )
}

fn graphql(address: &str, token: &str, query: &str) -> (u16, String) {
    let body = serde_json::json!({ "query": query }).to_string();
    http(
        address,
        &format!(
            "POST /graphql HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nAuthorization: Bearer {token}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn serve_seeds_the_demo_prints_an_admin_token_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let log = dir.path().join("serve.log");
    let server = Server::start(&data, &log, &["--demo"]);
    let token = server
        .token
        .clone()
        .unwrap_or_else(|| panic!("the first start prints an admin token: {:?}", server.seen));
    assert_eq!(token.len(), 64, "32 random bytes in hex");

    let (status, body) = get(&server.address, "/healthz");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"ok\""), "{body}");

    // The demo's first incident, read through GraphQL with the printed token.
    let (status, body) = graphql(
        &server.address,
        &token,
        "{ incident(key: \"INC-1\") { key title } }",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"key\":\"INC-1\""), "{body}");
    // A made-up token is refused.
    let (_, body) = graphql(
        &server.address,
        &"0".repeat(64),
        "{ incident(key: \"INC-1\") { key } }",
    );
    assert!(body.contains("UNAUTHENTICATED"), "{body}");

    // While the server holds the directory, offline commands are refused clearly.
    let refused = ledgerdesk(
        &data,
        &["token", "create", "--role", "agent", "--name", "late"],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("in use by another ledgerdesk process"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let (status, rest) = server.terminate();
    assert!(status.success(), "exit status {status:?}; stdout: {rest}");
    assert!(rest.contains("stopped"), "{rest}");
    let log = std::fs::read_to_string(&log).expect("log");
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(!log.contains(&token), "the token never reaches the log");

    // A second start finds the token in the ledger and prints none; the demo is not re-seeded.
    let again = Server::start(&data, &dir.path().join("serve2.log"), &["--demo"]);
    assert!(again.token.is_none(), "{:?}", again.seen);
    assert!(
        again.seen.iter().any(|line| line.contains("seeds nothing")),
        "{:?}",
        again.seen
    );
    let (status, body) = graphql(
        &again.address,
        &token,
        "{ incident(key: \"INC-1\") { key } }",
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"key\":\"INC-1\""),
        "the first token still works: {body}"
    );
    let (status, _) = again.terminate();
    assert!(status.success());
}

#[test]
fn serve_refuses_a_bad_listen_address_with_usage() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = ledgerdesk(dir.path(), &["serve", "--listen", "not-an-address"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid value"), "{stderr}");
    assert!(stderr.contains("--help"), "{stderr}");
}

/// The newest sled recovery snapshot in `data` (sled names them `snap.<LSN in hex>`; it writes
/// one only while opening a database).
fn newest_sled_snapshot(data: &Path) -> Option<u64> {
    std::fs::read_dir(data.join("sled"))
        .expect("the sled directory")
        .filter_map(|entry| {
            let name = entry.expect("a directory entry").file_name();
            let lsn = name.to_str()?.strip_prefix("snap.")?.to_owned();
            u64::from_str_radix(&lsn, 16).ok()
        })
        .max()
}

fn field(body: &str, name: &str) -> u64 {
    let json: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    json[name]
        .as_str()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("{name} in {body}"))
}

#[test]
fn a_clean_stop_saves_the_read_models_at_the_head_and_leaves_sled_a_current_recovery_snapshot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let log = dir.path().join("serve.log");
    let server = Server::start(
        &data,
        &log,
        &[
            "--demo",
            "--rate-per-second",
            "100000",
            "--rate-burst",
            "100000",
        ],
    );
    let token = server
        .token
        .clone()
        .expect("the first start prints a token");
    // sled wrote this while opening, before the demo was seeded.
    let at_start = newest_sled_snapshot(&data).unwrap_or(0);

    // Live writes past the threshold (each incident writes several events).
    let (_, body) = get(&server.address, "/healthz");
    let before = field(&body, "ledger_head");
    let mut head = before;
    for n in 0..1_000 {
        if head >= before + 1_200 {
            break;
        }
        let (status, body) = graphql(
            &server.address,
            &token,
            &format!(
                "mutation {{ logIncident(input: {{ title: \"Shutdown {n}\", description: \"d\", \
                 service: \"email\", category: \"mailbox\", impact: MEDIUM, urgency: MEDIUM }}) \
                 {{ position }} }}"
            ),
        );
        assert_eq!(status, 200, "{body}");
        assert!(!body.contains("errors"), "{body}");
        let (_, health) = get(&server.address, "/healthz");
        head = field(&health, "ledger_head");
    }
    assert!(head >= before + 1_200, "the incidents were written");
    // Read-your-writes: wait (bounded) until the read models applied the head.
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
    loop {
        let (_, health) = get(&server.address, "/healthz");
        if field(&health, "read_models_at") >= head {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{health}");
        std::thread::yield_now();
    }

    let (status, rest) = server.terminate();
    assert!(status.success(), "exit status {status:?}; stdout: {rest}");
    let log = std::fs::read_to_string(&log).expect("log");
    // The read models were saved at the head they had reached.
    let saved = log
        .lines()
        .find(|line| line.contains("read models saved"))
        .unwrap_or_else(|| panic!("no read-model save at shutdown: {log}"));
    let position: u64 = saved
        .split("position=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("a position in {saved}"));
    // At least the head seen while serving (timers may have written after it).
    assert!(position >= head, "{saved}");
    // The checkpoint open wrote a sled recovery snapshot past everything served.
    assert!(log.contains("ledger checkpointed"), "{log}");
    let at_stop = newest_sled_snapshot(&data).expect("a sled snapshot");
    assert!(at_stop > at_start, "{at_stop:x} after {at_start:x}");

    // The next start reads and decodes that snapshot while the ledger opens, and serves from it.
    let second_log = dir.path().join("serve-again.log");
    let server = Server::start(&data, &second_log, &[]);
    let (_, health) = get(&server.address, "/healthz");
    assert!(field(&health, "ledger_head") >= position, "{health}");
    let (status, rest) = server.terminate();
    assert!(status.success(), "exit status {status:?}; stdout: {rest}");
    let log = std::fs::read_to_string(&second_log).expect("log");
    let preloaded = log
        .lines()
        .find(|line| line.contains("read models decoded while the ledger opened"))
        .unwrap_or_else(|| panic!("the snapshot was not read ahead: {log}"));
    assert!(
        preloaded.contains(&format!("position={position}")),
        "{preloaded}"
    );
}
