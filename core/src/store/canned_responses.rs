//! Canned responses: shared ones (no owner) and personal ones (`user_id` = the owner).

use sqlx::AnyConnection;

use super::records::record;
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

record!(CannedRow {
    table: "canned_responses",
    select: select_canned!(""),
    id: "c.id",
    writes: [
        title, body, category, is_shared, user_id, created_at, updated_at
    ],
    dependents: [],
});

/// The shared ones and `user_id`'s own, by category then title.
pub async fn visible_to(conn: &mut AnyConnection, user_id: i64) -> Result<Vec<CannedRow>> {
    Ok(sqlx::query_as(select_canned!(
        "WHERE c.is_shared = 1 OR c.user_id = ? ORDER BY c.category, c.title, c.id"
    ))
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}
