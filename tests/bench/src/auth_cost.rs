//! What the guard (token lookup, ability check, rate-limit bucket, headers) costs per request:
//! the same trivial endpoint called in-process with and without the guard in front of it, so
//! the difference is the guard alone: no socket, no JSON, no database (tokens come from the
//! in-memory cache after the first call, as they do in a running server).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use escalated::{
    api::guard::Guard, app::AppState, config::Config, events::EventBus, plugins::PluginHost,
    store::Store,
};
use poem::{
    Endpoint, EndpointExt, Middleware, Request, Response,
    endpoint::BoxEndpoint,
    http::{Method, header},
};

/// Nanoseconds of one call, with and without the guard.
#[derive(Debug, Clone, Copy)]
pub struct AuthCost {
    pub with_guard_ns: f64,
    pub without_guard_ns: f64,
}

impl AuthCost {
    pub fn guard_ns(&self) -> f64 {
        (self.with_guard_ns - self.without_guard_ns).max(0.0)
    }
}

pub async fn measure(store: &Store, token: &str, window: Duration) -> anyhow::Result<AuthCost> {
    let mut config = Config::default();
    // The bucket must never refuse during the measurement: a 429 is cheaper than a pass.
    config.api.rate_limit = u32::MAX;
    let events = EventBus::start(store.clone()).await?;
    let blobs = escalated::blobs::Blobs::open(&config.attachments)?;
    let state = AppState::new(
        config,
        Default::default(),
        store.clone(),
        events,
        Arc::new(PluginHost::empty()),
        blobs,
    );
    let endpoint = || poem::endpoint::make_sync(|_| "ok").map_to_response();
    let guarded = Guard::new(state).transform(endpoint()).boxed();
    let bare = endpoint().boxed();
    let request = || {
        Request::builder()
            .method(Method::GET)
            .uri_str("/tickets/ESC-00001")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .finish()
    };
    // Warm the token cache and the bucket.
    let first = guarded.call(request()).await?;
    anyhow::ensure!(
        first.status().is_success(),
        "the guard refused the bench token: {}",
        first.status()
    );
    let without_guard_ns = per_call(&bare, &request, window).await?;
    let with_guard_ns = per_call(&guarded, &request, window).await?;
    Ok(AuthCost {
        with_guard_ns,
        without_guard_ns,
    })
}

/// Mean wall time of one call over `window` (one task: on a quiet machine, its CPU time).
async fn per_call(
    endpoint: &BoxEndpoint<'static, Response>,
    request: &impl Fn() -> Request,
    window: Duration,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut calls = 0u64;
    while started.elapsed() < window {
        for _ in 0..100 {
            endpoint.call(request()).await?;
        }
        calls += 100;
    }
    Ok(started.elapsed().as_nanos() as f64 / calls as f64)
}
