//! The ticket and the acting user as a script sees them (`ticket`, `user`; documented in
//! docs/scripting.md): JSON the runtime turns into Rhai maps (`scripting::values::to_map`).

use serde_json::{Value, json};

use super::{Actor, TicketRules, view::TicketView};
use crate::time::Timestamp;

/// Whole hours from `from` to `now` (never negative); `null` without a start.
fn hours_since(from: Option<Timestamp>, now: Timestamp) -> Value {
    from.map_or(Value::Null, |at| json!((now - at).max(0) / 3600))
}

/// The ticket as scripts see it, at the moment `now`, under `rules`.
pub fn ticket(view: &TicketView, rules: &TicketRules, now: Timestamp) -> Value {
    let t = &view.ticket;
    let (replies, notes) = view.conversation.as_ref().map_or((0, 0), |c| {
        let notes = c.replies.iter().filter(|r| r.is_internal_note).count();
        (c.replies.len() - notes, notes)
    });
    let assignee = t.assignee.as_ref().map_or(
        Value::Null,
        |a| json!({"id": a.id, "name": a.name, "email": a.email}),
    );
    let department = t
        .department
        .as_ref()
        .map_or(Value::Null, |d| json!({"id": d.id, "name": d.name}));
    let allowed: Vec<&str> = rules
        .transitions(t.status)
        .iter()
        .map(|s| s.as_str())
        .collect();
    json!({
        "id": t.id,
        "reference": t.reference,
        "subject": t.subject,
        "description": t.description.clone().unwrap_or_default(),
        "status": t.status.as_str(),
        "allowed_transitions": allowed,
        "priority": t.priority.as_str(),
        "type": t.ticket_type.as_str(),
        "channel": t.channel,
        "tags": view.tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
        "department": department,
        "assignee": assignee,
        "requester": {"id": t.requester.id, "name": t.requester.name, "email": t.requester.email},
        "sla": {
            "first_response_due_at": t.sla.first_response_due_at,
            "first_response_at": t.sla.first_response_at,
            "first_response_breached": t.sla.first_response_breached,
            "resolution_due_at": t.sla.resolution_due_at,
            "resolution_breached": t.sla.resolution_breached,
        },
        "sla_breached": t.sla_breached,
        "followers_count": view.followers_count,
        "replies_count": replies,
        "notes_count": notes,
        "tags_count": view.tags.len(),
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "age_hours": hours_since(Some(t.created_at), now),
        "hours_since_update": hours_since(Some(t.updated_at), now),
        "hours_since_last_reply": hours_since(t.last_reply_at, now),
        "hours_since_resolved": hours_since(t.resolved_at, now),
    })
}

/// The acting user; the system (scheduled automations) is `{id: 0, name: "system", role: "system"}`.
pub fn user(actor: Option<&Actor>, name: &str, email: &str) -> Value {
    match actor {
        Some(a) => json!({"id": a.user_id, "name": name, "email": email, "role": a.role.as_str()}),
        None => json!({"id": 0, "name": "system", "email": null, "role": "system"}),
    }
}
