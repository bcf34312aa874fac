//! Fixed-window rate limits, one window per token or per client IP, kept in a bounded moka
//! cache: a key unused for two windows is evicted, so rotating tokens or addresses cannot grow
//! memory without bound.
//!
//! A window starts at the key's first request and lasts a minute; a fresh key may make exactly
//! `limit` requests in it. Each node counts its own requests (see docs/architecture.md).

use std::{
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use moka::sync::Cache;

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BucketKey {
    Token(i64),
    Ip(IpAddr),
}

/// The state of one bucket after a request, for the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Whole seconds until the window resets (1..=60).
    pub reset_seconds: u64,
    pub allowed: bool,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    used: u32,
}

#[derive(Clone)]
pub struct RateLimiter {
    windows: Cache<BucketKey, Arc<Mutex<Window>>>,
}

impl RateLimiter {
    pub fn new(capacity: u64) -> Self {
        RateLimiter {
            windows: Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(WINDOW * 2)
                .build(),
        }
    }

    /// Counts one request against `key`.
    pub fn hit(&self, key: BucketKey, limit: u32) -> Quota {
        self.hit_at(key, limit, Instant::now())
    }

    fn hit_at(&self, key: BucketKey, limit: u32, now: Instant) -> Quota {
        let window = self.windows.get_with(key, || {
            Arc::new(Mutex::new(Window {
                started: now,
                used: 0,
            }))
        });
        let mut window = window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if now.duration_since(window.started) >= WINDOW {
            window.started = now;
            window.used = 0;
        }
        let allowed = window.used < limit;
        if allowed {
            window.used += 1;
        }
        let left = WINDOW.saturating_sub(now.duration_since(window.started));
        Quota {
            limit,
            // `used` exceeds `limit` when a token's limit is lowered mid-window.
            remaining: limit.saturating_sub(window.used),
            reset_seconds: left.as_secs_f64().ceil().clamp(1.0, 60.0) as u64,
            allowed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_limit_requests_then_refused_until_the_window_ends() {
        let limiter = RateLimiter::new(100);
        let key = BucketKey::Token(1);
        let t0 = Instant::now();
        for expected in (0..3).rev() {
            let q = limiter.hit_at(key, 3, t0);
            assert!(q.allowed);
            assert_eq!(q.remaining, expected);
        }
        let refused = limiter.hit_at(key, 3, t0 + Duration::from_secs(20));
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.reset_seconds, 40);
        let next = limiter.hit_at(key, 3, t0 + WINDOW);
        assert!(next.allowed);
        assert_eq!(next.remaining, 2);
    }

    #[test]
    fn a_limit_lowered_below_what_was_used_refuses_with_nothing_remaining() {
        let limiter = RateLimiter::new(100);
        let key = BucketKey::Token(1);
        let t0 = Instant::now();
        for _ in 0..4 {
            assert!(limiter.hit_at(key, 5, t0).allowed);
        }
        let refused = limiter.hit_at(key, 2, t0);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
    }
}
