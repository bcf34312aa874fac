//! Whether the database can be written. SQLite opens a file it may not write (its mode, an
//! immutable flag, a read-only mount) read-only without a word, and such a connection stays
//! read-only after the cause clears: the writer checks each connection it takes (see
//! [`group_commit`](super::group_commit)), and `serve` checks the store before it serves.

use anyhow::Context;
use sqlx::Executor;

use super::{Dialect, Store};

/// A write that changes nothing once rolled back and fails on a read-only SQLite connection
/// (`BEGIN IMMEDIATE` alone does not: it only takes a lock).
pub(super) const SQLITE_CHECK: &str =
    "BEGIN IMMEDIATE; CREATE TABLE escalated_write_check (x INTEGER); ROLLBACK";

/// Whether `err` is SQLite's "attempt to write a readonly database" (any of its variants).
pub(super) fn is_read_only(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i64>().ok())
            .is_some_and(|code| code & 0xff == 8),
        _ => false,
    }
}

impl Store {
    /// Fails, naming the cause, unless a write transaction can write: a statement that writes
    /// nothing, in a transaction that is rolled back.
    pub async fn check_writable(&self) -> anyhow::Result<()> {
        let advice = match self.dialect {
            Dialect::Sqlite => {
                "check that the database file, its folder and its -wal and -shm files are writable by this user"
            }
            Dialect::MySql => "check the user's privileges and that the server is not read_only",
        };
        let attempt = async {
            let mut tx = self.begin().await?;
            tx.execute("DELETE FROM job_leases WHERE 1 = 0").await?;
            Ok::<(), crate::error::Error>(())
        };
        attempt
            .await
            .with_context(|| format!("the database cannot be written; {advice}"))
    }
}
