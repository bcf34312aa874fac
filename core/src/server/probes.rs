//! The operator's endpoints at the server root, outside the API prefix (contract §9.4):
//! `GET /healthz` (the process answers), `GET /readyz` (the database can serve) and
//! `GET /metrics` (Prometheus text format).

use std::time::Duration;

use poem::{
    IntoResponse, Response, handler,
    http::{StatusCode, header},
    web::Data,
};
use serde_json::{Map, Value, json};

use crate::{app::AppState, metrics, store::health};

/// Time the readiness checks may take beyond the pool's acquire timeout before they count as
/// failed (a statement on a connection that stopped answering).
const READY_SLACK: Duration = Duration::from_secs(2);

fn json_answer(status: StatusCode, body: Value) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(body.to_string())
}

/// Alive: the process accepts and answers requests.
#[handler]
pub async fn healthz() -> Response {
    json_answer(StatusCode::OK, json!({ "status": "ok" }))
}

/// Ready: the database is reachable and writable and its migrations are current; else 503
/// with each check's outcome.
#[handler]
pub async fn readyz(state: Data<&AppState>) -> Response {
    let limit = Duration::from_millis(state.config.database.acquire_timeout_ms) + READY_SLACK;
    let checks = match tokio::time::timeout(limit, health::readiness(&state.store)).await {
        Ok(checks) => checks,
        Err(_) => ["database", "writable", "migrations"]
            .into_iter()
            .map(|name| (name, Err("no answer in time".to_string())))
            .collect(),
    };
    if checks.iter().all(|(_, outcome)| outcome.is_ok()) {
        return json_answer(StatusCode::OK, json!({ "status": "ok" }));
    }
    let checks: Map<String, Value> = checks
        .into_iter()
        .map(|(name, outcome)| {
            let shown = match outcome {
                Ok(()) => "ok".to_string(),
                Err(why) => why,
            };
            tracing::warn!(check = name, outcome = %shown, "readiness check");
            (name.to_string(), Value::String(shown))
        })
        .collect();
    // Like every error answer, it carries the envelope's message and code too.
    let code =
        poem_openapi::types::ToJSON::to_json(&crate::api::errors::ErrorCode::ServiceUnavailable);
    json_answer(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({
            "status": "unavailable",
            "checks": checks,
            "message": "Service unavailable.",
            "code": code,
        }),
    )
}

/// Every metric; the gauges of the present (pool, outbox lag) are read now.
#[handler]
pub async fn metrics_text(state: Data<&AppState>) -> Response {
    let pool = state.store.pool();
    let idle = pool.num_idle() as i64;
    let mut snapshot = metrics::Snapshot {
        pool_in_use: (i64::from(pool.size()) - idle).max(0),
        pool_idle: idle,
        pool_max: i64::from(pool.options().get_max_connections()),
        outbox: Vec::new(),
        search_index_tickets: state.store.word_index().tickets(),
    };
    match health::outbox_lag(&state.store, state.clock.now()).await {
        Ok(lags) => snapshot.outbox = lags,
        // The other figures are still worth serving; readiness tells about the database.
        Err(err) => tracing::warn!(error = %err, "reading the outbox lag for /metrics failed"),
    }
    Response::builder()
        .header(header::CONTENT_TYPE, metrics::CONTENT_TYPE)
        .header(header::CACHE_CONTROL, "no-store")
        .body(metrics::render(&snapshot))
        .into_response()
}
