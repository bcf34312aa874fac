//! Priorities, ordered by severity, and ticket types.

use std::fmt;

#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    poem_openapi::Enum,
)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Medium,
    High,
    Urgent,
    Critical,
}

impl Priority {
    pub const ALL: [Priority; 5] = [
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Urgent,
        Priority::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Urgent => "urgent",
            Priority::Critical => "critical",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Priority::Low => "Low",
            Priority::Medium => "Medium",
            Priority::High => "High",
            Priority::Urgent => "Urgent",
            Priority::Critical => "Critical",
        }
    }

    /// Stored as this rank, so that sorting by priority sorts by severity.
    pub fn rank(self) -> i64 {
        self as i64 + 1
    }

    pub fn from_rank(rank: i64) -> Priority {
        Priority::ALL[(rank.clamp(1, 5) - 1) as usize]
    }

    /// The priority of a stored rank; `None` for a rank no priority has.
    pub fn of_rank(rank: i64) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.rank() == rank)
    }

    pub fn parse(text: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
    poem_openapi::Enum,
)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum TicketType {
    #[default]
    Question,
    Problem,
    Incident,
    Task,
}

impl TicketType {
    pub const ALL: [TicketType; 4] = [
        TicketType::Question,
        TicketType::Problem,
        TicketType::Incident,
        TicketType::Task,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketType::Question => "question",
            TicketType::Problem => "problem",
            TicketType::Incident => "incident",
            TicketType::Task => "task",
        }
    }

    pub fn parse(text: &str) -> Option<TicketType> {
        TicketType::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_follow_severity() {
        for p in Priority::ALL {
            assert_eq!(Priority::from_rank(p.rank()), p);
        }
        assert!(Priority::Critical.rank() > Priority::Urgent.rank());
    }
}
