//! A ticket as the domain reads it: typed values, converted once from the store's rows. A row
//! that does not convert (a status, priority or type no version of the server writes, history
//! that is not JSON) is an error naming the row, never a quiet default.

use anyhow::anyhow;
use serde_json::Value;

use super::{Priority, Status, TicketType};
use crate::{
    domain::events::TicketSnapshot,
    error::{Error, Result},
    store::{
        activities::ActivityRow,
        keyset::{Position, SortValue},
        replies::ReplyRow,
        ticket_links::TagRef,
        tickets::{SortColumn, TicketRow},
    },
    time::Timestamp,
};

/// A user as a ticket names them (requester, assignee).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub email: String,
}

/// A record named on a ticket (its department, a reply's author, an activity's causer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub id: i64,
    pub name: String,
}

/// A tag on a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub id: i64,
    pub name: String,
    pub color: String,
}

/// The service-level targets of a ticket; all `None` and false without a policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sla {
    pub policy_id: Option<i64>,
    pub first_response_due_at: Option<Timestamp>,
    pub first_response_at: Option<Timestamp>,
    pub first_response_breached: bool,
    pub resolution_due_at: Option<Timestamp>,
    pub resolution_breached: bool,
    /// When the clock stopped (the ticket waits on the customer); `None` while it runs.
    pub paused_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct Ticket {
    pub id: i64,
    pub reference: String,
    pub subject: String,
    /// `None` in lists, which leave the long text out.
    pub description: Option<String>,
    pub status: Status,
    pub priority: Priority,
    pub ticket_type: TicketType,
    pub channel: String,
    pub requester: Person,
    pub assignee: Option<Person>,
    pub department: Option<Named>,
    pub sla: Sla,
    pub sla_breached: bool,
    pub last_reply_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The ticket's version (its ETag) and place in the change feed.
    pub change_seq: i64,
}

impl Ticket {
    /// The ticket's place in a list sorted by `column` (see `store::keyset`): the key as the
    /// column stores it, as `SortColumn::position` reads it from a row.
    pub fn position(&self, column: SortColumn) -> Position {
        let key = match column {
            SortColumn::CreatedAt => SortValue::Int(self.created_at),
            SortColumn::UpdatedAt => SortValue::Int(self.updated_at),
            SortColumn::Priority => SortValue::Int(self.priority.rank()),
            SortColumn::Status => SortValue::Text(self.status.as_str().to_string()),
            SortColumn::Subject => SortValue::Text(self.subject.clone()),
        };
        Position {
            key: Some(key),
            id: self.id,
        }
    }
}

/// A public reply or an internal note.
#[derive(Debug, Clone)]
pub struct Reply {
    pub id: i64,
    pub ticket_id: i64,
    pub body: String,
    pub is_internal_note: bool,
    pub author: Option<Named>,
    pub created_at: Timestamp,
}

/// One entry of a ticket's history.
#[derive(Debug, Clone)]
pub struct Activity {
    pub id: i64,
    pub ticket_id: i64,
    /// `status_changed`, `tag_added`, ... (see `activity::Kind`).
    pub kind: String,
    /// `{old, new}` for a change of one value, `{tag: {id, name}}` for tags.
    pub properties: Value,
    pub causer: Option<Named>,
    pub created_at: Timestamp,
}

/// The error of a row that does not convert: a server error, with the row named in the log.
fn unreadable(what: &str, id: i64, value: &dyn std::fmt::Debug) -> Error {
    Error::Internal(anyhow!("{what} {id}: stored value {value:?} is not valid"))
}

fn named(id: Option<i64>, name: Option<String>) -> Option<Named> {
    // A name comes from a LEFT JOIN beside its id; the id alone decides presence.
    id.map(|id| Named {
        id,
        name: name.unwrap_or_default(),
    })
}

/// The status and priority of a ticket row, or the error of a value no version writes.
pub fn typed_state(r: &TicketRow) -> Result<(Status, Priority)> {
    let status = Status::parse(&r.status).ok_or_else(|| unreadable("ticket", r.id, &r.status))?;
    let priority =
        Priority::of_rank(r.priority).ok_or_else(|| unreadable("ticket", r.id, &r.priority))?;
    Ok((status, priority))
}

impl TryFrom<TicketRow> for Ticket {
    type Error = Error;

