//! Per-token request rate: a token bucket per token hash.
//!
//! Each token may make `burst` requests at once and `per_second` on average. Buckets are kept
//! only for authenticated tokens (a request with an unknown token is refused before it gets
//! one), so their number is bounded by the tokens issued. Time is the monotonic
//! `std::time::Instant`: rate limiting is an operational matter, not a business fact, so it does
//! not follow the desk's (possibly manual) clock.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// One token's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets by token hash.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<[u8; 32], Bucket>>,
}

impl RateLimiter {
    /// `per_second` requests on average, `burst` at once. A `burst` of 0 refuses everything.
    pub fn new(per_second: f64, burst: u32) -> Self {
        Self {
            per_second: per_second.max(0.0),
            burst: f64::from(burst),
            buckets: Mutex::default(),
        }
    }

    /// Takes one request from the bucket of `key` at `now`; `Err(wait)` says how long until
    /// the next request would be allowed.
    pub fn check(&self, key: &[u8; 32], now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets.entry(*key).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - bucket.tokens;
        Err(if self.per_second > 0.0 {
            Duration::try_from_secs_f64(missing / self.per_second).unwrap_or(Duration::MAX)
        } else {
            Duration::MAX
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_the_rate() {
        let limiter = RateLimiter::new(2.0, 3);
        let start = Instant::now();
        let key = [7; 32];
        for _ in 0..3 {
            assert_eq!(limiter.check(&key, start), Ok(()));
        }
        let wait = limiter.check(&key, start).expect_err("bucket empty");
        assert_eq!(wait, Duration::from_millis(500));
        // Half a second later one request is back, not two.
        let later = start + Duration::from_millis(500);
        assert_eq!(limiter.check(&key, later), Ok(()));
        assert!(limiter.check(&key, later).is_err());
        // Another token has its own bucket.
        assert_eq!(limiter.check(&[8; 32], later), Ok(()));
    }

    #[test]
    fn a_bucket_never_fills_past_its_burst() {
        let limiter = RateLimiter::new(100.0, 2);
        let start = Instant::now();
        let key = [1; 32];
        assert_eq!(limiter.check(&key, start), Ok(()));
        let much_later = start + Duration::from_hours(1);
        assert_eq!(limiter.check(&key, much_later), Ok(()));
        assert_eq!(limiter.check(&key, much_later), Ok(()));
        assert!(limiter.check(&key, much_later).is_err());
    }

    #[test]
    fn a_zero_rate_never_refills() {
        let limiter = RateLimiter::new(0.0, 1);
        let start = Instant::now();
        assert_eq!(limiter.check(&[2; 32], start), Ok(()));
        assert_eq!(
            limiter.check(&[2; 32], start + Duration::from_mins(1)),
            Err(Duration::MAX)
        );
    }
}
