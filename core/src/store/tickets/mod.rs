//! Tickets: the row with its requester, assignee and department joined in, read, inserted,
//! saved and stamped here; the list and search planner ([`list`]) and the tag and follower rows
//! that hang off tickets ([`links`]) are modules of their own, named from here as before.

use std::collections::HashMap;

use sqlx::{Any, AnyConnection, QueryBuilder, Row};

use super::{AnyQuery, Dialect, Tx, dialect::for_update, insert_returning_id, push_in_list};
use crate::{error::Result, time::Timestamp};

/// A ticket row with the names the API shows beside the ids (one query, no lookups per field).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketRow {
    pub id: i64,
    pub reference: String,
    pub subject: String,
    /// `None` in list queries, which leave the long text out.
    pub description: Option<String>,
    pub status: String,
    pub priority: i64,
    pub ticket_type: String,
    pub channel: String,
    pub requester_id: i64,
    pub requester_name: String,
    pub requester_email: String,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub assignee_email: Option<String>,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub sla_policy_id: Option<i64>,
    pub first_response_due_at: Option<Timestamp>,
    pub first_response_at: Option<Timestamp>,
    pub first_response_breached: i64,
    pub resolution_due_at: Option<Timestamp>,
    pub resolution_breached: i64,
    pub sla_breached: i64,
    /// When the SLA clock stopped (the ticket waits on the customer); `None` while it runs.
    pub sla_paused_at: Option<Timestamp>,
    /// Clock time of the pauses that ended, counted like the policy counts (business or
    /// calendar seconds), so due times recomputed from the opening skip them.
    pub sla_paused_seconds: i64,
    pub last_reply_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The number of the last change (see [`NEXT_CHANGE`]): the change feed's order, and the
    /// ticket's version (its ETag).
    pub change_seq: i64,
    /// Set once deleted; only the change feed reads deleted tickets.
    pub deleted_at: Option<Timestamp>,
}

/// Takes the next change number (and, on MySQL, the sequence row's lock to the commit).
pub const NEXT_CHANGE: &str = "UPDATE change_sequence SET seq = seq + 1 WHERE id = 1";

/// [`NEXT_CHANGE`] answering the number taken (SQLite; MariaDB has no `UPDATE ... RETURNING`).
pub const NEXT_CHANGE_RETURNING: &str =
    "UPDATE change_sequence SET seq = seq + 1 WHERE id = 1 RETURNING seq";

/// The number last taken by [`NEXT_CHANGE`] (inside its transaction: this one's).
pub const CURRENT_CHANGE: &str = "SELECT seq FROM change_sequence WHERE id = 1";

/// Gives the tickets `ids` the change number just taken by [`NEXT_CHANGE`].
pub fn push_stamp_changes(q: &mut QueryBuilder<Any>, ids: &[i64]) {
    q.push(
        "UPDATE tickets SET change_seq = (SELECT seq FROM change_sequence WHERE id = 1) \
         WHERE id IN (",
    );
    push_in_list(q, ids.iter().copied());
    q.push(")");
}

/// The columns of a ticket row, with `$description` for the description column.
macro_rules! ticket_columns {
    ($description:literal) => {
        concat!(
            "SELECT t.id, t.reference, t.subject, ",
            $description,
            " AS description, t.status, t.priority, t.ticket_type, t.channel, ",
            "t.requester_id, r.name AS requester_name, r.email AS requester_email, ",
            "t.assignee_id, a.name AS assignee_name, a.email AS assignee_email, ",
            "t.department_id, d.name AS department_name, t.sla_policy_id, ",
            "t.first_response_due_at, t.first_response_at, t.first_response_breached, ",
            "t.resolution_due_at, t.resolution_breached, t.sla_breached, t.sla_paused_at, ",
            "t.sla_paused_seconds, t.last_reply_at, ",
            "t.resolved_at, t.closed_at, t.created_at, t.updated_at, t.change_seq, ",
            "t.deleted_at "
        )
    };
}

/// The joins that bring in the names shown beside the ids, after `tickets t`.
/// Every join is LEFT (the requester always exists: a foreign key) so that MariaDB reads the
/// tickets first; with an inner join to `users` its planner may drive from the users table and
/// sort every ticket (minutes at a million tickets) instead of walking the list's index.
macro_rules! ticket_joins {
    () => {
        "LEFT JOIN users r ON r.id = t.requester_id \
         LEFT JOIN users a ON a.id = t.assignee_id \
         LEFT JOIN departments d ON d.id = t.department_id "
    };
}

/// The ticket query with `$description` for the description column and `$tail` after the joins.
macro_rules! select_tickets {
    ($description:literal, $tail:literal) => {
        concat!(
            ticket_columns!($description),
            "FROM tickets t ",
            ticket_joins!(),
            $tail
        )
    };
}

// Declared after the column macros above, which they use.
pub mod links;
pub mod list;

pub use links::*;
pub use list::*;

