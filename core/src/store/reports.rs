//! The queries of the reports (contract §9.6). Every figure is bounded by an index range:
//! tickets created in a period by `tickets_created (deleted_at, created_at, id)` (and its
//! department twin `tickets_live_department`), resolved ones by `tickets_resolved
//! (resolved_at)`, open ones by `tickets_live_status_priority (deleted_at, status, ...)`,
//! replies by `replies_author (author_id, created_at)`. Exports page by keyset, never by
//! offset, so each batch is one index seek.

use futures::Stream;
use sqlx::AnyConnection;

use super::placeholders;
use crate::{error::Result, time::Timestamp};

/// `[from, to)` in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Timestamp,
    pub to: Timestamp,
}

const CREATED_IN: &str = "deleted_at IS NULL AND created_at >= ? AND created_at < ?";

async fn count(conn: &mut AnyConnection, sql: &'static str, period: Option<Period>) -> Result<i64> {
    let mut q = sqlx::query_scalar(sql);
    if let Some(p) = period {
        q = q.bind(p.from).bind(p.to);
    }
    Ok(q.fetch_one(conn).await?)
}

pub async fn created(conn: &mut AnyConnection, period: Period) -> Result<i64> {
    count(
        conn,
        "SELECT COUNT(*) FROM tickets WHERE deleted_at IS NULL AND created_at >= ? AND created_at < ?",
        Some(period),
    )
    .await
}

pub async fn resolved(conn: &mut AnyConnection, period: Period) -> Result<i64> {
    count(
        conn,
        "SELECT COUNT(*) FROM tickets WHERE resolved_at >= ? AND resolved_at < ? \
         AND deleted_at IS NULL",
        Some(period),
    )
    .await
}

pub async fn open_now(conn: &mut AnyConnection) -> Result<i64> {
    count(
        conn,
        "SELECT COUNT(*) FROM tickets WHERE deleted_at IS NULL \
         AND status NOT IN ('resolved', 'closed')",
        None,
    )
    .await
}

/// `(key, count)` of the tickets created in `period`, grouped by `column` (a fixed name chosen
/// by the caller from [`Group`], never user input).
#[derive(Debug, Clone, Copy)]
pub enum Group {
    Status,
    Priority,
    Department,
    Assignee,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupCount {
    pub group_key: Option<String>,
    pub id: Option<i64>,
    pub name: Option<String>,
    pub n: i64,
}

pub async fn grouped(
    conn: &mut AnyConnection,
    period: Period,
    by: Group,
) -> Result<Vec<GroupCount>> {
    let sql = match by {
        Group::Status => {
            "SELECT status AS group_key, CAST(NULL AS SIGNED) AS id, CAST(NULL AS CHAR) AS name, \
             COUNT(*) AS n FROM tickets WHERE {CREATED} GROUP BY status ORDER BY status"
        }
        Group::Priority => {
            "SELECT CAST(NULL AS CHAR) AS group_key, priority AS id, CAST(NULL AS CHAR) AS name, \
             COUNT(*) AS n FROM tickets WHERE {CREATED} GROUP BY priority ORDER BY priority"
        }
        Group::Department => {
            "SELECT CAST(NULL AS CHAR) AS group_key, g.id, d.name, g.n FROM \
             (SELECT department_id AS id, COUNT(*) AS n FROM tickets WHERE {CREATED} \
             GROUP BY department_id) g LEFT JOIN departments d ON d.id = g.id ORDER BY g.id"
        }
        Group::Assignee => {
            "SELECT CAST(NULL AS CHAR) AS group_key, g.id, u.name, g.n FROM \
             (SELECT assignee_id AS id, COUNT(*) AS n FROM tickets WHERE {CREATED} \
             GROUP BY assignee_id) g LEFT JOIN users u ON u.id = g.id ORDER BY g.id"
        }
    };
    Ok(
        sqlx::query_as(sqlx::AssertSqlSafe(sql.replace("{CREATED}", CREATED_IN)))
            .bind(period.from)
            .bind(period.to)
            .fetch_all(conn)
            .await?,
    )
}

/// What the summary's time figures need of a ticket created in the period.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Timing {
    pub sla_policy_id: Option<i64>,
    pub created_at: Timestamp,
    pub first_response_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub sla_breached: i64,
}

/// The tickets created in `period`, streamed row by row (never collected here).
pub fn timings<'c>(
    conn: &'c mut AnyConnection,
    period: Period,
) -> impl Stream<Item = std::result::Result<Timing, sqlx::Error>> + 'c {
    sqlx::query_as(
        "SELECT sla_policy_id, created_at, first_response_at, resolved_at, sla_breached \
         FROM tickets WHERE deleted_at IS NULL AND created_at >= ? AND created_at < ?",
    )
    .bind(period.from)
    .bind(period.to)
    .fetch(conn)
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
    let mut sql = String::from(
        "SELECT t.id, t.reference, t.subject, t.status, t.priority, t.ticket_type, t.channel, \
         r.email AS requester_email, t.assignee_id, a.name AS assignee_name, t.department_id, \
         d.name AS department_name, t.sla_policy_id, t.first_response_due_at, \
         t.first_response_at, t.first_response_breached, t.resolution_due_at, \
         t.resolution_breached, t.sla_breached, t.resolved_at, t.closed_at, t.created_at, \
         t.updated_at FROM tickets t LEFT JOIN users r ON r.id = t.requester_id \
         LEFT JOIN users a ON a.id = t.assignee_id \
         LEFT JOIN departments d ON d.id = t.department_id \
         WHERE t.deleted_at IS NULL AND t.created_at >= ? AND t.created_at < ?",
    );
    if after.is_some() {
        sql.push_str(" AND (t.created_at > ? OR (t.created_at = ? AND t.id > ?))");
    }
    if with_sla_only {
        sql.push_str(" AND t.sla_policy_id IS NOT NULL");
    }
    sql.push_str(" ORDER BY t.created_at, t.id LIMIT ?");
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(period.from)
        .bind(period.to);
    if let Some(after) = after {
        q = q
            .bind(after.created_at)
            .bind(after.created_at)
            .bind(after.id);
    }
    Ok(q.bind(limit).fetch_all(conn).await?)
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
