//! Custom ticket actions: a unique key, a label and the Rhai script behind them.

use sqlx::AnyConnection;

use super::insert_returning_id;
use crate::{error::Result, time::Timestamp};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketActionRow {
    pub id: i64,
    pub action_key: String,
    pub label: String,
    pub script: String,
    pub is_active: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

macro_rules! select_actions {
    ($tail:literal) => {
        concat!(
            "SELECT id, action_key, label, script, is_active, created_at, updated_at ",
            "FROM ticket_actions ",
            $tail
        )
    };
}

pub async fn find(conn: &mut AnyConnection, id: i64) -> Result<Option<TicketActionRow>> {
    Ok(sqlx::query_as(select_actions!("WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn find_by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<TicketActionRow>> {
    Ok(sqlx::query_as(select_actions!("WHERE action_key = ?"))
        .bind(key)
        .fetch_optional(conn)
        .await?)
}

pub async fn key_taken(conn: &mut AnyConnection, key: &str, except_id: i64) -> Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM ticket_actions WHERE action_key = ? AND id <> ?")
            .bind(key)
            .bind(except_id)
            .fetch_one(conn)
            .await?;
    Ok(n > 0)
}

pub async fn page(
    conn: &mut AnyConnection,
    limit: i64,
    offset: i64,
) -> Result<(Vec<TicketActionRow>, i64)> {
    let rows = sqlx::query_as(select_actions!("ORDER BY id LIMIT ? OFFSET ?"))
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let total = sqlx::query_scalar("SELECT COUNT(*) FROM ticket_actions")
        .fetch_one(conn)
        .await?;
    Ok((rows, total))
}

/// The active actions, by label.
pub async fn active(conn: &mut AnyConnection) -> Result<Vec<TicketActionRow>> {
    Ok(
        sqlx::query_as(select_actions!("WHERE is_active = 1 ORDER BY label, id"))
            .fetch_all(conn)
            .await?,
    )
}

pub async fn insert(conn: &mut AnyConnection, row: &TicketActionRow) -> Result<i64> {
    insert_returning_id(
        conn,
        "INSERT INTO ticket_actions (action_key, label, script, is_active, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
        |q| {
            q.bind(&row.action_key)
                .bind(&row.label)
                .bind(&row.script)
                .bind(row.is_active)
                .bind(row.created_at)
                .bind(row.updated_at)
        },
    )
    .await
}

pub async fn update(conn: &mut AnyConnection, row: &TicketActionRow) -> Result<()> {
    sqlx::query(
        "UPDATE ticket_actions SET action_key = ?, label = ?, script = ?, is_active = ?, \
         updated_at = ? WHERE id = ?",
    )
    .bind(&row.action_key)
    .bind(&row.label)
    .bind(&row.script)
    .bind(row.is_active)
    .bind(row.updated_at)
    .bind(row.id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    let result = sqlx::query("DELETE FROM ticket_actions WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}
