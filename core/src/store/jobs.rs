//! Job leases: one row per job naming the node that runs it and until when.

use sqlx::AnyConnection;

use super::Dialect;
use crate::{error::Result, time::Timestamp};

/// Takes the lease of `job` for `holder` until `until`, when it is free or expired (or already
/// `holder`'s). Returns whether `holder` now holds it.
pub async fn try_lease(
    conn: &mut AnyConnection,
    dialect: Dialect,
    job: &str,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> Result<bool> {
    let create = match dialect {
        Dialect::Sqlite => {
            "INSERT OR IGNORE INTO job_leases (name, holder, expires_at) VALUES (?, '', 0)"
        }
        Dialect::MySql => {
            "INSERT IGNORE INTO job_leases (name, holder, expires_at) VALUES (?, '', 0)"
        }
    };
    sqlx::query(create).bind(job).execute(&mut *conn).await?;
    sqlx::query(
        "UPDATE job_leases SET holder = ?, expires_at = ? \
         WHERE name = ? AND (expires_at <= ? OR holder = ?)",
    )
    .bind(holder)
    .bind(until)
    .bind(job)
    .bind(now)
    .bind(holder)
    .execute(&mut *conn)
    .await?;
    // Read back rather than trust the affected-row count, which MySQL reports as 0 when the
    // row already had these values.
    let current: Option<String> =
        sqlx::query_scalar("SELECT holder FROM job_leases WHERE name = ?")
            .bind(job)
            .fetch_optional(conn)
            .await?;
    Ok(current.as_deref() == Some(holder))
}

pub async fn release(conn: &mut AnyConnection, job: &str, holder: &str) -> Result<()> {
    sqlx::query("UPDATE job_leases SET holder = '', expires_at = 0 WHERE name = ? AND holder = ?")
        .bind(job)
        .bind(holder)
        .execute(conn)
        .await?;
    Ok(())
}
