//! Departments and their agents.

use sqlx::{Any, AnyConnection, QueryBuilder};

use super::push_in_list;
use super::records::record;
use crate::{error::Result, time::Timestamp};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DepartmentRow {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_active: i64,
    pub sla_policy_id: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An agent of a department.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub department_id: i64,
    pub id: i64,
    pub name: String,
    pub email: String,
}

macro_rules! select_departments {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, description, is_active, sla_policy_id, created_at, updated_at ",
            "FROM departments ",
            $tail
        )
    };
}

record!(DepartmentRow {
    table: "departments",
    select: select_departments!(""),
    id: "id",
    unique: "name",
    writes: [
        name,
        description,
        is_active,
        sla_policy_id,
        created_at,
        updated_at
    ],
    dependents: ["DELETE FROM department_agents WHERE department_id = ?"],
});

/// The department with this name (compared like the unique key).
pub async fn find_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<DepartmentRow>> {
    Ok(sqlx::query_as(select_departments!("WHERE name = ?"))
        .bind(name)
        .fetch_optional(conn)
        .await?)
}

/// Active departments, by name.
pub async fn active(conn: &mut AnyConnection) -> Result<Vec<DepartmentRow>> {
    Ok(
        sqlx::query_as(select_departments!("WHERE is_active = 1 ORDER BY name, id"))
            .fetch_all(conn)
            .await?,
    )
}

/// The agents of the given departments (all of them, active or not), by name.
pub async fn members_of(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<MemberRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = QueryBuilder::<Any>::new(
        "SELECT da.department_id, u.id, u.name, u.email FROM department_agents da \
         JOIN users u ON u.id = da.user_id WHERE da.department_id IN (",
    );
    push_in_list(&mut query, ids.iter().copied());
    query.push(") ORDER BY u.name, u.id");
    Ok(query.build_query_as().fetch_all(conn).await?)
}

/// The active agents of every active department, by name: one query for the public list.
pub async fn active_members(conn: &mut AnyConnection) -> Result<Vec<MemberRow>> {
    Ok(sqlx::query_as(
        "SELECT da.department_id, u.id, u.name, u.email FROM department_agents da \
         JOIN users u ON u.id = da.user_id JOIN departments d ON d.id = da.department_id \
         WHERE d.is_active = 1 AND u.is_active = 1 ORDER BY u.name, u.id",
    )
    .fetch_all(conn)
    .await?)
}

/// Replaces the department's agents with `user_ids`.
pub async fn set_members(conn: &mut AnyConnection, id: i64, user_ids: &[i64]) -> Result<()> {
    sqlx::query("DELETE FROM department_agents WHERE department_id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if user_ids.is_empty() {
        return Ok(());
    }
    let mut query =
        QueryBuilder::<Any>::new("INSERT INTO department_agents (department_id, user_id) ");
    query.push_values(user_ids, |mut row, user_id| {
        row.push_bind(id).push_bind(*user_id);
    });
    query.build().execute(conn).await?;
    Ok(())
}

/// Whether any ticket, deleted ones included, points at the department.
pub async fn in_use(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    let used: Option<i64> =
        sqlx::query_scalar("SELECT id FROM tickets WHERE department_id = ? LIMIT 1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(used.is_some())
}

/// Whether any department uses the SLA policy.
pub async fn uses_sla_policy(conn: &mut AnyConnection, policy_id: i64) -> Result<bool> {
    let used: Option<i64> =
        sqlx::query_scalar("SELECT id FROM departments WHERE sla_policy_id = ? LIMIT 1")
            .bind(policy_id)
            .fetch_optional(conn)
            .await?;
    Ok(used.is_some())
}

pub async fn deactivate(conn: &mut AnyConnection, id: i64, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE departments SET is_active = 0, updated_at = ? WHERE id = ?")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
