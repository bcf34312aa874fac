//! Token lookups served from memory.
//!
//! Every request needs its token's abilities, expiry, limit and owner. They come from a moka
//! cache keyed by the token's hash; only a miss reads the database (one indexed query with the
//! owner joined). Writes through this server invalidate the entries they affect before they
//! answer, so a revoked token fails on the very next request; `auth.token_cache_seconds` bounds
//! how long another node, which did not see the write, may still serve an entry.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
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
}

#[derive(Clone)]
pub struct TokenCache {
    store: Store,
    entries: Cache<String, Arc<CachedToken>>,
}

impl TokenCache {
    pub fn new(store: Store, ttl: Duration, capacity: u64) -> Self {
        let entries = Cache::builder()
            .max_capacity(capacity)
            .time_to_live(ttl)
            // Lets writes drop every entry of one token or one user without knowing the hashes.
            .support_invalidation_closures()
            .build();
        TokenCache { store, entries }
    }

    /// The token for a plain secret, from memory when possible. Unknown secrets are not cached:
    /// guessing is throttled by the per-IP rate limit instead.
    pub async fn lookup(&self, plain: &str) -> Result<Option<Arc<CachedToken>>> {
        let hash = tokens::hash(plain);
        if let Some(hit) = self.entries.get(&hash).await {
            return Ok(Some(hit));
        }
        let Some(token) = tokens::find_by_plain(&self.store, plain).await? else {
            return Ok(None);
        };
        let abilities = AbilitySet::from_names(&token.abilities).unwrap_or_default();
        let entry = Arc::new(CachedToken {
            last_recorded: AtomicI64::new(token.last_used_at.unwrap_or(0)),
            token,
            abilities,
        });
        self.entries.insert(hash, entry.clone()).await;
        Ok(Some(entry))
    }

    /// After a token is edited or revoked.
    pub fn forget_token(&self, token_id: i64) {
        // Only fails when closures are not enabled, which `new` does.
        let _ = self
            .entries
            .invalidate_entries_if(move |_, entry| entry.token.id == token_id);
    }

    /// After a user's role, status or identity changes: all of their tokens.
    pub fn forget_user(&self, user_id: i64) {
        let _ = self
            .entries
            .invalidate_entries_if(move |_, entry| entry.token.user_id == user_id);
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
