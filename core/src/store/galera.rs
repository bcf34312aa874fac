//! A transaction on a Galera node, kept whole.
//!
//! Galera rolls a local transaction back when a conflicting one from another node is applied
//! first (a "brute force abort"), and the next statement should report error 1213. The cluster
//! script caught writes where it did not: the statements after the abort ran on their own, in
//! autocommit mode, and committed half a transaction (an event without its ticket change). So on
//! Galera every write transaction also turns autocommit off and sets a savepoint as it begins:
//! statements after an abort then fall into a new implicit transaction instead of committing one
//! by one, and releasing the savepoint just before `COMMIT` fails when the transaction it
//! belonged to is gone. The commit then rolls back and reports a conflict, so the request runs
//! again (`api::conflicts`). Autocommit is turned back on as each connection returns to the
//! pool. None of this runs on one MariaDB, whose transactions cannot be aborted silently.

use sqlx::{AnyConnection, AnyPool, Executor};

use crate::conflicts;
use crate::error::{Error, Result};

/// Whether `pool` talks to a Galera node (`wsrep_on`); MySQL has no such variable.
pub(super) async fn detect(pool: &AnyPool) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT CAST(@@wsrep_on AS SIGNED)")
        .fetch_one(pool)
        .await
        .is_ok_and(|on| on == 1)
}

/// Right after `BEGIN`.
pub(super) async fn guard(conn: &mut AnyConnection) -> Result<()> {
    conn.execute("SET autocommit = 0").await?;
    conn.execute("SAVEPOINT escalated_whole").await?;
    Ok(())
}

/// Right before `COMMIT`: fails when the transaction that set the savepoint was rolled back.
pub(super) async fn check_whole(conn: &mut AnyConnection) -> Result<()> {
    match conn.execute("RELEASE SAVEPOINT escalated_whole").await {
        Ok(_) => Ok(()),
        Err(err) => {
            tracing::debug!(error = %err, "a Galera transaction was rolled back under it");
            conflicts::note_conflict();
            Err(Error::Internal(anyhow::Error::new(
                conflicts::LostTransaction,
            )))
        }
    }
}

/// As a connection returns to the pool (see the module's comment).
pub(super) async fn restore(conn: &mut AnyConnection) -> bool {
    conn.execute("SET autocommit = 1").await.is_ok()
}
