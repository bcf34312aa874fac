//! SQLite WAL checkpoints, off the write path.
//!
//! In WAL mode every commit appends pages to the log, and SQLite by default copies the log
//! back into the database file (a checkpoint, with an `fsync` of the file) inside the commit
//! that makes the log pass 1,000 pages, with the write lock held. Writes that touch random
//! tickets of a large database dirty many distinct pages, so that happened every few hundred
//! writes, and every writer queued behind waited for the disk. Here the store's connections
//! never checkpoint on commit (`wal_autocheckpoint = 0`); this task does it in the background
//! instead, in `PASSIVE` mode, which never blocks the writer or the readers.

use std::time::Duration;

use sqlx::{AnyPool, Executor};

/// How often the log is copied back (a checkpoint with nothing new to copy costs nothing).
const EVERY: Duration = Duration::from_secs(1);

/// Checkpoints every [`EVERY`] until the pool closes. Writes that bypass transactions (bulk
/// seeding, migrations) are covered too.
pub(super) fn spawn(pool: AnyPool) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(EVERY).await;
            if pool.is_closed() {
                break;
            }
            let done = match pool.acquire().await {
                Ok(mut conn) => conn
                    .execute("PRAGMA wal_checkpoint(PASSIVE)")
                    .await
                    .map(drop),
                Err(err) => Err(err),
            };
            if let Err(err) = done {
                if pool.is_closed() {
                    break;
                }
                tracing::warn!(error = %err, "checkpointing the SQLite log failed; retrying in a second");
            }
        }
    });
}
