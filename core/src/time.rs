//! Time as the API and the database see it: Unix seconds in storage, RFC 3339 in UTC with whole
//! seconds and a `Z` on the wire.

use chrono::{DateTime, SecondsFormat, Utc};

/// Unix seconds.
pub type Timestamp = i64;

pub fn now() -> Timestamp {
    Utc::now().timestamp()
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
    fn formats_whole_seconds_with_z() {
        assert_eq!(rfc3339(1_795_860_900), "2026-11-28T10:15:00Z");
        assert_eq!(
            parse_rfc3339("2026-11-28T11:15:00+01:00"),
            Some(1_795_860_900)
        );
    }
}
