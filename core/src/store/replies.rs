//! Replies and internal notes of a ticket's conversation.

use sqlx::AnyConnection;

use super::insert_returning_id;
use super::push_in_list;
use crate::{error::Result, time::Timestamp};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReplyRow {
    pub id: i64,
    pub ticket_id: i64,
    pub author_id: Option<i64>,
    pub author_name: Option<String>,
    pub body: String,
    pub is_internal_note: i64,
    pub created_at: Timestamp,
}

pub async fn insert(
    conn: &mut AnyConnection,
    ticket_id: i64,
    author_id: Option<i64>,
    body: &str,
    is_internal_note: bool,
    now: Timestamp,
) -> Result<i64> {
    insert_returning_id(
        conn,
        "INSERT INTO replies (ticket_id, author_id, body, is_internal_note, created_at) \
         VALUES (?, ?, ?, ?, ?)",
        |q| {
            q.bind(ticket_id)
                .bind(author_id)
                .bind(body)
                .bind(is_internal_note as i64)
                .bind(now)
        },
    )
    .await
}

/// The conversation, oldest first.
pub async fn of_ticket(conn: &mut AnyConnection, ticket_id: i64) -> Result<Vec<ReplyRow>> {
    of_tickets(conn, &[ticket_id]).await
}

/// The conversations of several tickets in one query, each oldest first.
#[tracing::instrument(name = "replies_of_tickets", skip_all, fields(tickets = ticket_ids.len()))]
pub async fn of_tickets(conn: &mut AnyConnection, ticket_ids: &[i64]) -> Result<Vec<ReplyRow>> {
    if ticket_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = sqlx::QueryBuilder::<sqlx::Any>::new(
        "SELECT p.id, p.ticket_id, p.author_id, u.name AS author_name, p.body, \
         p.is_internal_note, p.created_at FROM replies p LEFT JOIN users u ON u.id = p.author_id \
         WHERE p.ticket_id IN (",
    );
    push_in_list(&mut q, ticket_ids.iter().copied());
    q.push(") ORDER BY p.id");
    Ok(q.build_query_as().fetch_all(conn).await?)
}
