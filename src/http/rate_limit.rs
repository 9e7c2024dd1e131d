//! Rate limiting per caller (the verified token's `sub`), with `governor`'s GCRA: a caller
//! may send `burst` requests at once and `per_second` on average. Every authenticated
//! response says where the caller stands (`RateLimit-Limit`, `RateLimit-Remaining`,
//! `RateLimit-Reset`, after the IETF draft "RateLimit header fields for HTTP"); a refused
//! request answers 429 `rate-limited` with `Retry-After`.
//!
//! The count lives in each instance's memory: behind a load balancer with N instances a
//! caller may send up to N times the limit, so `RATE_LIMIT_PER_SECOND` is set per instance.
//! It protects an instance from one runaway client; it is not a quota to bill on.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::dev::ServiceResponse;
use actix_web::http::header::{HeaderName, HeaderValue};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

type Limiter =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// Forget callers idle for a while every this many checks, so the table does not grow with
/// every `sub` ever seen.
const SWEEP_EVERY: u64 = 10_000;

pub struct CallerRateLimiter {
    limiter: Limiter,
    per_second: NonZeroU32,
    burst: NonZeroU32,
    checks: AtomicU64,
}

/// Where a caller stands after a request was let through or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitStatus {
    /// Requests the caller may send at once (the burst).
    pub limit: u32,
    /// Requests left at once, after this one.
    pub remaining: u32,
    /// Seconds until the caller may send `limit` requests at once again (rounded up).
    pub reset_seconds: u64,
    /// When refused: seconds to wait before the next request is let through (rounded up).
    pub retry_after_seconds: Option<u64>,
}

impl CallerRateLimiter {
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> CallerRateLimiter {
        let quota = Quota::per_second(per_second).allow_burst(burst);
        CallerRateLimiter {
            limiter: RateLimiter::dashmap(quota).with_middleware::<StateInformationMiddleware>(),
            per_second,
            burst,
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one request of `caller`.
    pub fn check(&self, caller: &str) -> RateLimitStatus {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        let limit = self.burst.get();
        match self.limiter.check_key(&caller.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                RateLimitStatus {
                    limit,
                    remaining,
                    reset_seconds: self.seconds_to_refill(limit - remaining.min(limit)),
                    retry_after_seconds: None,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                RateLimitStatus {
                    limit,
                    remaining: 0,
                    reset_seconds: self.seconds_to_refill(limit),
                    retry_after_seconds: Some(ceil_seconds(wait).max(1)),
                }
            }
        }
    }

    /// Seconds for `used` spent requests to come back at `per_second`.
    fn seconds_to_refill(&self, used: u32) -> u64 {
        u64::from(used).div_ceil(u64::from(self.per_second.get()))
    }
}

fn ceil_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

impl RateLimitStatus {
    fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut headers = vec![
            (
                HeaderName::from_static("ratelimit-limit"),
                HeaderValue::from(self.limit),
            ),
            (
                HeaderName::from_static("ratelimit-remaining"),
                HeaderValue::from(self.remaining),
            ),
            (
                HeaderName::from_static("ratelimit-reset"),
                HeaderValue::from(self.reset_seconds),
            ),
        ];
        if let Some(retry_after) = self.retry_after_seconds {
            headers.push((
                actix_web::http::header::RETRY_AFTER,
                HeaderValue::from(retry_after),
            ));
        }
        headers
    }

    /// Adds the headers to a response already made (any authenticated answer, the 429 too).
    pub fn apply_to<B>(&self, response: &mut ServiceResponse<B>) {
        let headers = response.headers_mut();
        for (name, value) in self.headers() {
            if !headers.contains_key(&name) {
                headers.insert(name, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
    }

    #[test]
    fn a_caller_gets_its_burst_then_waits_while_others_go_on() {
        let limiter = CallerRateLimiter::new(nz(1), nz(3));
        let seen: Vec<u32> = (0..3).map(|_| limiter.check("a").remaining).collect();
        assert_eq!(seen, [2, 1, 0]);
        let refused = limiter.check("a");
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.retry_after_seconds, Some(1));
        assert_eq!(refused.reset_seconds, 3);
        let other = limiter.check("b");
        assert_eq!(other.retry_after_seconds, None);
        assert_eq!(other.remaining, 2);
        assert_eq!(other.limit, 3);
    }
}
