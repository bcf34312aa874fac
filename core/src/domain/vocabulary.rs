//! The value names the contract fixes for tickets (§6), for the modules that only need to check
//! a name (macro actions, SLA hour maps). The ticket module gives them behaviour; it must parse
//! exactly these strings.

pub const STATUSES: [&str; 8] = [
    "open",
    "in_progress",
    "waiting_on_customer",
    "waiting_on_agent",
    "escalated",
    "resolved",
    "closed",
    "reopened",
];

/// In severity order, lowest first.
pub const PRIORITIES: [&str; 5] = ["low", "medium", "high", "urgent", "critical"];

pub const TICKET_TYPES: [&str; 4] = ["question", "problem", "incident", "task"];
