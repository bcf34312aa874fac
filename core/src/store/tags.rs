//! Tags, and their links to tickets.

use sqlx::AnyConnection;

use super::records::{self, record};
use crate::{error::Result, time::Timestamp};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagRow {
    pub id: i64,
    pub name: String,
    pub color: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const SELECT: &str = "SELECT id, name, color, created_at, updated_at FROM tags";

record!(TagRow {
    table: "tags",
    select: SELECT,
    id: "id",
    // The column compares case-insensitively.
    unique: "name",
    writes: [name, color, created_at, updated_at],
    dependents: ["DELETE FROM ticket_tags WHERE tag_id = ?"],
});

/// The tag with this name (compared case-insensitively, like the unique key).
pub async fn find_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<TagRow>> {
    Ok(
        sqlx::query_as("SELECT id, name, color, created_at, updated_at FROM tags WHERE name = ?")
            .bind(name)
            .fetch_optional(conn)
            .await?,
    )
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
    let row = TagRow {
        id: 0,
        name: name.into(),
        color: color.into(),
        created_at: now,
        updated_at: now,
    };
    records::insert(conn, &row).await
}
