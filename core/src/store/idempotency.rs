//! Idempotency keys: the claim a keyed request takes before it runs, and the answer it leaves.
//!
//! A claim is one row, unique per token owner and key. The request that inserts it runs; any
//! other finds it and is answered from it (see `domain::idempotency`). Write transactions
//! made while a claim is [`scope`]d mark it committed in their own commit ([`super::Tx`]), so
//! whether the keyed write happened is known even when its answer was never recorded.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use sqlx::{Any, AnyConnection, QueryBuilder};

use super::insert_returning_id;
use crate::{error::Result, time::Timestamp};

/// A stored claim, as a retry finds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimRow {
    pub id: i64,
    pub fingerprint: String,
    /// `None` while the first request runs (or if it ended without an answer to keep).
    pub status_code: Option<i64>,
    /// The kept response headers, as a JSON object of name → value.
    pub response_headers: Option<String>,
    pub response_body: Option<String>,
    pub committed_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// Inserts a claim; a unique violation (someone holds the key) is the caller's to recognise.
pub async fn insert(
    conn: &mut AnyConnection,
    user_id: i64,
    key: &str,
    fingerprint: &str,
    now: Timestamp,
) -> Result<i64> {
    insert_returning_id(
        conn,
        "INSERT INTO idempotency_keys (user_id, idem_key, fingerprint, created_at) \
         VALUES (?, ?, ?, ?)",
        |q| q.bind(user_id).bind(key).bind(fingerprint).bind(now),
    )
    .await
}

pub async fn find(conn: &mut AnyConnection, user_id: i64, key: &str) -> Result<Option<ClaimRow>> {
    Ok(sqlx::query_as(
        "SELECT id, fingerprint, status_code, response_headers, response_body, committed_at, \
         created_at FROM idempotency_keys WHERE user_id = ? AND idem_key = ?",
    )
    .bind(user_id)
    .bind(key)
    .fetch_optional(conn)
    .await?)
}

/// Keeps the answer of the claim's request.
pub async fn keep_answer(
    conn: &mut AnyConnection,
    id: i64,
    status: u16,
    headers: &str,
    body: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status_code = ?, response_headers = ?, response_body = ? \
         WHERE id = ?",
    )
    .bind(i64::from(status))
    .bind(headers)
    .bind(body)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the claim `id` if it was created at `created_at` and nothing it ran committed: a
/// retry may then run afresh. Returns whether it was deleted (two retries race for it).
pub async fn release_uncommitted(
    conn: &mut AnyConnection,
    id: i64,
    created_at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "DELETE FROM idempotency_keys WHERE id = ? AND created_at = ? AND committed_at IS NULL",
    )
    .bind(id)
    .bind(created_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes the claim `id` whatever it holds (it expired).
pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the claims created before `before`; returns how many.
pub async fn purge(conn: &mut AnyConnection, before: Timestamp) -> Result<u64> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// The claim of the request this task is serving, seen by its write transactions.
pub struct ClaimMarker {
    id: i64,
    committed: AtomicBool,
}

impl ClaimMarker {
    pub fn new(id: i64) -> Arc<ClaimMarker> {
        Arc::new(ClaimMarker {
            id,
            committed: AtomicBool::new(false),
        })
    }

    /// Whether a write transaction of the request committed.
    pub fn committed(&self) -> bool {
        self.committed.load(Ordering::Acquire)
    }
}

tokio::task_local! {
    static CLAIM: Arc<ClaimMarker>;
}

/// Runs `f` (a keyed request) with its claim visible to the write transactions it makes.
pub async fn scope<F: Future>(marker: Arc<ClaimMarker>, f: F) -> F::Output {
    CLAIM.scope(marker, f).await
}

/// The claim to mark in a commit: the task's, unless an earlier commit marked it already.
pub(super) fn unmarked_claim() -> Option<Arc<ClaimMarker>> {
    CLAIM
        .try_with(|claim| claim.clone())
        .ok()
        .filter(|claim| !claim.committed())
}

/// Adds the statement that marks `claim` committed to a commit's statements.
pub(super) fn push_mark(q: &mut QueryBuilder<Any>, claim: &ClaimMarker, now: Timestamp) {
    q.push("UPDATE idempotency_keys SET committed_at = ")
        .push_bind(now)
        .push(" WHERE id = ")
        .push_bind(claim.id);
}

/// Records that the commit carrying [`push_mark`] succeeded.
pub(super) fn marked(claim: &ClaimMarker) {
    claim.committed.store(true, Ordering::Release);
}
