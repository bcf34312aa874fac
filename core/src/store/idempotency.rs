//! Idempotency keys: the claim a keyed request's write leaves, and the answer it keeps.
//!
//! A claim is one row, unique per token owner and key. A keyed request that finds none runs,
//! and its first write transaction inserts the claim in its own commit ([`super::Tx`], while
//! the claim is [`scope`]d): so the claim exists exactly when the write does, and of two
//! requests with one key only one write can commit (the other's insert meets the unique key
//! and its whole transaction rolls back). Requests that find a claim are answered from it (see
//! `domain::idempotency`).

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use sqlx::{Any, AnyConnection, QueryBuilder};

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

/// Keeps the answer of the request whose write inserted the claim of `user_id`'s `key`.
pub async fn keep_answer(
    conn: &mut AnyConnection,
    (user_id, key): (i64, &str),
    status: u16,
    headers: &str,
    body: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status_code = ?, response_headers = ?, response_body = ? \
         WHERE user_id = ? AND idem_key = ?",
    )
    .bind(i64::from(status))
    .bind(headers)
    .bind(body)
    .bind(user_id)
    .bind(key)
    .execute(conn)
    .await?;
    Ok(())
}

/// Keeps the answer of a request that wrote nothing (a refusal), as a claim of its own; a
/// unique violation (a duplicate got there first) is the caller's to recognise.
pub async fn insert_answer(
    conn: &mut AnyConnection,
    claim: &ClaimMarker,
    status: u16,
    headers: &str,
    body: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO idempotency_keys (user_id, idem_key, fingerprint, created_at, status_code, \
         response_headers, response_body) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(claim.user_id)
    .bind(claim.key.clone())
    .bind(claim.fingerprint.clone())
    .bind(claim.created_at)
    .bind(i64::from(status))
    .bind(headers)
    .bind(body)
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

/// The claim of the request this task is serving, for its write transactions to insert.
pub struct ClaimMarker {
    pub user_id: i64,
    pub key: String,
    pub fingerprint: String,
    pub created_at: Timestamp,
    committed: AtomicBool,
    lost: AtomicBool,
}

impl ClaimMarker {
    pub fn new(user_id: i64, key: &str, fingerprint: &str, now: Timestamp) -> Arc<ClaimMarker> {
        Arc::new(ClaimMarker {
            user_id,
            key: key.to_owned(),
            fingerprint: fingerprint.to_owned(),
            created_at: now,
            committed: AtomicBool::new(false),
            lost: AtomicBool::new(false),
        })
    }

    /// Whether a write transaction of the request committed (with the claim).
    pub fn committed(&self) -> bool {
        self.committed.load(Ordering::Acquire)
    }

    /// Whether a write of the request was rolled back because another request with the same
    /// key committed the claim first.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
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

/// Adds the statement that inserts `claim`, committed at `now`, to a commit's statements.
pub(super) fn push_claim(q: &mut QueryBuilder<Any>, claim: &ClaimMarker, now: Timestamp) {
    q.push(
        "INSERT INTO idempotency_keys (user_id, idem_key, fingerprint, created_at, committed_at) \
         VALUES (",
    );
    let mut values = q.separated(", ");
    values
        .push_bind(claim.user_id)
        .push_bind(claim.key.clone())
        .push_bind(claim.fingerprint.clone())
        .push_bind(claim.created_at)
        .push_bind(now);
    q.push(")");
}

/// Records how the commit carrying [`push_claim`] ended: committed, or lost to another
/// request's claim (`err` a unique violation).
pub(super) fn settle(claim: &ClaimMarker, outcome: std::result::Result<(), &crate::error::Error>) {
    match outcome {
        Ok(()) => claim.committed.store(true, Ordering::Release),
        Err(err) if super::is_unique_violation(err) => claim.lost.store(true, Ordering::Release),
        Err(_) => {}
    }
}
