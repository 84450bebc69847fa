//! The architecture invariants of docs/ARCHITECTURE.md, checked against `cargo metadata`,
//! `Cargo.lock` and the domain crates' sources, so that a violation fails CI rather than review.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Command;

use itsm_e2e::workspace_root;
use serde_json::Value;

/// Domain crates: pure deciders and SLA math.
const DOMAIN: &[&str] = &[
    "itsm-kernel",
    "itsm-sla",
    "itsm-catalog",
    "itsm-incident",
    "itsm-problem",
    "itsm-change",
    "itsm-access",
];
const AGGREGATES: &[&str] = &[
    "itsm-catalog",
    "itsm-incident",
    "itsm-problem",
    "itsm-change",
];

/// Crates that speak HTTP or GraphQL; only the gateway (and black-box tests) may use them.
const WEB: &[&str] = &[
    "axum",
    "async-graphql",
    "async-graphql-axum",
    "tower",
    "tower-http",
    "hyper",
];

struct Package {
    name: String,
    version: String,
    publishable: bool,
    manifest_dir: String,
    /// (dependency name, kind) where kind is "normal", "dev" or "build".
    deps: Vec<(String, String)>,
}

fn workspace_packages() -> Vec<Package> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON");
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    metadata["packages"]
        .as_array()
        .expect("packages array")
        .iter()
        .map(|p| Package {
            name: text(&p["name"]),
            version: text(&p["version"]),
            // `publish = false` shows as an empty list.
            publishable: p["publish"] != Value::Array(vec![]),
            manifest_dir: Path::new(&text(&p["manifest_path"]))
                .parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            deps: p["dependencies"]
                .as_array()
                .expect("dependencies array")
                .iter()
                .map(|d| {
                    let kind = d["kind"].as_str().unwrap_or("normal").to_owned();
                    (text(&d["name"]), kind)
                })
                .collect(),
        })
        .collect()
}

fn normal_deps(package: &Package) -> BTreeSet<&str> {
    package
        .deps
        .iter()
        .filter(|(_, kind)| kind == "normal" || kind == "build")
        .map(|(name, _)| name.as_str())
        .collect()
}

fn by_name(packages: &[Package]) -> BTreeMap<&str, &Package> {
    packages.iter().map(|p| (p.name.as_str(), p)).collect()
}

#[test]
fn internal_crates_are_unpublished_version_zero_and_live_in_a_folder_of_their_name() {
    for package in workspace_packages() {
        assert_eq!(
            package.version, "0.0.0",
            "{} must be version 0.0.0",
            package.name
        );
        assert!(
            !package.publishable,
            "{} must have publish = false",
            package.name
        );
        let folder = Path::new(&package.manifest_dir)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let expected_folder = match package.name.as_str() {
            "itsm-e2e" => "tests",
            "itsm-benches" => "benches",
            name => name,
        };
        assert_eq!(
            folder, expected_folder,
            "{} lives in the wrong folder",
            package.name
        );
    }
}

#[test]
fn domain_crates_depend_only_on_the_allowed_libraries_and_downward() {
    let packages = workspace_packages();
    let packages = by_name(&packages);
    for name in DOMAIN {
        let Some(package) = packages.get(name) else {
            // A domain crate that does not exist yet breaks no rule.
            continue;
        };
        let mut allowed: BTreeSet<&str> = ["serde", "thiserror", "chrono"].into();
        match *name {
            "itsm-kernel" => {}
            "itsm-sla" => {
                allowed.extend(["itsm-kernel", "chrono-tz"]);
            }
            _ => {
                allowed.extend(["itsm-kernel", "itsm-sla"]);
            }
        }
        let forbidden: Vec<&str> = normal_deps(package)
            .into_iter()
            .filter(|dep| !allowed.contains(dep))
            .collect();
        assert!(
            forbidden.is_empty(),
            "domain crate {name} must not depend on {forbidden:?} (allowed: {allowed:?})"
        );
    }
}

#[test]
fn aggregates_do_not_depend_on_each_other_even_in_tests() {
    let packages = workspace_packages();
    let packages = by_name(&packages);
    for name in AGGREGATES {
        let Some(package) = packages.get(name) else {
            continue;
        };
        for (dep, kind) in &package.deps {
            assert!(
                !AGGREGATES.contains(&dep.as_str()),
                "aggregate {name} depends on aggregate {dep} ({kind}); cross-aggregate facts are put into commands by the shell"
            );
        }
    }
}

