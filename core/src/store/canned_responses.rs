//! Canned responses: shared ones (no owner) and personal ones (`user_id` = the owner).

use sqlx::AnyConnection;

use super::insert_returning_id;
use crate::{error::Result, time::Timestamp};

/// A canned response with its owner's name joined (one query, no second lookup).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CannedRow {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub category: Option<String>,
    pub is_shared: i64,
    pub user_id: Option<i64>,
    pub owner_name: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

macro_rules! select_canned {
    ($tail:literal) => {
        concat!(
            "SELECT c.id, c.title, c.body, c.category, c.is_shared, c.user_id, ",
            "u.name AS owner_name, c.created_at, c.updated_at ",
            "FROM canned_responses c LEFT JOIN users u ON u.id = c.user_id ",
            $tail
        )
    };
}

pub async fn find(conn: &mut AnyConnection, id: i64) -> Result<Option<CannedRow>> {
    Ok(sqlx::query_as(select_canned!("WHERE c.id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn page(
    conn: &mut AnyConnection,
    limit: i64,
    offset: i64,
) -> Result<(Vec<CannedRow>, i64)> {
    let rows = sqlx::query_as(select_canned!("ORDER BY c.id LIMIT ? OFFSET ?"))
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let total = sqlx::query_scalar("SELECT COUNT(*) FROM canned_responses")
        .fetch_one(conn)
        .await?;
    Ok((rows, total))
}

/// The shared ones and `user_id`'s own, by category then title.
pub async fn visible_to(conn: &mut AnyConnection, user_id: i64) -> Result<Vec<CannedRow>> {
    Ok(sqlx::query_as(select_canned!(
        "WHERE c.is_shared = 1 OR c.user_id = ? ORDER BY c.category, c.title, c.id"
    ))
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}

pub async fn insert(conn: &mut AnyConnection, row: &CannedRow) -> Result<i64> {
    insert_returning_id(
        conn,
        "INSERT INTO canned_responses (title, body, category, is_shared, user_id, created_at, \
         updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        |q| {
            q.bind(&row.title)
                .bind(&row.body)
                .bind(&row.category)
                .bind(row.is_shared)
                .bind(row.user_id)
                .bind(row.created_at)
                .bind(row.updated_at)
        },
    )
    .await
}

pub async fn update(conn: &mut AnyConnection, row: &CannedRow) -> Result<()> {
    sqlx::query(
        "UPDATE canned_responses SET title = ?, body = ?, category = ?, is_shared = ?, \
         user_id = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&row.title)
    .bind(&row.body)
    .bind(&row.category)
    .bind(row.is_shared)
    .bind(row.user_id)
    .bind(row.updated_at)
    .bind(row.id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    let result = sqlx::query("DELETE FROM canned_responses WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}
