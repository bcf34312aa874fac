//! SLA policies. The hour maps and the business-hours schedule are stored as JSON text.

use sqlx::AnyConnection;

use super::insert_returning_id;
use crate::{error::Result, time::Timestamp};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlaPolicyRow {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_default: i64,
    pub is_active: i64,
    pub first_response_hours: String,
    pub resolution_hours: String,
    pub business_hours: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

macro_rules! select_policies {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, description, is_default, is_active, first_response_hours, ",
            "resolution_hours, business_hours, created_at, updated_at FROM sla_policies ",
            $tail
        )
    };
}

pub async fn find(conn: &mut AnyConnection, id: i64) -> Result<Option<SlaPolicyRow>> {
    Ok(sqlx::query_as(select_policies!("WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// Whether another policy (not `except_id`) has this name, compared case-insensitively.
pub async fn name_taken(conn: &mut AnyConnection, name: &str, except_id: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sla_policies WHERE name = ? AND id <> ?")
        .bind(name)
        .bind(except_id)
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

pub async fn page(
    conn: &mut AnyConnection,
    limit: i64,
    offset: i64,
) -> Result<(Vec<SlaPolicyRow>, i64)> {
    let rows = sqlx::query_as(select_policies!("ORDER BY id LIMIT ? OFFSET ?"))
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let total = sqlx::query_scalar("SELECT COUNT(*) FROM sla_policies")
        .fetch_one(conn)
        .await?;
    Ok((rows, total))
}

pub async fn insert(conn: &mut AnyConnection, row: &SlaPolicyRow) -> Result<i64> {
    insert_returning_id(
        conn,
        "INSERT INTO sla_policies (name, description, is_default, is_active, \
         first_response_hours, resolution_hours, business_hours, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        |q| {
            q.bind(&row.name)
                .bind(&row.description)
                .bind(row.is_default)
                .bind(row.is_active)
                .bind(&row.first_response_hours)
                .bind(&row.resolution_hours)
                .bind(&row.business_hours)
                .bind(row.created_at)
                .bind(row.updated_at)
        },
    )
    .await
}

pub async fn update(conn: &mut AnyConnection, row: &SlaPolicyRow) -> Result<()> {
    sqlx::query(
        "UPDATE sla_policies SET name = ?, description = ?, is_default = ?, is_active = ?, \
         first_response_hours = ?, resolution_hours = ?, business_hours = ?, updated_at = ? \
         WHERE id = ?",
    )
    .bind(&row.name)
    .bind(&row.description)
    .bind(row.is_default)
    .bind(row.is_active)
    .bind(&row.first_response_hours)
    .bind(&row.resolution_hours)
    .bind(&row.business_hours)
    .bind(row.updated_at)
    .bind(row.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes the default flag off every policy but `keep_id`.
pub async fn clear_default_except(
    conn: &mut AnyConnection,
    keep_id: i64,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "UPDATE sla_policies SET is_default = 0, updated_at = ? WHERE is_default = 1 AND id <> ?",
    )
    .bind(now)
    .bind(keep_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether any ticket, deleted ones included, carries the policy.
pub async fn used_by_tickets(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    let used: Option<i64> =
        sqlx::query_scalar("SELECT id FROM tickets WHERE sla_policy_id = ? LIMIT 1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(used.is_some())
}

pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM sla_policies WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
