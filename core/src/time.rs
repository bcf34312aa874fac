//! Time as the API and the database see it: Unix seconds in storage, RFC 3339 in UTC with whole
//! seconds and a `Z` on the wire.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, SecondsFormat, Utc};

/// Unix seconds.
pub type Timestamp = i64;

/// The system clock's time. Rules read time from a [`Clock`] instead, so tests can set it.
pub fn now() -> Timestamp {
    Utc::now().timestamp()
}

/// The time the server's rules read (ticket changes, token use, the age of remembered
/// figures): one per server, in the application state, cheap to clone. It follows the system
/// clock until it is stopped, which tests do to say what time it is instead of backdating rows
/// or waiting for time to pass; a stopped clock moves only when set or advanced.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Unix milliseconds while stopped; [`FOLLOWING`] while following the system clock.
    stopped_at: Arc<AtomicI64>,
}

/// The [`Clock::stopped_at`] of a clock that follows the system clock.
const FOLLOWING: i64 = 0;

impl Clock {
    /// A clock that follows the system clock (until [`Clock::stop`]).
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Unix seconds.
    pub fn now(&self) -> Timestamp {
        self.now_ms().div_euclid(1000)
    }

    /// Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        match self.stopped_at.load(Ordering::Acquire) {
            FOLLOWING => Utc::now().timestamp_millis(),
            at => at,
        }
    }

    /// Stops the clock at the present moment: it moves only when set or advanced.
    pub fn stop(&self) {
        let _ = self.stopped_at.compare_exchange(
            FOLLOWING,
            Utc::now().timestamp_millis(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// Stops the clock at `at` (Unix seconds).
    pub fn set(&self, at: Timestamp) {
        // Unix time 0 is the one moment a stopped clock cannot show; a millisecond after it can.
        self.stopped_at.store((at * 1000).max(1), Ordering::Release);
    }

    /// Stops the clock (if it runs) and moves it `by` later.
    pub fn advance(&self, by: Duration) {
        self.stop();
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.stopped_at.fetch_add(by, Ordering::AcqRel);
    }
}

/// `2026-11-28T10:15:00Z`.
pub fn rfc3339(ts: Timestamp) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn rfc3339_opt(ts: Option<Timestamp>) -> Option<String> {
    ts.map(rfc3339)
}

/// Parses an RFC 3339 date-time (any offset) into Unix seconds.
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp())
}

/// 00:00 UTC of the day containing `ts`.
pub fn start_of_day(ts: Timestamp) -> Timestamp {
    ts - ts.rem_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_clock_moves_only_when_told() {
        let clock = Clock::system();
        let (before, read, after) = (now(), clock.now(), now());
        assert!((before..=after).contains(&read), "follows the system clock");
        clock.set(1_795_860_900);
        assert_eq!(clock.now(), 1_795_860_900);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now_ms(), 1_795_860_901_500);
        let shared = clock.clone();
        shared.advance(Duration::from_secs(60));
        assert_eq!(clock.now(), 1_795_860_961, "clones share one time");
    }

    #[test]
    fn formats_whole_seconds_with_z() {
        assert_eq!(rfc3339(1_795_860_900), "2026-11-28T10:15:00Z");
        assert_eq!(
            parse_rfc3339("2026-11-28T11:15:00+01:00"),
            Some(1_795_860_900)
        );
    }
}
