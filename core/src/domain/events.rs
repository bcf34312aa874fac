//! The events of the one event stream (contract §7).

/// Every event name, in the contract's order.
pub const EVENT_NAMES: [&str; 13] = [
    "ticket.created",
    "ticket.updated",
    "ticket.status_changed",
    "ticket.assigned",
    "ticket.priority_changed",
    "ticket.tag_added",
    "ticket.tag_removed",
    "ticket.deleted",
    "reply.created",
    "note.created",
    "sla.warning",
    "sla.breached",
    "macro.applied",
];
