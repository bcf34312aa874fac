//! Serialization conflicts: what a request's transactions met, so that a request whose only
//! failure was a conflict can be run again (`api::conflicts`).
//!
//! MariaDB answers a deadlock with error 1213 (SQLSTATE `40001`) and rolls the victim back; a
//! Galera cluster answers the same way when a transaction loses certification to a conflicting
//! one committed on another node. Either way nothing of the transaction stayed, and running it
//! again is the documented remedy. Whether the whole request may run again depends on what it
//! committed before: an [`Attempt`] records both.

use std::sync::atomic::{AtomicBool, Ordering};

tokio::task_local! {
    static ATTEMPT: Attempt;
}

/// What one run of a request met.
#[derive(Debug, Default)]
pub struct Attempt {
    conflicted: AtomicBool,
    committed: AtomicBool,
}

impl Attempt {
    /// A transaction of this run was rolled back by a conflict.
    pub fn conflicted(&self) -> bool {
        self.conflicted.load(Ordering::Acquire)
    }

    /// A transaction of this run committed: running it again could write twice.
    pub fn committed(&self) -> bool {
        self.committed.load(Ordering::Acquire)
    }
}

/// Runs `work` recording what its transactions meet (on this task; work it spawns is not seen).
pub async fn attempt<F: Future>(work: F) -> (F::Output, Attempt) {
    ATTEMPT
        .scope(Attempt::default(), async move {
            let output = work.await;
            let seen = ATTEMPT.with(|a| Attempt {
                conflicted: AtomicBool::new(a.conflicted()),
                committed: AtomicBool::new(a.committed()),
            });
            (output, seen)
        })
        .await
}

/// True when the database rolled the transaction back to resolve a conflict (a deadlock, or a
/// lost certification on Galera): MySQL's error 1213, SQLSTATE `40001`.
pub fn is_conflict(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "40001")
}

/// A Galera transaction found rolled back at its commit (see `store::galera`): a conflict too.
#[derive(Debug, thiserror::Error)]
#[error("the transaction was rolled back by a conflicting one from another node")]
pub struct LostTransaction;

/// True inside [`attempt`]: whoever runs it decides about (and logs) a conflict.
pub fn in_attempt() -> bool {
    ATTEMPT.try_with(|_| ()).is_ok()
}

/// Notes a conflict in the current attempt, if there is one.
pub fn note_conflict() {
    let _ = ATTEMPT.try_with(|a| a.conflicted.store(true, Ordering::Release));
}

/// Notes a commit in the current attempt, if there is one.
pub fn note_commit() {
    let _ = ATTEMPT.try_with(|a| a.committed.store(true, Ordering::Release));
}
