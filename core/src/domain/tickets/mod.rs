//! Tickets: the rules of their life (status machine, priorities, SLA clock, tags, followers,
//! assignment, the conversation) and the read model the API shows.

pub mod activity;
pub mod create;
pub mod dashboard;
pub mod editing;
pub mod feed;
pub mod housekeeping;
pub mod list;
pub mod operations;
pub mod priority;
pub mod rules;
pub mod script_view;
pub mod search;
pub mod sla;
pub mod status;
pub mod ticket;
pub mod view;

pub use priority::{Priority, TicketType};
pub use rules::TicketRules;
pub use status::Status;
pub use ticket::Ticket;

pub use super::roles::Actor;

/// Longest subject, in characters.
pub const MAX_SUBJECT: usize = 255;
/// Longest description or reply body, in characters.
pub const MAX_BODY: usize = 65_535;
/// Most tags in one request.
pub const MAX_TAGS: usize = 50;
