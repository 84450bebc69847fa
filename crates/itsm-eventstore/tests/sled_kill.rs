//! Kill -9 recovery: a child process appends through group commit and reports every
//! acknowledgement; the parent kills it mid-stream, reopens the directory and checks that every
//! acknowledged append is there, the log is gap-free and `verify` is clean.

mod conformance;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use conformance::{cmd, meta, one, stream};
use itsm_eventstore::{Appended, EventStore, ExpectedVersion, SledConfig, SledStore};

const DIR_VAR: &str = "ITSM_EVENTSTORE_KILL_DIR";
const APPENDERS: u64 = 8;
/// The child stops by itself after this many appends per appender if nobody kills it.
const MAX_ROUNDS: u64 = 20_000;
/// Acknowledgements the parent waits for before killing the child.
const KILL_AFTER: usize = 400;

fn config() -> SledConfig {
    SledConfig {
        cache_capacity: 16 * 1024 * 1024,
        ..SledConfig::default()
    }
}

/// The child's part: append from several tasks and print every acknowledgement.
async fn child_appends_until_killed(dir: String) {
    let store = SledStore::open(&dir, &config()).unwrap();
    let tasks: Vec<_> = (0..APPENDERS)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..MAX_ROUNDS {
                    let id = u128::from(t * MAX_ROUNDS + i);
                    let a = store
                        .append(
                            stream(&format!("k-{t}")),
                            ExpectedVersion::Exact(i),
                            one(),
                            meta().with_command_id(cmd(id)),
                        )
                        .await
                        .unwrap();
                    println!("ack {t} {i} {id} {} {}", a.first_position, a.version);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

/// Runs as the parent; the same test re-runs itself as the child when `DIR_VAR` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appends_survive_kill_9() {
    if let Ok(dir) = std::env::var(DIR_VAR) {
        return child_appends_until_killed(dir).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "acknowledged_appends_survive_kill_9",
            "--nocapture",
        ])
        .env(DIR_VAR, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while acked.len() < KILL_AFTER {
        let line = lines
            .next()
            .expect("child ended before enough acks")
            .unwrap();
        let Some(rest) = line.strip_prefix("ack ") else {
            continue;
        };
        let f: Vec<u64> = rest.split(' ').map(|x| x.parse().unwrap()).collect();
        acked.push((f[0], f[1], u128::from(f[2]), f[3], f[4]));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();

    let store = SledStore::open(dir.path(), &config()).unwrap();
    let head = store.head();
    let all = store.read_all(1, usize::MAX).await.unwrap();
    assert_eq!(all.len() as u64, head);
    assert!(
        all.iter().zip(1..).all(|(e, p)| e.position == p),
        "gap-free"
    );
    let report = store.verify().await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    for (t, i, id, position, version) in acked {
        let e = &all[usize::try_from(position - 1).unwrap()];
        assert_eq!(
            (e.stream_id.as_str(), e.version),
            (format!("k-{t}").as_str(), version)
        );
        assert_eq!(version, i + 1);
        // Retrying an acknowledged command returns its first result and writes nothing.
        let again = store
            .append(
                stream("elsewhere"),
                ExpectedVersion::Any,
                one(),
                meta().with_command_id(cmd(id)),
            )
            .await
            .unwrap();
        assert_eq!(
            again,
            Appended {
                stream: stream(&format!("k-{t}")),
                first_position: position,
                last_position: position,
                version
            }
        );
    }
    assert_eq!(store.head(), head);
}
