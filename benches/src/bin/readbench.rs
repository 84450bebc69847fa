//! `readbench`: read-model figures as JSON lines (see `itsm_benches::readmodels`).
//!
//! `--smoke` (tests), `--quick` (10k open incidents) or the full run (100k open incidents).
//! Memory figures are compared with the target of 1 KiB per open incident: memory has
//! no raw-sled ceiling, so the "ceiling" of these lines is that target, not a measurement.

use itsm_benches::readmodels::memory_figures;

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let open = match mode.as_str() {
        "--smoke" => 500,
        "--quick" => 10_000,
        "" => 100_000,
        other => {
            eprintln!("readbench: unknown argument {other:?} (use --smoke, --quick or nothing)");
            std::process::exit(2);
        }
    };
    for figure in memory_figures(open) {
        match serde_json::to_string(&figure) {
            Ok(line) => println!("{line}"),
            Err(error) => {
                eprintln!("readbench: {error}");
                std::process::exit(1);
            }
        }
    }
}
