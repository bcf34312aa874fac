//! Counting time in business hours: the open intervals of a [`BusinessHours`] schedule, as Unix
//! times, walked day by day in the schedule's own timezone (chrono-tz does the tz rules, DST
//! included). Holidays are dates in that timezone.

use chrono::{Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

use super::business_hours::BusinessHours;
use crate::time::Timestamp;

/// How far ahead a search for open time goes. A schedule opens at least one day a week and has
/// at most 366 holidays, so open time always comes well within this; it only stops a runaway.
const MAX_DAYS: u64 = 366 * 4;

/// `seconds` of open time after `start`: the moment an SLA clock started at `start` runs out.
/// Starting outside opening hours counts from the next opening.
pub fn add_business_time(start: Timestamp, seconds: i64, hours: &BusinessHours) -> Timestamp {
    let mut left = seconds.max(0);
    if left == 0 {
        return start;
    }
    let mut last_close = start;
    for (open, close) in open_intervals(start, hours) {
        if close - open >= left {
            return open + left;
        }
        left -= close - open;
        last_close = close;
    }
    // Unreachable for a valid schedule; keep counting in calendar time rather than fail.
    last_close + left
}

/// The open time, in seconds, between `from` and `to`.
pub fn business_seconds_between(from: Timestamp, to: Timestamp, hours: &BusinessHours) -> i64 {
    let mut total = 0;
    for (open, close) in open_intervals(from, hours) {
        if open >= to {
            break;
        }
        total += close.min(to) - open;
    }
    total
}

/// The open intervals `[open, close)` from `from` on, in order, the first cut to start at `from`.
fn open_intervals(
    from: Timestamp,
    hours: &BusinessHours,
) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
    let tz = hours.timezone;
    let first_day = tz
        .timestamp_opt(from, 0)
        .single()
        .map(|t| t.date_naive())
        .unwrap_or_default();
    (0..MAX_DAYS)
        .filter_map(move |n| first_day.checked_add_days(Days::new(n)))
        .filter(move |day| !hours.holidays.contains(day))
        .filter_map(move |day| {
            let open = hours.schedule.iter().find(|h| h.day == day.weekday())?;
            let start = instant(tz, day, open.open, Edge::Opening);
            let end = instant(tz, day, open.close, Edge::Closing);
            Some((start.max(from), end))
        })
        .filter(|(start, end)| start < end)
}

#[derive(Clone, Copy)]
enum Edge {
    Opening,
    Closing,
}

/// The Unix time of `minutes` after midnight on `day` in `tz` (1440 is the next midnight). A
/// wall time repeated when clocks go back opens at its first and closes at its second
/// occurrence, so the open hours include the repeated hour; a wall time skipped when clocks go
/// forward is taken as the moment the clocks jump.
fn instant(tz: Tz, day: NaiveDate, minutes: u32, edge: Edge) -> Timestamp {
    let midnight = NaiveDateTime::new(day, NaiveTime::MIN);
    let wall = midnight + chrono::Duration::minutes(i64::from(minutes));
    // Gaps last at most a few hours; the first wall minute after one is the jump itself.
    for skipped in 0..=24 * 60 {
        let probe = wall + chrono::Duration::minutes(skipped);
        match (tz.from_local_datetime(&probe), edge) {
            (LocalResult::Single(t), _) => return t.timestamp(),
            (LocalResult::Ambiguous(first, _), Edge::Opening) => return first.timestamp(),
            (LocalResult::Ambiguous(_, second), Edge::Closing) => return second.timestamp(),
            (LocalResult::None, _) => {}
        }
    }
    wall.and_utc().timestamp()
}

#[cfg(test)]
mod tests {
    use chrono::Weekday;
    use chrono_tz::Tz;

    use super::*;
    use crate::{
        domain::business_hours::OpenHours,
        time::{parse_rfc3339, rfc3339},
    };

    const HOUR: i64 = 3600;

    /// Monday to Friday, 09:00 to 17:00.
    fn office(tz: Tz, holidays: &[&str]) -> BusinessHours {
        use Weekday::*;
        BusinessHours {
            timezone: tz,
            schedule: [Mon, Tue, Wed, Thu, Fri]
                .into_iter()
                .map(|day| OpenHours {
                    day,
                    open: 9 * 60,
                    close: 17 * 60,
                })
                .collect(),
            holidays: holidays.iter().map(|d| d.parse().unwrap()).collect(),
        }
    }

    fn at(text: &str) -> Timestamp {
        parse_rfc3339(text).unwrap()
    }

    fn add(start: &str, seconds: i64, hours: &BusinessHours) -> String {
        rfc3339(add_business_time(at(start), seconds, hours))
    }

    #[test]
    fn inside_hours_counts_from_now() {
        let utc = office(Tz::UTC, &[]);
        // Monday 10:00 + 4h = Monday 14:00.
        assert_eq!(
            add("2026-03-02T10:00:00Z", 4 * HOUR, &utc),
            "2026-03-02T14:00:00Z"
        );
        // Running out exactly at closing is due at closing.
        assert_eq!(
            add("2026-03-02T10:00:00Z", 7 * HOUR, &utc),
            "2026-03-02T17:00:00Z"
        );
        // Fractional hours: 1.5 h.
        assert_eq!(
            add("2026-03-02T16:00:00Z", 5400, &utc),
            "2026-03-03T09:30:00Z"
        );
    }

