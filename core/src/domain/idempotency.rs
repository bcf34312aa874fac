//! Idempotency keys (contract §9.3): a retried POST, PATCH or DELETE carrying the same
//! `Idempotency-Key` gets the first answer again instead of repeating the write.
//!
//! Keys belong to the token owner. A request with a key that has no claim runs; its write
//! inserts the claim (a row in the database, so a retry that reaches another node is
//! recognised too) in the write's own commit, and its answer is then kept for
//! `api.idempotency_hours` (a refusal that wrote nothing is kept too). Of concurrent
//! duplicates that all found no claim, exactly one write commits: the others' commits meet
//! the claim's unique key, roll back whole, and are answered 409. A retry is answered from
//! the claim:
//!
//! - same method, path and body, first answer kept → that answer again;
//! - another method, path or body → 422 on `idempotency_key`;
//! - the first still running → 409, try again shortly;
//! - the first ended in a server error before anything committed → it runs again (5xx answers
//!   are not kept);
//! - the first committed its write but its answer was never recorded (the node died, or the
//!   database went away between the two) → 409 saying so, and never a second write. Until
//!   [`ABANDONED_AFTER`] it may still be storing its answer, so the retry is told to try again.
//!
//! A claim whose request has not finished after [`ABANDONED_AFTER`] seconds is taken to be
//! abandoned by a node that died; if nothing of it committed (a claim written before this
//! release), a retry takes it over.

use std::sync::Arc;

/// Runs a request with its claim where its first write transaction finds it.
pub use crate::store::idempotency::scope;

use sha2::{Digest, Sha256};

use crate::{
    error::{Error, Result},
    store::{
        Store,
        idempotency::{self as claims, ClaimMarker},
        is_unique_violation,
    },
    time::Timestamp,
};

/// Longest key, in bytes (every byte is visible ASCII).
pub const MAX_KEY_LEN: usize = 255;

/// Seconds after which a claim whose request never finished is taken to be abandoned.
pub const ABANDONED_AFTER: i64 = 300;

/// Response headers worth giving a replay; the rate-limit fields are the replay's own.
pub const KEPT_HEADERS: [&str; 3] = ["content-type", "location", "etag"];

/// The header's value, if it is a key: 1 to 255 visible ASCII characters.
pub fn parse_key(raw: &[u8]) -> Result<&str> {
    let visible = |b: &u8| (0x21..=0x7e).contains(b);
    if raw.is_empty() || raw.len() > MAX_KEY_LEN || !raw.iter().all(visible) {
        return Err(Error::field(
            "idempotency_key",
            format!(
                "The Idempotency-Key header must be 1 to {MAX_KEY_LEN} visible ASCII characters."
            ),
        ));
    }
    // Visible ASCII is UTF-8.
    Ok(std::str::from_utf8(raw).expect("ASCII"))
}

/// What a request is, for recognising its retries: method, path with query, and its body (or,
/// for a body too large to hold, a description of it).
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [method.as_bytes(), path_and_query.as_bytes(), body] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hex::encode(hash.finalize())
}

/// A kept answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The outcome of presenting a key.
pub enum Claim {
    /// No request holds the key: run it inside [`claims::scope`] with the marker (its write
    /// inserts the claim), then [`finish`] it.
    Run(Held),
    /// A retry of a finished request: its answer.
    Replay(Answer),
}

/// The claim a running request will insert with its write.
pub struct Held {
    pub marker: Arc<ClaimMarker>,
}

/// Presents `key` for `user_id`'s request `fingerprint` at `now`; claims older than
/// `keep_hours` are expired and start afresh. Writes nothing unless a claim has expired or
/// been abandoned.
pub async fn claim(
    store: &Store,
    user_id: i64,
    key: &str,
    fingerprint: &str,
    now: Timestamp,
    keep_hours: u32,
) -> Result<Claim> {
    let expired_before = now - i64::from(keep_hours) * 3600;
    // An expired or abandoned claim is removed and the key looked up again; two rounds settle
    // it unless other retries keep racing for the same key.
    for _ in 0..3 {
        let Some(found) = claims::find(&mut *store.conn().await?, user_id, key).await? else {
            return Ok(Claim::Run(Held {
                marker: ClaimMarker::new(user_id, key, fingerprint, now),
            }));
        };
        if found.created_at <= expired_before {
            let mut tx = store.begin().await?;
            claims::delete(&mut tx, found.id).await?;
            tx.commit().await?;
            continue;
        }
        if found.fingerprint != fingerprint {
            return Err(Error::field(
                "idempotency_key",
                "This Idempotency-Key was already used for a different request.",
            ));
        }
        if let Some(status) = found.status_code {
            return Ok(Claim::Replay(Answer {
                status: u16::try_from(status).unwrap_or(500),
                headers: found
                    .response_headers
                    .as_deref()
                    .and_then(|h| serde_json::from_str(h).ok())
                    .unwrap_or_default(),
                body: found.response_body.unwrap_or_default(),
            }));
        }
        // No answer yet: the first request's write committed and its answer is on the way,
        // unless it has been too long.
        if found.created_at > now - ABANDONED_AFTER {
            return Err(in_progress());
        }
        if found.committed_at.is_some() {
            return Err(Error::Conflict {
                message: "The request with this Idempotency-Key was applied, but its answer \
                          was lost; read the resource to see the result."
                    .into(),
                retry_after: None,
            });
        }
        let mut tx = store.begin().await?;
        claims::release_uncommitted(&mut tx, found.id, found.created_at).await?;
        tx.commit().await?;
    }
    Err(in_progress())
}

/// The answer to a duplicate whose write lost the claim to a concurrent request.
pub fn in_progress() -> Error {
    Error::Conflict {
        message: "A request with this Idempotency-Key is still being processed.".into(),
        retry_after: Some(1),
    }
}

/// Records how the held claim's request ended: its answer is kept, unless it is a server
/// error (or not text). After a server error a retry runs again if nothing of it committed,
/// and is told the write was applied if it did. A request that lost the claim keeps nothing.
pub async fn finish(store: &Store, held: Held, answer: Option<Answer>) -> Result<()> {
    let claim = &held.marker;
    let Some(answer) = answer.filter(|a| a.status < 500 && !claim.lost()) else {
        return Ok(());
    };
    let headers = serde_json::to_string(&answer.headers)?;
    let mut tx = store.one_statement().await?;
    let kept = if claim.committed() {
        let key = (claim.user_id, claim.key.as_str());
        claims::keep_answer(&mut tx, key, answer.status, &headers, &answer.body).await
    } else {
        claims::insert_answer(&mut tx, claim, answer.status, &headers, &answer.body).await
    };
    match kept {
        Ok(()) => tx.commit().await,
        // A duplicate that wrote nothing either kept its answer first: the same refusal.
        Err(err) if is_unique_violation(&err) => Ok(()),
        Err(err) => Err(err),
    }
}

/// Deletes the claims older than `keep_hours` at `now` (the purge job); returns how many.
pub async fn purge(store: &Store, now: Timestamp, keep_hours: u32) -> Result<u64> {
    let mut tx = store.begin().await?;
    let n = claims::purge(&mut tx, now - i64::from(keep_hours) * 3600).await?;
    tx.commit().await?;
    Ok(n)
}
