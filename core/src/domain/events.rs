//! The events of the one event stream (contract §7): written to the outbox inside the
//! transaction of the change they describe, and read from there by the live stream, webhooks,
//! plugins and automations.

use serde_json::{Value, json};

/// An event of the outbox, as the domain hands it out.
pub use crate::store::events::EventRow;
use crate::{
    error::Result,
    store::{Tx, events},
    time::{self, Timestamp},
};

/// Every event name: the contract's (§7), then those of email (§9.7).
pub const EVENT_NAMES: [&str; 16] = [
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
    "email.received",
    "email.sent",
    "email.failed",
];

pub fn is_event_name(name: &str) -> bool {
    EVENT_NAMES.contains(&name)
}

/// What every ticket event carries about its ticket.
#[derive(Debug, Clone, Copy)]
pub struct TicketSnapshot<'a> {
    pub id: i64,
    pub reference: &'a str,
    pub subject: &'a str,
    pub status: &'a str,
    /// The priority's name (`low` ... `urgent`).
    pub priority: &'static str,
    pub ticket_type: &'a str,
    pub requester_id: i64,
    pub assignee_id: Option<i64>,
    pub department_id: Option<i64>,
}

impl TicketSnapshot<'_> {
    fn to_json(self) -> Value {
        json!({
            "id": self.id,
            "reference": self.reference,
            "subject": self.subject,
            "status": self.status,
            "priority": self.priority,
            "ticket_type": self.ticket_type,
            "requester_id": self.requester_id,
            "assignee_id": self.assignee_id,
            "department_id": self.department_id,
        })
    }
}

/// Queues an event about `ticket` for the outbox of `tx`; `extra` fields join `ticket` in
/// `data`. It is written, and so published, only if the transaction commits.
pub fn record<'a>(
    tx: &mut Tx,
    name: &'static str,
    ticket: impl Into<TicketSnapshot<'a>>,
    extra: Value,
    now: Timestamp,
) {
    record_maybe_about(tx, name, Some(ticket.into()), extra, now);
}

/// [`record`] for an event that may concern no ticket (a message ignored, a notification
/// about a ticket deleted since): `data` holds `ticket` only when there is one.
pub fn record_maybe_about(
    tx: &mut Tx,
    name: &'static str,
    ticket: Option<TicketSnapshot<'_>>,
    extra: Value,
    now: Timestamp,
) {
    debug_assert!(is_event_name(name), "unknown event {name}");
    let mut data = match ticket {
        Some(ticket) => json!({ "ticket": ticket.to_json() }),
        None => json!({}),
    };
    if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), extra) {
        data.extend(extra);
    }
    tx.push_event(events::NewEvent {
        kind: name,
        ticket_id: ticket.map(|t| t.id),
        payload: data.to_string(),
        created_at: now,
    });
}

/// The JSON an event is delivered as, on the stream and to webhooks: `{id, type, created_at, data}`.
pub fn envelope(row: &events::EventRow) -> Value {
    json!({
        "id": row.id,
        "type": row.kind,
        "created_at": time::rfc3339(row.created_at),
        "data": serde_json::from_str::<Value>(&row.payload).unwrap_or(Value::Null),
    })
}

/// Up to `limit` events of the outbox after the id `last_id`, in id order: where a follower
/// catches up.
pub async fn after(
    conn: &mut sqlx::AnyConnection,
    last_id: i64,
    limit: i64,
) -> Result<Vec<EventRow>> {
    events::after(conn, last_id, limit).await
}
