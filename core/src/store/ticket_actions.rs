//! Custom ticket actions: a unique key, a label and the Rhai script behind them.

use sqlx::AnyConnection;

use super::records::record;
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

record!(TicketActionRow {
    table: "ticket_actions",
    select: select_actions!(""),
    id: "id",
    unique: "action_key",
    writes: [action_key, label, script, is_active, created_at, updated_at],
    dependents: [],
});

pub async fn find_by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<TicketActionRow>> {
    Ok(sqlx::query_as(select_actions!("WHERE action_key = ?"))
        .bind(key)
        .fetch_optional(conn)
        .await?)
}

/// The active actions, by label.
pub async fn active(conn: &mut AnyConnection) -> Result<Vec<TicketActionRow>> {
    Ok(
        sqlx::query_as(select_actions!("WHERE is_active = 1 ORDER BY label, id"))
            .fetch_all(conn)
            .await?,
    )
}
