//! Tags, and their links to tickets.

use sqlx::AnyConnection;

use super::insert_returning_id;
use crate::{error::Result, time::Timestamp};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagRow {
    pub id: i64,
    pub name: String,
    pub color: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

pub async fn find(conn: &mut AnyConnection, id: i64) -> Result<Option<TagRow>> {
    Ok(
        sqlx::query_as("SELECT id, name, color, created_at, updated_at FROM tags WHERE id = ?")
            .bind(id)
            .fetch_optional(conn)
            .await?,
    )
}

/// The tag with this name (compared case-insensitively, like the unique key).
pub async fn find_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<TagRow>> {
    Ok(
        sqlx::query_as("SELECT id, name, color, created_at, updated_at FROM tags WHERE name = ?")
            .bind(name)
            .fetch_optional(conn)
            .await?,
    )
}

/// Whether another tag (not `except_id`) has this name; the column compares case-insensitively.
pub async fn name_taken(conn: &mut AnyConnection, name: &str, except_id: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tags WHERE name = ? AND id <> ?")
        .bind(name)
        .bind(except_id)
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

pub async fn page(conn: &mut AnyConnection, limit: i64, offset: i64) -> Result<(Vec<TagRow>, i64)> {
    let rows = sqlx::query_as(
        "SELECT id, name, color, created_at, updated_at FROM tags ORDER BY id LIMIT ? OFFSET ?",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar("SELECT COUNT(*) FROM tags")
        .fetch_one(conn)
        .await?;
    Ok((rows, total))
}

/// Every tag, by name.
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<TagRow>> {
    Ok(
        sqlx::query_as(
            "SELECT id, name, color, created_at, updated_at FROM tags ORDER BY name, id",
        )
        .fetch_all(conn)
        .await?,
    )
}

pub async fn insert(
    conn: &mut AnyConnection,
    name: &str,
    color: &str,
    now: Timestamp,
) -> Result<i64> {
    insert_returning_id(
        conn,
        "INSERT INTO tags (name, color, created_at, updated_at) VALUES (?, ?, ?, ?)",
        |q| q.bind(name).bind(color).bind(now).bind(now),
    )
    .await
}

pub async fn update(conn: &mut AnyConnection, row: &TagRow) -> Result<()> {
    sqlx::query("UPDATE tags SET name = ?, color = ?, updated_at = ? WHERE id = ?")
        .bind(&row.name)
        .bind(&row.color)
        .bind(row.updated_at)
        .bind(row.id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the tag and takes it off every ticket; false when there was no such tag.
pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    sqlx::query("DELETE FROM ticket_tags WHERE tag_id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let result = sqlx::query("DELETE FROM tags WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}
