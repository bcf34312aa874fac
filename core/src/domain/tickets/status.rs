//! The status state machine (contract §6). A same-status change is not a transition.

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    poem_openapi::Enum,
)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Status {
    Open,
    InProgress,
    WaitingOnCustomer,
    WaitingOnAgent,
    Escalated,
    Resolved,
    Closed,
    Reopened,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Open,
        Status::InProgress,
        Status::WaitingOnCustomer,
        Status::WaitingOnAgent,
        Status::Escalated,
        Status::Resolved,
        Status::Closed,
        Status::Reopened,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in_progress",
            Status::WaitingOnCustomer => "waiting_on_customer",
            Status::WaitingOnAgent => "waiting_on_agent",
            Status::Escalated => "escalated",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Reopened => "reopened",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "Open",
            Status::InProgress => "In Progress",
            Status::WaitingOnCustomer => "Waiting on Customer",
            Status::WaitingOnAgent => "Waiting on Agent",
            Status::Escalated => "Escalated",
            Status::Resolved => "Resolved",
            Status::Closed => "Closed",
            Status::Reopened => "Reopened",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Resolved and closed tickets are done; every other status counts as open work.
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }

    /// The table of contract §6 (what [`super::TicketRules`] starts from).
    pub(super) fn contract_transitions(self) -> &'static [Status] {
        use Status::*;
        match self {
            Open => &[
                InProgress,
                WaitingOnCustomer,
                WaitingOnAgent,
                Escalated,
                Resolved,
                Closed,
            ],
            InProgress => &[
                WaitingOnCustomer,
                WaitingOnAgent,
                Escalated,
                Resolved,
                Closed,
            ],
            WaitingOnCustomer => &[Open, InProgress, Resolved, Closed],
            WaitingOnAgent => &[Open, InProgress, Escalated, Resolved, Closed],
            Escalated => &[InProgress, Resolved, Closed],
            Resolved => &[Reopened, Closed],
            Closed => &[Reopened],
            Reopened => &[
                InProgress,
                WaitingOnCustomer,
                WaitingOnAgent,
                Escalated,
                Resolved,
                Closed,
            ],
        }
    }
}

/// Checks a `tickets.transitions` table; `Err` names the offending key and why.
pub fn parse_table(
    table: &BTreeMap<String, Vec<String>>,
) -> Result<HashMap<Status, Vec<Status>>, (String, String)> {
    let names = || Status::ALL.map(Status::as_str).join(", ");
    let mut parsed = HashMap::new();
    for (from, to) in table {
        let key = format!("tickets.transitions.{from}");
        let from_status = Status::parse(from)
            .ok_or_else(|| (key.clone(), format!("unknown status; known: {}", names())))?;
        let mut targets = Vec::new();
        for name in to {
            let status = Status::parse(name).ok_or_else(|| {
                (
                    key.clone(),
                    format!("unknown status {name:?}; known: {}", names()),
                )
            })?;
            if status == from_status {
                return Err((key, "a status cannot transition to itself".into()));
            }
            if !targets.contains(&status) {
                targets.push(status);
            }
        }
        parsed.insert(from_status, targets);
    }
    Ok(parsed)
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }
}
