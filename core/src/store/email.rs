//! Email: inbound messages by Message-ID, outbound notifications (the delivery log and the
//! Message-IDs we sent), and the cursor of the worker that turns outbox events into mail.

use sqlx::{Any, AnyConnection, QueryBuilder};

use super::{
    Dialect,
    delivery_queue::Queue,
    dialect::insert_ignore,
    insert_returning_id,
    keyset::{Slice, Window},
};
use crate::{error::Result, time::Timestamp};

/// The notifications' queue: its deliveries and its cursor.
pub const QUEUE: Queue = Queue {
    deliveries: "email_deliveries",
    cursor: "email_cursor",
};

/// A claimed inbound message, before it is applied.
pub struct NewInbound<'a> {
    pub message_key: &'a str,
    pub message_id: &'a str,
    pub sender: &'a str,
    pub subject: &'a str,
    pub attachments: &'a str,
    pub created_at: Timestamp,
}

/// Claims a Message-ID (`outcome` `processing`); a unique violation means it was seen before.
pub async fn claim_inbound(conn: &mut AnyConnection, row: &NewInbound<'_>) -> Result<i64> {
    insert_returning_id(
        conn,
        "INSERT INTO email_inbound (message_key, message_id, sender, subject, outcome, \
         attachments, created_at) VALUES (?, ?, ?, ?, 'processing', ?, ?)",
        |q| {
            q.bind(row.message_key)
                .bind(row.message_id)
                .bind(row.sender)
                .bind(row.subject)
                .bind(row.attachments)
                .bind(row.created_at)
        },
    )
    .await
}

/// What was done with a claimed message.
pub struct Settled<'a> {
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
    pub ticket_id: Option<i64>,
    pub reply_id: Option<i64>,
    /// The JSON list of its files, with what became of each.
    pub attachments: &'a str,
}

/// Records what was done with a claimed message.
pub async fn settle_inbound(
    conn: &mut AnyConnection,
    id: i64,
    settled: &Settled<'_>,
) -> Result<()> {
    sqlx::query(
        "UPDATE email_inbound SET outcome = ?, reason = ?, ticket_id = ?, reply_id = ?, \
         attachments = ? WHERE id = ?",
    )
    .bind(settled.outcome)
    .bind(settled.reason)
    .bind(settled.ticket_id)
    .bind(settled.reply_id)
    .bind(settled.attachments)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives a claim back (applying the message failed), so a retry of it is not a duplicate.
pub async fn release_inbound(conn: &mut AnyConnection, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM email_inbound WHERE id = ? AND outcome = 'processing'")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InboundRow {
    pub id: i64,
    pub outcome: String,
    pub reason: Option<String>,
    pub ticket_id: Option<i64>,
    pub reply_id: Option<i64>,
    pub attachments: String,
}

pub async fn inbound_by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<InboundRow>> {
    Ok(sqlx::query_as(
        "SELECT id, outcome, reason, ticket_id, reply_id, attachments FROM email_inbound \
         WHERE message_key = ?",
    )
    .bind(key)
    .fetch_optional(conn)
    .await?)
}

/// Messages from `sender` since `since` that were turned into tickets or replies.
pub async fn accepted_from(
    conn: &mut AnyConnection,
    sender: &str,
    since: Timestamp,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM email_inbound WHERE sender = ? AND created_at >= ? \
         AND outcome IN ('processing', 'created', 'replied')",
    )
    .bind(sender)
    .bind(since)
    .fetch_one(conn)
    .await?)
}

/// The ticket a message of ours or of the conversation (by Message-ID key) belongs to.
pub async fn ticket_of_message(conn: &mut AnyConnection, keys: &[String]) -> Result<Option<i64>> {
    for key in keys {
        let sent: Option<i64> = sqlx::query_scalar(
            "SELECT ticket_id FROM email_deliveries WHERE message_key = ? LIMIT 1",
        )
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
        if sent.is_some() {
            return Ok(sent);
        }
        let received: Option<Option<i64>> =
            sqlx::query_scalar("SELECT ticket_id FROM email_inbound WHERE message_key = ? LIMIT 1")
                .bind(key)
                .fetch_optional(&mut *conn)
                .await?;
        if let Some(Some(ticket)) = received {
            return Ok(Some(ticket));
        }
    }
    Ok(None)
}

/// The Message-IDs of a ticket's conversation with its customer before event `before_event`,
/// oldest first (at most `limit` of the newest): the messages received, and the
/// notifications of the conversation sent (not the assignment notices to agents). What a new
/// notification names in `In-Reply-To` (the last) and `References`.
pub async fn thread_of(
    conn: &mut AnyConnection,
    ticket_id: i64,
    before_event: i64,
    limit: i64,
) -> Result<Vec<String>> {
    // (created_at, 0 = received / 1 = sent, row id, Message-ID): within one second, what we
    // sent answers what we received.
    let received: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT created_at, id, message_id FROM email_inbound WHERE ticket_id = ? \
         ORDER BY id DESC LIMIT ?",
    )
    .bind(ticket_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    // One Message-ID per recipient: the requester's copy is the customer's thread.
    let sent: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT d.created_at, d.id, d.message_id FROM email_deliveries d \
         JOIN tickets t ON t.id = d.ticket_id JOIN users u ON u.id = t.requester_id \
         WHERE d.ticket_id = ? AND d.event_id < ? AND d.kind <> 'assigned' \
         AND d.recipient = u.email ORDER BY d.id DESC LIMIT ?",
    )
    .bind(ticket_id)
    .bind(before_event)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    let mut ids: Vec<(i64, i64, i64, String)> = received
        .into_iter()
        .map(|(at, id, mid)| (at, 0, id, mid))
        .chain(sent.into_iter().map(|(at, id, mid)| (at, 1, id, mid)))
        .collect();
    ids.sort();
    let skip = ids.len().saturating_sub(limit as usize);
    Ok(ids.into_iter().skip(skip).map(|(.., id)| id).collect())
}

