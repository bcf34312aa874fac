//! How tickets look on the wire (contract §5: the ticket object, replies, activities).

use poem_openapi::Object;

use super::attachments::Attachment;
use crate::{
    api::date_time::DateTime,
    domain::tickets::{Priority, Status, TicketRules, TicketType, view::TicketView},
    store::{activities::ActivityRow, replies::ReplyRow},
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

impl TicketSummary {
    /// The summary of `v`, its allowed transitions under `rules`.
    pub fn new(v: &TicketView, rules: &TicketRules) -> Self {
        let r = &v.row;
        let status = Status::parse(&r.status).unwrap_or(Status::Open);
        let priority = Priority::from_rank(r.priority);
        TicketSummary {
            id: r.id,
            reference: r.reference.clone(),
            subject: r.subject.clone(),
            status,
            status_label: status.label().to_string(),
            priority,
            priority_label: priority.label().to_string(),
            ticket_type: TicketType::parse(&r.ticket_type).unwrap_or_default(),
            channel: r.channel.clone(),
            requester: UserRef {
                id: r.requester_id,
                name: r.requester_name.clone(),
                email: r.requester_email.clone(),
            },
            assignee: r.assignee_id.map(|id| UserRef {
                id,
                name: r.assignee_name.clone().unwrap_or_default(),
                email: r.assignee_email.clone().unwrap_or_default(),
            }),
            department: r.department_id.map(|id| NamedRef {
                id,
                name: r.department_name.clone().unwrap_or_default(),
            }),
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
                policy_id: r.sla_policy_id,
                first_response_due_at: r.first_response_due_at.map(DateTime),
                first_response_at: r.first_response_at.map(DateTime),
                first_response_breached: r.first_response_breached != 0,
                resolution_due_at: r.resolution_due_at.map(DateTime),
                resolution_breached: r.resolution_breached != 0,
                paused_at: r.sla_paused_at.map(DateTime),
            },
            sla_breached: r.sla_breached != 0,
            followers_count: v.followers_count,
            is_following: v.is_following,
            allowed_transitions: rules.transitions(status).to_vec(),
            last_reply_at: r.last_reply_at.map(DateTime),
            resolved_at: r.resolved_at.map(DateTime),
            closed_at: r.closed_at.map(DateTime),
            created_at: DateTime(r.created_at),
            updated_at: DateTime(r.updated_at),
        }
    }
}

impl From<&ReplyRow> for ReplyResource {
    fn from(p: &ReplyRow) -> Self {
        ReplyResource {
            id: p.id,
            body: p.body.clone(),
            is_internal_note: p.is_internal_note != 0,
            author: p.author_id.map(|id| NamedRef {
                id,
                name: p.author_name.clone().unwrap_or_default(),
            }),
            created_at: DateTime(p.created_at),
            attachments: Vec::new(),
        }
    }
}

impl From<&ActivityRow> for ActivityResource {
    fn from(a: &ActivityRow) -> Self {
        ActivityResource {
            id: a.id,
            kind: a.kind.clone(),
            properties: serde_json::from_str(&a.properties).unwrap_or_default(),
            causer: a.causer_id.map(|id| NamedRef {
                id,
                name: a.causer_name.clone().unwrap_or_default(),
            }),
            created_at: DateTime(a.created_at),
        }
    }
}

impl TicketResource {
    /// The whole ticket `v`, its allowed transitions under `rules`.
    pub fn new(v: TicketView, rules: &TicketRules) -> Self {
        let summary = TicketSummary::new(&v, rules);
        let conversation =
            v.conversation
                .unwrap_or_else(|| crate::domain::tickets::view::Conversation {
                    replies: Vec::new(),
                    activities: Vec::new(),
                });
        TicketResource {
            summary,
            description: v.row.description.unwrap_or_default(),
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