#[test]
fn domain_tests_use_no_storage_runtime_or_web_crates() {
    let packages = workspace_packages();
    let packages = by_name(&packages);
    let io_crates = [
        "tokio",
        "sled",
        "itsm-eventstore",
        "itsm-app",
        "itsm-gateway",
    ];
    for name in DOMAIN {
        let Some(package) = packages.get(name) else {
            continue;
        };
        for (dep, kind) in &package.deps {
            assert!(
                !io_crates.contains(&dep.as_str()) && !WEB.contains(&dep.as_str()),
                "domain crate {name} depends on {dep} ({kind})"
            );
        }
    }
}

#[test]
fn the_testkit_is_only_a_dev_dependency() {
    for package in workspace_packages() {
        assert!(
            !normal_deps(&package).contains("itsm-testkit"),
            "{} depends on itsm-testkit outside [dev-dependencies]; it is test-only (it reads and writes files)",
            package.name
        );
    }
}

#[test]
fn the_event_store_knows_nothing_of_itil() {
    let packages = workspace_packages();
    let packages = by_name(&packages);
    let Some(store) = packages.get("itsm-eventstore") else {
        return;
    };
    for (dep, kind) in &store.deps {
        // The test harness crate knows no domain either (golden bytes, a directory copy).
        if dep == "itsm-testkit" && kind == "dev" {
            continue;
        }
        assert!(
            !dep.starts_with("itsm-"),
            "itsm-eventstore depends on {dep} ({kind}); it stores envelopes and must not know the domain"
        );
    }
}

#[test]
fn only_the_gateway_speaks_http_and_graphql() {
    for package in workspace_packages() {
        if matches!(
            package.name.as_str(),
            "itsm-gateway" | "itsm-e2e" | "itsm-benches"
        ) {
            continue;
        }
        let web: Vec<&str> = normal_deps(&package)
            .into_iter()
            .filter(|dep| WEB.contains(dep))
            .collect();
        assert!(
            web.is_empty(),
            "{} depends on {web:?}; HTTP and GraphQL types live only in itsm-gateway",
            package.name
        );
    }
}

#[test]
fn projections_do_not_depend_on_the_shell() {
    let packages = workspace_packages();
    let packages = by_name(&packages);
    let Some(projections) = packages.get("itsm-projections") else {
        return;
    };
    let deps = normal_deps(projections);
    for shell in ["itsm-app", "itsm-gateway", "itsm-cli"] {
        assert!(
            !deps.contains(shell),
            "itsm-projections must not depend on {shell}"
        );
    }
}

/// Source patterns that mean I/O, async, clock reads or randomness.
const IMPURE: &[&str] = &[
    "Utc::now",
    "Local::now",
    "SystemTime",
    "Instant::now",
    "std::fs",
    "std::net",
    "std::process",
    "std::thread",
    "std::env",
    "async fn",
    ".await",
    "rand::",
    "println!",
    "eprintln!",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn domain_sources_do_no_io_async_clock_reads_or_randomness() {
    let root = workspace_root();
    for name in DOMAIN {
        let mut files = Vec::new();
        rust_files(&root.join("crates").join(name).join("src"), &mut files);
        for file in files {
            let source = fs::read_to_string(&file).expect("readable source");
            for (number, line) in source.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for pattern in IMPURE {
                    assert!(
                        !code.contains(pattern),
                        "{}:{}: domain code must not use `{pattern}`: {line}",
                        file.strip_prefix(&root).unwrap_or(&file).display(),
                        number + 1
                    );
                }
            }
        }
    }
}

/// Parses `Cargo.lock` into (name, version) pairs.
fn locked_packages() -> Vec<(String, String)> {
    let lock = fs::read_to_string(workspace_root().join("Cargo.lock")).expect("Cargo.lock exists");
    let mut packages = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(value) = line.strip_prefix("name = ") {
            name = Some(value.trim_matches('"').to_owned());
        } else if let Some(value) = line.strip_prefix("version = ")
            && let Some(name) = name.take()
        {
            packages.push((name, value.trim_matches('"').to_owned()));
        }
    }
    packages
}

fn version_tuple(version: &str) -> Vec<u64> {
    version
        .split(['.', '-', '+'])
        .take(3)
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

#[test]
fn the_lockfile_follows_the_sled_and_bincode_precautions() {
    for (name, version) in locked_packages() {
        match name.as_str() {
            "crossbeam-epoch" => assert!(
                version_tuple(&version) >= vec![0, 9, 20],
                "crossbeam-epoch {version} is locked; sled 0.34.7 needs 0.9.20 or later"
            ),
            "bincode" => assert_eq!(version, "2.0.1", "bincode must stay pinned at =2.0.1"),
            "sled" => assert_eq!(version, "0.34.7", "sled is pinned at 0.34.7"),
            "rio" => panic!("sled's io_uring feature (rio) must stay off"),
            _ => {}
        }
    }
}
