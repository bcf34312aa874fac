//! How tickets look on the wire (contract §5: the ticket object, replies, activities).

use poem_openapi::{Object, types::ToJSON};
use serde_json::Value;

use super::attachments::Attachment;
use crate::{
    api::date_time::DateTime,
    domain::tickets::{
        Priority, Status, TicketRules, TicketType,
        ticket::{Activity, Named, Person, Reply},
        view::TicketView,
    },
    plugins::host_tickets::TicketJson,
};

#[derive(Debug, Clone, Object)]
pub struct UserRef {
    pub id: i64,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Object)]
pub struct NamedRef {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "TicketTag")]
pub struct TagResource {
    pub id: i64,
    pub name: String,
    pub color: String,
}

/// Service-level targets; all null and false when no policy applies.
#[derive(Debug, Clone, Object)]
#[oai(rename = "TicketSla")]
pub struct SlaResource {
    pub policy_id: Option<i64>,
    pub first_response_due_at: Option<DateTime>,
    pub first_response_at: Option<DateTime>,
    pub first_response_breached: bool,
    pub resolution_due_at: Option<DateTime>,
    pub resolution_breached: bool,
    /// When the clock stopped (the ticket waits on the customer); null while it runs. Due
    /// times move later by the pause when it ends.
    pub paused_at: Option<DateTime>,
}

