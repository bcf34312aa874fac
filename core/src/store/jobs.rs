//! Job leases: one row per job naming the node that runs it and until when.

use std::sync::LazyLock;

use sqlx::AnyConnection;

use super::{Dialect, dialect::insert_ignore};
use crate::{error::Result, time::Timestamp};

/// This process, as a lease holder.
static NODE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
});

/// This process's name as a lease holder (for jobs and the outbox senders).
pub fn node() -> &'static str {
    NODE.as_str()
}

/// Takes the lease of `job` for `holder` until `until`, when it is free or expired (or already
/// `holder`'s). Returns whether `holder` now holds it.
pub async fn try_lease(
    conn: &mut AnyConnection,
    job: &str,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> Result<bool> {
    let create = insert_ignore!(
        Dialect::of_connection(conn),
        "INTO job_leases (name, holder, expires_at) VALUES (?, '', 0)"
    );
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
