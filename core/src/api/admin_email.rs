//! `GET /admin/email/deliveries`: the log of notifications sent by email.

use poem_openapi::{Enum, Object};

use super::{ApiTags, date_time::DateTime, params::paged_list};
use crate::domain::email::{self, DeliveryRow};

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum EmailKind {
    /// To the requester, when a ticket is created.
    TicketCreated,
    /// To the requester and followers, when staff replies publicly.
    AgentReply,
    /// To the agent a ticket is assigned to.
    Assigned,
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum EmailStatus {
    /// Waiting for its first attempt or a retry.
    Pending,
    /// The SMTP server accepted it.
    Sent,
    /// Out of attempts (`email.max_attempts`).
    Failed,
}

/// One notification to one recipient.
#[derive(Debug, Object)]
pub struct EmailDelivery {
    pub id: i64,
    /// The outbox event that caused it.
    pub event_id: i64,
    /// The ticket's reference; `null` once the ticket is purged.
    pub reference: Option<String>,
    pub kind: EmailKind,
    pub recipient: String,
    pub subject: String,
    /// The text part as sent.
    pub body: String,
    /// Without angle brackets; answers thread back by it.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    /// The `References` Message-IDs, oldest first.
    pub references: Vec<String>,
    pub status: EmailStatus,
    pub attempts: i64,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime>,
    pub sent_at: Option<DateTime>,
    pub created_at: DateTime,
}

impl From<DeliveryRow> for EmailDelivery {
    fn from(row: DeliveryRow) -> Self {
        EmailDelivery {
            id: row.id,
            event_id: row.event_id,
            reference: row.reference,
            kind: match row.kind.as_str() {
                "agent_reply" => EmailKind::AgentReply,
                "assigned" => EmailKind::Assigned,
                _ => EmailKind::TicketCreated,
            },
            recipient: row.recipient,
            subject: row.subject,
            body: row.body,
            message_id: row.message_id,
            in_reply_to: row.in_reply_to,
            references: row
                .references_ids
                .unwrap_or_default()
                .split_whitespace()
                .map(|id| id.trim_matches(['<', '>']).to_string())
                .collect(),
            status: match row.status.as_str() {
                "sent" => EmailStatus::Sent,
                "failed" => EmailStatus::Failed,
                _ => EmailStatus::Pending,
            },
            attempts: row.attempts,
            error: row.error,
            next_attempt_at: row.next_attempt_at.map(DateTime),
            sent_at: row.sent_at.map(DateTime),
            created_at: DateTime(row.created_at),
        }
    }
}

paged_list! {
    /// List email deliveries
    ///
    /// Requires the `admin` ability and an admin owner. Every notification queued for
    /// sending by SMTP, newest first. Paginated (`page` or `cursor`, `per_page` 1..100). Empty while
    /// `email.smtp_url` is not set (nothing is queued).
    AdminEmailApi (tag = "ApiTags::Email")
    deliveries: "/admin/email/deliveries" "admin_email.deliveries" => EmailDelivery,
        list "email:deliveries", read |state, window| email::deliveries(&state.store, window),
        id |delivery: DeliveryRow| delivery.id;
}
