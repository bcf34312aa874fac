//! Users: agents, admins and customers.

use sqlx::{Any, AnyConnection, QueryBuilder};

use super::insert_returning_id;
use crate::{error::Result, time::Timestamp};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: String,
    pub is_active: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

pub async fn find(conn: &mut AnyConnection, id: i64) -> Result<Option<UserRow>> {
    Ok(sqlx::query_as(
        "SELECT id, name, email, role, is_active, created_at, updated_at FROM users WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

pub async fn find_by_email(conn: &mut AnyConnection, email: &str) -> Result<Option<UserRow>> {
    Ok(sqlx::query_as(
        "SELECT id, name, email, role, is_active, created_at, updated_at FROM users WHERE email = ?",
    )
    .bind(email)
    .fetch_optional(conn)
    .await?)
}

pub async fn count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(conn)
        .await?)
}

pub async fn insert(
    conn: &mut AnyConnection,
    name: &str,
    email: &str,
    role: &str,
    is_active: bool,
    now: Timestamp,
) -> Result<i64> {
    insert_returning_id(
        conn,
        "INSERT INTO users (name, email, role, is_active, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
        |q| {
            q.bind(name)
                .bind(email)
                .bind(role)
                .bind(is_active as i64)
                .bind(now)
                .bind(now)
        },
    )
    .await
}

pub async fn update(conn: &mut AnyConnection, row: &UserRow) -> Result<()> {
    sqlx::query(
        "UPDATE users SET name = ?, email = ?, role = ?, is_active = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&row.name)
    .bind(&row.email)
    .bind(&row.role)
    .bind(row.is_active)
    .bind(row.updated_at)
    .bind(row.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A page of users, by id, and the total.
pub async fn page(
    conn: &mut AnyConnection,
    limit: i64,
    offset: i64,
) -> Result<(Vec<UserRow>, i64)> {
    let rows = sqlx::query_as(
        "SELECT id, name, email, role, is_active, created_at, updated_at FROM users \
         ORDER BY id LIMIT ? OFFSET ?",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    Ok((rows, count(conn).await?))
}

/// Active agents and admins, by name.
pub async fn active_staff(conn: &mut AnyConnection) -> Result<Vec<UserRow>> {
    Ok(sqlx::query_as(
        "SELECT id, name, email, role, is_active, created_at, updated_at FROM users \
         WHERE role IN ('agent', 'admin') AND is_active = 1 ORDER BY name, id",
    )
    .fetch_all(conn)
    .await?)
}

/// Which of `ids` are active agents or admins.
pub async fn active_staff_among(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = QueryBuilder::<Any>::new(
        "SELECT id FROM users WHERE role IN ('agent', 'admin') AND is_active = 1 AND id IN (",
    );
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    query.push(")");
    Ok(query.build_query_scalar().fetch_all(conn).await?)
}
