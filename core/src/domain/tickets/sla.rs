//! The SLA clock: due times from a policy's hours per priority, counted in calendar time or in
//! the policy's business hours, and the pause while a ticket waits on the customer.

use std::collections::HashMap;

use super::Priority;
use crate::{
    domain::{business_hours::BusinessHours, business_time},
    store::{ticket_links::SlaPolicyRef, tickets::TicketRow},
    time::Timestamp,
};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Targets {
    pub first_response_due_at: Option<Timestamp>,
    pub resolution_due_at: Option<Timestamp>,
}

/// How a policy counts time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clock {
    Calendar,
    Business(BusinessHours),
}

impl Clock {
    /// The policy's clock. Stored business hours were checked when saved; should they no longer
    /// read back, the clock falls back to calendar time (and says so in the log) rather than
    /// leave tickets without due times.
    pub fn of(policy: &SlaPolicyRef) -> Clock {
        match policy
            .business_hours
            .as_deref()
            .map(BusinessHours::from_stored)
        {
            None => Clock::Calendar,
            Some(Ok(hours)) => Clock::Business(hours),
            Some(Err(err)) => {
                tracing::warn!(policy = policy.id, %err, "counting SLA time in calendar hours");
                Clock::Calendar
            }
        }
    }

    /// The moment `seconds` of clock time after `start`.
    pub fn add(&self, start: Timestamp, seconds: i64) -> Timestamp {
        match self {
            Clock::Calendar => start + seconds,
            Clock::Business(hours) => business_time::add_business_time(start, seconds, hours),
        }
    }

    /// Clock time between `from` and `to`.
    pub fn elapsed(&self, from: Timestamp, to: Timestamp) -> i64 {
        match self {
            Clock::Calendar => (to - from).max(0),
            Clock::Business(hours) => business_time::business_seconds_between(from, to, hours),
        }
    }
}

fn seconds_for(map_json: &str, priority: Priority) -> Option<i64> {
    let map: HashMap<String, f64> = serde_json::from_str(map_json).ok()?;
    map.get(priority.as_str())
        .copied()
        .filter(|h| *h > 0.0)
        .map(|h| (h * 3600.0).round() as i64)
}

/// Due times for a ticket of `priority` opened at `opened_at` under `policy`, whose clock has
/// already been paused for `paused_seconds` (of the policy's clock time).
pub fn targets(
    policy: &SlaPolicyRef,
    priority: Priority,
    opened_at: Timestamp,
    paused_seconds: i64,
) -> Targets {
    let clock = Clock::of(policy);
    let due =
        |map: &str| seconds_for(map, priority).map(|s| clock.add(opened_at, s + paused_seconds));
    Targets {
        first_response_due_at: due(&policy.first_response_hours),
        resolution_due_at: due(&policy.resolution_hours),
    }
}

/// Stops the clock at `now` (the ticket now waits on the customer). A ticket without a policy
/// has no clock to stop; a stopped clock stays stopped from its first stop.
pub fn pause(row: &mut TicketRow, now: Timestamp) {
    if row.sla_policy_id.is_some() && row.sla_paused_at.is_none() {
        row.sla_paused_at = Some(now);
    }
}

/// Restarts a stopped clock at `now`: the targets still running (not met, not breached) fall
/// due later by the clock time of the pause, and the pause is added to the ticket's total.
pub fn resume(row: &mut TicketRow, clock: &Clock, now: Timestamp) {
    let Some(paused_at) = row.sla_paused_at.take() else {
        return;
    };
    let paused = clock.elapsed(paused_at, now);
    row.sla_paused_seconds += paused;
    if row.first_response_at.is_none() && row.first_response_breached == 0 {
        row.first_response_due_at = row.first_response_due_at.map(|d| clock.add(d, paused));
    }
    if row.resolved_at.is_none() && row.resolution_breached == 0 {
        row.resolution_due_at = row.resolution_due_at.map(|d| clock.add(d, paused));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{parse_rfc3339, rfc3339};

    fn policy(business_hours: Option<&str>) -> SlaPolicyRef {
        SlaPolicyRef {
            id: 1,
            is_active: 1,
            first_response_hours: r#"{"low":24,"medium":8,"high":4,"urgent":2,"critical":0.5}"#
                .into(),
            resolution_hours: r#"{"low":72,"medium":48,"high":24,"urgent":8,"critical":4}"#.into(),
            business_hours: business_hours.map(str::to_string),
        }
    }

    const OFFICE: &str = r#"{"timezone":"UTC","schedule":{"monday":["09:00","17:00"],
        "tuesday":["09:00","17:00"],"wednesday":["09:00","17:00"],"thursday":["09:00","17:00"],
        "friday":["09:00","17:00"]},"holidays":[]}"#;

    fn at(text: &str) -> Timestamp {
        parse_rfc3339(text).unwrap()
    }

    #[test]
    fn calendar_hours_from_opening() {
        let t = targets(&policy(None), Priority::High, 1_000, 0);
        assert_eq!(t.first_response_due_at, Some(1_000 + 4 * 3600));
        assert_eq!(t.resolution_due_at, Some(1_000 + 24 * 3600));
    }

    #[test]
    fn fractional_hours() {
        let t = targets(&policy(None), Priority::Critical, 0, 0);
        assert_eq!(t.first_response_due_at, Some(1800));
    }

    #[test]
    fn business_hours_when_the_policy_has_them() {
        // Friday 15:00 UTC, high: 4 business hours is Monday 11:00; 24 is Wednesday 15:00.
        let t = targets(
            &policy(Some(OFFICE)),
            Priority::High,
            at("2026-03-06T15:00:00Z"),
            0,
        );
        assert_eq!(
            t.first_response_due_at.map(rfc3339).as_deref(),
            Some("2026-03-09T11:00:00Z")
        );
        assert_eq!(
            t.resolution_due_at.map(rfc3339).as_deref(),
            Some("2026-03-11T15:00:00Z")
        );
        // An hour already paused moves both an hour of open time later.
        let t = targets(
            &policy(Some(OFFICE)),
            Priority::High,
            at("2026-03-06T15:00:00Z"),
            3600,
        );
        assert_eq!(
            t.first_response_due_at.map(rfc3339).as_deref(),
            Some("2026-03-09T12:00:00Z")
        );
    }

    #[test]
    fn unreadable_business_hours_count_calendar_time() {
        let t = targets(&policy(Some("{}")), Priority::High, 0, 0);
        assert_eq!(t.first_response_due_at, Some(4 * 3600));
    }
}
