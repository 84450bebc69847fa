//! `itsm-benches`: measurements that always come with their ceiling.
//!
//! Every figure is printed as one JSON line `{"bench", "value", "unit", "ceiling", "ratio"}`,
//! where `ceiling` is the same operation done with raw sled in the same run, on the same
//! machine, with the same payload size (300 bytes), in its own temporary directory. The
//! ratio is what to watch: absolute numbers move with the machine, the ratio much less.
//!
//! Must not: assert on timings (tests only check the output's shape), or measure anything but
//! durable appends unless the figure's name says so.

pub mod layout;
pub mod load;
pub mod readmodels;
pub mod scale;
pub mod store;

use serde::Serialize;

/// Payload size of every benchmarked event.
pub const PAYLOAD_BYTES: usize = 300;

/// How much work each figure does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Seconds in a debug build: only for checking the output in tests.
    Smoke,
    /// Well under a minute in release.
    Quick,
    /// The reference run (1M events for `read_all`).
    Full,
}

impl Size {
    pub fn counts(self) -> Counts {
        match self {
            Size::Smoke => Counts {
                c1_events: 50,
                c256_rounds: 2,
                read_all_events: 2_000,
                layout_mutations: 640,
                repetitions: 1,
            },
            Size::Quick => Counts {
                c1_events: 1_000,
                c256_rounds: 40,
                read_all_events: 20_000,
                layout_mutations: 6_400,
                repetitions: 3,
            },
            Size::Full => Counts {
                c1_events: 5_000,
                c256_rounds: 400,
                read_all_events: 1_000_000,
                layout_mutations: 64_000,
                repetitions: 5,
            },
        }
    }
}

/// Work per figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Sequential single-event appends.
    pub c1_events: u64,
    /// Appends per task with 256 concurrent tasks (one event each).
    pub c256_rounds: u64,
    /// Events written, then read back.
    pub read_all_events: u64,
    /// `logIncident`-shaped writes per layout in the raw sled layout probe (`layout`).
    pub layout_mutations: u64,
    /// Each figure and its ceiling are measured this many times, alternating; the medians are
    /// reported (a 2-core machine shared with builds is noisy).
    pub repetitions: usize,
}

/// One measured figure next to its ceiling.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub bench: &'static str,
    pub value: f64,
    pub unit: &'static str,
    pub ceiling: f64,
    pub ratio: f64,
}

impl Figure {
    pub fn new(bench: &'static str, unit: &'static str, value: f64, ceiling: f64) -> Self {
        let ratio = if ceiling > 0.0 { value / ceiling } else { 0.0 };
        Figure {
            bench,
            value,
            unit,
            ceiling,
            ratio,
        }
    }

    /// The JSON line printed for this figure.
    pub fn to_json_line(&self) -> String {
        // Serializing a struct of strings and finite floats cannot fail; NaN would become null.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// Events per second for `events` done in `elapsed`.
pub fn per_second(events: u64, elapsed: std::time::Duration) -> f64 {
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let events = events as f64;
    events / elapsed.as_secs_f64().max(1e-9)
}

/// Median of the measurements (0 when empty).
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => 0.0,
        n if n % 2 == 1 => xs[n / 2],
        n => f64::midpoint(xs[n / 2 - 1], xs[n / 2]),
    }
}

/// A deterministic, incompressible-looking payload.
pub fn payload(seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..PAYLOAD_BYTES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}
