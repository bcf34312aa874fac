//! The shared state of a running server, handed to every endpoint.

use std::{path::Path, sync::Arc, time::Duration};

use crate::{
    auth::{cache::TokenCache, rate_limit::RateLimiter},
    blobs::{self, Blobs},
    config::{Config, ConfigError},
    domain::{
        scripts::Scripts,
        tickets::{TicketRules, status},
    },
    events::EventBus,
    plugins::PluginHost,
    store::Store,
    time::{Clock, Timestamp},
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
    /// What ticket changes are judged by (from `[tickets]` and `[sla]`).
    pub rules: TicketRules,
    /// The time every rule reads (see [`Clock`]).
    pub clock: Clock,
    /// Where attachments' contents are kept.
    pub blobs: Blobs,
}

/// The settings as the server runs with them: `Config::load`, then the settings whose parser
/// lives above `config` (the transition table in the domain, the attachment store's location in
/// `blobs`), so a bad value stops the program naming its key like any other.
pub fn load_config(explicit_file: Option<&Path>) -> Result<Config, ConfigError> {
    let config = Config::load(explicit_file)?;
    check_config(&config)?;
    Ok(config)
}

/// The checks of [`load_config`] beyond `Config::validate`.
pub fn check_config(config: &Config) -> Result<(), ConfigError> {
    if let Err((key, reason)) = status::parse_table(&config.tickets.transitions) {
        return Err(ConfigError::Value {
            key: "tickets.transitions",
            reason: format!("{key}: {reason}"),
        });
    }
    if let Err(reason) = blobs::Location::parse(&config.attachments.store) {
        return Err(ConfigError::Value {
            key: "attachments.store",
            reason,
        });
    }
    Ok(())
}

/// The rules of `config`'s `[tickets]` and `[sla]` settings (checked by [`check_config`]; an
/// error names the key).
pub fn ticket_rules(config: &Config) -> anyhow::Result<TicketRules> {
    TicketRules::new(
        &config.tickets.transitions,
        config.sla.pause_while_waiting_on_customer,
    )
    .map_err(|(key, reason)| anyhow::anyhow!("{key}: {reason}"))
}

impl AppState {
    /// Where uploads go, under which limits.
    pub fn files(&self) -> crate::domain::attachments::Files<'_> {
        crate::domain::attachments::Files {
            store: &self.store,
            blobs: &self.blobs,
            config: &self.config.attachments,
        }
    }

    pub fn new(
        config: Config,
        (rules, clock): (TicketRules, Clock),
        store: Store,
        events: EventBus,
        plugins: Arc<PluginHost>,
        blobs: Blobs,
    ) -> Self {
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
            rules,
            clock,
            blobs,
        }
    }

    /// The rules and the present moment, for a ticket change made now.
    pub fn rules_now(&self) -> (&TicketRules, Timestamp) {
        (&self.rules, self.clock.now())
    }
}
