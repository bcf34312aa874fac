//! The activity log: every change to a ticket writes one entry with its old and new values.

use serde_json::{Value, json};

use super::Actor;
use crate::{
    store::{Tx, activities},
    time::Timestamp,
};

/// The kinds of entry, as clients see them in `activities[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Created,
    StatusChanged,
    PriorityChanged,
    TypeChanged,
    Assigned,
    Unassigned,
    DepartmentChanged,
    TagAdded,
    TagRemoved,
    Replied,
    NoteAdded,
    MacroApplied,
    /// A custom ticket action ran (`action_run`); its changes have their own entries.
    ActionRun,
    /// An automation applied changes (`automation_applied`).
    AutomationApplied,
    SlaBreached,
    Deleted,
    /// An email made this ticket or reply (`email_received`): its Message-ID, sender and
    /// attachments.
    EmailReceived,
}

impl Kind {
    /// The event of the stream (contract §7) this change emits, if any.
    pub fn event(self) -> Option<&'static str> {
        Some(match self {
            Kind::Created => "ticket.created",
            Kind::StatusChanged => "ticket.status_changed",
            Kind::PriorityChanged => "ticket.priority_changed",
            Kind::Assigned | Kind::Unassigned => "ticket.assigned",
            Kind::TagAdded => "ticket.tag_added",
            Kind::TagRemoved => "ticket.tag_removed",
            Kind::Replied => "reply.created",
            Kind::NoteAdded => "note.created",
            Kind::MacroApplied => "macro.applied",
            Kind::SlaBreached => "sla.breached",
            Kind::Deleted => "ticket.deleted",
            Kind::TypeChanged
            | Kind::DepartmentChanged
            | Kind::ActionRun
            | Kind::AutomationApplied
            | Kind::EmailReceived => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Created => "created",
            Kind::StatusChanged => "status_changed",
            Kind::PriorityChanged => "priority_changed",
            Kind::TypeChanged => "type_changed",
            Kind::Assigned => "assigned",
            Kind::Unassigned => "unassigned",
            Kind::DepartmentChanged => "department_changed",
            Kind::TagAdded => "tag_added",
            Kind::TagRemoved => "tag_removed",
            Kind::Replied => "replied",
            Kind::NoteAdded => "note_added",
            Kind::MacroApplied => "macro_applied",
            Kind::ActionRun => "action_run",
            Kind::AutomationApplied => "automation_applied",
            Kind::SlaBreached => "sla_breached",
            Kind::Deleted => "deleted",
            Kind::EmailReceived => "email_received",
        }
    }
}

/// `{old, new}` for a change of one value.
pub fn change(old: impl Into<Value>, new: impl Into<Value>) -> Value {
    json!({ "old": old.into(), "new": new.into() })
}

/// Queues the history row of a change; it is written when `tx` commits.
pub fn record(
    tx: &mut Tx,
    ticket_id: i64,
    actor: Option<&Actor>,
    kind: Kind,
    properties: Value,
    now: Timestamp,
) {
    tx.push_activity(activities::NewActivity {
        ticket_id,
        causer_id: actor.map(|a| a.user_id),
        kind: kind.as_str(),
        properties: properties.to_string(),
        created_at: now,
    });
}
