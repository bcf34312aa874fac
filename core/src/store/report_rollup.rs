//! The reports' rollup (migration 0019): counts per figure and UTC day, what each ticket adds
//! to them, and how far the job has folded the change feed into them. The domain's
//! `reports::rollup` decides what a ticket contributes; this module only reads and writes.

use futures::Stream;
use sqlx::{Any, AnyConnection, QueryBuilder};

use super::{
    Dialect,
    dialect::{for_update, upsert, upsert_adding},
    push_in_list,
};
use crate::{error::Result, time::Timestamp};

/// Rows per multi-row statement (well under either database's limit on arguments).
const CHUNK: usize = 400;

/// One count: `n` tickets fall under the figure `kind`, on `day`, with the value `k`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Count {
    pub kind: String,
    pub day: i64,
    pub k: String,
    pub n: i64,
}

/// What a ticket adds to the counts, as last folded.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContributionRow {
    pub ticket_id: i64,
    pub created_day: i64,
    pub status: String,
    pub priority: i64,
    pub department_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub has_policy: i64,
    pub breached: i64,
    pub first_response: Option<i64>,
    pub resolved_day: Option<i64>,
    pub resolution: Option<i64>,
}

/// The ticket columns a contribution is made from.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketFigures {
    pub id: i64,
    pub change_seq: i64,
    pub deleted_at: Option<Timestamp>,
    pub status: String,
    pub priority: i64,
    pub department_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub sla_policy_id: Option<i64>,
    pub sla_breached: i64,
    pub created_at: Timestamp,
    pub first_response_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
}

/// The [`TicketFigures`] of the tickets matching `$tail`.
macro_rules! select_figures {
    ($tail:literal) => {
        concat!(
            "SELECT id, change_seq, deleted_at, status, priority, department_id, assignee_id, ",
            "sla_policy_id, sla_breached, created_at, first_response_at, resolved_at ",
            "FROM tickets ",
            $tail
        )
    };
}

/// The change number up to which the counts hold every change.
pub async fn folded_seq(conn: &mut AnyConnection) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT folded_seq FROM report_rollup WHERE id = 1")
            .fetch_one(conn)
            .await?,
    )
}

/// [`folded_seq`], locking the row to the end of the transaction (one folder at a time).
pub async fn lock_folded_seq(conn: &mut AnyConnection) -> Result<i64> {
    let sql = for_update!(
        Dialect::of_connection(conn),
        "SELECT folded_seq FROM report_rollup WHERE id = 1"
    );
    Ok(sqlx::query_scalar(sql).fetch_one(conn).await?)
}

pub async fn set_folded_seq(conn: &mut AnyConnection, seq: i64) -> Result<()> {
    sqlx::query("UPDATE report_rollup SET folded_seq = ? WHERE id = 1")
        .bind(seq)
        .execute(conn)
        .await?;
    Ok(())
}

/// Tickets (deleted ones too) changed after `after`, in change order, at most `limit`
/// (`tickets_change_seq`).
pub async fn changed_after(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<TicketFigures>> {
    Ok(sqlx::query_as(select_figures!(
        "WHERE change_seq > ? ORDER BY change_seq LIMIT ?"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Live tickets created in `[from, to)`, streamed (`tickets_created`).
pub fn created_between<'c>(
    conn: &'c mut AnyConnection,
    from: Timestamp,
    to: Timestamp,
) -> impl Stream<Item = std::result::Result<TicketFigures, sqlx::Error>> + 'c {
    sqlx::query_as(select_figures!(
        "WHERE deleted_at IS NULL AND created_at >= ? AND created_at < ?"
    ))
    .bind(from)
    .bind(to)
    .fetch(conn)
}

/// The folded contributions of the tickets `ids` (those that have one).
pub async fn contributions(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<ContributionRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let mut q = QueryBuilder::<Any>::new(
            "SELECT ticket_id, created_day, status, priority, department_id, assignee_id, \
             has_policy, breached, first_response, resolved_day, resolution \
             FROM report_contributions WHERE ticket_id IN (",
        );
        push_in_list(&mut q, chunk.iter().copied());
        q.push(")");
        out.extend(q.build_query_as().fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// Adds each count's `n` (negative to take away) to its row.
pub async fn add_counts(conn: &mut AnyConnection, counts: &[Count]) -> Result<()> {
    let tail = upsert_adding!(Dialect::of_connection(conn), "", key: "kind, day, k", add: [n]);
    for chunk in counts.chunks(CHUNK) {
        let mut q = QueryBuilder::<Any>::new("INSERT INTO report_counts (kind, day, k, n) ");
        q.push_values(chunk, |mut row, c| {
            row.push_bind(c.kind.clone())
                .push_bind(c.day)
                .push_bind(c.k.clone())
                .push_bind(c.n);
        });
        q.push(tail);
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Records `rows` as the tickets' contributions, replacing what they held.
pub async fn save_contributions(conn: &mut AnyConnection, rows: &[ContributionRow]) -> Result<()> {
    let tail = upsert!(
        Dialect::of_connection(conn),
        "",
        key: "ticket_id",
        set: [created_day, status, priority, department_id, assignee_id, has_policy, breached,
              first_response, resolved_day, resolution]
    );
    for chunk in rows.chunks(CHUNK) {
        let mut q = QueryBuilder::<Any>::new(
            "INSERT INTO report_contributions (ticket_id, created_day, status, priority, \
             department_id, assignee_id, has_policy, breached, first_response, resolved_day, \
             resolution) ",
        );
        q.push_values(chunk, |mut row, c| {
            row.push_bind(c.ticket_id)
                .push_bind(c.created_day)
                .push_bind(c.status.clone())
                .push_bind(c.priority)
                .push_bind(c.department_id)
                .push_bind(c.assignee_id)
                .push_bind(c.has_policy)
                .push_bind(c.breached)
                .push_bind(c.first_response)
                .push_bind(c.resolved_day)
                .push_bind(c.resolution);
        });
        q.push(tail);
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Drops the contributions of the tickets `ids` (deleted tickets count nowhere).
pub async fn forget_contributions(conn: &mut AnyConnection, ids: &[i64]) -> Result<()> {
    for chunk in ids.chunks(CHUNK) {
        let mut q =
            QueryBuilder::<Any>::new("DELETE FROM report_contributions WHERE ticket_id IN (");
        push_in_list(&mut q, chunk.iter().copied());
        q.push(")");
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The counts of the figures `kinds` (fixed names, never user input) summed over the days
/// `[from_day, to_day)` (all days when `None`), one row per `(kind, k)` with `day` 0. One
/// primary-key range per kind.
pub async fn sums(
    conn: &mut AnyConnection,
    kinds: &[&'static str],
    days: Option<(i64, i64)>,
) -> Result<Vec<Count>> {
    let mut q = QueryBuilder::<Any>::new(
        "SELECT kind, CAST(0 AS SIGNED) AS day, k, CAST(SUM(n) AS SIGNED) AS n \
         FROM report_counts WHERE kind IN (",
    );
    let mut list = q.separated(", ");
    for kind in kinds {
        list.push_bind(*kind);
    }
    q.push(")");
    if let Some((from, to)) = days {
        q.push(" AND day >= ").push_bind(from);
        q.push(" AND day < ").push_bind(to);
    }
    q.push(" GROUP BY kind, k HAVING SUM(n) <> 0");
    Ok(q.build_query_as().fetch_all(conn).await?)
}
