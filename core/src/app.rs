//! The shared state of a running server, handed to every endpoint.

use std::{sync::Arc, time::Duration};

use crate::{
    auth::{cache::TokenCache, rate_limit::RateLimiter},
    config::Config,
    events::EventBus,
    plugins::PluginHost,
    scripting::Scripts,
    store::Store,
};

/// Most distinct rate-limit buckets (tokens and client IPs) kept at once.
const RATE_LIMIT_BUCKETS: u64 = 200_000;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub tokens: TokenCache,
    pub limiter: RateLimiter,
    pub events: EventBus,
    /// The native plugins loaded at start.
    pub plugins: Arc<PluginHost>,
    /// The Rhai runtime of macros, custom actions and automations.
    pub scripts: Scripts,
}

impl AppState {
    pub fn new(config: Config, store: Store, events: EventBus, plugins: Arc<PluginHost>) -> Self {
        let tokens = TokenCache::new(
            store.clone(),
            Duration::from_secs(config.auth.token_cache_seconds),
            config.auth.token_cache_capacity,
        );
        AppState {
            scripts: Scripts::new(&config.scripts),
            config: Arc::new(config),
            store,
            tokens,
            limiter: RateLimiter::new(RATE_LIMIT_BUCKETS),
            events,
            plugins,
        }
    }
}
