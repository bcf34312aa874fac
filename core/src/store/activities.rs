//! The activity log of tickets: one row per change, with its old and new values as JSON.

use sqlx::{Any, AnyConnection, QueryBuilder};

use super::push_in_list;
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

/// A history row waiting for its transaction to commit (see `Tx::commit`).
#[derive(Debug, Clone)]
pub struct NewActivity {
    pub ticket_id: i64,
    pub causer_id: Option<i64>,
    pub kind: &'static str,
    pub properties: String,
    pub created_at: Timestamp,
}

/// `INSERT` of `rows` (at least one) into `q`, as one statement.
pub fn push_insert(q: &mut QueryBuilder<Any>, rows: &[NewActivity]) {
    q.push("INSERT INTO activities (ticket_id, causer_id, type, properties, created_at) ");
    q.push_values(rows, |mut row, a| {
        row.push_bind(a.ticket_id)
            .push_bind(a.causer_id)
            .push_bind(a.kind)
            .push_bind(a.properties.clone())
            .push_bind(a.created_at);
    });
}

/// A ticket's history, oldest first.
pub async fn of_ticket(conn: &mut AnyConnection, ticket_id: i64) -> Result<Vec<ActivityRow>> {
    of_tickets(conn, &[ticket_id]).await
}

/// The histories of several tickets in one query, each oldest first.
#[tracing::instrument(name = "activities_of_tickets", skip_all, fields(tickets = ticket_ids.len()))]
pub async fn of_tickets(conn: &mut AnyConnection, ticket_ids: &[i64]) -> Result<Vec<ActivityRow>> {
    if ticket_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = sqlx::QueryBuilder::<sqlx::Any>::new(
        "SELECT a.id, a.ticket_id, a.causer_id, u.name AS causer_name, a.type AS kind, \
         a.properties, a.created_at FROM activities a LEFT JOIN users u ON u.id = a.causer_id \
         WHERE a.ticket_id IN (",
    );
    push_in_list(&mut q, ticket_ids.iter().copied());
    q.push(") ORDER BY a.id");
    Ok(q.build_query_as().fetch_all(conn).await?)
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
    push_in_list(&mut q, ids.iter().copied());
    q.push(")");
    Ok(q.build().execute(conn).await?.rows_affected())
}
