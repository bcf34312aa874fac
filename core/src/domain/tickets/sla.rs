//! The SLA clock: due times from a policy's hours per priority.
//!
//! Hours are counted in calendar time here; business-hours schedules are stored with the
//! policy and applied by the SLA engine (issue 6).

use std::collections::HashMap;

use super::Priority;
use crate::{store::ticket_links::SlaPolicyRef, time::Timestamp};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Targets {
    pub first_response_due_at: Option<Timestamp>,
    pub resolution_due_at: Option<Timestamp>,
}

fn hours_for(map_json: &str, priority: Priority) -> Option<f64> {
    let map: HashMap<String, f64> = serde_json::from_str(map_json).ok()?;
    map.get(priority.as_str()).copied().filter(|h| *h > 0.0)
}

fn after(start: Timestamp, hours: f64) -> Timestamp {
    start + (hours * 3600.0).round() as i64
}

/// Due times for a ticket of `priority` opened at `opened_at` under `policy`.
pub fn targets(policy: &SlaPolicyRef, priority: Priority, opened_at: Timestamp) -> Targets {
    Targets {
        first_response_due_at: hours_for(&policy.first_response_hours, priority)
            .map(|h| after(opened_at, h)),
        resolution_due_at: hours_for(&policy.resolution_hours, priority)
            .map(|h| after(opened_at, h)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standard() -> SlaPolicyRef {
        SlaPolicyRef {
            id: 1,
            is_active: 1,
            first_response_hours: r#"{"low":24,"medium":8,"high":4,"urgent":2,"critical":0.5}"#
                .into(),
            resolution_hours: r#"{"low":72,"medium":48,"high":24,"urgent":8,"critical":4}"#.into(),
            business_hours: None,
        }
    }

    #[test]
    fn calendar_hours_from_opening() {
        let t = targets(&standard(), Priority::High, 1_000);
        assert_eq!(t.first_response_due_at, Some(1_000 + 4 * 3600));
        assert_eq!(t.resolution_due_at, Some(1_000 + 24 * 3600));
    }

    #[test]
    fn fractional_hours() {
        let t = targets(&standard(), Priority::Critical, 0);
        assert_eq!(t.first_response_due_at, Some(1800));
    }
}
