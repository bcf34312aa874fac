//! Macros: a declarative action list (JSON text) or a Rhai script, shared or personal.

use sqlx::AnyConnection;

use super::records::record;
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

record!(MacroRow {
    table: "macros",
    select: select_macros!(""),
    id: "m.id",
    writes: [
        name,
        description,
        is_shared,
        user_id,
        sort_order,
        actions,
        script,
        created_at,
        updated_at
    ],
    dependents: [],
});

/// The shared macros and `user_id`'s own, in their display order.
pub async fn visible_to(conn: &mut AnyConnection, user_id: i64) -> Result<Vec<MacroRow>> {
    Ok(sqlx::query_as(select_macros!(
        "WHERE m.is_shared = 1 OR m.user_id = ? ORDER BY m.sort_order, m.name, m.id"
    ))
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}
