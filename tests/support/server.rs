//! A `ledgerdesk serve` child process on a temporary data directory, killed on drop.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::binary::ledgerdesk;

/// How long the server may take to print its address.
const STARTUP: Duration = Duration::from_mins(1);

/// A running `ledgerdesk serve --listen 127.0.0.1:0` on its own temporary data directory.
/// Dropping it kills the process (and removes the directory).
pub struct Server {
    child: Child,
    address: SocketAddr,
    admin_token: String,
    log: PathBuf,
    /// Shell commands run before `exec ledgerdesk` (see [`Server::start_in_shell`]).
    shell_prefix: Option<String>,
    // Dropped after the child is killed (fields drop in order, and Drop kills first).
    data: tempfile::TempDir,
}

/// What a started process printed before it listened.
struct Started {
    child: Child,
    address: SocketAddr,
    admin_token: Option<String>,
}

/// `ledgerdesk --data <data> serve --listen 127.0.0.1:0 <extra>`, its stderr appended to `log`,
/// directly or through `sh -c "<shell_prefix>; exec ledgerdesk ..."`.
fn command(data: &Path, log: &Path, extra: &[&str], shell_prefix: Option<&str>) -> Command {
    let stderr = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("the server log file");
    let mut command = match shell_prefix {
        None => Command::new(ledgerdesk()),
        Some(prefix) => {
            // `exec` keeps the process id: the child is the server itself, not a shell.
            let mut shell = Command::new("sh");
            shell
                .arg("-c")
                .arg(format!("{prefix}\nexec \"$0\" \"$@\""))
                .arg(ledgerdesk());
            shell
        }
    };
    command
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stderr(stderr);
    command
}

fn spawn(data: &Path, log: &Path, extra: &[&str], shell_prefix: Option<&str>) -> Started {
    let mut child = command(data, log, extra, shell_prefix)
        .stdout(Stdio::piped())
        .spawn()
        .expect("ledgerdesk starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        // Keeps draining stdout for the server's whole life, so it never blocks on a pipe.
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let _receiver_gone = lines.send(line);
        }
    });
    let mut admin_token = None;
    let mut seen = Vec::new();
    loop {
        let Ok(line) = received.recv_timeout(STARTUP) else {
            let _killed = child.kill();
            let _reaped = child.wait();
            panic!(
                "ledgerdesk serve printed no address within {STARTUP:?}; stdout:\n{}\nlog:\n{}",
                seen.join("\n"),
                std::fs::read_to_string(log).unwrap_or_default()
            );
        };
        if let Some(token) = line.trim().strip_prefix("admin token:") {
            admin_token = Some(token.trim().to_owned());
        }
        if let Some(rest) = line.strip_prefix("listening on http://") {
            let address = rest.trim().trim_end_matches("/graphql");
            return Started {
                child,
                address: address.parse().expect("the printed address parses"),
                admin_token,
            };
        }
        seen.push(line);
    }
}

impl Server {
    /// Starts the server on an empty ledger and waits until it printed the first admin token
    /// (`  admin token: <secret>`) and the bound address (`listening on http://<addr>/graphql`).
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// [`Server::start`] with more `serve` arguments, such as `--demo`.
    pub fn start_with(extra: &[&str]) -> Server {
        let data = tempfile::tempdir().expect("a temporary data directory");
        let log = data.path().join("server.log");
        File::create(&log).expect("the server log file");
        let started = spawn(&data.path().join("ledger"), &log, extra, None);
        let admin_token = started
            .admin_token
            .expect("a fresh server prints an admin token");
        Server {
            child: started.child,
            address: started.address,
            admin_token,
            log,
            shell_prefix: None,
            data,
        }
    }

    /// [`Server::start`] through `sh -c "<prefix>; exec ledgerdesk ..."`: the prefix may set
    /// what the server inherits, e.g. `trap '' XFSZ` (an ignored signal stays ignored across
    /// `exec`). Restarts go through the same prefix.
    pub fn start_in_shell(prefix: &str) -> Server {
        let data = tempfile::tempdir().expect("a temporary data directory");
        let log = data.path().join("server.log");
        File::create(&log).expect("the server log file");
        let started = spawn(&data.path().join("ledger"), &log, &[], Some(prefix));
        let admin_token = started
            .admin_token
            .expect("a fresh server prints an admin token");
        Server {
            child: started.child,
            address: started.address,
            admin_token,
            log,
            shell_prefix: Some(prefix.to_owned()),
            data,
        }
    }

    /// Serves an existing ledger in `<data>/ledger` (say, one filled by `ledgerdesk import`)
    /// whose admin token is `admin_token`; a server on a ledger with tokens prints none.
    pub fn start_existing(data: tempfile::TempDir, admin_token: &str) -> Server {
        let log = data.path().join("server.log");
        let started = spawn(&data.path().join("ledger"), &log, &[], None);
        assert!(
            started.admin_token.is_none(),
            "a server on a ledger with tokens issued another admin token"
        );
        Server {
            child: started.child,
            address: started.address,
            admin_token: admin_token.to_owned(),
            log,
            shell_prefix: None,
            data,
        }
    }

    /// The data directory the server holds (what `--data` names).
    pub fn ledger_dir(&self) -> PathBuf {
        self.data.path().join("ledger")
    }

    /// Kills the process and waits until it is gone (its data directory stays), so that
    /// offline CLI commands may open the directory.
    pub fn stop(&mut self) {
        let _killed = self.child.kill();
        let _status = self.child.wait();
    }

    /// Kills the process without warning (SIGKILL: no graceful shutdown, no final flush) and
    /// starts a new one on the same data directory. It must print no new admin token: the
    /// first one is still in force.
    pub fn kill_and_restart(&mut self) {
        self.child.kill().expect("the server can be killed");
        let _status = self.child.wait();
        self.restart();
    }

    /// Starts a new process on the same data directory (after [`Server::stop`]), the same way
    /// the first one was started; it gets a new address. It must print no new admin token.
    pub fn restart(&mut self) {
        let started = spawn(
            &self.data.path().join("ledger"),
            &self.log,
            &[],
            self.shell_prefix.as_deref(),
        );
        assert!(
            started.admin_token.is_none(),
            "a restarted server issued another admin token"
        );
        self.child = started.child;
        self.address = started.address;
    }

    /// After [`Server::stop`]: starts a new process on the same data directory and kills it
    /// (SIGKILL) `after` its start, listening or not by then: a crash during startup, while the
    /// storage engine recovers. [`Server::restart`] starts the next one.
    pub fn kill_during_startup(&mut self, after: Duration) {
        let mut child = command(
            &self.data.path().join("ledger"),
            &self.log,
            &[],
            self.shell_prefix.as_deref(),
        )
        .stdout(Stdio::null())
        .spawn()
        .expect("ledgerdesk starts");
        // The kill lands at this moment of the startup; nothing is waited for.
        std::thread::sleep(after);
        let _killed = child.kill();
        let _reaped = child.wait();
    }

    /// The server's process id (the server itself, also when started through a shell).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The admin token the server printed on its first start.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The server's log (stderr) so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the process is still running (it must survive every hostile request).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// How the process ended, once it has (`None` while it runs).
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _killed = self.child.kill();
        let _reaped = self.child.wait();
    }
}
