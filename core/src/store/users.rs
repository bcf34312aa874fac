//! Users: agents, admins and customers.

use sqlx::{Any, AnyConnection, QueryBuilder};

use super::push_in_list;
use super::records::{self, record};
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

const SELECT: &str = "SELECT id, name, email, role, is_active, created_at, updated_at FROM users";

record!(UserRow {
    table: "users",
    select: SELECT,
    id: "id",
    writes: [name, email, role, is_active, created_at, updated_at],
    dependents: [],
});

/// The user `id`.
pub async fn find(conn: &mut AnyConnection, id: i64) -> Result<Option<UserRow>> {
    records::find(conn, id).await
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
    records::count::<UserRow>(conn).await
}

pub async fn insert(
    conn: &mut AnyConnection,
    name: &str,
    email: &str,
    role: &str,
    is_active: bool,
    now: Timestamp,
) -> Result<i64> {
    let row = UserRow {
        id: 0,
        name: name.into(),
        email: email.into(),
        role: role.into(),
        is_active: i64::from(is_active),
        created_at: now,
        updated_at: now,
    };
    records::insert(conn, &row).await
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
    push_in_list(&mut query, ids.iter().copied());
    query.push(")");
    Ok(query.build_query_scalar().fetch_all(conn).await?)
}
