//! Attachment rows: who uploaded what, and which ticket or reply it belongs to once attached.
//! The contents live in the object store (`blobs`), addressed by `sha256`.

use sqlx::AnyConnection;

use super::{AnyQuery, insert_returning_id, placeholders, push_in_list};
use crate::{error::Result, time::Timestamp};

const COLUMNS: &str = "a.id, a.uploader_id, a.ticket_id, a.reply_id, a.is_internal, a.filename, \
                       a.mime_type, a.size, a.sha256, a.created_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachmentRow {
    pub id: i64,
    pub uploader_id: i64,
    pub ticket_id: Option<i64>,
    pub reply_id: Option<i64>,
    pub is_internal: i64,
    pub filename: String,
    pub mime_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: Timestamp,
}

pub struct NewAttachment<'a> {
    pub uploader_id: i64,
    pub filename: &'a str,
    pub mime_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
}

pub async fn insert(
    conn: &mut AnyConnection,
    new: &NewAttachment<'_>,
    now: Timestamp,
) -> Result<i64> {
    insert_returning_id(
        conn,
        "INSERT INTO attachments (uploader_id, filename, mime_type, size, sha256, created_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
        |q| {
            q.bind(new.uploader_id)
                .bind(new.filename)
                .bind(new.mime_type)
                .bind(new.size)
                .bind(new.sha256)
                .bind(now)
        },
    )
    .await
}

/// One attachment, with whether its ticket is gone (deleted tickets' files are not served).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FoundAttachment {
    #[sqlx(flatten)]
    pub row: AttachmentRow,
    pub ticket_deleted: i64,
}

pub async fn find(conn: &mut AnyConnection, id: i64) -> Result<Option<FoundAttachment>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, CASE WHEN a.ticket_id IS NOT NULL AND (t.id IS NULL OR \
         t.deleted_at IS NOT NULL) THEN 1 ELSE 0 END AS ticket_deleted \
         FROM attachments a LEFT JOIN tickets t ON t.id = a.ticket_id WHERE a.id = ?"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// Which of `ids` are uploads of `uploader_id`, not yet attached, made at or after `since`.
pub async fn claimable(
    conn: &mut AnyConnection,
    ids: &[i64],
    uploader_id: i64,
    since: Timestamp,
) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id FROM attachments WHERE id IN ({}) AND uploader_id = ? \
         AND ticket_id IS NULL AND created_at >= ?",
        placeholders(ids.len())
    );
    let mut q: AnyQuery<'_> = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(*id);
    }
    let rows = q.bind(uploader_id).bind(since).fetch_all(conn).await?;
    rows.iter()
        .map(|r| Ok(sqlx::Row::try_get::<i64, _>(r, 0)?))
        .collect()
}

/// Where attachments go.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub ticket_id: i64,
    pub reply_id: Option<i64>,
    pub is_internal: bool,
}

/// Attaches those of `ids` that are still claimable (see [`claimable`]); returns how many were.
/// The conditions are repeated in the `UPDATE`, so two requests claiming one upload at once
/// cannot both have it.
pub async fn attach(
    conn: &mut AnyConnection,
    ids: &[i64],
    uploader_id: i64,
    since: Timestamp,
    target: Target,
    now: Timestamp,
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "UPDATE attachments SET ticket_id = ?, reply_id = ?, is_internal = ?, attached_at = ? \
         WHERE id IN ({}) AND uploader_id = ? AND ticket_id IS NULL AND created_at >= ?",
        placeholders(ids.len())
    );
    let mut q: AnyQuery<'_> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(target.ticket_id)
        .bind(target.reply_id)
        .bind(target.is_internal as i64)
        .bind(now);
    for id in ids {
        q = q.bind(*id);
    }
    Ok(q.bind(uploader_id)
        .bind(since)
        .execute(conn)
        .await?
        .rows_affected())
}

/// The attachments of `ids`, in id order.
pub async fn by_ids(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<AttachmentRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM attachments a WHERE a.id IN ({}) ORDER BY a.id",
        placeholders(ids.len())
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(conn).await?)
}

/// Every attachment of a ticket, in id order.
pub async fn of_ticket(conn: &mut AnyConnection, ticket_id: i64) -> Result<Vec<AttachmentRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM attachments a WHERE a.ticket_id = ? ORDER BY a.id"
    )))
    .bind(ticket_id)
    .fetch_all(conn)
    .await?)
}

/// Every attachment of several tickets in one query, in id order.
pub async fn of_tickets(
    conn: &mut AnyConnection,
    ticket_ids: &[i64],
) -> Result<Vec<AttachmentRow>> {
    if ticket_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = sqlx::QueryBuilder::<sqlx::Any>::new(format!(
        "SELECT {COLUMNS} FROM attachments a WHERE a.ticket_id IN ("
    ));
    push_in_list(&mut q, ticket_ids.iter().copied());
    q.push(") ORDER BY a.id");
    Ok(q.build_query_as().fetch_all(conn).await?)
}

/// A row the purge job deletes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Doomed {
    pub id: i64,
    pub sha256: String,
}

/// Uploads never attached, made before `before`.
pub async fn unattached_before(
    conn: &mut AnyConnection,
    before: Timestamp,
    limit: i64,
) -> Result<Vec<Doomed>> {
    Ok(sqlx::query_as(
        "SELECT id, sha256 FROM attachments WHERE ticket_id IS NULL AND created_at < ? \
         ORDER BY created_at LIMIT ?",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Attachments of deleted tickets.
pub async fn of_deleted_tickets(conn: &mut AnyConnection, limit: i64) -> Result<Vec<Doomed>> {
    Ok(sqlx::query_as(
        "SELECT a.id, a.sha256 FROM attachments a JOIN tickets t ON t.id = a.ticket_id \
         WHERE t.deleted_at IS NOT NULL ORDER BY a.id LIMIT ?",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM attachments WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether any row still refers to the object `sha256`.
pub async fn sha256_in_use(conn: &mut AnyConnection, sha256: &str) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM attachments WHERE sha256 = ? LIMIT 1")
            .bind(sha256)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}
