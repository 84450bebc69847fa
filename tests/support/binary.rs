//! The real `ledgerdesk` binary, built once per test process.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::workspace_root;

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The workspace's target directory: `CARGO_TARGET_DIR`, or what `cargo metadata` says.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() {
            dir
        } else {
            workspace_root().join(dir)
        };
    }
    let output = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON");
    PathBuf::from(
        metadata["target_directory"]
            .as_str()
            .expect("cargo metadata names the target directory"),
    )
}

/// The path of a freshly built `ledgerdesk` (debug profile). `LEDGERDESK_BIN` overrides it
/// (an already built binary, e.g. a release build), skipping the build.
pub fn ledgerdesk() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("LEDGERDESK_BIN") {
                return PathBuf::from(path);
            }
            // A no-op when the workspace build already built it.
            let output = Command::new(cargo())
                .args(["build", "-p", "itsm-cli", "--bin", "ledgerdesk"])
                .current_dir(workspace_root())
                .output()
                .expect("cargo build runs");
            assert!(
                output.status.success(),
                "building ledgerdesk failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let path = target_dir()
                .join("debug")
                .join(format!("ledgerdesk{}", std::env::consts::EXE_SUFFIX));
            assert!(path.is_file(), "no binary at {}", path.display());
            path
        })
        .clone()
}

/// Runs `ledgerdesk <args>` to completion.
pub fn run(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(ledgerdesk())
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("ledgerdesk runs")
}
