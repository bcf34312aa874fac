//! The SLA check's scans: open tickets whose targets are due (or nearly) and not yet marked;
//! a ticket whose clock is paused is never due.
//! Each scan walks an index on (flag, due time).

use sqlx::AnyConnection;

use crate::{error::Result, time::Timestamp};

/// Which target of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    FirstResponse,
    Resolution,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::FirstResponse => "first_response",
            Target::Resolution => "resolution",
        }
    }
}

/// Tickets whose `target` fell due at or before `now` and is not marked breached.
pub async fn due(
    conn: &mut AnyConnection,
    target: Target,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<i64>> {
    let sql = match target {
        Target::FirstResponse => {
            "SELECT id FROM tickets WHERE first_response_breached = 0 \
             AND first_response_due_at <= ? AND first_response_at IS NULL \
             AND sla_paused_at IS NULL AND deleted_at IS NULL \
             AND status NOT IN ('resolved', 'closed') ORDER BY id LIMIT ?"
        }
        Target::Resolution => {
            "SELECT id FROM tickets WHERE resolution_breached = 0 \
             AND resolution_due_at <= ? AND resolved_at IS NULL \
             AND sla_paused_at IS NULL AND deleted_at IS NULL \
             AND status NOT IN ('resolved', 'closed') ORDER BY id LIMIT ?"
        }
    };
    Ok(sqlx::query_scalar(sql)
        .bind(now)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

/// Tickets whose `target` falls due within (`now`, `horizon`] and have not been warned.
pub async fn nearly_due(
    conn: &mut AnyConnection,
    target: Target,
    now: Timestamp,
    horizon: Timestamp,
    limit: i64,
) -> Result<Vec<i64>> {
    let sql = match target {
        Target::FirstResponse => {
            "SELECT id FROM tickets WHERE first_response_breached = 0 \
             AND first_response_due_at > ? AND first_response_due_at <= ? \
             AND first_response_warned = 0 AND first_response_at IS NULL \
             AND sla_paused_at IS NULL AND deleted_at IS NULL \
             AND status NOT IN ('resolved', 'closed') ORDER BY id LIMIT ?"
        }
        Target::Resolution => {
            "SELECT id FROM tickets WHERE resolution_breached = 0 \
             AND resolution_due_at > ? AND resolution_due_at <= ? \
             AND resolution_warned = 0 AND resolved_at IS NULL \
             AND sla_paused_at IS NULL AND deleted_at IS NULL \
             AND status NOT IN ('resolved', 'closed') ORDER BY id LIMIT ?"
        }
    };
    Ok(sqlx::query_scalar(sql)
        .bind(now)
        .bind(horizon)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

/// Marks the warning of `target` as sent; false when it already was (another run got there).
pub async fn mark_warned(conn: &mut AnyConnection, id: i64, target: Target) -> Result<bool> {
    let sql = match target {
        Target::FirstResponse => {
            "UPDATE tickets SET first_response_warned = 1 WHERE id = ? AND first_response_warned = 0"
        }
        Target::Resolution => {
            "UPDATE tickets SET resolution_warned = 1 WHERE id = ? AND resolution_warned = 0"
        }
    };
    Ok(sqlx::query(sql)
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

/// Resolved tickets resolved before `before`, oldest first.
pub async fn resolved_before(
    conn: &mut AnyConnection,
    before: Timestamp,
    limit: i64,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM tickets WHERE status = 'resolved' AND resolved_at < ? \
         AND deleted_at IS NULL ORDER BY resolved_at LIMIT ?",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}