pub async fn find_by_reference(
    conn: &mut AnyConnection,
    reference: &str,
) -> Result<Option<TicketRow>> {
    Ok(sqlx::query_as(select_tickets!(
        "t.description",
        "WHERE t.reference = ? AND t.deleted_at IS NULL"
    ))
    .bind(reference)
    .fetch_optional(conn)
    .await?)
}

/// Every ticket (deleted ones too) changed after change number `after`, in change order, at
/// most `limit`.
pub async fn changed_after(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<TicketRow>> {
    Ok(sqlx::query_as(select_tickets!(
        "t.description",
        "WHERE t.change_seq > ? ORDER BY t.change_seq LIMIT ?"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// What the search index keeps of a ticket (`store::word_index`): its text and the columns
/// it narrows a search by.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SearchedRow {
    pub id: i64,
    pub subject: String,
    pub description: String,
    pub status: String,
    pub priority: i64,
    pub ticket_type: String,
    pub department_id: Option<i64>,
    pub deleted_at: Option<Timestamp>,
    pub change_seq: i64,
}

macro_rules! searched_rows {
    ($tail:literal) => {
        concat!(
            "SELECT id, subject, description, status, priority, ticket_type, department_id, ",
            "deleted_at, change_seq FROM tickets ",
            $tail
        )
    };
}

/// Up to `limit` tickets (deleted ones too) with an id above `after`, in id order: a scan of
/// the whole table a batch at a time (the search index's build).
pub async fn searched_after_id(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<SearchedRow>> {
    Ok(
        sqlx::query_as(searched_rows!("WHERE id > ? ORDER BY id LIMIT ?"))
            .bind(after)
            .bind(limit)
            .fetch_all(conn)
            .await?,
    )
}

/// Up to `limit` tickets changed after change number `after`, in change order (the search
/// index's catch-up; the change feed's order).
pub async fn searched_changed_after(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<SearchedRow>> {
    Ok(sqlx::query_as(searched_rows!(
        "WHERE change_seq > ? ORDER BY change_seq LIMIT ?"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// How many replies, notes and activities each of `ticket_ids` has (a ticket with none is
/// missing), read from the two tables' `(ticket_id, id)` indexes alone.
pub async fn conversation_sizes(
    conn: &mut AnyConnection,
    ticket_ids: &[i64],
) -> Result<HashMap<i64, i64>> {
    if ticket_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = QueryBuilder::<Any>::new(
        "SELECT ticket_id, COUNT(*) FROM (SELECT ticket_id FROM replies WHERE ticket_id IN (",
    );
    push_in_list(&mut q, ticket_ids.iter().copied());
    q.push(") UNION ALL SELECT ticket_id FROM activities WHERE ticket_id IN (");
    push_in_list(&mut q, ticket_ids.iter().copied());
    q.push(")) entries GROUP BY ticket_id");
    let rows: Vec<(i64, i64)> = q.build_query_as().fetch_all(conn).await?;
    Ok(rows.into_iter().collect())
}

pub async fn find(conn: &mut AnyConnection, id: i64) -> Result<Option<TicketRow>> {
    Ok(sqlx::query_as(select_tickets!(
        "t.description",
        "WHERE t.id = ? AND t.deleted_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// The live ticket `reference`, locked for the rest of the transaction (see [`lock`]). On
/// SQLite that is one read (the writer lock already serialises writers); on MySQL the row lock
/// is taken first, by id, since a locking read of the joined row would lock the requester's and
/// the department's rows too.
pub async fn lock_by_reference(
    conn: &mut AnyConnection,
    reference: &str,
) -> Result<Option<TicketRow>> {
    if Dialect::of_connection(conn) == Dialect::Sqlite {
        return find_by_reference(conn, reference).await;
    }
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM tickets WHERE reference = ? AND deleted_at IS NULL FOR UPDATE",
    )
    .bind(reference)
    .fetch_optional(&mut *conn)
    .await?;
    match id {
        Some(id) => find(conn, id).await,
        None => Ok(None),
    }
}

/// Takes the row lock for the rest of the transaction (MySQL; SQLite's writer lock already
/// serialises writers), so two concurrent changes to one ticket apply one after the other.
pub async fn lock(conn: &mut AnyConnection, id: i64) -> Result<()> {
    let sql = for_update!(
        Dialect::of_connection(conn),
        "SELECT id FROM tickets WHERE id = ?"
    );
    sqlx::query(sql).bind(id).execute(conn).await?;
    Ok(())
}

pub struct NewTicket<'a> {
    pub subject: &'a str,
    pub description: &'a str,
    pub status: &'a str,
    pub priority: i64,
    pub ticket_type: &'a str,
    pub channel: &'a str,
    pub requester_id: i64,
    pub department_id: Option<i64>,
    pub sla_policy_id: Option<i64>,
    pub first_response_due_at: Option<Timestamp>,
    pub resolution_due_at: Option<Timestamp>,
}

/// Inserts a ticket and gives it its reference, `{prefix}-{id:05}`: derived from the id, so it
/// is unique however many tickets are created at once. The only write that adds text to the
/// search index (a ticket's subject and description never change), so the transaction is
/// marked for the remembered match sets.
pub async fn insert(
    tx: &mut Tx,
    t: &NewTicket<'_>,
    reference_prefix: &str,
    now: Timestamp,
) -> Result<(i64, String)> {
    tx.adds_search_text();
    let (id, reference) = match tx.dialect() {
        Dialect::Sqlite => insert_numbered(tx, t, reference_prefix, now).await?,
        Dialect::MySql => insert_then_number(tx, t, reference_prefix, now).await?,
    };
    tx.touch_ticket(id);
    Ok((id, reference))
}

/// SQLite: one statement. Its single writer makes "the next id" safe to take inside the
/// statement (AUTOINCREMENT's rule: above every id ever used), so the reference is written
/// with the row instead of by a second statement (each is a round trip to SQLite's thread,
/// with the write lock held).
async fn insert_numbered(
    conn: &mut AnyConnection,
    t: &NewTicket<'_>,
    reference_prefix: &str,
    now: Timestamp,
) -> Result<(i64, String)> {
    let query = sqlx::query(
        "INSERT INTO tickets (id, reference, subject, description, status, priority, ticket_type, \
         channel, requester_id, department_id, sla_policy_id, first_response_due_at, \
         resolution_due_at, created_at, updated_at) \
         SELECT next.id, ? || '-' || printf('%05d', next.id), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
         ?, ? FROM (SELECT MAX(COALESCE((SELECT MAX(id) FROM tickets), 0), \
         COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'tickets'), 0)) + 1 AS id) next \
         RETURNING id, reference",
    )
    .bind(reference_prefix);
    let row = bind_columns(query, t, now).fetch_one(conn).await?;
    Ok((row.try_get("id")?, row.try_get("reference")?))
}

/// Binds a new ticket's columns after its reference, in the order both inserts name them.
fn bind_columns<'q>(q: AnyQuery<'q>, t: &NewTicket<'q>, now: Timestamp) -> AnyQuery<'q> {
    q.bind(t.subject)
        .bind(t.description)
        .bind(t.status)
        .bind(t.priority)
        .bind(t.ticket_type)
        .bind(t.channel)
        .bind(t.requester_id)
        .bind(t.department_id)
        .bind(t.sla_policy_id)
        .bind(t.first_response_due_at)
        .bind(t.resolution_due_at)
        .bind(now)
        .bind(now)
}

/// MySQL: the id is known only once the row is in (concurrent writers), so the reference is
/// written second.
async fn insert_then_number(
    conn: &mut AnyConnection,
    t: &NewTicket<'_>,
    reference_prefix: &str,
    now: Timestamp,
) -> Result<(i64, String)> {
    // Unique until the id is known; fits the column (32 characters).
    let provisional = format!("new-{:016x}", rand::random::<u64>());
    let id = insert_returning_id(
        conn,
        "INSERT INTO tickets (reference, subject, description, status, priority, ticket_type, \
         channel, requester_id, department_id, sla_policy_id, first_response_due_at, \
         resolution_due_at, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        |q| bind_columns(q.bind(&provisional), t, now),
    )
    .await?;
    let reference = format!("{reference_prefix}-{id:05}");
    sqlx::query("UPDATE tickets SET reference = ? WHERE id = ?")
        .bind(&reference)
        .bind(id)
        .execute(conn)
        .await?;
    Ok((id, reference))
}

/// Writes every mutable column of the row back.
pub async fn update(conn: &mut AnyConnection, t: &TicketRow) -> Result<()> {
    sqlx::query(
        "UPDATE tickets SET subject = ?, status = ?, priority = ?, ticket_type = ?, \
         assignee_id = ?, department_id = ?, sla_policy_id = ?, first_response_due_at = ?, \
         first_response_at = ?, first_response_breached = ?, resolution_due_at = ?, \
         resolution_breached = ?, sla_breached = ?, sla_paused_at = ?, sla_paused_seconds = ?, \
         last_reply_at = ?, resolved_at = ?, closed_at = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&t.subject)
    .bind(&t.status)
    .bind(t.priority)
    .bind(&t.ticket_type)
    .bind(t.assignee_id)
    .bind(t.department_id)
    .bind(t.sla_policy_id)
    .bind(t.first_response_due_at)
    .bind(t.first_response_at)
    .bind(t.first_response_breached)
    .bind(t.resolution_due_at)
    .bind(t.resolution_breached)
    .bind(t.sla_breached)
    .bind(t.sla_paused_at)
    .bind(t.sla_paused_seconds)
    .bind(t.last_reply_at)
    .bind(t.resolved_at)
    .bind(t.closed_at)
    .bind(t.updated_at)
    .bind(t.id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn soft_delete(conn: &mut AnyConnection, id: i64, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE tickets SET deleted_at = ?, updated_at = ? WHERE id = ?")
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
