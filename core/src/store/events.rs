//! The event outbox.

use sqlx::AnyConnection;

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

pub async fn insert(conn: &mut AnyConnection, event: &NewEvent) -> Result<()> {
    sqlx::query("INSERT INTO events (type, ticket_id, payload, created_at) VALUES (?, ?, ?, ?)")
        .bind(event.kind)
        .bind(event.ticket_id)
        .bind(&event.payload)
        .bind(event.created_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Events after `last_id`, oldest first, at most `limit`.
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