/// A notification to queue.
pub struct NewDelivery<'a> {
    pub event_id: i64,
    pub ticket_id: i64,
    pub kind: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub html: &'a str,
    pub message_id: &'a str,
    pub message_key: &'a str,
    pub in_reply_to: Option<&'a str>,
    pub references: Option<&'a str>,
}

/// Queues a notification; a second one for the same event and recipient is ignored.
pub async fn insert_delivery(
    conn: &mut AnyConnection,
    row: &NewDelivery<'_>,
    now: Timestamp,
) -> Result<()> {
    let sql = insert_ignore!(
        Dialect::of_connection(conn),
        "INTO email_deliveries (event_id, ticket_id, kind, recipient, subject, \
         body, html, message_id, message_key, in_reply_to, references_ids, status, \
         next_attempt_at, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)"
    );
    sqlx::query(sql)
        .bind(row.event_id)
        .bind(row.ticket_id)
        .bind(row.kind)
        .bind(row.recipient)
        .bind(row.subject)
        .bind(row.body)
        .bind(row.html)
        .bind(row.message_id)
        .bind(row.message_key)
        .bind(row.in_reply_to)
        .bind(row.references)
        .bind(now)
        .bind(now)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub event_id: i64,
    pub ticket_id: i64,
    /// The ticket's reference (`None` once the ticket is purged).
    pub reference: Option<String>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// The HTML part (`None` for mail queued before there was one).
    pub html: Option<String>,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references_ids: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub next_attempt_at: Option<Timestamp>,
    pub sent_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

macro_rules! select_deliveries {
    ($tail:literal) => {
        concat!(
            "SELECT d.id, d.event_id, d.ticket_id, t.reference, d.kind, d.recipient, d.subject, ",
            "d.body, d.html, d.message_id, d.in_reply_to, d.references_ids, d.status, d.attempts, d.error, ",
            "d.next_attempt_at, d.sent_at, d.created_at FROM email_deliveries d ",
            "LEFT JOIN tickets t ON t.id = d.ticket_id ",
            $tail
        )
    };
}

/// The delivery log, newest first (see [`Window`]), with its total.
pub async fn delivery_page(
    conn: &mut AnyConnection,
    window: &Window,
) -> Result<Slice<DeliveryRow>> {
    let mut q = QueryBuilder::<Any>::new(select_deliveries!("WHERE 1 = 1"));
    window.push_condition(&mut q, Dialect::of_connection(conn), None, "d.id", true);
    q.push(" ORDER BY d.id DESC");
    window.push_limit(&mut q);
    let rows = q.build_query_as().fetch_all(&mut *conn).await?;
    let total = sqlx::query_scalar("SELECT COUNT(*) FROM email_deliveries")
        .fetch_one(conn)
        .await?;
    Ok(Slice::cut(rows, window.limit(), total))
}

pub async fn due(conn: &mut AnyConnection, now: Timestamp, limit: i64) -> Result<Vec<DeliveryRow>> {
    Ok(sqlx::query_as(select_deliveries!(
        "WHERE d.status = 'pending' AND d.next_attempt_at <= ? \
         ORDER BY d.next_attempt_at, d.id LIMIT ?"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Records one attempt: `status` `sent`, `pending` (retry at `next_attempt_at`) or `failed`.
pub async fn record_attempt(
    conn: &mut AnyConnection,
    id: i64,
    status: &str,
    error: Option<&str>,
    next_attempt_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "UPDATE email_deliveries SET attempts = attempts + 1, status = ?, error = ?, \
         next_attempt_at = ?, sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END, \
         updated_at = ? WHERE id = ?",
    )
    .bind(status)
    .bind(error)
    .bind(next_attempt_at)
    .bind(status)
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A person a notification may go to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: String,
    pub is_active: i64,
}

pub async fn person(conn: &mut AnyConnection, id: i64) -> Result<Option<Person>> {
    Ok(
        sqlx::query_as("SELECT id, name, email, role, is_active FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(conn)
            .await?,
    )
}

/// The followers of a ticket.
pub async fn followers(conn: &mut AnyConnection, ticket_id: i64) -> Result<Vec<Person>> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.name, u.email, u.role, u.is_active FROM ticket_followers f \
         JOIN users u ON u.id = f.user_id WHERE f.ticket_id = ? ORDER BY u.id",
    )
    .bind(ticket_id)
    .fetch_all(conn)
    .await?)
}

/// A reply as a notification shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReplyNotice {
    pub author_id: Option<i64>,
    pub body: String,
    pub is_internal_note: i64,
}

pub async fn reply(conn: &mut AnyConnection, id: i64) -> Result<Option<ReplyNotice>> {
    Ok(
        sqlx::query_as("SELECT author_id, body, is_internal_note FROM replies WHERE id = ?")
            .bind(id)
            .fetch_optional(conn)
            .await?,
    )
}