/// A ticket as listed (no description, conversation or history).
#[derive(Debug, Clone, Object)]
pub struct TicketSummary {
    pub id: i64,
    /// The ticket's address in every path: `ESC-00042`.
    pub reference: String,
    pub subject: String,
    pub status: Status,
    pub status_label: String,
    pub priority: Priority,
    pub priority_label: String,
    pub ticket_type: TicketType,
    pub channel: String,
    pub requester: UserRef,
    pub assignee: Option<UserRef>,
    pub department: Option<NamedRef>,
    pub tags: Vec<TagResource>,
    pub sla: SlaResource,
    pub sla_breached: bool,
    pub followers_count: i64,
    /// Whether the caller follows the ticket.
    pub is_following: bool,
    /// The statuses this ticket may move to now.
    pub allowed_transitions: Vec<Status>,
    pub last_reply_at: Option<DateTime>,
    pub resolved_at: Option<DateTime>,
    pub closed_at: Option<DateTime>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

/// A public reply or an internal note.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Reply")]
pub struct ReplyResource {
    pub id: i64,
    pub body: String,
    pub is_internal_note: bool,
    pub author: Option<NamedRef>,
    pub created_at: DateTime,
    /// The files sent with it (metadata; download each from its `url`).
    pub attachments: Vec<Attachment>,
}

/// One entry of a ticket's history: `properties` holds `{old, new}` for a change of one value
/// and `{tag: {id, name}}` for tags.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Activity")]
pub struct ActivityResource {
    pub id: i64,
    #[oai(rename = "type")]
    pub kind: String,
    pub properties: serde_json::Value,
    pub causer: Option<NamedRef>,
    pub created_at: DateTime,
}

/// A ticket with its description, conversation (internal notes included, marked) and history.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Ticket")]
pub struct TicketResource {
    #[oai(flatten)]
    pub summary: TicketSummary,
    pub description: String,
    /// Files attached when the ticket was created.
    pub attachments: Vec<Attachment>,
    pub replies: Vec<ReplyResource>,
    pub activities: Vec<ActivityResource>,
}

impl TicketResource {
    /// Places each of the ticket's files: on its reply, or on the ticket (attached at creation).
    pub fn with_files(mut self, files: Vec<(Option<i64>, Attachment)>) -> Self {
        for (reply_id, file) in files {
            match reply_id.and_then(|id| self.replies.iter_mut().find(|r| r.id == id)) {
                Some(reply) => reply.attachments.push(file),
                None => self.attachments.push(file),
            }
        }
        self
    }
}

impl From<&Person> for UserRef {
    fn from(p: &Person) -> Self {
        UserRef {
            id: p.id,
            name: p.name.clone(),
            email: p.email.clone(),
        }
    }
}

impl From<&Named> for NamedRef {
    fn from(n: &Named) -> Self {
        NamedRef {
            id: n.id,
            name: n.name.clone(),
        }
    }
}

impl TicketSummary {
    /// The summary of `v`, its allowed transitions under `rules`.
    pub fn new(v: &TicketView, rules: &TicketRules) -> Self {
        let t = &v.ticket;
        TicketSummary {
            id: t.id,
            reference: t.reference.clone(),
            subject: t.subject.clone(),
            status: t.status,
            status_label: t.status.label().to_string(),
            priority: t.priority,
            priority_label: t.priority.label().to_string(),
            ticket_type: t.ticket_type,
            channel: t.channel.clone(),
            requester: UserRef::from(&t.requester),
            assignee: t.assignee.as_ref().map(UserRef::from),
            department: t.department.as_ref().map(NamedRef::from),
            tags: v
                .tags
                .iter()
                .map(|t| TagResource {
                    id: t.id,
                    name: t.name.clone(),
                    color: t.color.clone(),
                })
                .collect(),
            sla: SlaResource {
                policy_id: t.sla.policy_id,
                first_response_due_at: t.sla.first_response_due_at.map(DateTime),
                first_response_at: t.sla.first_response_at.map(DateTime),
                first_response_breached: t.sla.first_response_breached,
                resolution_due_at: t.sla.resolution_due_at.map(DateTime),
                resolution_breached: t.sla.resolution_breached,
                paused_at: t.sla.paused_at.map(DateTime),
            },
            sla_breached: t.sla_breached,
            followers_count: v.followers_count,
            is_following: v.is_following,
            allowed_transitions: rules.transitions(t.status).to_vec(),
            last_reply_at: t.last_reply_at.map(DateTime),
            resolved_at: t.resolved_at.map(DateTime),
            closed_at: t.closed_at.map(DateTime),
            created_at: DateTime(t.created_at),
            updated_at: DateTime(t.updated_at),
        }
    }
}

impl From<&Reply> for ReplyResource {
    fn from(p: &Reply) -> Self {
        ReplyResource {
            id: p.id,
            body: p.body.clone(),
            is_internal_note: p.is_internal_note,
            author: p.author.as_ref().map(NamedRef::from),
            created_at: DateTime(p.created_at),
            attachments: Vec::new(),
        }
    }
}

impl From<&Activity> for ActivityResource {
    fn from(a: &Activity) -> Self {
        ActivityResource {
            id: a.id,
            kind: a.kind.clone(),
            properties: a.properties.clone(),
            causer: a.causer.as_ref().map(NamedRef::from),
            created_at: DateTime(a.created_at),
        }
    }
}

impl TicketResource {
    /// The whole ticket `v`, its allowed transitions under `rules`.
    pub fn new(v: TicketView, rules: &TicketRules) -> Self {
        let summary = TicketSummary::new(&v, rules);
        let conversation = v.conversation.unwrap_or_default();
        TicketResource {
            summary,
            description: v.ticket.description.unwrap_or_default(),
            attachments: Vec::new(),
            replies: conversation
                .replies
                .iter()
                .map(ReplyResource::from)
                .collect(),
            activities: conversation
                .activities
                .iter()
                .map(ActivityResource::from)
                .collect(),
        }
    }
}

/// Tickets as plugins see them: the same JSON as the API's (`plugins::host_tickets`).
pub const FOR_PLUGINS: TicketJson = TicketJson {
    full: |v, rules| {
        TicketResource::new(v, rules)
            .to_json()
            .unwrap_or(Value::Null)
    },
    summary: |v, rules| {
        TicketSummary::new(v, rules)
            .to_json()
            .unwrap_or(Value::Null)
    },
};
