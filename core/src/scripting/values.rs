//! What a script sees: `ticket` and `user` as Rhai object maps, built from JSON so the shape
//! is written down once (and documented in docs/scripting.md).

use rhai::{Dynamic, Map};
use serde_json::{Value, json};

use crate::{
    domain::tickets::{Actor, Priority, Status, TicketRules, view::TicketView},
    time::Timestamp,
};

/// JSON to a Rhai value: objects become maps, numbers integers when they are whole.
pub fn to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Dynamic::from(s.clone()),
        Value::Array(items) => Dynamic::from_array(items.iter().map(to_dynamic).collect()),
        Value::Object(_) => Dynamic::from_map(to_map(value)),
    }
}

/// A JSON object to a Rhai map (anything else is an empty map).
pub fn to_map(value: &Value) -> Map {
    value
        .as_object()
        .map(|object| {
            object
                .iter()
                .map(|(k, v)| (k.as_str().into(), to_dynamic(v)))
                .collect()
        })
        .unwrap_or_default()
}

/// Whole hours from `from` to `now` (never negative); `null` without a start.
fn hours_since(from: Option<Timestamp>, now: Timestamp) -> Value {
    from.map_or(Value::Null, |at| json!((now - at).max(0) / 3600))
}

/// The ticket as scripts see it, at the moment `now`, under `rules`.
pub fn ticket(view: &TicketView, rules: &TicketRules, now: Timestamp) -> Value {
    let row = &view.row;
    let (replies, notes) = view.conversation.as_ref().map_or((0, 0), |c| {
        let notes = c.replies.iter().filter(|r| r.is_internal_note != 0).count();
        (c.replies.len() - notes, notes)
    });
    let assignee = row.assignee_id.map_or(
        Value::Null,
        |id| json!({"id": id, "name": row.assignee_name, "email": row.assignee_email}),
    );
    let department = row.department_id.map_or(
        Value::Null,
        |id| json!({"id": id, "name": row.department_name}),
    );
    let allowed: Vec<&str> = Status::parse(&row.status).map_or_else(Vec::new, |status| {
        rules
            .transitions(status)
            .iter()
            .map(|s| s.as_str())
            .collect()
    });
    json!({
        "id": row.id,
        "reference": row.reference,
        "subject": row.subject,
        "description": row.description.clone().unwrap_or_default(),
        "status": row.status,
        "allowed_transitions": allowed,
        "priority": Priority::from_rank(row.priority).as_str(),
        "type": row.ticket_type,
        "channel": row.channel,
        "tags": view.tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
        "department": department,
        "assignee": assignee,
        "requester": {"id": row.requester_id, "name": row.requester_name, "email": row.requester_email},
        "sla": {
            "first_response_due_at": row.first_response_due_at,
            "first_response_at": row.first_response_at,
            "first_response_breached": row.first_response_breached != 0,
            "resolution_due_at": row.resolution_due_at,
            "resolution_breached": row.resolution_breached != 0,
        },
        "sla_breached": row.sla_breached != 0,
        "followers_count": view.followers_count,
        "replies_count": replies,
        "notes_count": notes,
        "tags_count": view.tags.len(),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "age_hours": hours_since(Some(row.created_at), now),
        "hours_since_update": hours_since(Some(row.updated_at), now),
        "hours_since_last_reply": hours_since(row.last_reply_at, now),
        "hours_since_resolved": hours_since(row.resolved_at, now),
    })
}

/// The acting user; the system (scheduled automations) is `{id: 0, name: "system", role: "system"}`.
pub fn user(actor: Option<&Actor>, name: &str, email: &str) -> Value {
    match actor {
        Some(a) => json!({"id": a.user_id, "name": name, "email": email, "role": a.role.as_str()}),
        None => json!({"id": 0, "name": "system", "email": null, "role": "system"}),
    }
}
