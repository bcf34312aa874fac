//! Token lookups served from memory.
//!
//! Every request needs its token's abilities, expiry, limit and owner. They come from a moka
//! cache keyed by the token's hash; only a miss reads the database (one indexed query with the
//! owner joined). Writes through this server invalidate the cache before they answer, so a
//! revoked token fails on the very next request; `auth.token_cache_seconds` bounds how long
//! another node, which did not see the write, may still serve an entry.
//!
//! Invalidation is a generation number rather than removing entries by key: a lookup racing a
//! write may have read the old row before the write committed and cache it after the removal
//! ran. Each entry remembers the generation current before its row was read, and a hit from an
//! older generation is read again. Token and user edits are rare, so re-reading every token
//! once after one is cheap.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

use moka::future::Cache;

use crate::{
    domain::{
        abilities::AbilitySet,
        tokens::{self, Token},
    },
    error::Result,
    store::Store,
};

/// What the guard needs of a token, resolved once per cache lifetime.
#[derive(Debug)]
pub struct CachedToken {
    pub token: Token,
    pub abilities: AbilitySet,
    /// When `last_used_at` was last written, so it is written at most once a minute.
    pub last_recorded: AtomicI64,
    /// The cache generation before this row was read (see the module comment).
    generation: u64,
}

#[derive(Clone)]
pub struct TokenCache {
    store: Store,
    entries: Cache<String, Arc<CachedToken>>,
    /// Bumped by every write that affects tokens; entries of older generations are stale.
    generation: Arc<AtomicU64>,
}

impl TokenCache {
    pub fn new(store: Store, ttl: Duration, capacity: u64) -> Self {
        let entries = Cache::builder()
            .max_capacity(capacity)
            .time_to_live(ttl)
            .build();
        TokenCache {
            store,
            entries,
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The token for a plain secret, from memory when possible. Unknown secrets are not cached:
    /// guessing is throttled by the per-IP rate limit instead.
    pub async fn lookup(&self, plain: &str) -> Result<Option<Arc<CachedToken>>> {
        let hash = tokens::hash(plain);
        // Read before the row: a write committing after this point bumps it past the entry's.
        let generation = self.generation.load(Ordering::SeqCst);
        if let Some(hit) = self.entries.get(&hash).await
            && hit.generation == generation
        {
            return Ok(Some(hit));
        }
        let Some(token) = tokens::find_by_plain(&self.store, plain).await? else {
            self.entries.invalidate(&hash).await;
            return Ok(None);
        };
        let abilities = AbilitySet::from_names(&token.abilities).unwrap_or_default();
        let entry = Arc::new(CachedToken {
            last_recorded: AtomicI64::new(token.last_used_at.unwrap_or(0)),
            token,
            abilities,
            generation,
        });
        self.entries.insert(hash, entry.clone()).await;
        Ok(Some(entry))
    }

    /// After a token is edited or revoked. Call it once the write has committed.
    pub fn forget_token(&self, _token_id: i64) {
        self.forget_all();
    }

    /// After a user's role, status or identity changes (all of their tokens). Call it once the
    /// write has committed.
    pub fn forget_user(&self, _user_id: i64) {
        self.forget_all();
    }

    /// Makes every entry stale: each is read again on its next use.
    fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

impl CachedToken {
    /// True once a minute per token: the caller then writes `last_used_at`.
    pub fn should_record_use(&self, now: i64) -> bool {
        let last = self.last_recorded.load(Ordering::Relaxed);
        now - last >= 60
            && self
                .last_recorded
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}
