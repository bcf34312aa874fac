//! The queries of the reports (contract §9.6) besides the rollup's ([`super::report_rollup`]).
//! Each is bounded by an index range: resolved tickets by `tickets_resolved (resolved_at)`,
//! exported tickets by `tickets_created (deleted_at, created_at, id)`, replies by
//! `replies_author (author_id, created_at)`. Exports page by keyset, never by offset, so each
//! batch is one index seek.

use std::collections::HashMap;

use sqlx::{Any, AnyConnection, QueryBuilder};

use super::{
    Dialect,
    keyset::{Position, SortValue, Window},
    placeholders, push_in_list,
};
use crate::{error::Result, time::Timestamp};

/// `[from, to)` in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Timestamp,
    pub to: Timestamp,
}

/// Live tickets whose `resolved_at` falls in `period` (`tickets_resolved`). The `+` keeps
/// SQLite's planner off the indexes that start with `deleted_at`: without statistics it takes
/// `deleted_at IS NULL` for a selective equality and walks every live ticket (3 s at a
/// million, where the range on `resolved_at` takes a millisecond).
pub async fn resolved(conn: &mut AnyConnection, period: Period) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM tickets WHERE resolved_at >= ? AND resolved_at < ? \
         AND +deleted_at IS NULL",
    )
    .bind(period.from)
    .bind(period.to)
    .fetch_one(conn)
    .await?)
}

/// `id -> name` of the rows `ids` of `table` (a fixed name, never user input).
async fn names(
    conn: &mut AnyConnection,
    table: &'static str,
    ids: &[i64],
) -> Result<HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = QueryBuilder::<Any>::new(format!("SELECT id, name FROM {table} WHERE id IN ("));
    push_in_list(&mut q, ids.iter().copied());
    q.push(")");
    Ok(q.build_query_as::<(i64, String)>()
        .fetch_all(conn)
        .await?
        .into_iter()
        .collect())
}

