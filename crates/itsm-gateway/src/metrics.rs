//! `GET /metrics`: counters kept by the HTTP layer, exposed in the Prometheus text format
//! (version 0.0.4), written by hand: a handful of counters and one histogram do not need a
//! metrics library.
//!
//! - `ledgerdesk_requests_total{operation, outcome}`: GraphQL requests by operation type
//!   (`query`, `mutation`, `subscription`, `unknown` when the request did not parse) and outcome
//!   (`ok`, `error`);
//! - `ledgerdesk_errors_total{code}`: errors by `extensions.code`;
//! - `ledgerdesk_request_duration_seconds`: request latency histogram;
//! - `ledgerdesk_ledger_head`: ledger head position (= events appended so far);
//! - `ledgerdesk_read_models_position` and `ledgerdesk_projection_lag`: how far the read models
//!   are and how far behind the head;
//! - `ledgerdesk_tokens_in_force`: ledger tokens neither revoked nor expired.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Operation types, as labels.
pub const OPERATIONS: [&str; 4] = ["query", "mutation", "subscription", "unknown"];
/// Error codes, as labels (`OTHER` for a code not in this list).
pub const CODES: [&str; 10] = [
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "VALIDATION",
    "INVALID_TRANSITION",
    "CONFLICT",
    "LIMIT_EXCEEDED",
    "STORAGE_UNAVAILABLE",
    "INTERNAL",
    "OTHER",
];
/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// What happened to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Error,
}

/// The gateway's counters. Lock-free; shared by every request.
#[derive(Debug, Default)]
pub struct Metrics {
    /// `[operation][outcome]`.
    requests: [[AtomicU64; 2]; OPERATIONS.len()],
    errors: [AtomicU64; CODES.len()],
    /// Cumulative counts per bucket (the `+Inf` bucket is `count`).
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// What `/metrics` reports besides the counters: read at scrape time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gauges {
    pub ledger_head: u64,
    pub read_models_position: u64,
    pub tokens_in_force: usize,
}

fn operation_index(operation: &str) -> usize {
    OPERATIONS
        .iter()
        .position(|known| *known == operation)
        .unwrap_or(OPERATIONS.len() - 1)
}

fn code_index(code: &str) -> usize {
    CODES
        .iter()
        .position(|known| *known == code)
        .unwrap_or(CODES.len() - 1)
}

