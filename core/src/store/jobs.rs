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
///
/// With `next_due` (a scheduled run) the job must also be due (no scheduled run on any node
/// since the last one set `due_at`), and taking it sets `due_at` to `next_due`: across all
/// nodes a job then runs once per period. `None` (a run by hand, a sender's lease) ignores it.
pub async fn try_lease(
    conn: &mut AnyConnection,
    job: &str,
    holder: &str,
    (now, until): (Timestamp, Timestamp),
    next_due: Option<Timestamp>,
) -> Result<bool> {
    let create = insert_ignore!(
        Dialect::of_connection(conn),
        "INTO job_leases (name, holder, expires_at) VALUES (?, '', 0)"
    );
    sqlx::query(create).bind(job).execute(&mut *conn).await?;
    let taken = match next_due {
        None => sqlx::query(
            "UPDATE job_leases SET holder = ?, expires_at = ? \
             WHERE name = ? AND (expires_at <= ? OR holder = ?)",
        )
        .bind(holder)
        .bind(until)
        .bind(job)
        .bind(now)
        .bind(holder),
        Some(due) => sqlx::query(
            "UPDATE job_leases SET holder = ?, expires_at = ?, due_at = ? \
             WHERE name = ? AND (expires_at <= ? OR holder = ?) AND due_at <= ?",
        )
        .bind(holder)
        .bind(until)
        .bind(due)
        .bind(job)
        .bind(now)
        .bind(holder)
        .bind(now),
    };
    let changed = taken.execute(&mut *conn).await?.rows_affected();
    if next_due.is_some() && changed == 0 {
        // Not due (or held elsewhere); the holder's name alone would not tell "not due".
        return Ok(false);
    }
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
