//! Request rate limits per account and per API key: a token bucket each,
//! kept in the process (each instance counts its own share), so that one
//! partner's loop cannot starve the apps. A bucket holds `burst` requests
//! and refills at `per_minute`; an empty one answers 429 with the wait.

use std::collections::HashMap;
use std::time::Instant;

use parking_lot::Mutex;

/// What the `RateLimit-*` headers of an answer say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests the bucket holds when full.
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
}

/// Refused: the quota, and the seconds until one more request is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub quota: Quota,
    pub retry_after_secs: u64,
}

pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Buckets kept before the full ones are forgotten (a full bucket is the
/// same as none).
const KEPT: usize = 10_000;

impl RateLimiter {
    /// `per_minute` 0: no limit.
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            burst: burst.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.per_minute > 0
    }

    /// Takes one request from `who`'s bucket.
    pub fn take(&self, who: &str) -> Result<Option<Quota>, Refused> {
        self.take_at(who, Instant::now())
    }

    fn take_at(&self, who: &str, now: Instant) -> Result<Option<Quota>, Refused> {
        if !self.enabled() {
            return Ok(None);
        }
        let rate = f64::from(self.per_minute) / 60.0;
        let burst = f64::from(self.burst);
        let mut buckets = self.buckets.lock();
        if buckets.len() >= KEPT {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(who.to_string()).or_insert((burst, now));
        let refilled = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        let quota = |left: f64| Quota {
            limit: self.burst,
            remaining: left.floor().max(0.0) as u32,
            reset_secs: ((burst - left) / rate).ceil().max(0.0) as u64,
        };
        if refilled < 1.0 {
            *tokens = refilled;
            *at = now;
            return Err(Refused {
                quota: quota(refilled),
                retry_after_secs: ((1.0 - refilled) / rate).ceil().max(1.0) as u64,
            });
        }
        *tokens = refilled - 1.0;
        *at = now;
        Ok(Some(quota(*tokens)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_until_it_refills() {
        let limiter = RateLimiter::new(60, 3);
        let t0 = Instant::now();
        for left in [2, 1, 0] {
            assert_eq!(limiter.take_at("u1", t0).unwrap().unwrap().remaining, left);
        }
        let refused = limiter.take_at("u1", t0).unwrap_err();
        assert_eq!(refused.retry_after_secs, 1);
        assert_eq!(refused.quota.remaining, 0);
        // another account has its own bucket
        assert!(limiter.take_at("u2", t0).is_ok());
        // one request a second comes back
        assert!(limiter
            .take_at("u1", t0 + Duration::from_millis(1000))
            .is_ok());
        assert!(limiter
            .take_at("u1", t0 + Duration::from_millis(1000))
            .is_err());
    }

    #[test]
    fn no_limit_when_the_rate_is_zero() {
        let limiter = RateLimiter::new(0, 1);
        for _ in 0..100 {
            assert_eq!(limiter.take("u1"), Ok(None));
        }
    }
}
