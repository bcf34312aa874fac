//! Macros: a declarative action list (JSON text) or a Rhai script, shared or personal.

use sqlx::AnyConnection;

use super::insert_returning_id;
use crate::{error::Result, time::Timestamp};

/// A macro with its owner's name joined.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MacroRow {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_shared: i64,
    pub user_id: Option<i64>,
    pub owner_name: Option<String>,
    pub sort_order: i64,
    pub actions: Option<String>,
    pub script: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

macro_rules! select_macros {
    ($tail:literal) => {
        concat!(
            "SELECT m.id, m.name, m.description, m.is_shared, m.user_id, u.name AS owner_name, ",
            "m.sort_order, m.actions, m.script, m.created_at, m.updated_at ",
            "FROM macros m LEFT JOIN users u ON u.id = m.user_id ",
            $tail
        )
    };
}

pub async fn find(conn: &mut AnyConnection, id: i64) -> Result<Option<MacroRow>> {
    Ok(sqlx::query_as(select_macros!("WHERE m.id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn page(
    conn: &mut AnyConnection,
    limit: i64,
    offset: i64,
) -> Result<(Vec<MacroRow>, i64)> {
    let rows = sqlx::query_as(select_macros!("ORDER BY m.id LIMIT ? OFFSET ?"))
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let total = sqlx::query_scalar("SELECT COUNT(*) FROM macros")
        .fetch_one(conn)
        .await?;
    Ok((rows, total))
}

/// The shared macros and `user_id`'s own, in their display order.
pub async fn visible_to(conn: &mut AnyConnection, user_id: i64) -> Result<Vec<MacroRow>> {
    Ok(sqlx::query_as(select_macros!(
        "WHERE m.is_shared = 1 OR m.user_id = ? ORDER BY m.sort_order, m.name, m.id"
    ))
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}

pub async fn insert(conn: &mut AnyConnection, row: &MacroRow) -> Result<i64> {
    insert_returning_id(
        conn,
        "INSERT INTO macros (name, description, is_shared, user_id, sort_order, actions, script, \
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        |q| {
            q.bind(&row.name)
                .bind(&row.description)
                .bind(row.is_shared)
                .bind(row.user_id)
                .bind(row.sort_order)
                .bind(&row.actions)
                .bind(&row.script)
                .bind(row.created_at)
                .bind(row.updated_at)
        },
    )
    .await
}

pub async fn update(conn: &mut AnyConnection, row: &MacroRow) -> Result<()> {
    sqlx::query(
        "UPDATE macros SET name = ?, description = ?, is_shared = ?, user_id = ?, sort_order = ?, \
         actions = ?, script = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&row.name)
    .bind(&row.description)
    .bind(row.is_shared)
    .bind(row.user_id)
    .bind(row.sort_order)
    .bind(&row.actions)
    .bind(&row.script)
    .bind(row.updated_at)
    .bind(row.id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    let result = sqlx::query("DELETE FROM macros WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}
