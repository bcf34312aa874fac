//! The rows that hang off a ticket: its tags and its followers.

use sqlx::{Any, AnyConnection, QueryBuilder};

use super::push_in_list;
use crate::{
    error::Result,
    store::{Dialect, dialect::insert_ignore},
    time::Timestamp,
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketTagRow {
    pub ticket_id: i64,
    pub id: i64,
    pub name: String,
    pub color: String,
}

/// The tags of several tickets in one query.
pub async fn tags_of(conn: &mut AnyConnection, ticket_ids: &[i64]) -> Result<Vec<TicketTagRow>> {
    if ticket_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Any>::new(
        "SELECT tt.ticket_id, g.id, g.name, g.color FROM ticket_tags tt \
         JOIN tags g ON g.id = tt.tag_id WHERE tt.ticket_id IN (",
    );
    push_in_list(&mut q, ticket_ids.iter().copied());
    q.push(") ORDER BY g.name, g.id");
    Ok(q.build_query_as().fetch_all(conn).await?)
}

pub async fn add_tag(conn: &mut AnyConnection, ticket_id: i64, tag_id: i64) -> Result<()> {
    let sql = insert_ignore!(
        Dialect::of_connection(conn),
        "INTO ticket_tags (ticket_id, tag_id) VALUES (?, ?)"
    );
    sqlx::query(sql)
        .bind(ticket_id)
        .bind(tag_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn remove_tag(conn: &mut AnyConnection, ticket_id: i64, tag_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM ticket_tags WHERE ticket_id = ? AND tag_id = ?")
        .bind(ticket_id)
        .bind(tag_id)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FollowerStats {
    pub ticket_id: i64,
    pub followers: i64,
    /// 1 when the asking user follows the ticket.
    pub following: i64,
}

/// Follower counts of several tickets, and whether `user_id` follows each, in one query.
pub async fn follower_stats(
    conn: &mut AnyConnection,
    ticket_ids: &[i64],
    user_id: i64,
) -> Result<Vec<FollowerStats>> {
    if ticket_ids.is_empty() {
        return Ok(Vec::new());
    }
    // MAX, not SUM: MariaDB's SUM is DECIMAL, which the Any driver cannot decode.
    let mut q = QueryBuilder::<Any>::new(
        "SELECT ticket_id, COUNT(*) AS followers, MAX(CASE WHEN user_id = ",
    );
    q.push_bind(user_id)
        .push(" THEN 1 ELSE 0 END) AS following FROM ticket_followers WHERE ticket_id IN (");
    push_in_list(&mut q, ticket_ids.iter().copied());
    q.push(") GROUP BY ticket_id");
    Ok(q.build_query_as().fetch_all(conn).await?)
}

pub async fn is_follower(conn: &mut AnyConnection, ticket_id: i64, user_id: i64) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT user_id FROM ticket_followers WHERE ticket_id = ? AND user_id = ?",
    )
    .bind(ticket_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

pub async fn follow(
    conn: &mut AnyConnection,
    ticket_id: i64,
    user_id: i64,
    now: Timestamp,
) -> Result<()> {
    let sql = insert_ignore!(
        Dialect::of_connection(conn),
        "INTO ticket_followers (ticket_id, user_id, created_at) VALUES (?, ?, ?)"
    );
    sqlx::query(sql)
        .bind(ticket_id)
        .bind(user_id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn unfollow(conn: &mut AnyConnection, ticket_id: i64, user_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM ticket_followers WHERE ticket_id = ? AND user_id = ?")
        .bind(ticket_id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn followers_count(conn: &mut AnyConnection, ticket_id: i64) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM ticket_followers WHERE ticket_id = ?")
            .bind(ticket_id)
            .fetch_one(conn)
            .await?,
    )
}