    #[test]
    fn outside_hours_counts_from_the_next_opening() {
        let utc = office(Tz::UTC, &[]);
        // Tuesday 06:00 and 20:00.
        assert_eq!(
            add("2026-03-03T06:00:00Z", 2 * HOUR, &utc),
            "2026-03-03T11:00:00Z"
        );
        assert_eq!(
            add("2026-03-03T20:00:00Z", 2 * HOUR, &utc),
            "2026-03-04T11:00:00Z"
        );
    }

    #[test]
    fn skips_the_weekend() {
        let utc = office(Tz::UTC, &[]);
        // Friday 15:00 + 4h: 2h on Friday, 2h on Monday.
        assert_eq!(
            add("2026-03-06T15:00:00Z", 4 * HOUR, &utc),
            "2026-03-09T11:00:00Z"
        );
        // Saturday: nothing until Monday 09:00.
        assert_eq!(
            add("2026-03-07T12:00:00Z", HOUR, &utc),
            "2026-03-09T10:00:00Z"
        );
    }

    #[test]
    fn skips_holidays() {
        // Friday 2026-12-25 is a holiday: Thursday 16:00 + 2h ends Monday 10:00.
        let utc = office(Tz::UTC, &["2026-12-25"]);
        assert_eq!(
            add("2026-12-24T16:00:00Z", 2 * HOUR, &utc),
            "2026-12-28T10:00:00Z"
        );
    }

    #[test]
    fn counts_in_the_policy_timezone() {
        // Tokyo is UTC+9: 09:00-17:00 there is 00:00-08:00 UTC.
        let tokyo = office(chrono_tz::Asia::Tokyo, &[]);
        // Monday 07:00 UTC is 16:00 in Tokyo: 1h today, 3h on Tuesday from 00:00 UTC.
        assert_eq!(
            add("2026-03-02T07:00:00Z", 4 * HOUR, &tokyo),
            "2026-03-03T03:00:00Z"
        );
        // Friday 23:00 UTC is already Saturday in Tokyo: next opening is Monday 00:00 UTC.
        assert_eq!(
            add("2026-03-06T23:00:00Z", HOUR, &tokyo),
            "2026-03-09T01:00:00Z"
        );
        // A holiday is a date in Tokyo: Monday there (Sunday 15:00 UTC onwards) is closed.
        let tokyo = office(chrono_tz::Asia::Tokyo, &["2026-03-09"]);
        assert_eq!(
            add("2026-03-06T23:00:00Z", HOUR, &tokyo),
            "2026-03-10T01:00:00Z"
        );
    }

    #[test]
    fn follows_daylight_saving_changes() {
        let paris = office(chrono_tz::Europe::Paris, &[]);
        // Friday 2026-03-27 16:00 in Paris is 15:00 UTC (CET, +1). Clocks go forward on Sunday
        // the 29th, so Monday 09:00 in Paris is 07:00 UTC (CEST, +2).
        assert_eq!(
            add("2026-03-27T15:00:00Z", 2 * HOUR, &paris),
            "2026-03-30T08:00:00Z"
        );
        // And back on Sunday 2026-10-25: Friday is +2, Monday +1.
        assert_eq!(
            add("2026-10-23T14:00:00Z", 2 * HOUR, &paris),
            "2026-10-26T09:00:00Z"
        );
    }

    #[test]
    fn a_day_open_across_the_jump_is_an_hour_shorter() {
        // Open every day 00:00-24:00 in Paris; the spring-forward Sunday has 23 hours.
        let always = BusinessHours {
            timezone: chrono_tz::Europe::Paris,
            schedule: [Weekday::Sun]
                .into_iter()
                .map(|day| OpenHours {
                    day,
                    open: 0,
                    close: 24 * 60,
                })
                .collect(),
            holidays: Vec::new(),
        };
        // Sunday 2026-03-29 00:00 Paris = Saturday 23:00 UTC; the next midnight is 22:00 UTC.
        let sunday = at("2026-03-28T23:00:00Z");
        assert_eq!(
            business_seconds_between(sunday, sunday + 48 * HOUR, &always),
            23 * HOUR
        );
    }

    #[test]
    fn measures_open_time_between_two_moments() {
        let utc = office(Tz::UTC, &[]);
        // Friday 16:00 to Monday 10:00: 1h + 1h.
        let seconds =
            business_seconds_between(at("2026-03-06T16:00:00Z"), at("2026-03-09T10:00:00Z"), &utc);
        assert_eq!(seconds, 2 * HOUR);
        // Nothing open on a Sunday.
        let sunday = at("2026-03-08T10:00:00Z");
        assert_eq!(business_seconds_between(sunday, sunday + HOUR, &utc), 0);
    }
}
