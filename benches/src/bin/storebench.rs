//! Event store benchmark: one JSON line per figure, each next to its raw sled ceiling.
//!
//! `storebench` (full: 1M events for `read_all`), `storebench --quick` (well under a minute),
//! `storebench --smoke` (tiny, for tests).

use std::process::ExitCode;

use itsm_benches::{Size, store};

fn main() -> ExitCode {
    let mut size = Size::Full;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => size = Size::Quick,
            "--smoke" => size = Size::Smoke,
            "--full" => size = Size::Full,
            other => {
                eprintln!(
                    "storebench: unknown argument {other:?} (use --quick, --smoke or --full)"
                );
                return ExitCode::from(2);
            }
        }
    }
    match store::run(size.counts(), |figure| {
        println!("{}", figure.to_json_line());
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("storebench: {e}");
            ExitCode::FAILURE
        }
    }
}
