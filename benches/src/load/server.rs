//! A `ledgerdesk serve` child process the load generator starts on an existing data directory:
//! an admin token minted offline first (`ledgerdesk token create`), then `serve` on a free
//! 127.0.0.1 port with the per-token rate limit raised (one token drives every connection).
//! Stopped with SIGTERM (a clean shutdown that flushes the store), killed if it does not stop.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::LoadError;
use super::client::{Connection, Endpoint};

/// How long the server may take to print its address (a big ledger restores its snapshot).
const STARTUP: Duration = Duration::from_mins(5);
/// How long a clean stop may take.
const SHUTDOWN: Duration = Duration::from_mins(1);

/// A running server started by [`Spawned::start`]; dropping it kills the process.
pub struct Spawned {
    child: Child,
    pub endpoint: Endpoint,
    pub token: String,
}

fn command_failed(what: &str, output: &std::process::Output) -> LoadError {
    LoadError::Server(format!(
        "{what} exited with {}: {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// Mints an admin token offline and returns its secret (the line after the "secret" line).
fn mint_token(binary: &Path, data: &Path) -> Result<String, LoadError> {
    let name = format!("loadgen-{}", uuid::Uuid::now_v7().simple());
    let output = Command::new(binary)
        .arg("--data")
        .arg(data)
        .args(["token", "create", "--role", "admin", "--name", &name])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LoadError::Server(format!("cannot run {}: {e}", binary.display())))?;
    if !output.status.success() {
        return Err(command_failed("ledgerdesk token create", &output));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    lines
        .by_ref()
        .find(|line| line.starts_with("secret"))
        .and_then(|_| lines.next())
        .map(|secret| secret.trim().to_owned())
        .filter(|secret| !secret.is_empty())
        .ok_or_else(|| command_failed("ledgerdesk token create printed no secret", &output))
}

impl Spawned {
    /// Mints a token, starts `binary --data data serve` and waits until `/healthz` answers.
    pub async fn start(binary: &Path, data: &Path) -> Result<Self, LoadError> {
        let token = mint_token(binary, data)?;
        let mut child = Command::new(binary)
            .arg("--data")
            .arg(data)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--rate-per-second",
                "1000000000",
                "--rate-burst",
                "1000000000",
            ])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| LoadError::Server(format!("cannot start {}: {e}", binary.display())))?;
        let address = match child.stdout.take() {
            Some(stdout) => wait_for_address(stdout),
            None => Err(LoadError::Server("the server's stdout is not piped".into())),
        };
        let address = match address {
            Ok(address) => address,
            Err(error) => {
                let _killed = child.kill();
                let _reaped = child.wait();
                return Err(error);
            }
        };
        let spawned = Spawned {
            child,
            endpoint: Endpoint {
                address,
                path: "/graphql".to_owned(),
            },
            token,
        };
        spawned.wait_healthy().await?;
        Ok(spawned)
    }

    /// The server's process id (for its memory in `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_healthy(&self) -> Result<(), LoadError> {
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Ok(mut connection) = Connection::connect(self.endpoint.address).await
                && let Ok(response) = connection.request("GET", "/healthz", &[], b"").await
                && response.status == 200
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(LoadError::Server(format!(
                    "/healthz did not answer 200 within {STARTUP:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then waits (bounded) for a clean exit; kills it if it does not come.
    pub async fn stop(mut self) -> Result<(), LoadError> {
        let pid = self.child.id().to_string();
        let signalled = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|status| status.success());
        let deadline = Instant::now() + SHUTDOWN;
        while signalled && Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(LoadError::Server(format!(
                        "the server exited with {status}"
                    )));
                }
                Ok(None) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(e) => return Err(LoadError::Server(format!("waiting for the server: {e}"))),
            }
        }
        let _killed = self.child.kill();
        let _reaped = self.child.wait();
        Err(LoadError::Server(format!(
            "the server did not stop within {SHUTDOWN:?} of SIGTERM; killed"
        )))
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // After `stop` the process is gone and these fail harmlessly.
        let _killed = self.child.kill();
        let _reaped = self.child.wait();
    }
}

/// Reads the server's stdout until it prints `listening on http://ADDR/graphql`; a thread keeps
/// draining it afterwards so the server never blocks on a full pipe.
fn wait_for_address(stdout: std::process::ChildStdout) -> Result<SocketAddr, LoadError> {
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let _receiver_gone = lines.send(line);
        }
    });
    let deadline = Instant::now() + STARTUP;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = received.recv_timeout(left) else {
            return Err(LoadError::Server(format!(
                "ledgerdesk serve printed no address within {STARTUP:?}; stdout:\n{}",
                seen.join("\n")
            )));
        };
        if let Some(rest) = line.strip_prefix("listening on http://") {
            let address = rest.trim().trim_end_matches("/graphql");
            return address
                .parse()
                .map_err(|e| LoadError::Server(format!("bad address {address:?}: {e}")));
        }
        seen.push(line);
    }
}

/// Resident memory of process `pid` in KiB (`VmRSS` of `/proc/PID/status`), if readable.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(PathBuf::from(format!("/proc/{pid}/status"))).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}