impl Metrics {
    /// Counts one request of `operation` type that took `elapsed`, with the codes of its errors.
    pub fn record<'a>(
        &self,
        operation: &str,
        elapsed: Duration,
        codes: impl IntoIterator<Item = &'a str>,
    ) {
        let mut outcome = Outcome::Ok;
        for code in codes {
            outcome = Outcome::Error;
            self.errors[code_index(code)].fetch_add(1, Ordering::Relaxed);
        }
        let column = match outcome {
            Outcome::Ok => 0,
            Outcome::Error => 1,
        };
        self.requests[operation_index(operation)][column].fetch_add(1, Ordering::Relaxed);
        let seconds = elapsed.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Requests counted so far for `operation` with `outcome`.
    pub fn requests(&self, operation: &str, outcome: Outcome) -> u64 {
        let column = match outcome {
            Outcome::Ok => 0,
            Outcome::Error => 1,
        };
        self.requests[operation_index(operation)][column].load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition of the counters and `gauges`.
    pub fn render(&self, gauges: Gauges) -> String {
        let mut out = String::with_capacity(4096);
        // Writing to a String cannot fail.
        let _ = self.write(&mut out, gauges);
        out
    }

    fn write(&self, out: &mut String, gauges: Gauges) -> std::fmt::Result {
        writeln!(
            out,
            "# HELP ledgerdesk_requests_total GraphQL requests by operation type and outcome."
        )?;
        writeln!(out, "# TYPE ledgerdesk_requests_total counter")?;
        for (operation, row) in OPERATIONS.iter().zip(&self.requests) {
            for (outcome, counter) in ["ok", "error"].iter().zip(row) {
                writeln!(
                    out,
                    "ledgerdesk_requests_total{{operation=\"{operation}\",outcome=\"{outcome}\"}} {}",
                    counter.load(Ordering::Relaxed)
                )?;
            }
        }
        writeln!(
            out,
            "# HELP ledgerdesk_errors_total GraphQL errors by extensions.code."
        )?;
        writeln!(out, "# TYPE ledgerdesk_errors_total counter")?;
        for (code, counter) in CODES.iter().zip(&self.errors) {
            writeln!(
                out,
                "ledgerdesk_errors_total{{code=\"{code}\"}} {}",
                counter.load(Ordering::Relaxed)
            )?;
        }
        writeln!(
            out,
            "# HELP ledgerdesk_request_duration_seconds GraphQL request latency."
        )?;
        writeln!(out, "# TYPE ledgerdesk_request_duration_seconds histogram")?;
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            writeln!(
                out,
                "ledgerdesk_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            )?;
        }
        let count = self.count.load(Ordering::Relaxed);
        writeln!(
            out,
            "ledgerdesk_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        )?;
        let micros = self.sum_micros.load(Ordering::Relaxed);
        writeln!(
            out,
            "ledgerdesk_request_duration_seconds_sum {}.{:06}",
            micros / 1_000_000,
            micros % 1_000_000
        )?;
        writeln!(out, "ledgerdesk_request_duration_seconds_count {count}")?;
        let lag = gauges
            .ledger_head
            .saturating_sub(gauges.read_models_position);
        for (name, help, value) in [
            (
                "ledgerdesk_ledger_head",
                "Ledger head position: events appended so far.",
                gauges.ledger_head,
            ),
            (
                "ledgerdesk_read_models_position",
                "Last ledger position the read models applied.",
                gauges.read_models_position,
            ),
            (
                "ledgerdesk_projection_lag",
                "Events appended but not yet applied by the read models.",
                lag,
            ),
            (
                "ledgerdesk_tokens_in_force",
                "Ledger tokens neither revoked nor expired.",
                u64::try_from(gauges.tokens_in_force).unwrap_or(u64::MAX),
            ),
        ] {
            writeln!(out, "# HELP {name} {help}")?;
            writeln!(out, "# TYPE {name} gauge")?;
            writeln!(out, "{name} {value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_errors_and_latency_are_counted() {
        let metrics = Metrics::default();
        metrics.record("query", Duration::from_millis(3), []);
        metrics.record("mutation", Duration::from_millis(30), ["FORBIDDEN"]);
        metrics.record("weird", Duration::from_secs(9), ["NO_SUCH_CODE"]);
        assert_eq!(metrics.requests("query", Outcome::Ok), 1);
        assert_eq!(metrics.requests("mutation", Outcome::Error), 1);
        assert_eq!(metrics.requests("unknown", Outcome::Error), 1);
        let text = metrics.render(Gauges {
            ledger_head: 10,
            read_models_position: 7,
            tokens_in_force: 2,
        });
        for line in [
            "ledgerdesk_requests_total{operation=\"query\",outcome=\"ok\"} 1",
            "ledgerdesk_requests_total{operation=\"mutation\",outcome=\"error\"} 1",
            "ledgerdesk_errors_total{code=\"FORBIDDEN\"} 1",
            "ledgerdesk_errors_total{code=\"OTHER\"} 1",
            "ledgerdesk_request_duration_seconds_bucket{le=\"0.005\"} 1",
            "ledgerdesk_request_duration_seconds_bucket{le=\"0.05\"} 2",
            "ledgerdesk_request_duration_seconds_bucket{le=\"+Inf\"} 3",
            "ledgerdesk_request_duration_seconds_sum 9.033000",
            "ledgerdesk_request_duration_seconds_count 3",
            "ledgerdesk_ledger_head 10",
            "ledgerdesk_projection_lag 3",
            "ledgerdesk_tokens_in_force 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