    fn try_from(r: TicketRow) -> Result<Ticket> {
        let (status, priority) = typed_state(&r)?;
        let ticket_type = TicketType::parse(&r.ticket_type)
            .ok_or_else(|| unreadable("ticket", r.id, &r.ticket_type))?;
        Ok(Ticket {
            id: r.id,
            reference: r.reference,
            subject: r.subject,
            description: r.description,
            status,
            priority,
            ticket_type,
            channel: r.channel,
            requester: Person {
                id: r.requester_id,
                name: r.requester_name,
                email: r.requester_email,
            },
            assignee: r.assignee_id.map(|id| Person {
                id,
                name: r.assignee_name.unwrap_or_default(),
                email: r.assignee_email.unwrap_or_default(),
            }),
            department: named(r.department_id, r.department_name),
            sla: Sla {
                policy_id: r.sla_policy_id,
                first_response_due_at: r.first_response_due_at,
                first_response_at: r.first_response_at,
                first_response_breached: r.first_response_breached != 0,
                resolution_due_at: r.resolution_due_at,
                resolution_breached: r.resolution_breached != 0,
                paused_at: r.sla_paused_at,
            },
            sla_breached: r.sla_breached != 0,
            last_reply_at: r.last_reply_at,
            resolved_at: r.resolved_at,
            closed_at: r.closed_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            change_seq: r.change_seq,
        })
    }
}

impl From<TagRef> for Label {
    fn from(t: TagRef) -> Label {
        Label {
            id: t.id,
            name: t.name,
            color: t.color,
        }
    }
}

impl From<ReplyRow> for Reply {
    fn from(r: ReplyRow) -> Reply {
        Reply {
            id: r.id,
            ticket_id: r.ticket_id,
            body: r.body,
            is_internal_note: r.is_internal_note != 0,
            author: named(r.author_id, r.author_name),
            created_at: r.created_at,
        }
    }
}

impl TryFrom<ActivityRow> for Activity {
    type Error = Error;

    fn try_from(a: ActivityRow) -> Result<Activity> {
        let properties = serde_json::from_str(&a.properties)
            .map_err(|_| unreadable("activity", a.id, &a.properties))?;
        Ok(Activity {
            id: a.id,
            ticket_id: a.ticket_id,
            kind: a.kind,
            properties,
            causer: named(a.causer_id, a.causer_name),
            created_at: a.created_at,
        })
    }
}

/// What a ticket event says about the ticket of this row.
impl<'a> From<&'a TicketRow> for TicketSnapshot<'a> {
    fn from(row: &'a TicketRow) -> Self {
        TicketSnapshot {
            id: row.id,
            reference: &row.reference,
            subject: &row.subject,
            status: &row.status,
            priority: Priority::from_rank(row.priority).as_str(),
            ticket_type: &row.ticket_type,
            requester_id: row.requester_id,
            assignee_id: row.assignee_id,
            department_id: row.department_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> TicketRow {
        TicketRow {
            id: 7,
            reference: "ESC-00007".into(),
            subject: "Printer".into(),
            description: None,
            status: "open".into(),
            priority: 1,
            ticket_type: "question".into(),
            channel: "api".into(),
            requester_id: 1,
            requester_name: "Ann".into(),
            requester_email: "ann@example.com".into(),
            assignee_id: None,
            assignee_name: None,
            assignee_email: None,
            department_id: None,
            department_name: None,
            sla_policy_id: None,
            first_response_due_at: None,
            first_response_at: None,
            first_response_breached: 1,
            resolution_due_at: None,
            resolution_breached: 0,
            sla_breached: 1,
            sla_paused_at: None,
            sla_paused_seconds: 0,
            last_reply_at: None,
            resolved_at: None,
            closed_at: None,
            created_at: 10,
            updated_at: 20,
            change_seq: 3,
            deleted_at: None,
        }
    }

    #[test]
    fn a_row_becomes_typed_values() {
        let t = Ticket::try_from(row()).unwrap();
        assert_eq!(
            (t.status, t.priority, t.ticket_type),
            (Status::Open, Priority::Low, TicketType::Question)
        );
        assert!(t.sla.first_response_breached && t.sla_breached && !t.sla.resolution_breached);
    }

    #[test]
    fn a_row_that_does_not_convert_is_an_error_not_a_default() {
        let status = TicketRow {
            status: "pending-ish".into(),
            ..row()
        };
        let priority = TicketRow {
            priority: 9,
            ..row()
        };
        let kind = TicketRow {
            ticket_type: "riddle".into(),
            ..row()
        };
        for bad in [status, priority, kind] {
            assert!(matches!(Ticket::try_from(bad), Err(Error::Internal(_))));
        }
    }
}
