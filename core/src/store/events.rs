//! The event outbox.

use sqlx::{Any, AnyConnection, QueryBuilder};

use crate::{error::Result, time::Timestamp};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub kind: String,
    pub ticket_id: Option<i64>,
    pub payload: String,
    pub created_at: Timestamp,
}

/// An event waiting for its transaction to commit.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: &'static str,
    pub ticket_id: Option<i64>,
    pub payload: String,
    pub created_at: Timestamp,
}

/// `INSERT` of `events` (at least one) into `q`, as one statement.
pub fn push_insert(q: &mut QueryBuilder<Any>, events: &[NewEvent]) {
    q.push("INSERT INTO events (type, ticket_id, payload, created_at) ");
    q.push_values(events, |mut row, e| {
        row.push_bind(e.kind)
            .push_bind(e.ticket_id)
            .push_bind(e.payload.clone())
            .push_bind(e.created_at);
    });
}

/// Events after `last_id`, oldest first, at most `limit`.
#[tracing::instrument(name = "outbox_after", skip_all, fields(after = last_id))]
pub async fn after(conn: &mut AnyConnection, last_id: i64, limit: i64) -> Result<Vec<EventRow>> {
    Ok(sqlx::query_as(
        "SELECT id, type AS kind, ticket_id, payload, created_at FROM events \
         WHERE id > ? ORDER BY id LIMIT ?",
    )
    .bind(last_id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// The newest event id (0 when there is none).
pub async fn last_id(conn: &mut AnyConnection) -> Result<i64> {
    let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM events")
        .fetch_one(conn)
        .await?;
    Ok(id.unwrap_or(0))
}
