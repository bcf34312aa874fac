//! The activity log of tickets: one row per change, with its old and new values as JSON.

use sqlx::AnyConnection;

use crate::{error::Result, time::Timestamp};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivityRow {
    pub id: i64,
    pub ticket_id: i64,
    pub causer_id: Option<i64>,
    pub causer_name: Option<String>,
    pub kind: String,
    pub properties: String,
    pub created_at: Timestamp,
}

pub async fn insert(
    conn: &mut AnyConnection,
    ticket_id: i64,
    causer_id: Option<i64>,
    kind: &str,
    properties: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO activities (ticket_id, causer_id, type, properties, created_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(ticket_id)
    .bind(causer_id)
    .bind(kind)
    .bind(properties)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A ticket's history, oldest first.
pub async fn of_ticket(conn: &mut AnyConnection, ticket_id: i64) -> Result<Vec<ActivityRow>> {
    Ok(sqlx::query_as(
        "SELECT a.id, a.ticket_id, a.causer_id, u.name AS causer_name, a.type AS kind, \
         a.properties, a.created_at FROM activities a LEFT JOIN users u ON u.id = a.causer_id \
         WHERE a.ticket_id = ? ORDER BY a.id",
    )
    .bind(ticket_id)
    .fetch_all(conn)
    .await?)
}

/// Deletes up to `limit` activities older than `before`; returns how many went.
pub async fn purge_before(conn: &mut AnyConnection, before: Timestamp, limit: i64) -> Result<u64> {
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM activities WHERE created_at < ? ORDER BY id LIMIT ?")
            .bind(before)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let mut q = sqlx::QueryBuilder::<sqlx::Any>::new("DELETE FROM activities WHERE id IN (");
    let mut list = q.separated(", ");
    for id in &ids {
        list.push_bind(*id);
    }
    q.push(")");
    Ok(q.build().execute(conn).await?.rows_affected())
}
