//! Black-box tests for Ledgerdesk. The tests live beside this file:
//!
//! - `architecture.rs` reads `cargo metadata`, `Cargo.lock` and the domain crates' sources and fails
//!   when a crate breaks a dependency rule of docs/ARCHITECTURE.md.
//! - `stories.rs`, `roles.rs`, `hostile.rs` and `cli.rs` start the real `ledgerdesk serve` on a
//!   fresh data directory and speak HTTP and graphql-transport-ws to it, as any client would
//!   (`cli.rs` also runs the offline commands: verify, export, import, token create).
//! - The reliability suites of docs/RELIABILITY.md, on the same real binary: `crash.rs` (SIGKILL
//!   at random moments under concurrent load, then restart and check), `faults.rs` (a real EFBIG
//!   from a lowered file-size limit), `concurrency.rs` (32 clients on one incident),
//!   `corruption.rs` (flipped bytes and cut files in the data directory), `fuzz.rs` (generated
//!   hostile requests) and `security.rs` (token material never stored, exported or logged).
//!
//! This library holds what those tests share: where the workspace is, and the [`support`]
//! harness (binary, server process, HTTP and websocket clients, a desk with a token per role).

pub mod support;

use std::path::{Path, PathBuf};

/// The workspace root (the folder holding the virtual `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    // This package lives in `<root>/tests`.
    here.parent()
        .map_or_else(|| here.to_path_buf(), Path::to_path_buf)
}
