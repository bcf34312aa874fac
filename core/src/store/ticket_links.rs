//! What a ticket points at, read while changing tickets: tags, departments, SLA policies and
//! assignable users. (Their own CRUD lives with the admin endpoints.)

use sqlx::{Any, AnyConnection, QueryBuilder};

use super::push_in_list;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagRef {
    pub id: i64,
    pub name: String,
    pub color: String,
}

/// The tags among `ids` that exist.
pub async fn tags_by_ids(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<TagRef>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Any>::new("SELECT id, name, color FROM tags WHERE id IN (");
    push_in_list(&mut q, ids.iter().copied());
    q.push(")");
    Ok(q.build_query_as().fetch_all(conn).await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DepartmentRef {
    pub id: i64,
    pub name: String,
    pub is_active: i64,
    pub sla_policy_id: Option<i64>,
}

pub async fn department(conn: &mut AnyConnection, id: i64) -> Result<Option<DepartmentRef>> {
    Ok(
        sqlx::query_as("SELECT id, name, is_active, sla_policy_id FROM departments WHERE id = ?")
            .bind(id)
            .fetch_optional(conn)
            .await?,
    )
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlaPolicyRef {
    pub id: i64,
    pub is_active: i64,
    pub first_response_hours: String,
    pub resolution_hours: String,
    pub business_hours: Option<String>,
}

pub async fn sla_policy(conn: &mut AnyConnection, id: i64) -> Result<Option<SlaPolicyRef>> {
    Ok(sqlx::query_as(
        "SELECT id, is_active, first_response_hours, resolution_hours, business_hours \
         FROM sla_policies WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// The active default policy, if there is one.
pub async fn default_sla_policy(conn: &mut AnyConnection) -> Result<Option<SlaPolicyRef>> {
    Ok(sqlx::query_as(
        "SELECT id, is_active, first_response_hours, resolution_hours, business_hours \
         FROM sla_policies WHERE is_default = 1 AND is_active = 1 ORDER BY id LIMIT 1",
    )
    .fetch_optional(conn)
    .await?)
}

/// The tags among `names` that exist (names compare as the tags' unique index does).
pub async fn tags_by_names(conn: &mut AnyConnection, names: &[String]) -> Result<Vec<TagRef>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Any>::new("SELECT id, name, color FROM tags WHERE name IN (");
    push_in_list(&mut q, names.iter().cloned());
    q.push(")");
    Ok(q.build_query_as().fetch_all(conn).await?)
}