pub async fn department_names(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<HashMap<i64, String>> {
    names(conn, "departments", ids).await
}

pub async fn user_names(conn: &mut AnyConnection, ids: &[i64]) -> Result<HashMap<i64, String>> {
    names(conn, "users", ids).await
}

/// Every SLA policy, for its clock.
pub async fn sla_policies(
    conn: &mut AnyConnection,
) -> Result<Vec<super::ticket_links::SlaPolicyRef>> {
    Ok(sqlx::query_as(
        "SELECT id, is_active, first_response_hours, resolution_hours, business_hours \
         FROM sla_policies",
    )
    .fetch_all(conn)
    .await?)
}

/// Where a keyset walk stands: after `(created_at, id)` (tickets, SLA) or after `id` (agents).
#[derive(Debug, Clone, Copy, Default)]
pub struct After {
    pub created_at: Timestamp,
    pub id: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketExportRow {
    pub id: i64,
    pub reference: String,
    pub subject: String,
    pub status: String,
    pub priority: i64,
    pub ticket_type: String,
    pub channel: String,
    pub requester_email: Option<String>,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub sla_policy_id: Option<i64>,
    pub first_response_due_at: Option<Timestamp>,
    pub first_response_at: Option<Timestamp>,
    pub first_response_breached: i64,
    pub resolution_due_at: Option<Timestamp>,
    pub resolution_breached: i64,
    pub sla_breached: i64,
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The next `limit` tickets created in `period` after `after`, in `(created_at, id)` order.
/// `with_sla_only` keeps those with an SLA policy (the SLA export).
pub async fn tickets_after(
    conn: &mut AnyConnection,
    period: Period,
    after: Option<After>,
    with_sla_only: bool,
    limit: i64,
) -> Result<Vec<TicketExportRow>> {
    let dialect = Dialect::of_connection(conn);
    let mut q = QueryBuilder::<Any>::new(
        "SELECT t.id, t.reference, t.subject, t.status, t.priority, t.ticket_type, t.channel, \
         r.email AS requester_email, t.assignee_id, a.name AS assignee_name, t.department_id, \
         d.name AS department_name, t.sla_policy_id, t.first_response_due_at, \
         t.first_response_at, t.first_response_breached, t.resolution_due_at, \
         t.resolution_breached, t.sla_breached, t.resolved_at, t.closed_at, t.created_at, \
         t.updated_at FROM tickets t LEFT JOIN users r ON r.id = t.requester_id \
         LEFT JOIN users a ON a.id = t.assignee_id \
         LEFT JOIN departments d ON d.id = t.department_id \
         WHERE t.deleted_at IS NULL AND t.created_at < ",
    );
    q.push_bind(period.to);
    match after {
        None => {
            q.push(" AND t.created_at >= ").push_bind(period.from);
        }
        // The position is inside the period, so it is the only lower bound: the range seeks
        // straight to it on `tickets_created` (keyset.rs says how on each database).
        Some(after) => Window::After {
            limit,
            after: Some(Position {
                key: Some(SortValue::Int(after.created_at)),
                id: after.id,
            }),
        }
        .push_condition(&mut q, dialect, Some("t.created_at"), "t.id", false),
    }
    if with_sla_only {
        q.push(" AND t.sla_policy_id IS NOT NULL");
    }
    q.push(" ORDER BY t.created_at, t.id LIMIT ")
        .push_bind(limit);
    Ok(q.build_query_as().fetch_all(conn).await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AgentRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: String,
    pub is_active: i64,
}

/// The next `limit` agents and admins after id `after`.
pub async fn agents_after(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<AgentRow>> {
    Ok(sqlx::query_as(
        "SELECT id, name, email, role, is_active FROM users \
         WHERE role IN ('agent', 'admin') AND id > ? ORDER BY id LIMIT ?",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PerAgent {
    pub id: i64,
    pub n: i64,
}

/// For the agents `ids`: `(open tickets assigned now, tickets they resolved in the period,
/// public replies and internal notes they wrote in the period)`, each as `(id, count)` rows.
pub async fn agent_figures(
    conn: &mut AnyConnection,
    ids: &[i64],
    period: Period,
) -> Result<[Vec<PerAgent>; 4]> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let list = placeholders(ids.len());
    let queries = [
        format!(
            "SELECT assignee_id AS id, COUNT(*) AS n FROM tickets WHERE assignee_id IN ({list}) \
             AND deleted_at IS NULL AND status NOT IN ('resolved', 'closed') GROUP BY assignee_id"
        ),
        format!(
            "SELECT assignee_id AS id, COUNT(*) AS n FROM tickets WHERE assignee_id IN ({list}) \
             AND deleted_at IS NULL AND resolved_at >= ? AND resolved_at < ? GROUP BY assignee_id"
        ),
        format!(
            "SELECT author_id AS id, COUNT(*) AS n FROM replies WHERE author_id IN ({list}) \
             AND is_internal_note = 0 AND created_at >= ? AND created_at < ? GROUP BY author_id"
        ),
        format!(
            "SELECT author_id AS id, COUNT(*) AS n FROM replies WHERE author_id IN ({list}) \
             AND is_internal_note = 1 AND created_at >= ? AND created_at < ? GROUP BY author_id"
        ),
    ];
    let mut out: [Vec<PerAgent>; 4] = Default::default();
    for (i, sql) in queries.into_iter().enumerate() {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(*id);
        }
        if i > 0 {
            q = q.bind(period.from).bind(period.to);
        }
        out[i] = q.fetch_all(&mut *conn).await?;
    }
    Ok(out)
}

/// The reference of the oldest ticket not deleted (the demo seed attaches a file to it).
pub async fn oldest_ticket(conn: &mut AnyConnection) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT reference FROM tickets WHERE deleted_at IS NULL ORDER BY id LIMIT 1",
    )
    .fetch_optional(conn)
    .await?)
}
