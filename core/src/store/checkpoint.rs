//! SQLite WAL checkpoints, off the write path.
//!
//! In WAL mode every commit appends pages to the log, and SQLite by default copies the log
//! back into the database file (a checkpoint, with an `fsync` of the file) inside the commit
//! that makes the log pass 1,000 pages, with the write lock held. Writes that touch random
//! tickets of a large database dirty many distinct pages, so that happened every few hundred
//! writes, and every writer queued behind waited for the disk. Here the store's connections
//! never checkpoint on commit (`wal_autocheckpoint = 0`); this task does it in the background
//! instead, in `PASSIVE` mode, which never blocks the writer or the readers.

use std::{sync::Arc, time::Duration};

use sqlx::{AnyPool, Executor};
use tokio::sync::Mutex;

/// How often the log is copied back (a checkpoint with nothing new to copy costs nothing).
const EVERY: Duration = Duration::from_secs(1);

/// Held by each checkpoint while it runs; a test holds it to keep checkpoints out of a window
/// it measures.
pub(super) type Turn = Arc<Mutex<()>>;

/// Checkpoints every [`EVERY`] until the pool closes. Writes that bypass transactions (bulk
/// seeding, migrations) are covered too.
pub(super) fn spawn(pool: AnyPool) -> Turn {
    let turn = Turn::default();
    let mine = turn.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(EVERY).await;
            if pool.is_closed() {
                break;
            }
            let _turn = mine.lock().await;
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
    turn
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::store::scratch_store;

    /// Commits leave their pages in the log; the database file grows only when they are
    /// copied back, which no commit does any more.
    #[tokio::test]
    async fn the_log_is_copied_back_without_a_commit_doing_it() {
        let (store, dir) = scratch_store().await;
        let file = dir.path().join("db.sqlite");
        sqlx::query("CREATE TABLE scratch (v TEXT NOT NULL)")
            .execute(store.pool())
            .await
            .unwrap();
        // No background checkpoint between the two sizes compared.
        let held = store
            .checkpoints
            .as_ref()
            .unwrap()
            .clone()
            .lock_owned()
            .await;
        let before = std::fs::metadata(&file).unwrap().len();
        let mut tx = store.begin().await.unwrap();
        for _ in 0..500 {
            sqlx::query("INSERT INTO scratch (v) VALUES (?)")
                .bind("x".repeat(1000))
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        assert_eq!(
            std::fs::metadata(&file).unwrap().len(),
            before,
            "the commit itself copied nothing back"
        );
        drop(held);
        let deadline = Instant::now() + super::EVERY * 5;
        while std::fs::metadata(&file).unwrap().len() < before + 400_000 {
            assert!(Instant::now() < deadline, "the log was never copied back");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        store.close().await;
    }
}
